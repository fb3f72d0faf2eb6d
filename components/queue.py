"""Generate's runs: the run just started on top, this browser's earlier runs grouped below (paged, newest first).

Each run shows its prompt, time, models, cost and a link to its board on Compare; its takes appear at once, and a
fragment refreshes the ones in flight only while something is rendering. Which runs are "this browser's" is kept
in the draft (components/draft_state.py), so a reload or a page switch finds them again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from components import draft_state, roles
from components.auth import current_owner
from components.job_card import model_name, render_active, render_job
from components.retry import render_retry
from components.runtime import Runtime
from jobs.costs import range_priced
from jobs.ledger import ACTIVE_STATES, Job, JobState

CACHE_KEY = "_queue_cache"
UNCHARGED_ENDS = frozenset({JobState.FAILED, JobState.CANCELED})
RUNS_FIELD = "my_runs"
"""Draft field: this browser's run ids, newest first."""
RUNS_KEPT = 200
RUNS_PER_PAGE = 5
COLUMNS = 3


@dataclass(frozen=True)
class Run:
    run_id: str
    jobs: tuple[Job, ...]

    @property
    def started_at(self) -> float:
        return min((j.created_at or 0) for j in self.jobs)

    @property
    def prompt(self) -> str:
        return " ".join(str(self.jobs[0].recipe.get("prompt", "")).split())

    @property
    def active(self) -> list[Job]:
        return [j for j in self.jobs if j.state.active]


def remember_run(run_id: str) -> None:
    """Put a run this browser started on top of its list (Generate, Library's Start run)."""
    runs = [r for r in (draft_state.value(RUNS_FIELD) or []) if r != run_id]
    draft_state.set_values({RUNS_FIELD: [run_id, *runs][:RUNS_KEPT]})
    st.session_state.pop(CACHE_KEY, None)


def my_runs(rt: Runtime, *, everyone: bool = False) -> list[Run]:
    """This browser's runs with their jobs, cached per session until the runner or the list changes. Signed in,
    the person's own runs instead (from any browser or tab), newest first; with `everyone`, every person's."""
    run_ids = tuple(draft_state.value(RUNS_FIELD) or [])
    owner = current_owner()
    version = (rt.runner.change_counter, run_ids, owner, everyone)
    cached = st.session_state.get(CACHE_KEY)
    if cached and cached[0] == version:
        return cached[1]
    if owner:  # asked only when the cache is stale: an ordinary rerun still asks the ledger nothing
        # Only the ledger's word: a draft opened from someone else's link lists their runs, which are not this
        # person's. A run just started is in the ledger already (its rows are written before submit returns).
        theirs = [j.run_id for j in rt.ledger.list_jobs(owner=None if everyone else owner, limit=RUNS_KEPT)]
        run_ids = tuple(dict.fromkeys(theirs))[:RUNS_KEPT]
    runs = []
    for run_id in run_ids:
        jobs = rt.ledger.list_jobs(run_id=run_id, newest_first=False)
        if jobs:  # a run whose rows were never written (refused by the budget) is not shown
            runs.append(Run(run_id, tuple(sorted(jobs, key=lambda j: (j.take, j.model_id, j.created_at or 0)))))
    st.session_state[CACHE_KEY] = (version, runs)
    return runs


def _cost(run: Run) -> str:
    """The run's estimate, leaving out takes that ended without a clip and were not charged."""
    counted = [j for j in run.jobs if j.state not in UNCHARGED_ENDS or j.charged in ("yes", "likely")]
    low = sum(j.est_low_usd or 0 for j in counted)
    high = sum(j.est_high_usd or 0 for j in counted)
    text = f"${high:.2f}" if abs(high - low) < 1e-9 else f"${low:.2f}–${high:.2f}"
    text += " simulated" if all(j.backend == "sandbox" for j in run.jobs) else " estimated"
    if any(range_priced(j) for j in counted):  # the top is a reservation, not a price anyone quoted
        text += f" (a range: no exact price for some takes; ${high:.2f} is its top)"
    return text


def _summary(rt: Runtime, run: Run) -> str:
    models = sorted({model_name(rt.catalog, j.model_id) for j in run.jobs})
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
    ready = sum(1 for j in run.jobs if j.state.value == "downloaded")
    by = f" · by {run.jobs[0].owner}" if run.jobs[0].owner else ""
    return (f"{when} · {', '.join(models)} · {len(run.jobs)} take{'s' if len(run.jobs) != 1 else ''} "
            f"({ready} ready) · {_cost(run)}{by}")


def _eta(rt: Runtime, job: Job) -> float | None:
    """Real seconds to the expected (p50) finish of this model and mode, from history."""
    left = rt.eta.remaining(job)
    return left[0] if left else None


def _live(rt: Runtime, run: Run) -> None:
    """The run's takes in flight, refreshed every second by a fragment until they are done."""
    active_ids = [j.id for j in run.active]
    refused = roles.refusal(roles.GENERATE)  # a viewer watches takes render, and stops none

    @st.fragment(run_every=1.0 if active_ids else None)
    def live() -> None:
        if not active_ids:
            return
        current = rt.runner.snapshot(active_ids)
        if any(not j.state.active for j in current):
            # Something finished: one full rerun draws its clip and stops this timer when all are done.
            st.session_state.pop(CACHE_KEY, None)
            st.rerun()
        cols = st.columns(COLUMNS)
        for i, job in enumerate(current):
            with cols[i % COLUMNS], st.container(border=True):
                render_active(job, rt.catalog, _eta(rt, job))
                if st.button("Stop tracking", key=f"stop:{job.id}", disabled=refused is not None,
                             help=refused or "No CometAPI route documents a cancel: the provider may still render "
                                             "and charge this task."):
                    rt.runner.stop_tracking(job.id)
                    st.session_state.pop(CACHE_KEY, None)
                    st.rerun()

    live()


def _takes(rt: Runtime, run: Run) -> None:
    done = [j for j in run.jobs if not j.state.active]
    if not done:
        return
    cols = st.columns(COLUMNS)
    for i, job in enumerate(done):
        with cols[i % COLUMNS], st.container(border=True):
            render_job(job, rt.catalog)
            render_retry(rt, job)


def _run_block(rt: Runtime, run: Run, *, title: str) -> None:
    with st.container(border=True, key=f"run-{run.run_id}"):
        head, link = st.columns([4, 1], vertical_alignment="center")
        head.markdown(f"**{title}:** {run.prompt[:140] or '(no prompt)'}")
        head.caption(_summary(rt, run))
        link.page_link("app_pages/compare.py", label="Open its board", icon=":material/view_column:",
                       query_params={"run": run.run_id}, width="stretch")
        _live(rt, run)
        _takes(rt, run)


def _elsewhere(rt: Runtime, runs: Sequence[Run]) -> None:
    mine = {j.id for r in runs for j in r.jobs}
    others = [j for j in rt.ledger.list_jobs(states=[s.value for s in ACTIVE_STATES]) if j.id not in mine]
    if others:
        st.caption(f"{len(others)} other take(s) rendering (another browser or the batch CLI): see History.")


def render_queue(rt: Runtime) -> None:
    st.subheader("Runs")
    owner = current_owner()
    # A viewer starts no runs of their own: they watch everyone's from the start.
    everyone = bool(owner) and st.toggle("Everyone's runs", key="runs_everyone", value=not roles.may(roles.GENERATE),
                                         help="Off: the runs you started, from any browser. On: every person's runs "
                                              "on this deployment, newest first.")
    runs = my_runs(rt, everyone=everyone)
    if not runs:
        st.info("No runs yet. Write a prompt, pick models and press Generate: the run appears here, and every "
                "run is also a board on Compare.", icon=":material/movie:")
        _elsewhere(rt, runs)
        return
    _run_block(rt, runs[0], title="Latest run")
    _elsewhere(rt, runs)
    earlier = runs[1:]
    if not earlier:
        return
    pages = max(1, -(-len(earlier) // RUNS_PER_PAGE))
    h1, h2 = st.columns([4, 1], vertical_alignment="bottom")
    title = "Earlier runs" if everyone else "Your earlier runs" if owner else "Earlier runs from this browser"
    h1.markdown(f"**{title}** ({len(earlier)})")
    page = int(h2.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="runs_page",
                               label_visibility="collapsed" if pages == 1 else "visible")) if pages > 1 else 1
    for run in earlier[(page - 1) * RUNS_PER_PAGE:page * RUNS_PER_PAGE]:
        when = time.strftime("%H:%M", time.localtime(run.started_at))
        _run_block(rt, run, title=f"Run of {when}")

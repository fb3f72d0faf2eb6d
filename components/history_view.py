"""History's pieces: the filtered, paginated job query, the thumbnail grid, a job's detail and its actions."""

from __future__ import annotations

import datetime as dt
import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from components import rerun, roles
from components.board_view import render_take_card
from components.clip_facts import render_seconds
from components.clip_flags import tile_badge
from components.clip_urls import clip_url, thumb_url
from components.data_cache import forget
from components.job_card import model_name, render_failure
from components.runtime import Runtime
from components.submit_guard import request_id_for
from jobs import vocabulary
from jobs.ledger import Job, JobState, Ledger
from providers.catalog import Catalog
from providers.client import Backend

PAGE_SIZE = 24
ATTENTION_SHOWN = 8
KEPT_FILTERS = {"any": "Any", "kept": "Kept", "discarded": "Discarded", "unreviewed": "Not reviewed"}
_KEPT_VALUE = {"kept": 1, "discarded": 0, "unreviewed": None}
ATTENTION_ADVICE = {
    JobState.STALE: "Took longer than this model's deadline, but the task may still finish. Resume polling it; "
                    "if it stays stuck, try another model.",
    JobState.SUBMIT_UNKNOWN: "The submit may or may not have reached the provider, so it may be charged. Look for "
                             "this prompt in your CometAPI console (reconcile there), then mark it as checked. "
                             "The app never resends it on its own.",
    JobState.EXPIRED: "The clip was rendered (and likely charged) but its download link expired before the file "
                      "could be fetched again. Nothing can bring that file back: re-run if you need the take.",
}


@dataclass(frozen=True)
class Filters:
    text: str = ""
    model_ids: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    kept: str = "any"
    flagged: bool = False  # only clips whose technical checks raised a flag
    owner: str | None = None  # only this person's jobs (History's "mine"); None: everyone's


@dataclass(frozen=True)
class PageOfJobs:
    total: int
    jobs: list[Job]


def query(ledger: Ledger, f: Filters, page: int, page_size: int = PAGE_SIZE) -> PageOfJobs:
    """Newest first. The ledger filters text, model, state and date; kept and end date are filtered here.

    One model filters in SQL; several (or a kept/end-date filter) read the matching rows and filter in
    Python, which stays cheap because the page caches the result per ledger version.
    """
    text = f.text.strip() or None
    states = list(f.states) or None
    model = f.model_ids[0] if len(f.model_ids) == 1 else None
    simple = len(f.model_ids) <= 1 and f.kept == "any" and f.until is None
    if simple:
        total = ledger.count_jobs(states=states, model_id=model, text=text, since=f.since, flagged=f.flagged,
                                  owner=f.owner)
        jobs = ledger.list_jobs(states=states, model_id=model, text=text, since=f.since, limit=page_size,
                                offset=page * page_size, flagged=f.flagged, owner=f.owner)
        return PageOfJobs(total, jobs)
    rows = ledger.list_jobs(states=states, model_id=model, text=text, since=f.since, flagged=f.flagged,
                            owner=f.owner)
    if f.model_ids:
        rows = [j for j in rows if j.model_id in f.model_ids]
    if f.kept != "any":
        rows = [j for j in rows if j.kept == _KEPT_VALUE[f.kept]]
    if f.until is not None:
        rows = [j for j in rows if (j.created_at or 0) < f.until]
    return PageOfJobs(len(rows), rows[page * page_size:(page + 1) * page_size])


def day_bounds(start: dt.date | None, end: dt.date | None) -> tuple[float | None, float | None]:
    """Local-day bounds: from the start of `start` to the end of `end`."""
    since = dt.datetime.combine(start, dt.time.min).timestamp() if start else None
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min).timestamp() if end else None
    return since, until


def thumbnail_grid(jobs: list[Job], catalog: Catalog) -> str:
    """One HTML block for a whole page of thumbnails: one element instead of dozens keeps reruns cheap."""
    tiles = []
    for job in jobs:
        label = vocabulary.label(job.state)
        prompt = " ".join(str(job.recipe.get("prompt", "")).split())
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at or 0))
        kept = {1: " · kept", 0: " · discarded"}.get(job.kept if job.kept is not None else -1, "")
        thumb = thumb_url(job)
        picture = (f'<img src="{html.escape(thumb, quote=True)}" alt="{html.escape(prompt[:80], quote=True)}"'
                   ' loading="lazy">' if thumb else f'<div class="nothumb">{html.escape(label)}</div>')
        tiles.append(
            # Not a link: following one reloads the page as a new session, which forgets a session-only key.
            f'<div class="tile" id="job-{job.id}">{picture}<div class="cap">'
            f"<b>{html.escape(model_name(catalog, job.model_id))}</b> · {html.escape(label)}{kept}<br>"
            f"<span>{html.escape(prompt[:60])}</span><br><small>{when} · {job.id[:8]}</small>{tile_badge(job)}"
            "</div></div>")
    return (
        "<style>.hgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}"
        ".hgrid .tile{display:block;text-decoration:none;color:inherit;border:1px solid rgba(128,128,128,.3);"
        "border-radius:6px;overflow:hidden}.hgrid img,.hgrid .nothumb{width:100%;aspect-ratio:16/9;object-fit:cover;"
        "background:#111;display:flex;align-items:center;justify-content:center;color:#aaa}"
        ".hgrid .cap{font-size:12px;padding:4px 6px}.hgrid .cap span{opacity:.8}"
        ".hgrid .cap .flags{color:#e8a33d;font-style:normal}</style>"
        f'<div class="hgrid">{"".join(tiles)}</div>')


def _download_data(rt: Runtime, key: str) -> Callable[[], bytes]:
    def read() -> bytes:
        # Runs only when the user clicks, on Streamlit's worker thread: never held for the page's lifetime.
        with rt.clips.open(key) as f:
            return f.read()

    return read


def delete_clip(rt: Runtime, job: Job) -> None:
    if job.clip_path:
        rt.clips.delete(job.clip_path)
    rt.ledger.update(job.id, clip_path=None, clip_url=None, thumb_url=None)


def render_detail(rt: Runtime, backend: Backend, job: Job) -> None:
    """Everything about one take: clip, requested vs delivered, recipe, mapping, raw status, timings, events."""
    catalog = rt.catalog
    with st.container(border=True):
        st.subheader(f"{model_name(catalog, job.model_id)} · take {job.take + 1}")
        left, right = st.columns([3, 2])
        with left:
            url = clip_url(job)
            if url:
                st.video(url, muted=True)
            elif job.state == JobState.DOWNLOADED:
                st.caption("The local clip was deleted.")
        with right:
            render_take_card(rt, job, None)
        if job.state in (JobState.STALE, JobState.SUBMIT_UNKNOWN) and not job.error_kind:
            render_failure(job)  # the take card explains failures; these two need words of their own
        _actions(rt, backend, job)
        tabs = st.tabs(["Recipe", "Mapping report", "Raw status", "Timings & events"])
        with tabs[0]:
            recipe = job.recipe
            for key in ("first_frame", "last_frame"):
                if recipe.get(key) and recipe[key].get("data_b64"):
                    recipe[key] = {**recipe[key], "data_b64": f"<{len(recipe[key]['data_b64'])} base64 chars>"}
            st.json({"recipe": recipe, "options": job.options}, expanded=True)
        with tabs[1]:
            report = job.mapping.get("report") or []
            if report:
                st.dataframe(report, hide_index=True, width="stretch")
            cost = job.mapping.get("cost")
            if cost:
                st.caption(f"Cost rule: {cost.get('rule')} — {cost.get('source')} ({cost.get('as_of')})")
        with tabs[2]:
            st.json(job.raw_status or {"note": "no status recorded"}, expanded=False)
        with tabs[3]:
            seconds = render_seconds(job)
            stamps = {label: getattr(job, field) for field, label in _TIMINGS.items()}
            st.dataframe([{"step": k, "at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v))}
                          for k, v in stamps.items() if v], hide_index=True)
            if seconds is not None:
                st.caption(f"Render time {seconds:.1f} s · task id {job.task_id or '—'} · job {job.id}")
            events = rt.ledger.events(job.id)
            # A job's first event has no earlier state, and most carry no detail: blanks, not "None".
            st.dataframe([{"at": time.strftime("%H:%M:%S", time.localtime(e["at"])), "from": e["from_state"] or "",
                           "to": e["to_state"], "detail": e["detail"] or ""} for e in events], hide_index=True)


_TIMINGS = {"created_at": "Admitted", "submitted_at": "Sent to the provider",
            "first_running_at": "First seen rendering", "provider_finished_at": "Finished (provider's clock)",
            "detected_at": "Seen finished", "downloaded_at": "Downloaded"}
"""A take's timestamps in the order they happen, named for the person reading them, not for the ledger."""


def _actions(rt: Runtime, backend: Backend, job: Job) -> None:
    c1, c2, c3, c4 = st.columns(4)
    refused = roles.refusal(roles.GENERATE)
    if refused:
        st.caption(refused)
    if c1.button("Re-run", key=f"h_rerun:{job.id}", icon=":material/replay:", width="stretch",
                 disabled=refused is not None, help="The same recipe and options on the same model, as a new run"):
        run_id, ids, errors = rerun.submit(rt, backend, rerun.plan([job], rerun.Change("none")),
                                           run_id=request_id_for("rerun", job.id))
        for message in errors:
            st.error(message)
        if ids:
            forget()
            st.toast(f"Re-run submitted ({len(ids)} take). It appears on Generate and Compare.",
                     icon=":material/rocket_launch:")
    if job.clip_path and rt.clips.exists(job.clip_path):
        c2.download_button("Download MP4", data=_download_data(rt, job.clip_path), file_name=f"{job.model_id}-"
                           f"{job.id[:8]}.mp4", mime="video/mp4", on_click="ignore", icon=":material/download:",
                           key=f"h_dl:{job.id}", width="stretch")
        confirm = c4.checkbox("Confirm delete", key=f"h_del_ok:{job.id}")
        if c3.button("Delete local clip", key=f"h_del:{job.id}", icon=":material/delete:", disabled=not confirm,
                     width="stretch", help="Removes the MP4 and thumbnail from the clip store; the ledger row stays"):
            delete_clip(rt, job)
            forget()
            st.rerun()
    if job.family == "sora" and job.task_id and job.state == JobState.DOWNLOADED and not refused:
        with st.expander("Sora remix", icon=":material/auto_fix_high:"):
            prompt = st.text_input("Describe the change", key=f"h_remix:{job.id}")
            if st.button("Remix", key=f"h_remix_go:{job.id}", disabled=not prompt.strip()):
                from components.remix import submit_remix

                message = submit_remix(rt, backend, job, prompt.strip(),
                                       request_id=request_id_for("remix", job.id, prompt.strip()))
                (st.error if message.startswith(("Remix failed", "Remix refused")) else st.success)(message)
                forget()


def render_attention(rt: Runtime, jobs: list[Job]) -> None:
    """Jobs that were (or may have been) paid for without a clip on disk, each with what can be done."""
    if not jobs:
        return
    with st.expander(f"Needs attention ({len(jobs)})", expanded=True, icon=":material/warning:"):
        if len(jobs) > ATTENTION_SHOWN:
            st.caption(f"The {ATTENTION_SHOWN} most recent are listed; filter by state below to see all.")
        for job in jobs[:ATTENTION_SHOWN]:
            prompt = " ".join(str(job.recipe.get("prompt", "")).split())[:60]
            c1, c2 = st.columns([4, 1], vertical_alignment="center")
            c1.markdown(f"**{model_name(rt.catalog, job.model_id)}** · {vocabulary.label(job.state)} · {prompt} · "
                        f"`{job.id[:8]}`")
            c1.caption(ATTENTION_ADVICE[job.state])
            if job.state == JobState.STALE:
                if c2.button("Resume", key=f"att_resume:{job.id}", icon=":material/play_arrow:"):
                    rt.runner.resume(job.id)
                    forget()
                    st.rerun()
            elif job.state == JobState.SUBMIT_UNKNOWN:
                if c2.button("Mark as checked", key=f"att_checked:{job.id}", icon=":material/done:"):
                    rt.ledger.transition(job.id, JobState.CANCELED, detail="checked in the provider console",
                                         note="Checked by the user in the provider console.")
                    forget()
                    st.rerun()
            elif c2.button("Dismiss", key=f"att_dismiss:{job.id}", icon=":material/visibility_off:"):
                rt.ledger.update(job.id, note=DISMISSED_NOTE)
                forget()
                st.rerun()


DISMISSED_NOTE = "Expired: seen by the user."


def attention_jobs(ledger: Ledger) -> list[Job]:
    rows = ledger.list_jobs(states=[s.value for s in (JobState.STALE, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED)])
    return [j for j in rows if not (j.state == JobState.EXPIRED and j.note == DISMISSED_NOTE)]


def describe(f: Filters) -> str:
    return json.dumps(f.__dict__, sort_keys=True, default=str)

"""Kling Extend: continue a downloaded Kling take as a new take linked to it (`link_kind = "extend"`).

Kling clears generated videos 30 days after they are made, and an extend must run on the account that made
the parent (reference §3 "Retention", §8). So: a parent within 3 days of that is extended with a warning,
one past it is refused, and a take is extended only through the backend and key that made it.

The row is written before the POST (intent before spend) in `submitting`, leased to this request, so a
crash mid-request leaves a `submit_unknown` job, never a silent charge or a second POST. Once the provider
answers with a task id, the job is handed to the runner (`resume`), which polls and downloads it. The cost
is the parent model's price rule for one take of its default length, reserved against the budget like any
take; a parent model with no known price is refused live (the budget cannot guard what it cannot price).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from jobs.callbacks import config_from_env
from jobs.ledger import BudgetExceeded, Job, JobState, Ledger, NotPermitted
from jobs.runner import Runner
from providers import callback_url, pricing
from providers.catalog import Catalog, price_rule_to_dict
from providers.client import Backend, CometClient
from providers.errors import DailiesError
from providers.families import kling_extend, kling_omni
from providers.recipe import ModelOptions, Recipe
from providers.submission import CostEstimate, MappingAction, MappingLine, Submission

FAMILY = "kling_extend"
EXTENDABLE_FAMILIES = ("kling", "kling_omni", FAMILY)
RETENTION_S = 30 * 86400.0
WARN_WITHIN_S = 3 * 86400.0
EXTEND_NAMESPACE = uuid.UUID("0b8c4f0e-5d1a-4f7e-8a35-3c6a2e9d7b41")
EXTEND_LEASE_S = 300.0
"""Longer than the submit POST can take: no runner touches the row while the request is in flight."""


@dataclass(frozen=True)
class ExtendCheck:
    allowed: bool
    reason: str
    """Why it is refused ("" when allowed)."""
    warning: str
    """The retention warning when the parent is close to Kling's 30 days ("" otherwise)."""
    video_id: str | None
    expires_at: float | None


def made_at(job: Job) -> float | None:
    return job.provider_finished_at or job.detected_at or job.downloaded_at or job.submitted_at


def check(job: Job, *, now: float | None = None) -> ExtendCheck:
    """Whether this take can be extended now, and what to warn about."""
    now = time.time() if now is None else now
    if job.family not in EXTENDABLE_FAMILIES:
        return ExtendCheck(False, "Only Kling takes can be extended.", "", None, None)
    if job.state != JobState.DOWNLOADED:
        return ExtendCheck(False, "Only a downloaded take can be extended.", "", None, None)
    video_id = kling_omni.video_id(job.raw_status)
    if not video_id:
        return ExtendCheck(False, "Kling's answer for this take names no video id to extend.", "", None, None)
    born = made_at(job)
    expires = born + RETENTION_S if born is not None else None
    if expires is not None and now >= expires:
        day = time.strftime("%Y-%m-%d", time.gmtime(expires))
        return ExtendCheck(False, f"Kling cleared this video after 30 days (on {day}); it can no longer be "
                                  "extended.", "", video_id, expires)
    warning = ""
    if expires is not None and expires - now <= WARN_WITHIN_S:
        hours = max(1, int((expires - now) // 3600))
        warning = (f"Kling clears this video in about {hours} h (30 days after it was made); extend it now or "
                   "not at all.")
    return ExtendCheck(True, "", warning, video_id, expires)


def extend_submission(model_id: str, video_id: str, prompt: str, recipe: dict[str, object],
                      options: dict[str, object], cost: CostEstimate, parent_id: str) -> Submission:
    return Submission(
        model_id=model_id, family=FAMILY, recipe=Recipe.from_dict(recipe), options=ModelOptions.from_dict(options),
        request=kling_extend.extend_request(video_id, prompt), poll_path_template=kling_extend.POLL_TEMPLATE,
        content_path_template=None,
        report=(MappingLine("video_id", MappingAction.SENT, parent_id, video_id),
                MappingLine("prompt", MappingAction.SENT, prompt, prompt)),
        cost=cost, requested_duration_s=0.0, requested_size=None, has_audio=False)


def replay_submission(job: Job) -> Submission:
    """An extension's own request again (for View code and the board's code export), from what was sent."""
    report = job.mapping.get("report") or []
    video_id = next((str(r.get("sent")) for r in report if r.get("field") == "video_id"), "")
    prompt = str(job.recipe.get("prompt", ""))
    c = job.mapping.get("cost") or {}
    cost = CostEstimate(float(c.get("low_usd") or 0), float(c.get("high_usd") or 0), bool(c.get("exact")),
                        str(c.get("rule", "")), str(c.get("source", "")), str(c.get("as_of", "")))
    return extend_submission(job.model_id, video_id, prompt, job.recipe, job.options, cost,
                             job.parent_job_id or "")


@dataclass(frozen=True)
class ExtendResult:
    job_id: str | None
    message: str


def submit_extend(ledger: Ledger, runner: Runner, catalog: Catalog, backend: Backend, parent: Job, prompt: str, *,
                  request_id: str, budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                  client_factory: Callable[[Backend], CometClient] = CometClient,
                  now: float | None = None, owner: str | None = None,
                  person_limit_usd: float | None = None, role: str | None = None) -> ExtendResult:
    """Send the extend and hand its task to the runner. The same `request_id` twice sends nothing. `owner`: who
    asks (recorded on the new job, held to `person_limit_usd`); `role`: theirs (a viewer's extend is refused)."""
    verdict = check(parent, now=now)
    if not verdict.allowed or verdict.video_id is None:
        return ExtendResult(None, f"Extend refused: {verdict.reason}")
    prompt = prompt.strip()
    if not prompt or len(prompt) > kling_extend.PROMPT_MAX:
        return ExtendResult(None, f"prompt: {len(prompt)} characters; Extend takes 1-{kling_extend.PROMPT_MAX}")
    kind = "sandbox" if backend.sandbox else "live"
    if parent.backend != kind or parent.base_url != backend.base_url.rstrip("/") or \
            (parent.key_fingerprint and parent.key_fingerprint != backend.key_fingerprint):
        return ExtendResult(None, f"Extend refused: Kling extends a video only on the account that made it; this take "
                                  f"was made on the {parent.backend} backend at {parent.base_url} with another key.")
    spec = catalog.get(parent.model_id)
    if not backend.sandbox and (refusal := pricing.live_refusal(spec)):
        return ExtendResult(None, f"Extend refused: {refusal}")
    row_id = uuid.uuid5(EXTEND_NAMESPACE, request_id).hex
    if ledger.get(row_id) is not None:
        return ExtendResult(row_id, "This extend was already sent (a second click sends nothing).")
    try:
        hooks = config_from_env()  # the team's workers take the callback (DAILIES_PUBLIC_URL), whoever sends
    except DailiesError as e:
        return ExtendResult(None, f"Extend refused: {e.message}")
    hook = hooks.url_for(row_id) if hooks is not None and catalog.family(FAMILY).callback else None
    cost = pricing.estimate(spec, spec.durations.default, None, parent.options.get("mode"))
    recipe = {**parent.recipe, "prompt": prompt}
    parent_meta = parent.mapping
    mapping = {
        "report": [{"field": "video_id", "action": "sent", "requested": parent.id, "sent": verdict.video_id,
                    "note": f"extend of take {parent.id[:8]}"},
                   {"field": "prompt", "action": "sent", "requested": prompt, "sent": prompt, "note": ""}],
        "requested_duration_s": None, "requested_size": parent_meta.get("requested_size"),
        "has_audio": parent_meta.get("has_audio"), "extend_of": parent.id,
        "cost": {"low_usd": cost.low_usd, "high_usd": cost.high_usd, "exact": cost.exact,
                 "rule": f"extend: {cost.rule}", "source": cost.source, "as_of": cost.as_of},
        "price_rule": price_rule_to_dict(spec.price), "warning": verdict.warning or None,
    }
    if hook is not None:
        mapping["report"].append(callback_url.report_line(hook))  # type: ignore[attr-defined]
    # The lease this request holds while its POST is in flight; `owner` stays the person who asked.
    lease = f"extend:{row_id}"
    try:
        (row,) = ledger.create_jobs([{
            "id": row_id, "run_id": parent.run_id, "take": parent.take, "model_id": parent.model_id,
            "family": FAMILY, "backend": kind, "base_url": backend.base_url.rstrip("/"),
            "key_fingerprint": backend.key_fingerprint, "recipe_json": json.dumps(recipe, sort_keys=True),
            "options_json": parent.options_json, "mapping_json": json.dumps(mapping, default=str),
            "state": str(JobState.SUBMITTING), "est_low_usd": cost.low_usd, "est_high_usd": cost.high_usd,
            "parent_job_id": parent.id, "link_kind": "extend", "time_scale": parent.time_scale,
            "budget_limit_usd": budget_limit_usd, "budget_period_start": budget_period_start, "owner": owner,
            # Intent before spend, leased to this request so no rescan calls it submit_unknown mid-POST.
            "lease_owner": lease, "lease_expires_at": time.time() + EXTEND_LEASE_S,
        }], limit_usd=budget_limit_usd, period_start=budget_period_start, person_limit_usd=person_limit_usd,
            role=role)
    except BudgetExceeded as e:
        return ExtendResult(None, f"Extend refused by the budget: {e}")
    except NotPermitted as e:
        return ExtendResult(None, f"Extend refused: {e}")
    sub = extend_submission(parent.model_id, verdict.video_id, prompt, recipe, parent.options, cost, parent.id)
    if hook is not None:
        sub = callback_url.with_callback(dataclasses.replace(sub, callback=True), hook)
    client = client_factory(backend)
    try:
        status = client.submit(sub)
    except DailiesError as e:
        state = JobState.SUBMIT_UNKNOWN if e.kind.value == "submit_unknown" else JobState.FAILED
        ledger.transition(row.id, state, error_kind=str(e.kind), error_message=e.message, charged=str(e.charged))
        ledger.release(lease, [row.id])
        return ExtendResult(row.id, f"Extend failed: {e.message}")
    finally:
        client.close()
    ledger.record_task_id(row.id, status.task_id, submitted_at=time.time(),
                          poll_path=kling_extend.POLL_TEMPLATE.format(task_id=status.task_id), content_path=None)
    ledger.transition(row.id, JobState.STALE, detail="extend accepted; handing it to the runner")
    ledger.release(lease, [row.id])
    runner.set_key(backend)
    runner.resume(row.id)
    warned = f" {verdict.warning}" if verdict.warning else ""
    return ExtendResult(row.id, f"Extend submitted as task {status.task_id}: it appears beside its parent.{warned}")

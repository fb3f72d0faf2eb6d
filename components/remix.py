"""Sora remix (`POST /v1/videos/{id}/remix`): a new take from a finished Sora video, tracked like any other.

The ledger row is written before the POST (intent before spend) in `submitting`, so a crash mid-request
leaves a `submit_unknown` job, never a silent charge. Once the provider answers with a task id, the job is
handed to the runner through its public `resume()` (stale → queued), which polls and downloads it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid

from components import roles
from components.runtime import Runtime
from jobs.ledger import BudgetExceeded, Job, JobState, NotPermitted
from jobs.prefs import period_start
from providers.client import Backend, CometClient
from providers.errors import DailiesError
from providers.recipe import ModelOptions, Recipe
from providers.submission import CostEstimate, MappingAction, MappingLine, Submission, WireRequest


def remix_submission(job: Job, prompt: str) -> Submission:
    meta = job.mapping
    cost = meta.get("cost") or {}
    recipe = dataclasses.replace(Recipe.from_dict(job.recipe), prompt=prompt)
    size = meta.get("requested_size")
    return Submission(
        model_id=job.model_id, family="sora", recipe=recipe, options=ModelOptions.from_dict(job.options),
        request=WireRequest("POST", f"/v1/videos/{job.task_id}/remix", json={"prompt": prompt}),
        poll_path_template="/v1/videos/{task_id}", content_path_template="/v1/videos/{task_id}/content",
        report=(MappingLine("prompt", MappingAction.SENT, prompt, prompt, f"remix of {job.task_id}"),),
        cost=CostEstimate(float(job.est_low_usd or 0), float(job.est_high_usd or 0), bool(cost.get("exact", True)),
                          f"remix: {cost.get('rule', 'same as the source take')}", str(cost.get("source", "")),
                          str(cost.get("as_of", ""))),
        requested_duration_s=float(meta.get("requested_duration_s") or 0),
        requested_size=(int(size[0]), int(size[1])) if size else None, has_audio=bool(meta.get("has_audio")))


REMIX_NAMESPACE = uuid.UUID("6f1d0a52-3b7e-4d0c-9a51-8f2f5cf0b1a7")
REMIX_LEASE_S = 300.0
"""Longer than the submit POST can take: no runner touches the row while the remix request is in flight."""


def submit_remix(rt: Runtime, backend: Backend, job: Job, prompt: str, *, request_id: str) -> str:
    """Send the remix and hand it to the runner. Returns a sentence for the user.

    The same `request_id` twice (a double click) finds its row and sends nothing; the budget applies
    to a live remix; a take is remixed only through the backend (and key) that made it.
    """
    kind = "sandbox" if backend.sandbox else "live"
    if job.backend != kind or job.base_url != backend.base_url.rstrip("/") or \
            (job.key_fingerprint and job.key_fingerprint != backend.key_fingerprint):
        return (f"Remix refused: this take was made on the {job.backend} backend at {job.base_url}; "
                "switch to the same backend and key to remix it.")
    row_id = uuid.uuid5(REMIX_NAMESPACE, request_id).hex
    if rt.ledger.get(row_id) is not None:
        return "This remix was already sent (a second click sends nothing)."
    sub = remix_submission(job, prompt)
    mapping = {**job.mapping, "report": [dataclasses.asdict(line) | {"action": str(line.action)}
                                         for line in sub.report], "remix_of": job.id}
    owner = f"remix:{row_id}"
    asker = roles.admission(rt.prefs, backend.sandbox)
    try:
        (row,) = rt.ledger.create_jobs([{
            "id": row_id, "run_id": uuid.uuid4().hex, "model_id": job.model_id, "family": "sora",
            "backend": kind, "base_url": backend.base_url.rstrip("/"), "key_fingerprint": backend.key_fingerprint,
            "recipe_json": sub.recipe.to_json(), "options_json": job.options_json,
            "mapping_json": json.dumps(mapping, default=str), "state": str(JobState.SUBMITTING),
            "est_low_usd": job.est_low_usd, "est_high_usd": job.est_high_usd, "parent_job_id": job.id,
            "link_kind": "remix", "owner": asker["owner"],
            "time_scale": backend.time_scale if backend.sandbox else 1.0,
            # Intent before spend, leased to this request so no rescan calls it submit_unknown mid-POST.
            "lease_owner": owner, "lease_expires_at": time.time() + REMIX_LEASE_S,
        }], limit_usd=None if backend.sandbox else rt.prefs.budget_usd,
            period_start=None if backend.sandbox else period_start(rt.prefs.budget_period),
            person_limit_usd=asker["person_limit_usd"], role=asker["role"])
    except BudgetExceeded as e:
        return f"Remix refused by the budget: {e}"
    except NotPermitted as e:
        return f"Remix refused: {e}"
    client = CometClient(backend)
    try:
        status = client.submit(sub)
    except DailiesError as e:
        state = JobState.SUBMIT_UNKNOWN if e.kind.value == "submit_unknown" else JobState.FAILED
        rt.ledger.transition(row.id, state, error_kind=str(e.kind), error_message=e.message,
                             charged=str(e.charged))
        return f"Remix failed: {e.message}"
    finally:
        client.close()
    rt.ledger.record_task_id(row.id, status.task_id, poll_path=f"/v1/videos/{status.task_id}",
                             content_path=f"/v1/videos/{status.task_id}/content")
    rt.ledger.transition(row.id, JobState.STALE, detail="remix accepted; handing it to the runner")
    rt.ledger.release(owner, [row.id])
    rt.runner.resume(row.id)
    return f"Remix submitted as task {status.task_id}: it appears in the queue on Generate."

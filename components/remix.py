"""Sora remix (`POST /v1/videos/{id}/remix`): a new take from a finished Sora video, tracked like any other.

The ledger row is written before the POST (intent before spend) in `submitting`, so a crash mid-request
leaves a `submit_unknown` job, never a silent charge. Once the provider answers with a task id, the job is
handed to the runner through its public `resume()` (stale → queued), which polls and downloads it.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

from components.runtime import Runtime
from jobs.ledger import Job, JobState
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


def submit_remix(rt: Runtime, backend: Backend, job: Job, prompt: str) -> str:
    """Send the remix and hand it to the runner. Returns a sentence for the user."""
    sub = remix_submission(job, prompt)
    mapping = {**job.mapping, "report": [dataclasses.asdict(line) | {"action": str(line.action)}
                                         for line in sub.report], "remix_of": job.id}
    row = rt.ledger.create_job(
        run_id=uuid.uuid4().hex, model_id=job.model_id, family="sora",
        backend="sandbox" if backend.sandbox else "live", base_url=backend.base_url.rstrip("/"),
        key_fingerprint=backend.key_fingerprint, recipe_json=sub.recipe.to_json(),
        options_json=job.options_json, mapping_json=json.dumps(mapping, default=str), state=str(JobState.SUBMITTING),
        poll_path=None, content_path=None, est_low_usd=job.est_low_usd, est_high_usd=job.est_high_usd,
        parent_job_id=job.id, time_scale=backend.time_scale if backend.sandbox else 1.0)
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
    rt.ledger.record_task_id(row.id, status.task_id, raw_status_json=json.dumps(status.raw, default=str))
    rt.ledger.transition(row.id, JobState.STALE, detail="remix accepted; handing it to the runner",
                         poll_path=f"/v1/videos/{status.task_id}", content_path=f"/v1/videos/{status.task_id}/content")
    rt.runner.resume(row.id)
    return f"Remix submitted as task {status.task_id}: it appears in the queue on Generate."

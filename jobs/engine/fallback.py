"""Opt-in: send the same recipe to the job's fallback model as a new, linked job.

The fallback reserves money again, so it is admitted like the original take: in one ledger transaction, against the
team's limit and its owner's per-person limit, both as they were when the original was admitted (kept on the job).
"""

from __future__ import annotations

import uuid

from jobs.engine.context import EngineContext
from jobs.engine.records import job_row
from jobs.ledger import Job, LedgerError
from providers.errors import DailiesError
from providers.mapping import prepare
from providers.pricing import live_refusal
from providers.recipe import ModelOptions, Recipe

JOB_NAMESPACE = uuid.UUID("6f1c9b1e-2f7a-4d7e-9a43-5d7b0c1e9a10")


def maybe_fallback(ctx: EngineContext, job: Job, *, reason: str) -> None:
    if not job.fallback_model or job.parent_job_id or ctx.ledger.children(job.id):
        return
    if ctx.backends.for_job(job) is None:
        return
    try:
        sub = prepare(Recipe.from_dict(job.recipe), job.fallback_model, ModelOptions(), ctx.catalog)
    except DailiesError as exc:
        ctx.ledger.update(job.id, note=f"Fallback to {job.fallback_model} not possible: {exc.message}")
        return
    if job.backend != "sandbox" and (refusal := live_refusal(ctx.catalog.get(job.fallback_model))):
        ctx.ledger.update(job.id, note=f"Fallback to {job.fallback_model} not possible: {refusal}")
        return
    row = job_row(uuid.uuid5(JOB_NAMESPACE, f"fallback:{job.id}").hex, sub,
                  ctx.catalog.get(job.fallback_model).price, run_id=job.run_id, take=job.take,
                  backend=job.backend, base_url=job.base_url, key_fingerprint=job.key_fingerprint,
                  recipe_json=job.recipe_json, options_json="{}", time_scale=job.time_scale,
                  budget_limit_usd=job.budget_limit_usd, budget_period_start=job.budget_period_start,
                  parent_job_id=job.id, link_kind="fallback", owner=job.owner)
    try:
        (child,) = ctx.ledger.create_jobs([row], limit_usd=job.budget_limit_usd,
                                          period_start=job.budget_period_start,
                                          person_limit_usd=job.person_limit_usd)
    except LedgerError as exc:  # BudgetExceeded (the team's or the owner's): note it, keep the original job
        ctx.ledger.update(job.id, note=f"Fallback to {job.fallback_model} refused: {exc}")
        return
    ctx.ledger.update(job.id, note=f"{reason}; the recipe went to {job.fallback_model} as job {child.id[:8]}. "
                                   "This task may still finish and be charged.")
    ctx.bump()
    ctx.adopt(child)

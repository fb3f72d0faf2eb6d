"""Re-running takes from their stored recipe, optionally with one setting changed, under the same budget rules
as the Generate page (live runs reserve against the period's budget; sandbox runs never count)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components import roles
from components.runtime import Runtime
from jobs.ledger import BudgetExceeded, Job, NotPermitted
from jobs.prefs import period_start
from providers.client import Backend
from providers.errors import DailiesError, ValidationErrors
from providers.recipe import ModelOptions, Recipe

RATIOS = ("16:9", "9:16", "1:1")
CHANGES = {
    "none": "Nothing (same settings)",
    "kling_mode": "Kling mode (std / pro)",
    "duration": "Duration",
    "aspect_ratio": "Aspect ratio",
    "seed": "Seed",
    "prompt": "Prompt",
}


KLING_MODE_FAMILIES = ("kling", "kling_omni")
"""Families whose models take Kling's std / pro mode (an extension keeps its parent's)."""


@dataclass(frozen=True)
class Change:
    setting: str
    """A key of CHANGES."""
    value: Any = None


def changed(job: Job, change: Change) -> tuple[Recipe, ModelOptions]:
    """The take's recipe and options with one setting changed (Kling mode touches only Kling takes)."""
    recipe_d, options = dict(job.recipe), dict(job.options)
    if change.setting == "kling_mode":
        if job.family in KLING_MODE_FAMILIES:
            options["mode"] = change.value
    elif change.setting in ("duration", "aspect_ratio", "seed", "prompt"):
        recipe_d[{"duration": "duration_s"}.get(change.setting, change.setting)] = change.value
    elif change.setting != "none":
        raise ValueError(f"setting: {change.setting!r} is not one of {', '.join(CHANGES)}")
    return Recipe.from_dict(recipe_d), ModelOptions.from_dict(options)


def plan(jobs: Sequence[Job], change: Change) -> list[tuple[Recipe, list[tuple[str, ModelOptions]]]]:
    """One take per distinct (recipe, model, options) on the board, grouped by recipe for submit_run."""
    groups: dict[str, tuple[Recipe, list[tuple[str, ModelOptions]]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for job in jobs:
        recipe, options = changed(job, change)
        key = (recipe.to_json(), job.model_id, json.dumps(options.to_dict(), sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(key[0], (recipe, []))[1].append((job.model_id, options))
    return list(groups.values())


def submit(rt: Runtime, backend: Backend, groups: Sequence[tuple[Recipe, list[tuple[str, ModelOptions]]]], *,
           run_id: str | None = None) -> tuple[str, list[str], list[str]]:
    """Submit every group as one run, all or nothing. Returns (run_id, job ids, error messages); nothing raises."""
    run = run_id or uuid.uuid4().hex
    errors: list[str] = []
    for recipe, choices in groups:
        for model_id, options in choices:
            try:
                rt.runner.prepare_run(recipe, [(model_id, options)])
            except ValidationErrors as e:
                errors += [f"{model_id}: {msg}" for msg in e.by_field().values()]
            except DailiesError as e:
                errors.append(f"{model_id}: {e.message}")
    if errors:
        return run, [], errors
    try:
        # One ledger transaction: the budget admits the whole re-run or none of it.
        ids = rt.runner.submit_groups(
            groups, backend, run_id=run, request_id=run,
            budget_limit_usd=None if backend.sandbox else rt.prefs.budget_usd,
            budget_period_start=None if backend.sandbox else period_start(rt.prefs.budget_period),
            **roles.admission(rt.prefs, backend.sandbox))
    except BudgetExceeded as e:
        return run, [], [f"Not sent — {e}"]
    except NotPermitted as e:
        return run, [], [f"Refused: {e}"]
    except DailiesError as e:
        return run, [], [f"{e.title}: {e.message}"]
    return run, ids, errors

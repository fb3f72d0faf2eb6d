"""Saved recipes with per-model variants, linked to the runs they produced: a prompt and its track record.

A variant rewrites the recipe for one model: Runway wants a motion-only prompt (the image carries the
scene), Kling takes a separate negative prompt. Starting a run sends each model its own variant; models
that share a variant go in one submit, and every submit of the run shares one run id (one board).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobs import permissions, settings
from jobs.runner import Runner
from jobs.store.tables import Tables
from jobs.store.team_schema import LIBRARY_COLUMNS, LIBRARY_STEPS
from providers.catalog import Catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe
from review.store import normalise_tags

LIBRARY_FILENAME = "library.sqlite3"
NAME_MAX = 120



class LibraryError(ValueError):
    """A saved recipe the library refuses; the message names the field."""


@dataclass(frozen=True)
class ModelVariant:
    """What one model gets instead of the base recipe. None keeps the base value."""

    model_id: str
    prompt: str | None = None
    negative_prompt: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "options": self.options}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelVariant:
        return cls(model_id=d["model_id"], prompt=d.get("prompt") or None,
                   negative_prompt=d.get("negative_prompt") or None, options=dict(d.get("options") or {}))


@dataclass(frozen=True)
class SavedRecipe:
    id: str
    name: str
    recipe: Recipe
    tags: tuple[str, ...] = ()
    variants: tuple[ModelVariant, ...] = ()
    """One per model the recipe is meant for, in the order they were picked."""
    created_at: float = 0.0
    updated_at: float = 0.0
    created_by: str | None = None
    """Who saved it first (a later edit keeps it); None with no sign-in and for recipes saved before."""

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(v.model_id for v in self.variants)

    def variant(self, model_id: str) -> ModelVariant:
        for v in self.variants:
            if v.model_id == model_id:
                return v
        return ModelVariant(model_id)

    def recipe_for(self, model_id: str) -> Recipe:
        """The base recipe with this model's prompt and negative prompt swapped in."""
        v = self.variant(model_id)
        changes: dict[str, Any] = {}
        if v.prompt:
            changes["prompt"] = v.prompt
        if v.negative_prompt is not None:
            changes["negative_prompt"] = v.negative_prompt
        return dataclasses.replace(self.recipe, **changes)

    def options_for(self, model_id: str) -> ModelOptions:
        return ModelOptions.from_dict(self.variant(model_id).options)


@dataclass(frozen=True)
class StartedRun:
    run_id: str
    job_ids: tuple[str, ...]


class PromptLibrary:
    def __init__(self, target: str | Path) -> None:
        """`target`: a SQLite file, or the team's PostgreSQL URL (its tables sit beside the ledger's)."""
        self.tables = Tables(target, [("library", LIBRARY_STEPS)], LIBRARY_COLUMNS)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> PromptLibrary:
        return cls(settings.database_url() or Path(data_dir) / LIBRARY_FILENAME)

    def close(self) -> None:
        self.tables.close()

    # --- saving ------------------------------------------------------------------------------------

    def save(self, name: str, recipe: Recipe, *, tags: Iterable[str] = (), variants: Sequence[ModelVariant] = (),
             catalog: Catalog | None = None, recipe_id: str | None = None, created_by: str | None = None,
             role: str | None = None) -> SavedRecipe:
        """Create (or, with `recipe_id`, replace) a saved recipe. Names are unique across the library.
        `created_by`: the signed-in person saving it (kept by later edits); `role`: theirs (a viewer's is refused)."""
        _require_editor(role)
        name = name.strip()
        if not name:
            raise LibraryError("name: give the recipe a name")
        if len(name) > NAME_MAX:
            raise LibraryError(f"name: at most {NAME_MAX} characters")
        if not recipe.prompt.strip() and not any(v.prompt for v in variants):
            raise LibraryError("prompt: a saved recipe needs a prompt")
        if not variants:
            # Saved without models, its Start button could only ever be disabled.
            raise LibraryError("models: pick at least one model; a saved recipe is started on its models")
        seen: set[str] = set()
        for v in variants:
            if v.model_id in seen:
                raise LibraryError(f"variants: {v.model_id} appears twice")
            seen.add(v.model_id)
            if catalog is not None and v.model_id not in catalog.ids():
                raise LibraryError(f"variants: unknown model {v.model_id!r}; allowed: {', '.join(catalog.ids())}")
        now = time.time()
        existing = self.get(recipe_id) if recipe_id else None
        saved = SavedRecipe(id=recipe_id or uuid.uuid4().hex, name=name, recipe=recipe, tags=normalise_tags(tags),
                            variants=tuple(variants), created_at=existing.created_at if existing else now,
                            updated_at=now, created_by=existing.created_by if existing else created_by)
        clash = self.by_name(name)
        if clash is not None and clash.id != saved.id:
            raise LibraryError(f"name: {name!r} is already used by another saved recipe")
        self.tables.insert("saved_recipes", {
            "id": saved.id, "name": saved.name, "tags_json": json.dumps(list(saved.tags)),
            "recipe_json": recipe.to_json(), "variants_json": json.dumps([v.to_dict() for v in saved.variants],
                                                                         sort_keys=True),
            "created_at": saved.created_at, "updated_at": now, "created_by": saved.created_by}, replace=True)
        return saved

    def delete(self, recipe_id: str, *, role: str | None = None) -> None:
        _require_editor(role)
        self.tables.delete(("saved_recipes", {"id": recipe_id}), ("recipe_runs", {"recipe_id": recipe_id}))

    # --- reading -----------------------------------------------------------------------------------

    def get(self, recipe_id: str) -> SavedRecipe | None:
        row = self.tables.first("saved_recipes", id=recipe_id)
        return _row_to_saved(row) if row else None

    def by_name(self, name: str) -> SavedRecipe | None:
        row = self.tables.first("saved_recipes", name=name.strip())
        return _row_to_saved(row) if row else None

    def list(self, *, tag: str | None = None, text: str | None = None,
             created_by: str | None = None) -> list[SavedRecipe]:
        """By name; only the recipes `created_by` saved, when given."""
        where = {} if created_by is None else {"created_by": created_by}
        out = sorted((_row_to_saved(r) for r in self.tables.find("saved_recipes", **where)),
                     key=lambda s: (s.name.lower(), s.name))
        if tag:
            out = [s for s in out if tag.strip().lower() in s.tags]
        if text:
            needle = text.strip().lower()
            out = [s for s in out if needle in s.name.lower() or needle in s.recipe.prompt.lower()]
        return out

    def tags(self) -> list[str]:
        return sorted({t for s in self.list() for t in s.tags})

    # --- runs --------------------------------------------------------------------------------------

    def link_run(self, recipe_id: str, run_id: str) -> None:
        self.tables.insert("recipe_runs", {"recipe_id": recipe_id, "run_id": run_id, "created_at": time.time()},
                           key=("recipe_id", "run_id"))

    def runs(self, recipe_id: str) -> list[str]:
        """Run ids this recipe produced, newest first (each run is a board)."""
        rows = self.tables.find("recipe_runs", order_by=("-created_at",), recipe_id=recipe_id)
        return [r["run_id"] for r in rows]

    def recipe_for_run(self, run_id: str) -> SavedRecipe | None:
        row = self.tables.first("recipe_runs", run_id=run_id)
        return self.get(row["recipe_id"]) if row else None

    def tags_for_runs(self, run_ids: Iterable[str]) -> tuple[str, ...]:
        """The categories of the saved recipes behind these runs: a review of them is filed under these."""
        found: set[str] = set()
        for run_id in run_ids:
            saved = self.recipe_for_run(run_id)
            if saved is not None:
                found.update(saved.tags)
        return tuple(sorted(found))

    def start_run(self, saved: SavedRecipe, runner: Runner, backend: Backend, *,
                  model_ids: Sequence[str] | None = None, takes: int = 1, request_id: str | None = None,
                  budget_limit_usd: float | None = None, budget_period_start: float | None = None,
                  owner: str | None = None, person_limit_usd: float | None = None,
                  role: str | None = None) -> StartedRun:
        """Send each model its variant of the recipe, as one run (one board), and link the run to the recipe.
        `owner` (who starts it) is recorded on every job and must fit `person_limit_usd` as well; a `role` that
        may not start takes (a viewer) is refused by the ledger (NotPermitted), with nothing written.

        Every variant group is written in one ledger transaction, so a run is never half sent because
        its second group passed the budget (BudgetExceeded, nothing written).
        """
        models = list(model_ids if model_ids is not None else saved.model_ids)
        if not models:
            raise LibraryError("models: this saved recipe names no models; pick at least one")
        groups: dict[str, tuple[Recipe, list[tuple[str, ModelOptions]]]] = {}
        for model_id in models:
            recipe = saved.recipe_for(model_id)
            groups.setdefault(recipe.to_json(), (recipe, []))[1].append((model_id, saved.options_for(model_id)))
        request = request_id or uuid.uuid4().hex
        # One ledger transaction for every variant group: the budget admits the whole run or none of it.
        job_ids = runner.submit_groups(list(groups.values()), backend, takes=takes, run_id=request,
                                       request_id=request, budget_limit_usd=budget_limit_usd,
                                       budget_period_start=budget_period_start, owner=owner,
                                       person_limit_usd=person_limit_usd, role=role)
        run_id = request
        self.link_run(saved.id, run_id)
        return StartedRun(run_id=run_id, job_ids=tuple(job_ids))


def _require_editor(role: str | None) -> None:
    refusal = permissions.refusal(role, permissions.LIBRARY)
    if refusal is not None:
        raise LibraryError(f"role: {refusal}")


def _row_to_saved(r: Any) -> SavedRecipe:
    return SavedRecipe(id=r["id"], name=r["name"], recipe=Recipe.from_dict(json.loads(r["recipe_json"])),
                       tags=tuple(json.loads(r["tags_json"])),
                       variants=tuple(ModelVariant.from_dict(v) for v in json.loads(r["variants_json"])),
                       created_at=r["created_at"], updated_at=r["updated_at"], created_by=r["created_by"])


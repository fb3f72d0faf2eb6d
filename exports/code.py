"""Code that reproduces each take of a board: one runnable Python or Node.js script per take, zipped.

Each script is the take's exact request rebuilt from its stored recipe and options (the same mapping the
app used), so engineers can replay a comparison outside the app with their own key.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from jobs import extend
from jobs.ledger import Job
from jobs.prefs import DEFAULT_BASE_URL
from providers.catalog import Catalog, load_catalog
from providers.codegen import node_snippet, python_snippet
from providers.errors import DailiesError, ErrorKind
from providers.mapping import prepare
from providers.recipe import ModelOptions, Recipe
from providers.submission import Submission

LANGUAGES = {"python": ".py", "node": ".mjs"}


@dataclass(frozen=True)
class TakeScript:
    filename: str
    text: str


def submission_for(job: Job, catalog: Catalog) -> Submission:
    """The take's request rebuilt from its recipe and options; a model switched off since is mapped anyway."""
    if job.family == extend.FAMILY:
        return extend.replay_submission(job)  # an extension's request is its parent's video id, not a recipe
    recipe, options = Recipe.from_dict(job.recipe), ModelOptions.from_dict(job.options)
    try:
        return prepare(recipe, job.model_id, options, catalog)
    except DailiesError as e:
        if e.kind != ErrorKind.MODEL_UNAVAILABLE:
            raise
        return prepare(recipe, job.model_id, options, load_catalog(overrides={job.model_id: {"available": True}}))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "take"


def take_scripts(jobs: Sequence[Job], catalog: Catalog, language: str, *,
                 base_url: str = DEFAULT_BASE_URL) -> list[TakeScript]:
    """One script per take. `language` is "python" or "node"."""
    if language not in LANGUAGES:
        raise ValueError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    render = python_snippet if language == "python" else node_snippet
    out = []
    for i, job in enumerate(jobs, start=1):
        name = f"take-{i:02d}-{_slug(job.model_id)}{LANGUAGES[language]}"
        try:
            text = render(submission_for(job, catalog), base_url)
        except DailiesError as e:
            comment = "#" if language == "python" else "//"
            text = f"{comment} {job.model_id}: this take cannot be rebuilt: {e}\n"
        out.append(TakeScript(name, text))
    return out


def code_bundle(jobs: Sequence[Job], catalog: Catalog, language: str, *, title: str = "board",
                base_url: str = DEFAULT_BASE_URL) -> bytes:
    """A zip of the take scripts and a README naming each take's model, task id and job id."""
    scripts = take_scripts(jobs, catalog, language, base_url=base_url)
    runner = "python {} out.mp4" if language == "python" else "node {} out.mp4"
    lines = [f"# {title}", "", "Each script submits one take's exact request, polls it and downloads the MP4.",
             "Set COMETAPI_KEY (and optionally COMETAPI_BASE_URL) first.", ""]
    for script, job in zip(scripts, jobs, strict=True):
        lines.append(f"- `{runner.format(script.filename)}` — {job.model_id}, take {job.take + 1}, "
                     f"original task {job.task_id or 'never sent'} (job {job.id})")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.md", "\n".join(lines) + "\n")
        for script in scripts:
            zf.writestr(script.filename, script.text)
    return buf.getvalue()

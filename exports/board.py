"""A board as JSON: everything needed to audit or reproduce its takes (recipes, parameters, seeds, task ids, costs,
timings), so a comparison can be shared and checked without the app."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from jobs.costs import recorded_cost
from jobs.ledger import Job
from providers.catalog import Catalog

SCHEMA = "dailies.board/1"


def _recipe_without_bytes(recipe: dict[str, Any]) -> dict[str, Any]:
    """Images are named by hash and size, not inlined: the code export carries the bytes."""
    out = dict(recipe)
    for key in ("first_frame", "last_frame"):
        image = out.get(key)
        if image and image.get("data_b64"):
            raw = image["data_b64"]
            data = base64.b64decode(raw)
            out[key] = {"mime": image.get("mime"), "name": image.get("name"), "url": image.get("url"),
                        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return out


def _render_s(job: Job) -> float | None:
    if job.submitted_at is None:
        return None
    end = job.provider_finished_at or job.detected_at
    if end is None:
        return None
    return round(max(0.0, end - job.submitted_at), 3)


def take_record(job: Job, catalog: Catalog) -> dict[str, Any]:
    mapping = job.mapping
    seed_sent = next((line.get("sent") for line in mapping.get("report") or [] if line.get("field") == "seed"), None)
    meta = job.clip_meta
    return {
        "job_id": job.id, "run_id": job.run_id, "take": job.take + 1, "model_id": job.model_id,
        "family": job.family, "backend": job.backend, "task_id": job.task_id, "state": str(job.state),
        "recipe": _recipe_without_bytes(job.recipe), "options": job.options,
        "seed": {"requested": job.recipe.get("seed"), "sent": seed_sent},
        "mapping": mapping.get("report") or [],
        "requested": {"duration_s": mapping.get("requested_duration_s"), "size": mapping.get("requested_size"),
                      "has_audio": mapping.get("has_audio")},
        "cost": {"estimated_low_usd": job.est_low_usd, "estimated_high_usd": job.est_high_usd,
                 "recorded_usd": recorded_cost(job, catalog), "charged": job.charged,
                 "rule": (mapping.get("cost") or {}).get("rule"), "source": (mapping.get("cost") or {}).get("source"),
                 "as_of": (mapping.get("cost") or {}).get("as_of"), "simulated": job.backend == "sandbox"},
        "timings": {"created_at": job.created_at, "submitted_at": job.submitted_at,
                    "first_running_at": job.first_running_at, "provider_finished_at": job.provider_finished_at,
                    "detected_at": job.detected_at, "downloaded_at": job.downloaded_at, "render_s": _render_s(job),
                    "time_scale": job.time_scale},
        "clip": {"url": job.clip_url, "sha256": job.clip_sha256, "probe": meta.get("probe"),
                 "honoured": meta.get("honoured")},
        # Technical checks (jobs/checks): None until checked, [] when nothing was flagged. Warnings, not a score.
        "flags": None if job.flags_json is None else job.flags,
        "lineage": {"parent_job_id": job.parent_job_id, "kind": job.link_kind} if job.parent_job_id else None,
        "kept": None if job.kept is None else bool(job.kept), "note": job.note,
        "error": {"kind": job.error_kind, "message": job.error_message} if job.error_kind else None,
    }


def board_json(name: str, jobs: Sequence[Job], catalog: Catalog, *, board_id: str | None = None,
               run_id: str | None = None) -> str:
    doc = {"schema": SCHEMA, "board": {"id": board_id, "name": name, "run_id": run_id},
           "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "takes": [take_record(job, catalog) for job in jobs]}
    return json.dumps(doc, indent=2, sort_keys=False, default=str)

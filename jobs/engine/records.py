"""What the ledger keeps of a job: its row, its mapping, its redacted provider answers, what the clip honoured."""

from __future__ import annotations

import json
from typing import Any

from jobs.probe import compare_requested
from providers.catalog import PriceRule, price_rule_to_dict
from providers.redact import redact
from providers.submission import Submission

_HONOURED_KEY = {"duration": "duration", "resolution": "size", "aspect_ratio": "size", "audio": "audio"}


def stored_raw(raw: dict[str, Any]) -> str:
    """The provider's answer as the ledger keeps it: signed-URL tokens and keys redacted (the full URLs
    live only in memory, for the download)."""
    return redact(json.dumps(raw, default=str))


def submission_mapping_json(sub: Submission, price: PriceRule | None = None) -> str:
    """What the ledger keeps of a mapping: the report, what was requested (to compare with the clip), and
    the price rule in force at submit (a later price change must not rewrite past spend)."""
    return json.dumps({
        "price_rule": price_rule_to_dict(price) if price is not None else None,
        "report": [{"field": m.field, "action": str(m.action), "requested": m.requested, "sent": m.sent,
                    "note": m.note} for m in sub.report],
        "requested_duration_s": sub.requested_duration_s,
        "requested_size": list(sub.requested_size) if sub.requested_size else None,
        "has_audio": sub.has_audio,
        "cost": {"low_usd": sub.cost.low_usd, "high_usd": sub.cost.high_usd, "exact": sub.cost.exact,
                 "rule": sub.cost.rule, "source": sub.cost.source, "as_of": sub.cost.as_of},
    }, default=str, sort_keys=True)


def applied_vs_requested(mapping: dict[str, Any], clip: Any, family: str) -> dict[str, Any]:
    """The probed clip next to what the mapping asked for: did the model honour duration, size, audio?

    The tolerances are the documented ones in `jobs.probe.compare_requested` (a family's documented
    size equivalents, from the catalog, count as honoured); `mismatches` says what differs, in words the
    UI can show.
    """
    probe = clip.probe
    got = {"duration_s": round(float(probe.duration_s), 3), "width": probe.width, "height": probe.height,
           "fps": probe.fps, "has_audio": probe.has_audio, "video_codec": probe.video_codec}
    wanted_duration = mapping.get("requested_duration_s")
    wanted_size = mapping.get("requested_size")
    wanted_audio = mapping.get("has_audio")
    size = (int(wanted_size[0]), int(wanted_size[1])) if wanted_size else None
    mismatches = compare_requested(None if wanted_duration is None else float(wanted_duration), size, probe,
                                   family, requested_audio=None if wanted_audio is None else bool(wanted_audio))
    missed = {_HONOURED_KEY[m.field] for m in mismatches}
    asked = {"duration": wanted_duration is not None, "size": size is not None, "audio": wanted_audio is not None}
    checks: dict[str, bool | None] = {key: (key not in missed) if asked[key] else None for key in asked}
    return {"probe": got, "size_bytes": clip.size_bytes,
            "requested": {"duration_s": wanted_duration, "size": wanted_size, "has_audio": wanted_audio},
            "honoured": checks,
            "mismatches": [{"field": m.field, "requested": m.requested, "applied": m.applied, "note": m.note}
                           for m in mismatches]}


def job_row(job_id: str, sub: Submission, price: PriceRule, *, run_id: str, take: int, backend: str,
            base_url: str, key_fingerprint: str | None, recipe_json: str, options_json: str, time_scale: float,
            budget_limit_usd: float | None, budget_period_start: float | None, fallback_model: str | None = None,
            parent_job_id: str | None = None, link_kind: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """The one intent row a new job starts as (a run's take, or a fallback's child): `waiting`, nothing sent."""
    return {
        "id": job_id, "run_id": run_id, "take": take, "model_id": sub.model_id, "family": sub.family,
        "backend": backend, "base_url": base_url, "key_fingerprint": key_fingerprint, "recipe_json": recipe_json,
        "options_json": options_json, "mapping_json": submission_mapping_json(sub, price), "content_path": None,
        "est_low_usd": sub.cost.low_usd, "est_high_usd": sub.cost.high_usd, "fallback_model": fallback_model,
        "parent_job_id": parent_job_id, "link_kind": link_kind if parent_job_id else None, "time_scale": time_scale,
        "budget_limit_usd": budget_limit_usd, "budget_period_start": budget_period_start, "owner": owner,
    }

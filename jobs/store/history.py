"""What finished renders teach the poll schedule: their render times and the progress they showed. A mixin of the
Ledger.

Times are provider seconds (a sandbox's scaled clock undone). A provider's own finish time is used only where it
lies between the submit and our detection; otherwise our detection time stands.
"""

from __future__ import annotations

from typing import Any

from jobs.curve import EVENT_PREFIX, parse_progress_detail
from jobs.store.ledger_base import LedgerBase

_FINISHED = "state IN ('succeeded', 'downloaded') AND submitted_at IS NOT NULL AND detected_at IS NOT NULL"


def _render_s(row: Any) -> float:
    finished = row["provider_finished_at"]
    if finished is None or not (row["submitted_at"] <= finished <= row["detected_at"] + 1.0):
        finished = row["detected_at"]
    return max(0.0, (finished - row["submitted_at"]) / (row["time_scale"] or 1.0))


def _finish_between(row: Any, running_at: float) -> float:
    """When a render that was still running at `running_at` ended, as closely as the record says: after that
    and after the provider's stamp, before our detection and, for a stamp in whole seconds (OpenAI's
    `completed_at`), before its next second. The middle of that. (A whole-second stamp is up to a second early:
    on a sandbox's compressed clock, tens of provider seconds, which would bend the curve out of shape.)"""
    lo, hi = max(row["submitted_at"], running_at), row["detected_at"]
    stamp = row["provider_finished_at"]
    if stamp is not None and lo - 1.0 <= stamp <= hi + 1.0:
        lo = max(lo, min(stamp, hi))
        if float(stamp).is_integer():
            hi = min(hi, stamp + 1.0)
    hi = max(lo, hi)
    return (lo + hi) / 2


class HistoryQueries(LedgerBase):
    def render_times(self, model_id: str, *, limit: int = 50) -> list[float]:
        """Recent render times of a model in provider seconds (sandbox times unscaled), newest first."""
        rows = self._conn().execute(
            "SELECT submitted_at, provider_finished_at, detected_at, time_scale FROM jobs "
            f"WHERE model_id = ? AND {_FINISHED} ORDER BY detected_at DESC LIMIT ?", (model_id, int(limit))).fetchall()
        return [_render_s(r) for r in rows]

    def progress_samples(self, model_id: str, *, limit: int = 50) -> list[tuple[float, list[tuple[float, float]]]]:
        """The newest finished renders of a model that showed progress, newest first: (render seconds,
        [(elapsed seconds, progress first seen then)]), from the `progress N` events the engine logged."""
        rows = self._conn().execute(
            "SELECT j.id AS id, j.submitted_at AS submitted_at, j.provider_finished_at AS provider_finished_at, "
            "j.detected_at AS detected_at, j.time_scale AS time_scale, e.at AS at, e.detail AS detail "
            "FROM jobs j JOIN events e ON e.job_id = j.id "
            f"WHERE j.id IN (SELECT id FROM jobs WHERE model_id = ? AND {_FINISHED} "
            "ORDER BY detected_at DESC LIMIT ?) AND e.detail LIKE ? "
            "ORDER BY j.detected_at DESC, e.seq", (model_id, int(limit), EVENT_PREFIX + "%")).fetchall()
        by_job: dict[str, list[Any]] = {}
        for r in rows:
            if parse_progress_detail(r["detail"]) is not None:
                by_job.setdefault(r["id"], []).append(r)
        out = []
        for events in by_job.values():
            first = events[0]
            scale = first["time_scale"] or 1.0
            render_s = (_finish_between(first, max(e["at"] for e in events)) - first["submitted_at"]) / scale
            out.append((render_s, [((e["at"] - e["submitted_at"]) / scale, float(parse_progress_detail(e["detail"])
                                                                                  or 0)) for e in events]))
        return out

"""Requested vs delivered for one take, with the documented tolerances of jobs/probe.compare_requested.

Only what was actually requested is compared: a duration when the route has a duration field or the
recipe named one, a size when a size or ratio was sent, sound when the model promises it. Tolerances:
0.25 s on duration (Kling reports 5.1 s for 5 s), 2 px on size, and Runway's 1280:768 / 768:1280
accepted as 720p. Pure: no Streamlit, so the Compare and History pages and their tests share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.ledger import Job
from jobs.probe import Mismatch, ProbeInfo, compare_requested


@dataclass(frozen=True)
class FactRow:
    setting: str
    requested: str
    delivered: str
    ok: bool | None
    """None: not requested, so not compared."""


def _probe_of(meta: dict[str, Any]) -> ProbeInfo | None:
    p = meta.get("probe") or {}
    if not p.get("width") or not p.get("height"):
        return None
    return ProbeInfo(duration_s=float(p.get("duration_s") or 0.0), width=int(p["width"]), height=int(p["height"]),
                     fps=float(p.get("fps") or 0.0), has_audio=bool(p.get("has_audio")),
                     video_codec=str(p.get("video_codec") or "unknown"), pix_fmt=str(p.get("pix_fmt") or "unknown"))


def _was_sent(job: Job, fields: tuple[str, ...]) -> bool:
    return any(line.get("field") in fields and line.get("sent") not in (None, "")
               for line in job.mapping.get("report") or [])


def requested_of(job: Job) -> tuple[float | None, tuple[int, int] | None, bool | None]:
    """(duration, size, audio) that were actually asked of the model, None where nothing was asked."""
    mapping, meta = job.mapping, job.clip_meta
    wanted = meta.get("requested") or {}
    duration = wanted.get("duration_s", mapping.get("requested_duration_s"))
    if duration is not None and not (_was_sent(job, ("duration",)) or job.recipe.get("duration_s")):
        duration = None
    size = wanted.get("size", mapping.get("requested_size"))
    size_t = (int(size[0]), int(size[1])) if size and _was_sent(job, ("size", "aspect_ratio")) else None
    audio = wanted.get("has_audio", mapping.get("has_audio"))
    return (float(duration) if duration is not None else None), size_t, (True if audio else None)


def mismatches(job: Job) -> list[Mismatch]:
    probe = _probe_of(job.clip_meta)
    if probe is None:
        return []
    duration, size, audio = requested_of(job)
    return compare_requested(duration, size, probe, job.family, requested_audio=audio)


def fact_rows(job: Job) -> list[FactRow]:
    """Duration, resolution and sound: requested, delivered, and whether it was honoured."""
    probe = _probe_of(job.clip_meta)
    duration, size, audio = requested_of(job)
    bad = {m.field for m in mismatches(job)}
    got_duration = f"{probe.duration_s:.2f} s" if probe else "–"
    got_size = f"{probe.width}x{probe.height}" if probe else "–"
    got_audio = ("sound" if probe.has_audio else "silent") if probe else "–"
    return [
        FactRow("duration", f"{duration:g} s" if duration is not None else "not set", got_duration,
                None if duration is None or probe is None else "duration" not in bad),
        # A small pair is an aspect ratio the model was asked for (Seedance, Grok), not pixels: label it so.
        FactRow("aspect ratio" if size and max(size) < 100 else "resolution",
                ("not set" if not size else f"{size[0]}:{size[1]}" if max(size) < 100 else f"{size[0]}x{size[1]}"),
                got_size if not (size and max(size) < 100) or probe is None else f"delivered {got_size}",
                None if size is None or probe is None else not ({"resolution", "aspect_ratio"} & bad)),
        FactRow("sound", "sound" if audio else "not set", got_audio,
                None if audio is None or probe is None else "audio" not in bad),
    ]


def render_seconds(job: Job) -> float | None:
    """Provider render time in real seconds (submit to finish, as our clock saw it)."""
    if job.submitted_at is None:
        return None
    end = job.provider_finished_at or job.detected_at
    if end is None or not (job.submitted_at <= end <= (job.detected_at or end) + 1.0):
        end = job.detected_at
    return None if end is None else max(0.0, end - job.submitted_at)


def mode_of(job: Job) -> str:
    """The generation mode shown under a clip: Kling's std/pro, else text/image to video."""
    sent = [line.get("sent") for line in job.mapping.get("report") or [] if line.get("field") == "mode"]
    mode = job.options.get("mode") or (sent[0] if sent else None)
    kind = "image-to-video" if job.recipe.get("first_frame") else "text-to-video"
    return f"{mode} · {kind}" if mode else kind

"""Reads a clip's structure and facts from the file itself, so nothing broken is kept and settings can be checked."""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from providers import families
from providers.errors import ErrorKind, ProviderError

log = logging.getLogger(__name__)

KNOWN_BRANDS = frozenset(
    {"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "dash", "M4V ", "M4A ", "qt  ", "3gp4",
     "3gp5", "3g2a", "MSNV", "f4v ", "hvc1", "av01"}
)

DURATION_TOLERANCE_S = 0.25
"""Some providers report 5.1 s for a 5 s request; a container's audio priming adds a few tens of ms."""

SIZE_TOLERANCE_PX = 2
"""Encoders round odd sizes to even ones."""

ASPECT_TOLERANCE = 0.03

def _invalid(message: str) -> ProviderError:
    return ProviderError(message, kind=ErrorKind.DOWNLOAD_INVALID)


@dataclass(frozen=True)
class ProbeInfo:
    duration_s: float
    width: int
    height: int
    fps: float
    has_audio: bool
    video_codec: str
    pix_fmt: str

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}"


def probe(path: str | os.PathLike[str]) -> ProbeInfo:
    """Duration, size, fps, codec and audio of a clip, read by FFmpeg; DOWNLOAD_INVALID if it cannot be read."""
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise _invalid("the file has no video stream")
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if ctx is None:
                raise _invalid("the video stream uses a codec FFmpeg does not know")
            duration_s = 0.0
            if container.duration is not None and container.duration > 0:
                duration_s = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
            width, height = ctx.width, ctx.height
            if width <= 0 or height <= 0:
                raise _invalid("the video stream has no frame size")
            return ProbeInfo(
                duration_s=round(duration_s, 3),
                width=width,
                height=height,
                fps=round(float(rate), 3) if rate else 0.0,
                has_audio=bool(container.streams.audio),
                video_codec=ctx.name or "unknown",
                pix_fmt=ctx.format.name if ctx.format is not None else "unknown",
            )
    except (av.FFmpegError, OSError, ValueError) as e:
        raise _invalid(f"the file could not be read as a video: {e}") from e


def walk_mp4_boxes(path: str | os.PathLike[str]) -> list[tuple[str, int, int]]:
    """The top-level ISO-BMFF boxes as (type, offset, size); DOWNLOAD_INVALID if a box runs past the end of the file."""
    boxes: list[tuple[str, int, int]] = []
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        offset = 0
        while offset < file_size:
            header = f.read(8)
            if len(header) < 8:
                raise _invalid(f"truncated box header at byte {offset}")
            size, raw_type = struct.unpack(">I4s", header)
            if any(b < 0x20 or b > 0x7E for b in raw_type):
                raise _invalid(f"garbage box type {raw_type!r} at byte {offset}")
            box_type = raw_type.decode("ascii")
            header_len = 8
            if size == 1:
                large = f.read(8)
                if len(large) < 8:
                    raise _invalid(f"truncated 64-bit box size at byte {offset}")
                (size,) = struct.unpack(">Q", large)
                header_len = 16
            elif size == 0:
                # "Extends to the end of the file": by definition the last box.
                size = file_size - offset
            if size < header_len:
                raise _invalid(f"box {box_type!r} at byte {offset} declares {size} bytes, less than its header")
            if offset + size > file_size:
                raise _invalid(
                    f"box {box_type!r} at byte {offset} declares {size} bytes but the file ends at {file_size}"
                    " (truncated download?)"
                )
            boxes.append((box_type, offset, size))
            offset += size
            f.seek(offset)
    return boxes


def check_mp4(path: str | os.PathLike[str]) -> list[tuple[str, int, int]]:
    """Reject anything that is not a complete MP4: ftyp first, box sizes summing to the file, moov and mdat present."""
    boxes = walk_mp4_boxes(path)
    if not boxes or boxes[0][0] != "ftyp":
        raise _invalid("not an MP4: the file does not start with an ftyp box")
    ftyp_size = boxes[0][2]
    if ftyp_size < 16:
        raise _invalid(f"ftyp box declares {ftyp_size} bytes, fewer than the 16 it needs")
    types = {t for t, _, _ in boxes}
    for required in ("moov", "mdat"):
        if required not in types:
            raise _invalid(f"incomplete MP4: no {required} box")
    with open(path, "rb") as f:
        f.seek(8)
        brand = f.read(4).decode("latin-1")
    if brand not in KNOWN_BRANDS:
        # Real encoders emit brands filetype.py has never heard of; FFmpeg decides.
        log.info("unknown MP4 major brand %r in %s", brand, os.path.basename(path))
    return boxes


def make_thumbnail(path: str | os.PathLike[str], out_path: str | os.PathLike[str], width: int = 320) -> Path:
    """The first decodable frame as a JPEG `width` pixels wide, written atomically."""
    out = Path(out_path)
    image: Image.Image | None = None
    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.video:
                raise _invalid("the file has no video stream")
            for frame in container.decode(video=0):
                image = frame.to_image()
                break
    except (av.FFmpegError, OSError, ValueError) as e:
        raise _invalid(f"no frame of the video could be decoded: {e}") from e
    if image is None:
        raise _invalid("the video has no decodable frame")
    height = max(1, round(image.height * width / image.width))
    image = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    tmp = out.with_name(out.name + ".part")
    try:
        image.save(tmp, format="JPEG", quality=85)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


@dataclass(frozen=True)
class Mismatch:
    """One setting the model did not honour: what was asked, what the file has, and why it matters."""

    field: str
    """"duration", "resolution", "aspect_ratio" or "audio"."""
    requested: str
    applied: str
    note: str = ""


def _parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, tuple):
        return int(size[0]), int(size[1])
    text = size.strip().lower().replace("×", "x")
    sep = "x" if "x" in text else ":"
    parts = text.split(sep)
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"requested_size: {size!r} is not WIDTHxHEIGHT, WIDTH:HEIGHT or a ratio like 16:9")
    return int(parts[0]), int(parts[1])


def compare_requested(
    requested_duration_s: float | None,
    requested_size: str | tuple[int, int] | None,
    probe: ProbeInfo,
    family: str,
    *,
    requested_audio: bool | None = None,
) -> list[Mismatch]:
    """Requested vs applied, within documented tolerances; only what was actually requested is compared.

    `requested_size` is a pixel size ("1280x720", "1280:768") or an aspect ratio ("16:9"); small numbers are
    read as a ratio.
    """
    found: list[Mismatch] = []
    if requested_duration_s is not None:
        diff = probe.duration_s - requested_duration_s
        if abs(diff) > DURATION_TOLERANCE_S:
            found.append(Mismatch("duration", f"{requested_duration_s:g} s", f"{probe.duration_s:.2f} s",
                                  f"{'longer' if diff > 0 else 'shorter'} by {abs(diff):.2f} s"))
    if requested_size is not None:
        w, h = _parse_size(requested_size)
        applied = (probe.width, probe.height)
        if w <= 0 or h <= 0:
            raise ValueError(f"requested_size: {requested_size!r} must have positive width and height")
        if max(w, h) < 100:
            want, got = w / h, probe.width / probe.height
            if abs(got - want) / want > ASPECT_TOLERANCE:
                found.append(Mismatch("aspect_ratio", f"{w}:{h}", f"{probe.width}x{probe.height}",
                                      f"ratio {got:.3f} instead of {want:.3f}"))
        else:
            # A documented ratio a provider delivers at another size (the family's catalog entry says which).
            allowed = families.rules(family).equivalents((w, h))
            close = abs(applied[0] - w) <= SIZE_TOLERANCE_PX and abs(applied[1] - h) <= SIZE_TOLERANCE_PX
            if not close and applied not in allowed:
                found.append(Mismatch("resolution", f"{w}x{h}", f"{probe.width}x{probe.height}"))
    if requested_audio is not None and requested_audio != probe.has_audio:
        found.append(Mismatch("audio", "on" if requested_audio else "off", "on" if probe.has_audio else "off",
                              "no audio track" if requested_audio else "an audio track was added"))
    return found

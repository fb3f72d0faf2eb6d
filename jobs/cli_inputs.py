"""What a `jobs run` asks for, read and checked before anything is written or sent: prompts (one or a
CSV), images (paths read by size, never past the cap, or https URLs through the URL policy).

Every problem is a DailiesError naming the flag or the CSV line and the field, so a batch with one bad
row is refused whole, with nothing submitted.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import os
import stat
from pathlib import Path
from typing import Any

from providers.errors import DailiesError, ValidationError
from providers.images import MAX_IMAGE_BYTES, sniff_mime
from providers.recipe import ImageInput, Recipe
from providers.url_policy import validate_user_image_url

MAX_CSV_BYTES = 8 * 2**20
"""A CSV of prompts is text; past this it is a wrong file, not a batch."""


@dataclasses.dataclass(frozen=True)
class Batch:
    """One recipe for a list of models, and where it came from (a CSV line, or None for --prompt)."""

    recipe: Recipe
    models: list[str]
    line: int | None = None

    def where(self) -> str:
        return f"csv line {self.line}: " if self.line is not None else ""


def read_capped(path: Path, field: str, cap: int) -> bytes:
    """The file's bytes, checked by size before reading and never read past `cap`: a device, a pipe or a
    10 GB file is an error, not memory growth."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang waiting for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise DailiesError(f"{field}: cannot read {path} ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DailiesError(f"{field}: {path} is not a regular file (allowed: a file of at most "
                               f"{cap / 2**20:g} MB)")
        if info.st_size > cap:
            raise DailiesError(f"{field}: {path} is {info.st_size / 2**20:.1f} MB (allowed: at most "
                               f"{cap / 2**20:g} MB)")
        data = f.read(cap + 1)  # a file that grew since fstat still stops one byte past the cap
    if len(data) > cap:
        raise DailiesError(f"{field}: {path} is over {cap / 2**20:g} MB (allowed: at most {cap / 2**20:g} MB)")
    return data


def image_input(value: str | None, field: str) -> ImageInput | None:
    """`--image` / `--last-image`: a local PNG, JPEG or WebP path, or a public https:// image URL."""
    if value is None:
        return None
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme == "https":
        try:
            url = validate_user_image_url(value, resolver=None, field=field)
        except ValidationError as exc:
            raise DailiesError(exc.message) from None
        return ImageInput(url=url, name=url.rsplit("/", 1)[-1] or "image")
    if scheme:
        raise DailiesError(f"{field}: {scheme}:// is not accepted (allowed: a local file path or an https:// URL)")
    path = Path(value)
    data = read_capped(path, field, MAX_IMAGE_BYTES)
    mime = sniff_mime(data)
    if mime is None:
        raise DailiesError(f"{field}: {path} is not a PNG, JPEG or WebP image (allowed: PNG, JPEG, WebP)")
    return ImageInput(data=data, mime=mime, name=path.name)


def batches(args: argparse.Namespace) -> list[Batch]:
    """Every recipe of the run, images attached; raises on the first problem (nothing is sent then)."""
    if args.csv is not None and args.prompt:
        raise DailiesError("prompt: give --prompt or --csv, not both")
    out = _prompt_batches(args)
    first, last = image_input(args.image, "image"), image_input(args.last_image, "last_image")
    if first is None and last is None:
        return out
    return [dataclasses.replace(b, recipe=dataclasses.replace(b.recipe, first_frame=first, last_frame=last))
            for b in out]


def _prompt_batches(args: argparse.Namespace) -> list[Batch]:
    if args.csv is None:
        if not args.prompt:
            raise DailiesError("prompt: give --prompt or --csv")
        return [Batch(Recipe(prompt=args.prompt, negative_prompt=args.negative_prompt, duration_s=args.duration,
                             aspect_ratio=args.ratio, seed=args.seed), list(args.model))]
    text = read_csv_text(args.csv)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in reader.fieldnames or []]
    reader.fieldnames = fields
    if "prompt" not in fields:
        raise DailiesError(f"csv: {args.csv} needs a 'prompt' column (found: {', '.join(fields) or 'no header'})")
    out: list[Batch] = []
    for row in reader:
        line = reader.line_num
        prompt = (row.get("prompt") or "").strip()
        if not prompt:
            raise DailiesError(f"csv line {line}: prompt is empty")
        models = [m.strip() for m in (row.get("model") or "").split(";") if m.strip()] or list(args.model)
        out.append(Batch(Recipe(prompt=prompt,
                                negative_prompt=(row.get("negative_prompt") or args.negative_prompt),
                                duration_s=_whole(row, "duration", args.duration, line),
                                aspect_ratio=(row.get("ratio") or "").strip() or args.ratio,
                                seed=_whole(row, "seed", args.seed, line)), models, line))
    if not out:
        raise DailiesError(f"csv: {args.csv} has no rows")
    return out


def read_csv_text(path: Path) -> str:
    """UTF-8 with or without the BOM Excel writes for "CSV UTF-8"; any other encoding is named, not guessed."""
    data = read_capped(path, "csv", MAX_CSV_BYTES)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DailiesError(f"csv: {path} is not UTF-8 (byte 0x{data[e.start]:02x} on line {line}); save it as "
                           "\"CSV UTF-8\" (allowed: UTF-8, with or without a BOM)") from None


def _whole(row: dict[str, Any], name: str, default: int | None, line: int) -> int | None:
    raw = (row.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DailiesError(f"csv line {line}: {name} must be a whole number, got {raw!r}") from None

"""A board as an offline demo pack: index.html, the clips and thumbnails in one folder (or zip) that plays from disk.

The page is the app's own synchronised player (exports.player), so a demo plays with the same controls
as the Compare page, from a file:// URL, with no server and no network. Costs appear only when asked
for; keys, base URLs and task ids never leave the app. Every file the page references is checked.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from exports.player import PlayerClip, job_flags, player_html
from jobs.clipstore import ClipStorage, thumb_key_for
from jobs.ledger import Job, JobState

INDEX = "index.html"
CLIPS_DIR = "clips"
THUMBS_DIR = "thumbs"
_SLUG = re.compile(r"[^a-z0-9]+")


class DemoPackError(ValueError):
    """The pack cannot be made, or a file it references is missing."""


@dataclass(frozen=True)
class DemoPack:
    folder: Path
    files: tuple[str, ...]
    """Paths relative to `folder`, index.html first."""
    skipped: tuple[str, ...] = ()
    """Job ids left out because their clip is not on disk."""
    zip_path: Path | None = None


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:48] or "board"


def _facts(job: Job, name: str, show_costs: bool) -> str:
    probe = job.clip_meta.get("probe") or {}
    parts = []
    if probe:
        parts.append(f"{probe.get('duration_s', 0):.1f} s · {probe.get('width')}×{probe.get('height')}")
    mode = job.options.get("mode")
    if mode:
        parts.append(f"{mode} mode")
    if show_costs and job.est_high_usd is not None:
        parts.append(f"${job.est_high_usd:.2f}" + (" (simulated)" if job.backend == "sandbox" else ""))
    flags = job.flags
    if flags:
        parts.append(f"⚑ {len(flags)} technical flag{'s' if len(flags) != 1 else ''}")
    return " · ".join(parts) or name


def export_demo_pack(jobs: Sequence[Job], dest: Path, *, title: str, model_name: Callable[[str], str] = str,
                     show_costs: bool = False, as_zip: bool = False, columns: int = 3,
                     clips: ClipStorage | None = None) -> DemoPack:
    """Write the pack into `dest` (created; must be empty or absent) and check it. Zipped too when `as_zip`.
    The clips are read through `clips` (the app's clip store); None reads `clip_path` as local files."""
    clips = clips or _LocalFiles()
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise DemoPackError(f"dest: {dest} is not empty")
    ready = [j for j in jobs if j.state == JobState.DOWNLOADED and j.clip_path and clips.exists(j.clip_path)]
    skipped = tuple(j.id for j in jobs if j not in ready)
    if not ready:
        raise DemoPackError("board: none of its takes has a clip on disk to export")
    (dest / CLIPS_DIR).mkdir(parents=True)
    (dest / THUMBS_DIR).mkdir()
    files: list[str] = []
    player: list[PlayerClip] = []
    takes: list[str] = []
    for n, job in enumerate(ready, start=1):
        # Neutral numbered names: the original names carry model hints and random tokens a customer needn't see.
        clip_rel = f"{CLIPS_DIR}/{n:02d}.mp4"
        _copy_out(clips, job.clip_path or "", dest / clip_rel)
        files.append(clip_rel)
        thumb_key = thumb_key_for(job.clip_path or "")
        thumb_rel = f"{THUMBS_DIR}/{n:02d}.jpg"
        if clips.exists(thumb_key):
            _copy_out(clips, thumb_key, dest / thumb_rel)
            files.append(thumb_rel)
        else:
            thumb_rel = ""
        name = model_name(job.model_id)
        fps = float((job.clip_meta.get("probe") or {}).get("fps") or 24.0)
        player.append(PlayerClip(url=clip_rel, label=name, caption=_facts(job, name, show_costs), fps=fps,
                                 flags=job_flags(job.flags)))
        takes.append(_take_html(n, name, job, thumb_rel, show_costs))
    prompts = sorted({str(j.recipe.get("prompt") or "") for j in ready} - {""})
    page = player_html(player, columns=columns, title=title, standalone=True)
    extra = (f'<section class="pack"><p class="prompt">{"<br>".join(html.escape(p) for p in prompts)}</p>'
             f'<div class="takes">{"".join(takes)}</div>'
             f'<p class="made">Exported {time.strftime("%Y-%m-%d")} from Dailies · plays offline</p></section>'
             f"<style>{_PACK_CSS}</style>")
    page = page.replace("</body>", extra + "</body>", 1)
    (dest / INDEX).write_text(page, encoding="utf-8")
    manifest = {"title": title, "prompts": prompts, "clips": [
        {"file": c.url, "model": c.label, "caption": c.caption} for c in player]}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    files = [INDEX, "manifest.json", *files]
    missing = check_pack(dest)
    if missing:
        raise DemoPackError("the pack references missing files: " + ", ".join(missing))
    zip_path = zip_pack(dest) if as_zip else None
    return DemoPack(folder=dest, files=tuple(files), skipped=skipped, zip_path=zip_path)


class _LocalFiles:
    """`clip_path` read as a local file: ledgers from before storage keys, and callers without a store."""

    def exists(self, key: str) -> bool:
        return Path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        return open(key, "rb")


def _copy_out(clips: ClipStorage | _LocalFiles, key: str, target: Path) -> None:
    with clips.open(key) as src, open(target, "wb") as out:
        shutil.copyfileobj(src, out, 256 * 1024)


def _take_html(n: int, name: str, job: Job, thumb_rel: str, show_costs: bool) -> str:
    img = f'<img src="{html.escape(thumb_rel, quote=True)}" alt="">' if thumb_rel else ""
    return (f'<figure class="take">{img}<figcaption><b>{n:02d} · {html.escape(name)}</b><br>'
            f"{html.escape(_facts(job, name, show_costs))}</figcaption></figure>")


_PACK_CSS = """
.pack { padding: 8px 12px 80px; }
.pack .prompt { color: #bbb; font-style: italic; }
.pack .takes { display: flex; gap: 10px; flex-wrap: wrap; }
.pack .take { margin: 0; width: 180px; font-size: 12px; color: #ccc; }
.pack .take img { width: 100%; border-radius: 4px; display: block; }
.pack .made { color: #777; font-size: 11px; }
"""


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "poster") and value:
                self.refs.append(value)


def referenced_files(index_html: str) -> list[str]:
    parser = _Refs()
    parser.feed(index_html)
    return parser.refs


def check_pack(folder: Path) -> list[str]:
    """Every src/href/poster in index.html that is not a file inside the pack (or points off the machine)."""
    folder = Path(folder).resolve()
    index = folder / INDEX
    if not index.is_file():
        return [INDEX]
    problems = []
    for ref in referenced_files(index.read_text(encoding="utf-8")):
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc or ref.startswith("/"):
            problems.append(f"{ref} (not a file in the pack: it would need a network or a server)")
            continue
        target = (folder / unquote(parts.path)).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            problems.append(ref)
    return problems


def zip_pack(folder: Path) -> Path:
    """`<folder>.zip` with the pack under one top-level folder, so unzipping gives a folder with index.html."""
    folder = Path(folder)
    zip_path = folder.with_suffix(".zip")
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:  # MP4s do not compress
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return zip_path

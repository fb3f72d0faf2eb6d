"""Drafts: the recipe a user is writing, kept on disk field by field so nothing typed is lost.

A draft is one JSON file in `<data dir>/drafts/`, named by its id (the id travels in the page URL), holding each
field's value and the time it was written. Writers send only the fields the user changed, merged under a lock,
so two tabs editing one draft never undo each other: the last write of each field wins. Images are stored once
by content hash beside the drafts (an upload widget cannot be refilled, so the page shows the stored copy).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
LATEST = "latest"
"""File naming the most recently written draft: a tab opened without a draft id continues it."""


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    mime: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"sha256": self.sha256, "mime": self.mime, "name": self.name}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> StoredImage | None:
        if not d or not _SHA.match(str(d.get("sha256", ""))):
            return None
        return cls(str(d["sha256"]), str(d.get("mime") or ""), str(d.get("name") or "image"))


def new_draft_id() -> str:
    return uuid.uuid4().hex


def is_draft_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


class DraftStore:
    """Thread- and process-safe: every write is read-merge-replace under an exclusive file lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.images = self.root / "images"
        self.images.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, dict[str, Any]]] = {}

    def _path(self, draft_id: str) -> Path:
        if not is_draft_id(draft_id):
            raise ValueError(f"draft id: {draft_id!r} is not 32 hex digits")
        return self.root / f"{draft_id}.json"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self, draft_id: str) -> dict[str, Any]:
        path = self._path(draft_id)
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        hit = self._cache.get(draft_id)
        if hit and hit[0] == stamp:
            return hit[1]
        try:
            fields = json.loads(path.read_text()).get("fields", {})
        except (OSError, ValueError):  # a damaged file is an empty draft, not a broken page
            fields = {}
        self._cache[draft_id] = (stamp, fields)
        return fields

    def values(self, draft_id: str) -> dict[str, Any]:
        """Every field's current value."""
        return {name: entry["value"] for name, entry in self._read(draft_id).items()}

    def write(self, draft_id: str, changed: Mapping[str, Any], *, at: float | None = None) -> None:
        """Merge `changed` into the draft: each field is replaced only if this write is not older than its own."""
        now = time.time() if at is None else at
        path = self._path(draft_id)
        with self._locked():
            self._cache.pop(draft_id, None)
            fields = dict(self._read(draft_id))
            for name, value in changed.items():
                if fields.get(name, {}).get("at", 0) <= now:
                    fields[name] = {"value": value, "at": now}
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"fields": fields, "updated_at": now}, default=str))
            os.replace(tmp, path)
            (self.root / LATEST).write_text(draft_id)

    def clear(self, draft_id: str, names: list[str]) -> None:
        """Forget some fields (a form reset after saving): they come back as the form's defaults."""
        path = self._path(draft_id)
        with self._locked():
            self._cache.pop(draft_id, None)
            fields = {k: v for k, v in self._read(draft_id).items() if k not in names}
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"fields": fields, "updated_at": time.time()}, default=str))
            os.replace(tmp, path)

    def latest(self, owner: str | None = None) -> str | None:
        """The draft a tab opened without a draft id continues: the last one written, or, for a signed-in person,
        the last one they had open (set_latest), never someone else's recipe and runs."""
        try:
            found = self._latest_file(owner).read_text().strip()
        except OSError:
            return None
        return found if is_draft_id(found) and self._path(found).exists() else None

    def set_latest(self, draft_id: str, owner: str) -> None:
        self._path(draft_id)  # validates the id
        target = self._latest_file(owner)
        tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(draft_id)
        os.replace(tmp, target)

    def _latest_file(self, owner: str | None) -> Path:
        if owner is None:
            return self.root / LATEST
        return self.root / f"{LATEST}-{hashlib.sha256(owner.encode()).hexdigest()[:24]}"

    # --- images ---------------------------------------------------------------------------------------

    def put_image(self, data: bytes, mime: str, name: str) -> StoredImage:
        digest = hashlib.sha256(data).hexdigest()
        target = self.images / digest
        if not target.exists():
            tmp = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return StoredImage(digest, mime, name)

    def image_bytes(self, image: StoredImage) -> bytes | None:
        path = self.images / image.sha256
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == image.sha256 else None

"""Where verified clips live, behind one interface keyed by a storage key (not a path).

A clip reaches a store only through `download` (a provider's result URL, jobs/clipfetch.py) or `put` /
`put_stream` (a local file or stream); both stage the bytes in a local `.part`, verify them (box walk, sha256,
probe, thumbnail) and only then commit. Two backends: the local folder here (the default, served by
Streamlit's static serving) and S3-compatible storage (jobs/clipstore_s3.py), picked by `open_clip_store`.

A storage key is a relative posix name such as `veo3-1a2b_<token>.mp4` (or `review/<sha256>.mp4`); its
thumbnail is the same key ending in `.jpg`. Ledgers written before keys existed hold absolute paths: every
backend still reads those as local files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol

from jobs.clipfetch import (  # noqa: F401 - re-exported: callers and tests know these names from here
    CHUNK_BYTES,
    MAX_REOPENS,
    MIN_THROUGHPUT_BPS,
    THROUGHPUT_WINDOW_S,
    Fetcher,
    Opener,
    StorageError,
    _invalid,
)
from jobs.probe import ProbeInfo, check_mp4, make_thumbnail, probe

if TYPE_CHECKING:
    from jobs.ledger import Job

log = logging.getLogger(__name__)

Key = str | os.PathLike[str]
"""A storage key, or (old ledgers) an absolute local path."""
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ClipInfo:
    key: str
    sha256: str
    size_bytes: int
    probe: ProbeInfo
    thumb_key: str
    url: str
    """What the ledger records as `clip_url`: the static URL (local) or the object's `s3://` name."""
    thumb_url: str
    path: Path | None = None
    """The clip's file when the store is a local folder."""

    @property
    def thumbnail_path(self) -> Path | None:
        return self.path.with_suffix(".jpg") if self.path is not None else None


class ClipStorage(Protocol):
    """The clip-store interface every page, export and the engine use."""

    kind: str
    signs_urls: bool
    """True when `url` hands out URLs that expire (a bucket's presigned URLs): ask for one at every render."""

    def download(self, open_stream: Opener, name_hint: str) -> ClipInfo: ...

    def put(self, source: Path, name_hint: str) -> ClipInfo: ...

    def put_stream(self, stream: BinaryIO, name_hint: str) -> ClipInfo: ...

    def open(self, key: Key) -> BinaryIO: ...

    def url(self, key: Key) -> str: ...

    def delete(self, key: Key) -> None: ...

    def exists(self, key: Key) -> bool: ...

    def local_path(self, key: Key) -> AbstractContextManager[Path]: ...

    def copy_as(self, key: Key, dest_key: str) -> None: ...

    def owns(self, key: Key | None) -> bool: ...

    def describe(self) -> str: ...

    def location(self, key: Key) -> str:
        """Where a clip is, for a person reading a terminal: a file path or an `s3://` name."""
        ...

    def verify(self, key: Key, sha256: str, size_bytes: int) -> bool: ...

    def sweep_partials(self, older_than_s: float = 3600.0) -> list[Path]: ...


def thumb_key_for(key: str) -> str:
    return str(PurePosixPath(key).with_suffix(".jpg"))


def legacy_path(key: Key) -> Path | None:
    """An absolute path from a ledger written before storage keys: read as a local file."""
    return Path(key) if Path(key).is_absolute() else None


def check_key(key: Key) -> str:
    """A relative posix key of safe parts: no `..`, no leading `/`, nothing a URL or a bucket would misread."""
    text = os.fspath(key)
    parts = text.split("/")
    if not text or any(not _SAFE_PART.match(p) or p in (".", "..") for p in parts):
        raise ValueError(f"key: {text!r} is not a clip-store key (relative names of letters, digits, _ . -)")
    return text


def _safe_hint(name_hint: str) -> str:
    return _SAFE_NAME.sub("-", name_hint).strip("-_")[:48] or "clip"


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _part_owner() -> str:
    """Who writes a `.part` (pid and host), in its name: the next start sweeps a gone writer's parts at once."""
    return f"w{os.getpid()}-{_host_tag()}"


_PART_OWNER_RE = re.compile(r"\.w(\d+)-([0-9a-f]{8})\.part$")


def _writer_gone(name: str) -> bool:
    found = _PART_OWNER_RE.search(name)
    if found is None or found.group(2) != _host_tag():
        return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """The sha256 and size of everything left in `stream`."""
    digest, size = hashlib.sha256(), 0
    while block := stream.read(CHUNK_BYTES):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


class VerifiedStore:
    """The staging pipeline both backends share: a `.part` in a local staging folder, verified, then committed."""

    kind = "local"
    signs_urls = False

    def __init__(self, staging: Path, *, max_bytes: int, min_free_bytes: int, deadline_s: float,
                 clock: Callable[[], float], min_throughput_bps: float, throughput_window_s: float) -> None:
        self.staging = Path(staging)
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.deadline_s = deadline_s
        self._clock = clock
        self.min_throughput_bps = min_throughput_bps
        self.throughput_window_s = throughput_window_s
        self.staging.mkdir(parents=True, exist_ok=True)

    def _fetcher(self) -> Fetcher:
        return Fetcher(max_bytes=self.max_bytes, deadline_s=self.deadline_s, clock=self._clock,
                       min_throughput_bps=self.min_throughput_bps, throughput_window_s=self.throughput_window_s,
                       check_space=self._check_space)

    def download(self, open_stream: Opener, name_hint: str) -> ClipInfo:
        """Stream a provider's result into the store, resuming a broken-off body with Range (reliability.md D1,
        D2, D9). `open_stream(headers)` opens the URL with those extra headers; URL_EXPIRED from it propagates
        untouched."""
        return self._store(name_hint, lambda part: self._fetcher().fetch(open_stream, part))

    def put(self, source: Path, name_hint: str) -> ClipInfo:
        """Copy a local file into the store through the same verification as a download."""
        size = os.path.getsize(source)
        if size > self.max_bytes:
            raise _invalid(f"the clip is {size} bytes, above the {self.max_bytes}-byte cap")
        self._check_space(size)
        with open(source, "rb") as f:
            return self.put_stream(f, name_hint)

    def put_stream(self, stream: BinaryIO, name_hint: str) -> ClipInfo:
        """Copy an open stream into the store through the same verification as a download."""
        return self._store(name_hint, lambda part: self._fetcher().copy(stream, part))

    def verify(self, key: Key, sha256: str, size_bytes: int) -> bool:
        """A clip recorded in the ledger is still the one we verified (same size and hash)."""
        try:
            with self.open(key) as f:
                data_sha, size = sha256_of(f)
        except FileNotFoundError:
            return False
        return size == size_bytes and data_sha == sha256

    def sweep_partials(self, older_than_s: float = 3600.0) -> list[Path]:
        """Remove `.part` files left by a process killed mid-download: at once when the name says its writer
        (a process on this host) is gone, else once older than `older_than_s` (another host's, an old name)."""
        cutoff = time.time() - older_than_s
        removed = []
        for part in self.staging.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if _writer_gone(part.name) or part.stat().st_mtime < cutoff:
                    part.unlink()
                    removed.append(part)
        return removed

    def _check_space(self, needed: int | None) -> None:
        free = shutil.disk_usage(self.staging).free
        if free - (needed or 0) < self.min_free_bytes:
            raise StorageError(
                f"not enough disk space for the clip: {free // 2**20} MiB free, "
                f"{(needed or 0) // 2**20} MiB needed plus {self.min_free_bytes // 2**20} MiB kept free"
            )

    # -- what each backend does with a verified clip -----------------------------------------------------------

    def _thumb_part(self, stem: str) -> Path:
        return self.staging / f"{stem}.jpg.{_part_owner()}.part"

    def _commit(self, part: Path, thumb: Path, key: str) -> None:
        raise NotImplementedError

    def _abandon(self, key: str) -> None:
        """Undo whatever a failed commit may have left under `key`."""

    def stable_url(self, key: str) -> str:
        raise NotImplementedError

    def _store(self, name_hint: str, fill: Callable[[Path], tuple[str, int]]) -> ClipInfo:
        stem = f"{_safe_hint(name_hint)}_{secrets.token_urlsafe(16)}"
        key = f"{stem}.mp4"
        part = self.staging / f"{key}.{_part_owner()}.part"
        thumb = self._thumb_part(stem)
        committed = False
        try:
            digest, size = fill(part)
            check_mp4(part)
            info = probe(part)
            make_thumbnail(part, thumb)
            self._commit(part, thumb, key)
            committed = True
        except OSError as e:
            raise StorageError(f"could not write the clip: {errno.errorcode.get(e.errno or 0, '')} {e.strerror}") from e
        finally:
            part.unlink(missing_ok=True)
            if not committed:
                thumb.unlink(missing_ok=True)
                self._abandon(key)
        thumb_key = thumb_key_for(key)
        return ClipInfo(key=key, sha256=digest, size_bytes=size, probe=info, thumb_key=thumb_key,
                        url=self.stable_url(key), thumb_url=self.stable_url(thumb_key), path=self._file_of(key))

    def _file_of(self, key: str) -> Path | None:
        return None


class ClipStore(VerifiedStore):
    """The local clips folder: every clip in it is a complete, probed MP4 with a thumbnail and an unguessable name."""

    kind = "local"

    def __init__(
        self,
        root: Path,
        url_prefix: str = "/app/static/clips",
        max_bytes: int = 200 * 2**20,
        min_free_bytes: int = 100 * 2**20,
        *,
        deadline_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        min_throughput_bps: float = MIN_THROUGHPUT_BPS,
        throughput_window_s: float = THROUGHPUT_WINDOW_S,
    ) -> None:
        # The folder is its own staging area, so the commit is one rename on the same filesystem.
        super().__init__(root, max_bytes=max_bytes, min_free_bytes=min_free_bytes, deadline_s=deadline_s, clock=clock,
                         min_throughput_bps=min_throughput_bps, throughput_window_s=throughput_window_s)
        self.root = self.staging
        self.url_prefix = url_prefix.rstrip("/")

    # -- the storage interface -------------------------------------------------------------------------------

    def open(self, key: Key) -> BinaryIO:
        return open(self.path_of(key), "rb")

    def url(self, key: Key) -> str:
        return f"{self.url_prefix}/{self.path_of(key).relative_to(self.root.resolve()).as_posix()}"

    def stable_url(self, key: str) -> str:
        return self.url(key)

    def delete(self, key: Key) -> None:
        clip = self.path_of(key)
        clip.unlink(missing_ok=True)
        if clip.suffix == ".mp4":
            clip.with_suffix(".jpg").unlink(missing_ok=True)

    def exists(self, key: Key) -> bool:
        return self.path_of(key).is_file()

    @contextlib.contextmanager
    def local_path(self, key: Key) -> Iterator[Path]:
        yield self.path_of(key)

    def copy_as(self, key: Key, dest_key: str) -> None:
        """Copy a clip under another key (review copies by content hash); copy then rename, never half a file."""
        dest = self.path_of(check_key(dest_key))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.{_part_owner()}.part")
        try:
            shutil.copyfile(self.path_of(key), tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def owns(self, key: Key | None) -> bool:
        """A key this store serves (a relative key); absolute paths from old ledgers are not."""
        return bool(key) and legacy_path(key or "") is None

    def describe(self) -> str:
        return f"local folder {self.root}"

    def location(self, key: Key) -> str:
        return str(self.path_of(key))

    # -- helpers -----------------------------------------------------------------------------------------------

    def path_of(self, key: Key) -> Path:
        """The file behind a key (or an old ledger's absolute path inside the folder); anything outside is refused."""
        raw = Path(key)
        resolved = (raw if raw.is_absolute() else self.root / check_key(key)).resolve()
        if not resolved.is_relative_to(self.root.resolve()) or resolved == self.root.resolve():
            raise ValueError(f"path: {key} is not a clip in {self.root}")
        return resolved

    def thumbnail_for(self, clip: Path) -> Path:
        return clip.with_suffix(".jpg")

    def _thumb_part(self, stem: str) -> Path:
        return self.root / f"{stem}.jpg"

    def _commit(self, part: Path, thumb: Path, key: str) -> None:
        os.replace(part, self.root / key)
        try:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            # The clip is complete and renamed; only the rename's durability is in doubt, so keep it.
            log.warning("could not fsync %s: %s", self.root, e)

    def _abandon(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def _file_of(self, key: str) -> Path | None:
        return self.root / key


LocalClipStore = ClipStore


def open_clip_store(clips_dir: Path, url_prefix: str, staging: Path) -> ClipStore | VerifiedStore:
    """`DAILIES_CLIP_STORE=s3://bucket/prefix` → the bucket (with the standard `AWS_*` variables); unset → the
    local folder, exactly as before."""
    target = os.environ.get("DAILIES_CLIP_STORE", "").strip()
    if not target:
        return ClipStore(clips_dir, url_prefix=url_prefix)
    from jobs.clipstore_s3 import s3_store_from_env

    return s3_store_from_env(target, staging)


def clip_url_of(clips: ClipStorage, job: Job) -> str | None:
    """What a browser plays for a job: a presigned URL for a key in a bucket, else the URL the ledger recorded
    (the local folder's static URLs never expire, and rows from before storage keys); None once deleted."""
    if clips.signs_urls and job.clip_url and job.clip_path and clips.owns(job.clip_path):
        return clips.url(job.clip_path)
    return job.clip_url


def thumb_url_of(clips: ClipStorage, job: Job) -> str | None:
    if clips.signs_urls and job.thumb_url and job.clip_path and clips.owns(job.clip_path):
        return clips.url(thumb_key_for(os.fspath(job.clip_path)))
    return job.thumb_url

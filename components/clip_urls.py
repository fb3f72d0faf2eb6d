"""The URL a browser plays a job's clip (or shows its thumbnail) from, through the process's clip store.

A local folder serves the static URL the ledger recorded; a bucket hands out presigned URLs, reused while
valid so a rerun gives the players the same `src` and nothing reloads.
"""

from __future__ import annotations

from components.runtime import get_runtime
from jobs.clipstore import ClipStorage, clip_url_of, thumb_url_of
from jobs.ledger import Job


def clip_url(job: Job) -> str | None:
    return clip_url_of(get_runtime().clips, job)


def thumb_url(job: Job) -> str | None:
    return thumb_url_of(get_runtime().clips, job)


def clip_store_label(clips: ClipStorage, *, detail: bool = False) -> str:
    """Which clip store is in use, in words (markdown): never an endpoint's credentials or a key."""
    bucket = getattr(clips, "bucket", None)
    if bucket is None:
        return f"local folder `{getattr(clips, 'root', '')}`" if detail else "local folder"
    prefix = getattr(clips, "prefix", "")
    return f"S3 bucket `{bucket}`" + (f", prefix `{prefix}`" if detail and prefix else "")

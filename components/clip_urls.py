"""The URL a browser plays a job's clip (or shows its thumbnail) from, through the process's clip store.

A local folder serves the static URL the ledger recorded; a bucket hands out presigned URLs, reused while
valid so a rerun gives the players the same `src` and nothing reloads.
"""

from __future__ import annotations

from components.runtime import get_runtime
from jobs.clipstore import clip_url_of, thumb_url_of
from jobs.ledger import Job


def clip_url(job: Job) -> str | None:
    return clip_url_of(get_runtime().clips, job)


def thumb_url(job: Job) -> str | None:
    return thumb_url_of(get_runtime().clips, job)

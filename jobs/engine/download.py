"""Fetching a finished clip into the clip store, and settling its cost."""

from __future__ import annotations

import json

from jobs.clipstore import StorageError
from jobs.costs import recorded_cost
from jobs.engine.context import EngineContext
from jobs.engine.records import applied_vs_requested
from jobs.engine.scheduler import Step
from jobs.engine.track import Track
from jobs.ledger import JobState
from jobs.schedule import submit_retry_delay
from providers.errors import Charged, DailiesError, ErrorKind, ProviderError, TransientError

REFUSED_URL_NOTE = "the clip was billed but its result URL cannot be fetched safely"
URL_REFRESHES = 2
"""Fresh-URL re-polls after a 403/404/410 on the result URL before the job is `expired` (D8)."""
DOWNLOAD_INVALID_RETRIES = 2
DOWNLOAD_TRANSIENT_RETRIES = 5


def do_download(ctx: EngineContext, job_id: str) -> None:
    work = ctx.work_on(job_id, JobState.SUCCEEDED)
    if work is None:
        return
    job, track, backend = work
    if not track.urls:
        ctx.schedule(job_id, Step.POLL, 0.0, urgent=True)
        return
    client = ctx.backends.client(backend)
    url = track.urls[0]
    try:
        clip = ctx.clips.download(lambda headers: client.open_download(url, headers=headers),
                                  f"{job.model_id}-{job.id[:12]}")
    except TransientError as exc:
        _retry(ctx, job_id, track, exc)
        return
    except StorageError as exc:  # a full disk or a read-only folder: the clip is still at the provider
        _retry(ctx, job_id, track, exc)
        return
    except ProviderError as exc:
        if exc.kind is ErrorKind.URL_EXPIRED:
            _url_gone(ctx, job_id, track, exc)
            return
        track.invalid_downloads += 1
        if track.invalid_downloads <= DOWNLOAD_INVALID_RETRIES:
            ctx.schedule(job_id, Step.POLL, track.schedule.policy.min_interval_s * track.time_scale
                         if track.schedule else 0.0)
            return
        ctx.set_state(job_id, JobState.FAILED, error_kind=str(exc.kind), error_message=exc.message,
                      charged=str(Charged.YES))
        return
    except DailiesError as exc:
        # Permanent: a result URL the URL policy refuses (plain http off loopback, credentials in it, ...).
        # Asking again would get the same URL, so the job ends here, with the reason in plain words.
        ctx.set_state(job_id, JobState.FAILED, error_kind=str(exc.kind),
                      error_message=f"{exc.message} ({REFUSED_URL_NOTE})", charged=str(Charged.YES))
        return
    except OSError as exc:
        _retry(ctx, job_id, track, exc)
        return
    meta = applied_vs_requested(job.mapping, clip, job.family)
    done = ctx.set_state(job_id, JobState.DOWNLOADED, clip_path=clip.key, clip_url=clip.url,
                         clip_sha256=clip.sha256, clip_meta_json=json.dumps(meta, default=str),
                         thumb_url=getattr(clip, "thumb_url", None), downloaded_at=ctx.stamp(track),
                         error_kind=None, error_message=None, charged=str(Charged.YES))
    _settle(ctx, job_id)
    ctx.after_download(done)  # after the state is written: the checks never delay "downloaded"


def _settle(ctx: EngineContext, job_id: str) -> None:
    """Replace the job's reserved upper estimate with the price rule applied to the delivered clip."""
    job = ctx.ledger.get(job_id)
    amount = recorded_cost(job, ctx.catalog) if job is not None else None
    if job is not None and amount is not None:
        ctx.ledger.reserve(job_id, amount, limit_usd=None, period_start=None, backend=job.backend,
                           model_id=job.model_id)


def _url_gone(ctx: EngineContext, job_id: str, track: Track, exc: ProviderError) -> None:
    """D8: a 403/404/410 on the result URL. Try the next candidate, then ask the task for a fresh URL."""
    track.urls.pop(0)
    if track.urls:
        ctx.schedule(job_id, Step.DOWNLOAD, 0.0)
        return
    track.url_refreshes += 1
    if track.url_refreshes <= URL_REFRESHES:
        ctx.ledger.update(job_id, error_kind=str(exc.kind), error_message=f"{exc.message} — fetching a fresh URL")
        ctx.schedule(job_id, Step.POLL, 0.0, urgent=True)
        return
    ctx.set_state(job_id, JobState.EXPIRED, error_kind=str(ErrorKind.URL_EXPIRED),
                  error_message=f"{exc.message}; no fresh URL after {URL_REFRESHES} re-polls "
                                "(expired_unrecoverable: the clip was billed but cannot be fetched).",
                  charged=str(Charged.YES))


def _retry(ctx: EngineContext, job_id: str, track: Track, exc: BaseException) -> None:
    """Network trouble or a full disk: the job stays `succeeded` and the download is tried again."""
    track.transient_downloads += 1
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    ctx.ledger.update(job_id, error_message=f"download not finished yet: {message}")
    ctx.bump()
    if track.transient_downloads > DOWNLOAD_TRANSIENT_RETRIES:
        ctx.forget_now(job_id)  # left `succeeded`; the periodic rescan tries again
        ctx.ledger.release(ctx.owner, [job_id])
        return
    delay = submit_retry_delay(track.transient_downloads - 1, getattr(exc, "retry_after_s", None),
                               time_scale=track.time_scale, rng=ctx.rng)
    ctx.schedule(job_id, Step.DOWNLOAD, delay)

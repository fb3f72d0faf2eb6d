"""Provider callbacks as hints: a worker with DAILIES_PUBLIC_URL asks Kling to call it back, and polls at once.

CometAPI documents `callback_url` on Kling's text2video, image2video and extend routes, but no payload and no
signature (cometapi-video-api.md 8), so a callback is only ever a hint: it marks the job "poll now" in the
ledger (`Job.poll_hint`), the job's lease holder sees the write through its ledger watch (the data_version
interface; on PostgreSQL the store delivers NOTIFY through it) and polls the status endpoint, which alone
decides. The body is never used as the result.

Each job's URL carries a token: HMAC-SHA256 of the job id under DAILIES_CALLBACK_SECRET. A shared secret, not a
stored per-job token, because any worker on any machine behind the public URL must accept any job's callback,
and a secret in the environment keeps the token out of the ledger (whoever reads the ledger cannot forge a
hint) and needs no new table. Rotating the secret invalidates the URLs in flight; polling covers them. The
token sits in the URL's query string, which every shown or logged URL already has redacted
(providers/redact.py), and this module never logs a URL, a token or a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobs.ledger import JobState, Ledger
from providers.errors import DailiesError, ErrorKind
from providers.redact import get_logger, register_secret

PUBLIC_URL_ENV = "DAILIES_PUBLIC_URL"
SECRET_ENV = "DAILIES_CALLBACK_SECRET"
MIN_SECRET_CHARS = 32
MAX_BODY_BYTES = 64 * 1024
"""A Kling task's status object is a few hundred bytes; anything this large is not a callback."""
PATH = "/callbacks/{job_id}"
HINTABLE = frozenset({JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING})
"""States whose next poll a callback may bring forward; any other job has nothing to poll (or is done)."""
_JOB_ID = re.compile(r"[0-9a-f]{32}")

log = get_logger("dailies.callbacks")


@dataclass(frozen=True)
class CallbackConfig:
    public_url: str
    """Where the providers reach this worker's callback endpoint (scheme, host, optional path prefix)."""
    secret: bytes

    def token(self, job_id: str) -> str:
        return hmac.new(self.secret, f"dailies-callback:{job_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def url_for(self, job_id: str) -> str:
        return f"{self.public_url}{PATH.format(job_id=quote(job_id, safe=''))}?token={self.token(job_id)}"

    def verify(self, job_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token(job_id).encode(), token.encode("utf-8", "replace"))


def config_from_env(environ: dict[str, str] | None = None) -> CallbackConfig | None:
    """The callback settings, or None when DAILIES_PUBLIC_URL is unset (polling alone). Raises DailiesError
    naming the variable when one is set wrong."""
    env = os.environ if environ is None else environ
    public = (env.get(PUBLIC_URL_ENV) or "").strip().rstrip("/")
    if not public:
        return None
    parts = urlsplit(public)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise DailiesError(f"{PUBLIC_URL_ENV}: {public!r} is not a base URL; allowed: http:// or https:// with a "
                           "host and an optional path, no query", kind=ErrorKind.VALIDATION)
    secret = (env.get(SECRET_ENV) or "").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise DailiesError(f"{SECRET_ENV}: {'not set' if not secret else 'too short'}; with {PUBLIC_URL_ENV} set, "
                           f"every worker needs the same secret of at least {MIN_SECRET_CHARS} characters "
                           "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')",
                           kind=ErrorKind.VALIDATION)
    register_secret(secret)
    return CallbackConfig(public, secret.encode())


def _task_id(payload: dict[str, Any]) -> str | None:
    """The task id a callback names: Kling's status object at the top level or in its `data` envelope."""
    data = payload.get("data")
    for source in (payload, data if isinstance(data, dict) else {}):
        for key in ("task_id", "id"):
            value = source.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return None


class CallbackReceiver:
    """`POST /callbacks/{job_id}?token=…`: verify, mark the job "poll now", wake this process's engine."""

    def __init__(self, ledger: Ledger, config: CallbackConfig, wake: Callable[[], None]) -> None:
        self.ledger, self.config, self.wake = ledger, config, wake

    def routes(self) -> list[Route]:
        return [Route(PATH, self.endpoint, methods=["POST"])]

    async def endpoint(self, request: Request) -> Response:
        job_id = request.path_params["job_id"]
        if not _JOB_ID.fullmatch(job_id):
            return _answer(404, "unknown job", job_id)
        if not self.config.verify(job_id, request.query_params.get("token", "")):
            return _answer(403, "wrong token", job_id)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            return _answer(413, f"body over {MAX_BODY_BYTES} bytes", job_id)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _answer(413, f"body over {MAX_BODY_BYTES} bytes", job_id)
        status, reason = await asyncio.to_thread(self.receive, job_id, bytes(body))
        return _answer(status, reason, job_id)

    def receive(self, job_id: str, body: bytes) -> tuple[int, str]:
        """A verified callback's body: mark the job, or say why nothing changed. Never reads a result from it."""
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return 400, "body is not JSON"
        if not isinstance(payload, dict):
            return 400, "body is not a JSON object"
        task_id = _task_id(payload)
        if task_id is None:
            return 400, "body names no task_id"
        job = self.ledger.get(job_id)
        if job is None:
            return 404, "unknown job"
        if job.task_id is not None and task_id != job.task_id:
            return 409, f"task {task_id} is not this job's task"
        if job.state not in HINTABLE:
            return 200, f"nothing to poll (job is {job.state.value})"
        if job.poll_hint is not None:
            return 200, f"duplicate: task {task_id} is already marked poll-now"
        self.ledger.update(job_id, poll_hint=task_id)
        self.wake()
        return 202, f"task {task_id} marked poll-now"


def _answer(status: int, reason: str, job_id: str) -> Response:
    # The job id is not secret; the URL's token and the body are never logged.
    if status >= 400:
        log.warning("callback for job %s refused (%d): %s", job_id[:12], status, reason)
    else:
        log.info("callback for job %s: %s", job_id[:12], reason)
    return JSONResponse({"status": reason}, status_code=status)

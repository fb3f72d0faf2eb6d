"""The one object that talks to CometAPI (or the sandbox): submit, poll, download, with the HTTP policy applied.

Submit is never sent twice unless the first attempt provably never left this machine; a status GET
is retried a few times under the process-wide budget, then the caller skips that poll; downloads go
through a credential-free client unless the URL is on the API host itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from providers import http
from providers.errors import (
    Charged,
    DailiesError,
    ErrorKind,
    MalformedResponse,
    ProviderError,
    SubmitUnknown,
    TaskNotFoundYet,
    TransientError,
    ValidationError,
)
from providers.families import poll_parser, submit_parser
from providers.redact import get_logger, redact, register_secret, strip_query
from providers.status import TaskStatus
from providers.submission import Submission
from providers.url_policy import check_result_url, is_loopback_host, validate_user_image_url

__all__ = ["Backend", "CometClient", "validate_user_image_url"]

log = get_logger(__name__)

MAX_REDIRECTS = 3
_ERROR_BODY_CAP = 64 * 1024
_POLL_FAILED_REASON = "a status check failed; the task itself is unaffected"


@dataclass(frozen=True)
class Backend:
    """Where requests go: live CometAPI or the local sandbox."""

    base_url: str
    api_key: str = field(repr=False)
    sandbox: bool = False
    """True only for the local simulator: allows plain http result URLs on loopback."""
    time_scale: float = 1.0
    """Real seconds per simulated second (sandbox only)."""
    allow_http: bool = False
    """The user opted into a plain-http base URL off this machine (a self-hosted gateway): the key travels in
    clear text to it, and result URLs on that same origin are fetched over http too; nothing else is."""

    @property
    def key_fingerprint(self) -> str:
        """Identifies the key without revealing it: first 12 hex digits of its sha256."""
        return hashlib.sha256(self.api_key.strip().encode()).hexdigest()[:12]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


class CometClient:
    """Submit / poll / download for one backend. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        backend: Backend,
        *,
        transport: httpx.BaseTransport | None = None,
        cdn_transport: httpx.BaseTransport | None = None,
        budget: http.RetryBudget | None = None,
        limiter: http.RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 3,
        paced_by_caller: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        key = backend.api_key.strip() if isinstance(backend.api_key, str) else ""
        if not key or any(c.isspace() for c in key):
            raise ValidationError("api_key", "the API key is empty or contains spaces or line breaks",
                                  allowed="a CometAPI key such as sk-...")
        register_secret(key)
        self.backend = backend
        self._base = self.check_base_url(backend)
        self._host = urlsplit(self._base).netloc.lower()
        self._budget = budget or http.default_budget()
        # The sandbox runs on a compressed clock, so its request rate scales with it.
        scale = backend.time_scale if backend.sandbox and backend.time_scale > 0 else 1.0
        self._scale = scale
        self._limiter = limiter or (http.RateLimiter(rate=2.0 / scale, burst=5) if scale != 1.0
                                    else http.default_limiter())
        self._sleep = sleep
        self.max_attempts = max(1, max_attempts)
        # A scheduler that takes the status token before it hands a poll to a thread (the job runner):
        # the first attempt goes out at once, and a submit is left to the caller's concurrency cap.
        self._paced_by_caller = paced_by_caller
        self._api = httpx.Client(transport=transport, headers={**(headers or {}), **http.auth_headers(key),
                                                                  "User-Agent": "dailies"},
                                 follow_redirects=False, timeout=http.STATUS_TIMEOUT)
        # No credentials, ever: result URLs point at third-party CDNs.
        self._cdn = httpx.Client(transport=cdn_transport, headers={"User-Agent": "dailies"},
                                 follow_redirects=False, timeout=http.DOWNLOAD_TIMEOUT)

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        self._api.close()
        self._cdn.close()

    def __enter__(self) -> CometClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- URLs ------------------------------------------------------------------------------------

    @staticmethod
    def check_base_url(backend: Backend) -> str:
        base = backend.base_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
            raise ValidationError("base_url", f"not a usable base URL: {strip_query(base)[:120]}",
                                  allowed="https://api.cometapi.com or http://127.0.0.1:<port> for the sandbox")
        # The key would travel in clear text over plain http to anything but this machine: only by opt-in.
        if parts.scheme == "http" and not is_loopback_host(parts.hostname) and not backend.allow_http:
            raise ValidationError("base_url", f"plain http to {parts.hostname} would send the API key in clear text",
                                  allowed="https://..., http://127.0.0.1:<port>, or opt in with --allow-http, "
                                          "DAILIES_ALLOW_HTTP=1 or the Settings switch")
        return base

    def _url(self, path: str) -> str:
        if not path.startswith("/") or "://" in path:
            raise ValidationError("path", f"expected a path starting with '/', got {strip_query(path)[:80]!r}")
        return self._base + path

    def check_url(self, url: str) -> str:
        """Validate a result URL (https; http only to loopback with the sandbox backend)."""
        http_origin = self._base if self.backend.allow_http and self._base.startswith("http://") else None
        return check_result_url(url, sandbox=self.backend.sandbox, field="video_url", http_origin=http_origin)

    def _on_api_host(self, url: str) -> bool:
        return _origin(url) == _origin(self._base)

    # -- pacing ----------------------------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds * self._scale)

    def _throttle(self) -> None:
        wait = self._limiter.reserve(self._host)
        if wait > 0:
            self._sleep(wait)

    # -- submit ----------------------------------------------------------------------------------

    def submit(self, sub: Submission) -> TaskStatus:
        """POST the submission once. Raises TransientError(RATE_LIMITED) to re-queue, SubmitUnknown when
        the outcome cannot be known (never resent), or ProviderError / ValidationError for refusals."""
        parser = submit_parser(sub.family)
        req = sub.request
        url = self._url(req.path)
        kwargs: dict[str, Any] = {"headers": dict(req.headers)}
        if req.files or req.form:
            # (None, value) parts keep plain fields in the same multipart body as the files.
            parts: list[tuple[str, tuple[str | None, Any] | tuple[str, bytes, str]]] = [
                (k, (None, str(v))) for k, v in (req.form or {}).items()
            ]
            parts += [(f.field, (f.filename, f.content, f.mime)) for f in req.files]
            kwargs["files"] = parts
        elif req.json is not None:
            kwargs["json"] = req.json
        where = f"{req.method} {req.path}"

        for attempt in range(self.max_attempts):
            if not self._paced_by_caller:
                self._throttle()
            try:
                resp = self._api.request(req.method, url, timeout=http.SUBMIT_TIMEOUT, **kwargs)
                break
            except http.NEVER_SENT_ERRORS as exc:
                timed_out = isinstance(exc, httpx.TimeoutException)
                if attempt + 1 >= self.max_attempts or not self._budget.acquire(timeout=timed_out):
                    raise TransientError(
                        redact(f"could not connect to {self._host} for {where} ({type(exc).__name__})"),
                        kind=ErrorKind.PROVIDER_OUTAGE, charged=Charged.NO,
                        charged_reason="the request never reached the server") from None
                log.info("submit %s: %s before sending; retrying", where, type(exc).__name__)
                self._pause(http.backoff_delay(attempt))
            except httpx.HTTPError as exc:  # any failure after sending, a decoding error included
                raise SubmitUnknown(redact(
                    f"{where}: {type(exc).__name__} after the request was sent; the task may exist. "
                    "It was not resent.")) from None
        else:  # pragma: no cover - the loop always breaks or raises
            raise AssertionError("unreachable")

        try:
            status = parser(resp.status_code, resp.headers, resp.content)
        except MalformedResponse as exc:
            # A 2xx or 5xx we cannot read came after the body was sent: the task may exist (S3). A 4xx
            # is a refusal whatever its body says, so only that one stays a plain error.
            if resp.status_code < 300 or resp.status_code >= 500:
                raise SubmitUnknown(redact(
                    f"{where}: HTTP {resp.status_code} with an unreadable answer ({exc.message}); the task may "
                    "exist. It was not resent."), status_code=resp.status_code) from None
            raise
        except TaskNotFoundYet as exc:
            raise ProviderError(exc.message, kind=ErrorKind.VALIDATION, status_code=exc.status_code,
                                provider_code=exc.provider_code) from None
        except TransientError as exc:
            if exc.kind is ErrorKind.RATE_LIMITED:
                raise
            raise SubmitUnknown(
                redact(f"{where}: {exc.message}; the provider may have created the task. It was not resent."),
                status_code=exc.status_code) from None
        self._budget.record_success()
        return status

    # -- poll ------------------------------------------------------------------------------------

    def poll(self, family: str, poll_path: str) -> TaskStatus:
        """GET the task status, retrying transient failures a few times.

        TaskNotFoundYet: `task_not_exist` (the caller decides the grace window).
        TransientError: this poll failed; skip it and keep the job (`retry_after_s` = pause hint).
        ProviderError: permanent (401, 404 not found, ...).
        """
        parser = poll_parser(family)
        url = self._url(poll_path)
        for attempt in range(self.max_attempts):
            if attempt or not self._paced_by_caller:
                self._throttle()
            timed_out = False
            try:
                resp = self._api.get(url, timeout=http.STATUS_TIMEOUT)
            except httpx.HTTPError as exc:
                timed_out = isinstance(exc, httpx.TimeoutException)
                err: DailiesError = TransientError(
                    redact(f"status request for {poll_path} failed: {type(exc).__name__}"),
                    kind=ErrorKind.PROVIDER_OUTAGE, charged=Charged.UNKNOWN, charged_reason=_POLL_FAILED_REASON)
            else:
                try:
                    status = parser(resp.status_code, resp.headers, resp.content)
                except TaskNotFoundYet:
                    raise
                except MalformedResponse as exc:
                    err = TransientError(exc.message, kind=ErrorKind.MALFORMED_RESPONSE,
                                         status_code=exc.status_code, charged=Charged.UNKNOWN,
                                         charged_reason=_POLL_FAILED_REASON)
                except TransientError as exc:
                    err = exc
                    timed_out = resp.status_code in (408, 504, 524)
                else:
                    self._budget.record_success()
                    hint = http.parse_poll_after(resp.headers) or http.pause_for(http.parse_retry_after(resp.headers))
                    return replace(status, poll_after_s=hint) if hint is not None else status

            retry_after = getattr(err, "retry_after_s", None)
            if retry_after is not None and retry_after > http.IN_PROCESS_WAIT_MAX_S:
                raise self._with_pause(err, http.pause_for(retry_after))
            if attempt + 1 >= self.max_attempts:
                raise err
            if not self._budget.acquire(timeout=timed_out):
                raise TransientError(f"retry budget exhausted; skipping this poll ({err.message})",
                                     kind=err.kind, status_code=getattr(err, "status_code", None),
                                     charged=Charged.UNKNOWN, charged_reason=_POLL_FAILED_REASON) from err
            log.info("poll %s: %s; retrying", poll_path, err.message)
            self._pause(http.retry_delay(attempt, retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _with_pause(err: DailiesError, pause: float | None) -> DailiesError:
        if isinstance(err, ProviderError):
            err.retry_after_s = pause
        return err

    # -- download --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def open_download(self, url: str, *, headers: Mapping[str, str] | None = None) -> Iterator[httpx.Response]:
        """Stream a result URL (status 200/206). See the module docstring for the host rules.

        `headers` may add e.g. Range / If-Range for a resumed download.
        """
        resp = self._open_download(url, dict(headers or {}))
        try:
            yield resp
        finally:
            resp.close()

    def _open_download(self, url: str, extra: dict[str, str]) -> httpx.Response:
        last: DailiesError | None = None
        for attempt in range(self.max_attempts):
            try:
                return self._download_once(url, extra)
            except TransientError as exc:
                last = exc
                timed_out = exc.kind is ErrorKind.TIMEOUT
                long_hint = exc.retry_after_s is not None and exc.retry_after_s > http.IN_PROCESS_WAIT_MAX_S
                if long_hint or attempt + 1 >= self.max_attempts or not self._budget.acquire(timeout=timed_out):
                    raise
                self._pause(http.retry_delay(attempt, exc.retry_after_s))
        raise last if last else AssertionError("unreachable")  # pragma: no cover

    def _download_once(self, url: str, extra: dict[str, str]) -> httpx.Response:
        current = self.check_url(url)
        for _hop in range(MAX_REDIRECTS + 1):
            client = self._api if self._on_api_host(current) else self._cdn
            request = client.build_request("GET", current, headers={**extra, "Accept-Encoding": "identity"},
                                           timeout=http.DOWNLOAD_TIMEOUT)
            shown = strip_query(current)
            try:
                resp = client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                raise TransientError(f"download from {shown} timed out ({type(exc).__name__})",
                                     kind=ErrorKind.TIMEOUT, charged=Charged.YES,
                                     charged_reason="the clip was rendered and billed") from None
            except httpx.HTTPError as exc:
                raise TransientError(f"download from {shown} failed ({type(exc).__name__})",
                                     kind=ErrorKind.PROVIDER_OUTAGE, charged=Charged.YES,
                                     charged_reason="the clip was rendered and billed") from None
            if resp.is_redirect:
                location = resp.headers.get("location", "")
                resp.close()
                if not location:
                    raise ProviderError(redact(f"redirect without a Location from {shown}"),
                                        kind=ErrorKind.DOWNLOAD_INVALID,
                                        status_code=resp.status_code)
                current = self.check_url(urljoin(current, location))
                continue
            return self._accept_download(resp, shown)
        raise ProviderError(redact(f"more than {MAX_REDIRECTS} redirects downloading {url}"),
                            kind=ErrorKind.DOWNLOAD_INVALID)

    def _accept_download(self, resp: httpx.Response, shown: str) -> httpx.Response:
        code = resp.status_code
        content_type = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if code in (200, 206) and not _is_error_content_type(content_type):
            return resp
        detail = _error_detail(resp, content_type)
        resp.close()
        message = redact(f"download from {shown}: HTTP {code}" + (f": {detail}" if detail else ""))
        if code in (403, 404, 410):
            raise ProviderError(message, kind=ErrorKind.URL_EXPIRED, status_code=code)
        if code in http.RETRYABLE_STATUS or code >= 500:
            raise TransientError(message, kind=ErrorKind.PROVIDER_OUTAGE, status_code=code,
                                 retry_after_s=http.parse_retry_after(resp.headers), charged=Charged.YES,
                                 charged_reason="the clip was rendered and billed")
        if code in (200, 206):
            message = redact(f"download from {shown} returned {content_type}, not a video" +
                             (f": {detail}" if detail else ""))
        raise ProviderError(message, kind=ErrorKind.DOWNLOAD_INVALID, status_code=code)


def _is_error_content_type(content_type: str) -> bool:
    return (content_type in ("application/json", "application/xml", "application/problem+json")
            or content_type.startswith("text/") or content_type.endswith(("+json", "+xml")))


_XML_MESSAGE = re.compile(r"<(Message|Code)>([^<]{1,300})</\1>", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title[^>]*>([^<]{1,200})</title>", re.IGNORECASE)


def _error_detail(resp: httpx.Response, content_type: str) -> str | None:
    """The provider's own words from an error body (JSON envelope, S3/GCS XML, HTML title)."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= _ERROR_BODY_CAP:
                break
    except (httpx.HTTPError, httpx.StreamError):
        return None
    body = b"".join(chunks)[:_ERROR_BODY_CAP]
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        for candidate in (err.get("message") if isinstance(err, dict) else err, data.get("message"), data.get("code")):
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()[:300]
    text = body.decode("utf-8", "replace")
    for pattern in (_XML_MESSAGE, _HTML_TITLE):
        found = pattern.search(text)
        if found:
            return found.group(found.lastindex or 1).strip()
    if "json" in content_type:
        return None
    return text.strip()[:120] or None

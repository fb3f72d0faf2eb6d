"""The HTTP policy in one place: auth header, timeouts, Retry-After / poll-after parsing, backoff,
the process-wide retry budget and rate limiter, and which calls may be retried at all.

Policy for server hints (documented here because callers rely on it):

* `parse_retry_after` returns the server's wait in seconds when it is a finite number > 0
  (`retry-after-ms` first, then `Retry-After` as seconds or an HTTP date), else None.
  "0", negatives, past dates, "inf", "nan", garbage and unparsable dates are all None.
* A value in (0, RETRY_AFTER_CAP_S] is honoured; otherwise retries use `backoff_delay`. The client waits
  in-process only for hints up to IN_PROCESS_WAIT_MAX_S (a worker thread must not sit idle for minutes);
  a longer hint ends *this* call with a TransientError whose `retry_after_s` is `pause_for(value)`
  (at most LONG_PAUSE_MAX_S), so the poll loop pauses the job rather than dropping it, even above the cap.
* `parse_poll_after` reads `openai-poll-after-ms` on every response, clamped to [1 s, 60 s];
  garbage is ignored (never a ValueError, never a busy loop on "0").
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC

import httpx

RETRY_AFTER_CAP_S = 120.0
IN_PROCESS_WAIT_MAX_S = 10.0
LONG_PAUSE_MAX_S = 3600.0
POLL_AFTER_MIN_S = 1.0
POLL_AFTER_MAX_S = 60.0

# Status GETs: connect 5 s, read 30 s. A submit uploads images and waits for the provider: read 60 s.
STATUS_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
SUBMIT_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=60.0, pool=10.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)

# Idempotent calls (status GET, download) are retried on these; a submit POST never is.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 524})
# The only transport errors that prove a request never left this machine.
NEVER_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout,
                                                             httpx.PoolTimeout)

# httpx logs every request URL at INFO, which would leak signed-URL tokens.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key.strip()}"}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for k, v in headers.items():
            if k.lower() == lowered:
                return v
    return value


def _finite_positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, or None when absent / zero / negative / unreadable."""
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            found = _finite_positive(float(ms) / 1000.0)
        except (ValueError, OverflowError):
            found = None
        if found is not None:
            return found
    raw = _header(headers, "retry-after")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        return _finite_positive(float(raw))
    except (ValueError, OverflowError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    try:
        return _finite_positive(when.timestamp() - current)
    except (OverflowError, ValueError, OSError):
        return None


def honoured_retry_after(retry_after: float | None) -> float | None:
    """The server's wait when an in-process retry should obey it: (0, RETRY_AFTER_CAP_S]."""
    if retry_after is not None and 0 < retry_after <= RETRY_AFTER_CAP_S:
        return retry_after
    return None


def pause_for(retry_after: float | None) -> float | None:
    """How long a poll loop should pause a job for a server hint (long hints pause, never fail)."""
    if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
        return None
    return min(retry_after, LONG_PAUSE_MAX_S)


def parse_poll_after(headers: Mapping[str, str]) -> float | None:
    """`openai-poll-after-ms` in seconds, clamped to [1, 60]; None when absent or garbage."""
    raw = _header(headers, "openai-poll-after-ms")
    if raw is None:
        return None
    try:
        ms = float(raw.strip())
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(ms):
        return None
    return min(POLL_AFTER_MAX_S, max(POLL_AFTER_MIN_S, ms / 1000.0))


def backoff_delay(attempt: int, *, base: float = 1.0, cap: float = 30.0,
                  rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter: U(0, min(cap, base * 2**attempt)). Never overflows."""
    exponent = min(max(int(attempt), 0), 64)
    ceiling = min(cap, base * (2.0 ** exponent))
    return (rng or random).uniform(0.0, max(ceiling, 0.0))


def retry_delay(attempt: int, retry_after: float | None, *, rng: random.Random | None = None) -> float:
    """The wait before retry number `attempt` (0-based): the server's hint when honoured, else backoff."""
    honoured = honoured_retry_after(retry_after)
    return honoured if honoured is not None else backoff_delay(attempt, rng=rng)


class RetryBudget:
    """Process-wide retry quota (botocore's token bucket): an outage must not become a retry storm."""

    def __init__(self, capacity: int = 500, retry_cost: int = 5, timeout_cost: int = 10, refund: int = 1) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.refund = refund
        self._available = capacity
        self._lock = threading.Lock()

    @property
    def available(self) -> int:
        with self._lock:
            return self._available

    def acquire(self, *, timeout: bool = False) -> bool:
        """Take the cost of one retry; False (and nothing taken) when the budget is spent."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if self._available < cost:
                return False
            self._available -= cost
            return True

    def record_success(self) -> None:
        with self._lock:
            self._available = min(self.capacity, self._available + self.refund)


class RateLimiter:
    """Process-wide token bucket per host: status polls from every session share it."""

    def __init__(self, rate: float = 2.0, burst: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, host: str) -> float:
        """Take one token for `host`; returns how long to wait before using it (0 when available now).

        Tokens may go negative: each caller gets its own slot in the future, so concurrent callers
        queue fairly instead of all waking at the same instant.
        """
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(host, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate) - 1.0
            self._buckets[host] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / self.rate

    def try_acquire(self, host: str) -> float:
        """Take one token for `host` only if one is there now: returns 0.0 when taken, else the seconds
        until one will be (nothing taken). For a scheduler that must never park a thread on the bucket."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(host, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[host] = (tokens - 1.0, now)
                return 0.0
            self._buckets[host] = (tokens, now)
        return (1.0 - tokens) / self.rate


_default_budget = RetryBudget()
_default_limiter = RateLimiter()


def default_budget() -> RetryBudget:
    return _default_budget


def default_limiter() -> RateLimiter:
    return _default_limiter

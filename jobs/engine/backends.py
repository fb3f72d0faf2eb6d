"""Keys held in memory, one HTTP client per (key, base URL), and the process-wide status limiters."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from jobs.keys import KeyRing
from jobs.ledger import Job
from providers import http
from providers.client import Backend, CometClient

DEFAULT_POLL_RATE = 2.0
"""reliability.md §2d: a process-wide status bucket of about 2 requests/s (bursts of 5), at least."""


@dataclass(frozen=True)
class Pace:
    """A backend's status limiter and the host its bucket is keyed by."""

    limiter: http.RateLimiter
    host: str

    def try_acquire(self) -> float:
        """0 when a token was taken; else seconds until the next one."""
        return self.limiter.try_acquire(self.host)


class Backends:
    """Thread-safe. Nothing here is written anywhere: keys live in memory only."""

    def __init__(self, *, concurrency_cap: int, poll_rate: float | None, poll_burst: int | None,
                 client_factory: Callable[[Backend], CometClient] | None,
                 client_type: type[CometClient] = CometClient, headers: Mapping[str, str] | None = None) -> None:
        self.keys = KeyRing()
        self._budget = http.RetryBudget()
        # Status requests per (provider) second for the whole process. By default the tutorial's own pace
        # for a full house, one GET per 10 s per concurrent task, never under reliability.md's 2/s: a cap on
        # a retry storm from many tabs, not a brake on a well-behaved schedule.
        rate = poll_rate if poll_rate is not None else max(DEFAULT_POLL_RATE, concurrency_cap / 10.0)
        burst = poll_burst if poll_burst is not None else max(5, round(rate))
        self.poll_rate, self.poll_burst = rate, burst
        self._live_limiter = http.RateLimiter(rate=rate, burst=burst)
        self._limiters: dict[float, http.RateLimiter] = {}
        self._client_type = client_type
        self._headers = dict(headers or {})  # e.g. a worker's X-Dailies-Worker, on every provider request
        self._client_factory = client_factory or self._default_client
        self._clients: dict[tuple[str, str], CometClient] = {}
        self._lock = threading.Lock()

    def for_job(self, job: Job) -> Backend | None:
        return self.keys.get(job.key_fingerprint, job.base_url)

    def limiter_for(self, backend: Backend) -> http.RateLimiter:
        if not backend.sandbox or backend.time_scale == 1.0:
            return self._live_limiter
        with self._lock:
            limiter = self._limiters.get(backend.time_scale)
            if limiter is None:
                limiter = http.RateLimiter(rate=self.poll_rate / backend.time_scale, burst=self.poll_burst)
                self._limiters[backend.time_scale] = limiter
            return limiter

    def pace_for(self, backend: Backend) -> Pace:
        return Pace(self.limiter_for(backend), urlsplit(backend.base_url.strip()).netloc.lower())

    def _default_client(self, backend: Backend) -> CometClient:
        return self._client_type(backend, budget=self._budget, limiter=self.limiter_for(backend), paced_by_caller=True,
                                 headers=self._headers)

    def client(self, backend: Backend) -> CometClient:
        ident = (backend.key_fingerprint, backend.base_url.rstrip("/"))
        with self._lock:
            client = self._clients.get(ident)
        if client is None:
            client = self._client_factory(backend)
            with self._lock:
                client = self._clients.setdefault(ident, client)
        return client

    def close_clients(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

"""The HTTP policy: server wait hints (openai-python's edge-case table), backoff, retry budget, rate limiter."""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TypeVar

import pytest
from hypothesis import given, settings, strategies as st

from providers import http

T = TypeVar("T")

NOW = 1_773_300_000.0  # a fixed wall clock for HTTP-date hints


def _date(offset_s: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset_s, tz=UTC), usegmt=True)


# header value -> (parsed wait, honoured by an in-process retry, pause handed to a poll loop)
RETRY_AFTER_TABLE: list[tuple[str, float | None, float | None, float | None]] = [
    ("20", 20.0, 20.0, 20.0),
    ("0", None, None, None),
    ("-10", None, None, None),
    ("60", 60.0, 60.0, 60.0),
    ("61", 61.0, 61.0, 61.0),
    ("120", 120.0, 120.0, 120.0),
    ("121", 121.0, None, 121.0),  # above the cap: no in-process retry, the job pauses instead
    ("2.5", 2.5, 2.5, 2.5),
    (_date(-10), None, None, None),
    (_date(0), None, None, None),
    (_date(30), 30.0, 30.0, 30.0),
    (_date(600), 600.0, None, 600.0),
    ("99999999999999999999999999999999999", 1e35, None, http.LONG_PAUSE_MAX_S),
    ("inf", None, None, None),
    ("nan", None, None, None),
    ("Zun, 29 Sep 2023 16:26:57 GMT", None, None, None),
    ("Fri, 29 Sep 100000 16:26:27 GMT", None, None, None),
    ("", None, None, None),
    ("soon", None, None, None),
]


@pytest.mark.parametrize(("value", "parsed", "honoured", "pause"), RETRY_AFTER_TABLE)
def test_retry_after_table(value: str, parsed: float | None, honoured: float | None, pause: float | None) -> None:
    got = http.parse_retry_after({"Retry-After": value}, now=NOW)
    assert got == (pytest.approx(parsed) if parsed is not None else None)
    assert http.honoured_retry_after(got) == (pytest.approx(honoured) if honoured is not None else None)
    assert http.pause_for(got) == (pytest.approx(pause) if pause is not None else None)


@pytest.mark.parametrize(("value", "_parsed", "honoured", "_pause"), RETRY_AFTER_TABLE)
def test_retry_delay_obeys_honoured_hints_and_backs_off_otherwise(
        value: str, _parsed: float | None, honoured: float | None, _pause: float | None) -> None:
    delay = http.retry_delay(0, http.parse_retry_after({"retry-after": value}, now=NOW), rng=random.Random(1))
    if honoured is not None:
        assert delay == pytest.approx(honoured)
    else:
        assert 0.0 <= delay <= 1.0  # first backoff step: U(0, 1 s)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after-ms": "1500"}, 1.5), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
     ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0), ({"retry-after-ms": "0", "retry-after": "4"}, 4.0),
     ({"retry-after-ms": "nan"}, None), ({"RETRY-AFTER": "3"}, 3.0), ({}, None)],
)
def test_retry_after_ms_wins_and_garbage_falls_through(headers: dict[str, str], expected: float | None) -> None:
    assert http.parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2000", 2.0), ("1500.5", 1.5005), ("0", 1.0), ("10", 1.0), ("-5", 1.0), ("60000", 60.0), ("120000", 60.0),
     ("abc", None), ("", None), ("nan", None), ("inf", None), ("1e400", None), (" 3000 ", 3.0)],
)
def test_poll_after_is_clamped_and_garbage_ignored(value: str, expected: float | None) -> None:
    assert http.parse_poll_after({"openai-poll-after-ms": value}) == expected


def test_poll_after_absent() -> None:
    assert http.parse_poll_after({"content-type": "application/json"}) is None


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(min_value=-10, max_value=10**9), seed=st.integers(0, 2**32))
def test_backoff_is_finite_bounded_and_never_overflows(attempt: int, seed: int) -> None:
    delay = http.backoff_delay(attempt, rng=random.Random(seed))
    assert math.isfinite(delay)
    assert 0.0 <= delay <= 30.0


def test_backoff_grows_until_the_cap() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert [http.backoff_delay(n, rng=Top()) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_retry_budget_costs_and_refunds() -> None:
    budget = http.RetryBudget()
    assert budget.available == 500
    assert budget.acquire()
    assert budget.acquire(timeout=True)
    assert budget.available == 485
    budget.record_success()
    assert budget.available == 486
    while budget.acquire():
        pass
    assert budget.available < 5
    assert not budget.acquire()
    for _ in range(1000):
        budget.record_success()
    assert budget.available == 500  # refunds never exceed the capacity


def from_threads(call: Callable[[], T], threads: int, calls_each: int) -> list[T]:
    """Every result of `call`, run `calls_each` times in each of `threads` threads at once."""
    results: list[T] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(calls_each):
            result = call()
            with lock:
                results.append(result)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=10)
    return results


def test_retry_budget_is_thread_safe() -> None:
    budget = http.RetryBudget(capacity=500, retry_cost=5)
    granted = from_threads(budget.acquire, threads=8, calls_each=50)
    assert granted.count(True) == 100
    assert budget.available == 0


def test_rate_limiter_allows_a_burst_then_spaces_requests() -> None:
    clock = [100.0]
    limiter = http.RateLimiter(rate=2.0, burst=5, clock=lambda: clock[0])
    assert [limiter.reserve("api.cometapi.com") for _ in range(5)] == [0.0] * 5
    assert limiter.reserve("api.cometapi.com") == pytest.approx(0.5)
    assert limiter.reserve("api.cometapi.com") == pytest.approx(1.0)  # queued behind the previous caller
    assert limiter.reserve("other.host") == 0.0  # each host has its own bucket
    clock[0] += 10.0
    assert limiter.reserve("api.cometapi.com") == 0.0


def test_rate_limiter_is_thread_safe() -> None:
    limiter = http.RateLimiter(rate=1.0, burst=5, clock=lambda: 0.0)
    waits = from_threads(lambda: limiter.reserve("h"), threads=4, calls_each=25)
    # 100 reservations at a frozen clock: 5 free, then one distinct slot per second for the other 95.
    assert sorted(waits) == [0.0] * 5 + [float(n) for n in range(1, 96)]


def test_httpx_request_logs_are_turned_down() -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


def test_bearer_header_strips_whitespace() -> None:
    assert http.auth_headers(" sk-abc\n") == {"Authorization": "Bearer sk-abc"}


def test_try_acquire_takes_a_token_only_when_there_is_one_and_says_when_the_next_comes() -> None:
    now = [100.0]
    limiter = http.RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert limiter.try_acquire("api") == 0.0
    assert limiter.try_acquire("api") == 0.0
    wait = limiter.try_acquire("api")
    assert wait == pytest.approx(0.5)  # one token every 0.5 s
    assert limiter.try_acquire("api") == pytest.approx(0.5)  # asking again took nothing
    assert limiter.try_acquire("other-host") == 0.0  # buckets are per host
    now[0] += 0.5
    assert limiter.try_acquire("api") == 0.0

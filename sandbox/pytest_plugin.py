"""pytest fixtures: a real sandbox on a free loopback port per test (`sandbox`, `make_sandbox`, `fault_proxy`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .config import SandboxConfig
from .faultproxy import FaultProxy
from .server import SandboxServer

FAST_TIME_SCALE = 0.01  # 100x faster than real time: a 60 s render takes 0.6 s
MAY_NOT_FIRE = "faults_may_not_fire"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MAY_NOT_FIRE}: this test adds faults that are not meant to fire "
                                       "(the fixtures otherwise fail a test whose injected fault never applied)")


def _check_applied(request: pytest.FixtureRequest, unapplied: list[str]) -> None:
    """A fault test passes only if its fault happened: a rule that never matched proves nothing."""
    if unapplied and request.node.get_closest_marker(MAY_NOT_FIRE) is None:
        pytest.fail("injected fault(s) never applied: " + "; ".join(unapplied), pytrace=False)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Return the first truthy value of predicate(), or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        tick.wait(interval)


@pytest.fixture
def make_sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., SandboxServer]]:
    """Factory: make_sandbox(**config_overrides) → a started SandboxServer (fast time, tmp data dir)."""
    started: list[SandboxServer] = []

    def make(**overrides: Any) -> SandboxServer:
        overrides.setdefault("time_scale", FAST_TIME_SCALE)
        overrides.setdefault("data_dir", tmp_path / f"sandbox-{len(started)}")
        port = overrides.pop("port", 0)
        server = SandboxServer(SandboxConfig(**overrides), port=port).start()
        started.append(server)
        return server

    yield make
    unapplied = [f"{f.kind} on {f.route}" for server in started for f in server.faults.unapplied()]
    for server in started:
        server.stop()
    _check_applied(request, unapplied)


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    """A running sandbox with default shapes, time_scale 0.01 and a fresh data dir."""
    return make_sandbox()


@pytest.fixture
def fault_proxy(request: pytest.FixtureRequest) -> Iterator[Callable[[int], FaultProxy]]:
    """Factory: fault_proxy(upstream_port) → a started FaultProxy in front of that port."""
    proxies: list[FaultProxy] = []

    def make(upstream_port: int) -> FaultProxy:
        proxy = FaultProxy(upstream_port).start()
        proxies.append(proxy)
        return proxy

    yield make
    unapplied = [rule for proxy in proxies for rule in proxy.unapplied()]
    for proxy in proxies:
        proxy.stop()
    _check_applied(request, unapplied)

"""Engine fixtures: a fresh ledger and clip folder per test, and runners wired to a sandbox on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobs.clipstore import ClipStore
from jobs.ledger import Ledger
from jobs.runner import Runner
from providers.catalog import Catalog, load_catalog


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite3")
    yield led
    led.close()


@pytest.fixture
def clips(tmp_path: Path) -> ClipStore:
    return ClipStore(tmp_path / "clips")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    # Sora is switched off upstream; the engine must still handle it when a user switches it back on.
    return load_catalog(overrides={"sora-2": {"available": True}, "sora-2-pro": {"available": True}})


@pytest.fixture
def make_runner(ledger: Ledger, clips: ClipStore, catalog: Catalog) -> Iterator[Callable[..., Runner]]:
    """make_runner(**kwargs) → a started Runner on the test's ledger (stopped at teardown)."""
    made: list[Runner] = []

    def make(**kwargs: Any) -> Runner:
        kwargs.setdefault("workers", 4)
        kwargs.setdefault("concurrency_cap", 8)
        kwargs.setdefault("rescan_interval_s", 0.5)
        kwargs.setdefault("check_clips", False)  # the technical checks have their own tests (tests/checks)
        led = kwargs.pop("ledger", ledger)
        runner = Runner(led, kwargs.pop("clips", clips), catalog, **kwargs).start()
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.stop(timeout=2)


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real 1 s MP4, encoded once: fault tests don't need a fresh render per task."""
    from sandbox.render import ClipSpec, render_clip

    return render_clip(ClipSpec(model="test", prompt="prerendered", width=320, height=180, seconds=1.0),
                       tmp_path_factory.mktemp("clip") / "small.mp4")


@pytest.fixture
def make_sandbox(make_sandbox: Callable[..., Any], small_clip: Path) -> Callable[..., Any]:
    """The plugin's factory, serving the pre-rendered clip unless a test passes prerendered_clip=None."""

    def make(**overrides: Any) -> Any:
        overrides.setdefault("prerendered_clip", small_clip)
        return make_sandbox(**overrides)

    return make


"""A real engine for seeding a ledger before a browser test starts the app: a sandbox, a Runner on the test's data
dir and clip store, and one run id every submission joins.

Browser tests that need finished takes seed them this way, so their time goes to what the browser shows, not to
waiting for renders; each seeder says only what it submits and what it waits for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStorage, ClipStore
from jobs.ledger import Job, JobState, Ledger
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe
from sandbox import SandboxConfig, SandboxServer

TIME_SCALE = 0.01
"""Sandbox renders run at 1/100 of their modelled time (20–40 s become 0.2–0.4 s)."""


@dataclass
class Seeding:
    """The engine while it seeds; `run_id` is the one run every `submit` adds to."""

    runner: Runner
    ledger: Ledger
    sandbox: SandboxServer
    backend: Backend
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _parts: int = 0

    def submit(self, recipe: Recipe, models: Sequence[str]) -> list[str]:
        """Send one request of `recipe` to `models` (default options) as the next part of the run; its job ids."""
        ids = self.runner.submit_run(recipe, [(m, ModelOptions()) for m in models], self.backend,
                                     run_id=self.run_id, request_id=f"{self.run_id}:{self._parts}")
        self._parts += 1
        return ids

    def wait(self, ids: Sequence[str], timeout_s: float, *, checked: bool = False) -> list[Job]:
        """Until every job is downloaded (and, with `checked`, its clip checks have run); fails naming each job's
        model, state and error."""
        def done() -> bool:
            return all(j.state == JobState.DOWNLOADED and (not checked or j.flags_json is not None)
                       for j in self.ledger.get_many(ids))

        assert self.runner.wait_for(done, timeout_s), \
            [(j.model_id, j.state, j.error_message) for j in self.ledger.get_many(ids)]
        return self.ledger.get_many(ids)


@contextmanager
def seeding_engine(data_dir: Path, clips_dir: Path, *, workers: int, concurrency_cap: int = 8,
                   clips: ClipStorage | None = None) -> Iterator[Seeding]:
    """A sandbox (renders of 20–40 modelled seconds at TIME_SCALE), the ledger the app will open in `data_dir`,
    and a Runner saving into `clips` (default the local folder `clips_dir`, at the URL the app serves it from).
    Everything is stopped and the ledger closed on the way out, so the app starts on a quiet ledger."""
    srv = SandboxServer(SandboxConfig(time_scale=TIME_SCALE, data_dir=data_dir / "seed-sandbox",
                                      render_times={"*": (20, 40)}), port=0).start()
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    store = clips or ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    runner = Runner(ledger, store, load_catalog(), workers=workers, concurrency_cap=concurrency_cap,
                    rescan_interval_s=0.5).start()
    backend = Backend(base_url=srv.base_url, api_key="sk-sandbox", sandbox=True, time_scale=TIME_SCALE)
    try:
        yield Seeding(runner, ledger, srv, backend)
    finally:
        runner.stop(timeout=5)
        srv.stop()
        ledger.close()

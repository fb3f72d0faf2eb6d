"""Sora remix from History: paid once per click, through the backend that made the take, under the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.remix import submit_remix
from components.runtime import SANDBOX_KEY, Runtime
from jobs.clipstore import ClipStore
from jobs.eta import EtaBook
from jobs.ledger import JobState, Ledger
from jobs.prefs import Prefs
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ModelOptions, Recipe


@pytest.fixture
def runtime(tmp_path: Path, sandbox):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    clips = ClipStore(tmp_path / "clips")
    catalog = load_catalog(overrides={"sora-2": {"available": True}})
    runner = Runner(ledger, clips, catalog, rescan_interval_s=0.5).start()
    rt = Runtime(data_dir=tmp_path, ledger=ledger, clips=clips, runner=runner, prefs=Prefs(),
                 eta=EtaBook(ledger, catalog))
    yield rt
    runner.stop(timeout=2)
    ledger.close()


def sandbox_backend(server) -> Backend:
    return Backend(base_url=server.base_url, api_key=SANDBOX_KEY, sandbox=True, time_scale=server.config.time_scale)


def finished_sora_take(rt: Runtime, backend: Backend):
    (job_id,) = rt.runner.submit_run(Recipe(prompt="a paper boat on a pond"), [("sora-2", ModelOptions())], backend)
    assert rt.runner.wait_for(lambda: rt.ledger.get(job_id).state == JobState.DOWNLOADED, 20)
    return rt.ledger.get(job_id)


def remix_posts(server) -> list[dict]:
    return [r for r in server.requests() if r["method"] == "POST" and r["path"].endswith("/remix")]


def test_a_double_click_on_remix_sends_one_request_and_the_remix_lands(runtime, sandbox) -> None:
    backend = sandbox_backend(sandbox)
    take = finished_sora_take(runtime, backend)
    first = submit_remix(runtime, backend, take, "make it night", request_id="click-1")
    second = submit_remix(runtime, backend, take, "make it night", request_id="click-1")
    assert first.startswith("Remix submitted") and "already sent" in second
    assert len(remix_posts(sandbox)) == 1
    (remix,) = [j for j in runtime.ledger.list_jobs() if j.parent_job_id == take.id]
    assert runtime.runner.wait_for(lambda: runtime.ledger.get(remix.id).state == JobState.DOWNLOADED, 20)


def test_a_take_is_remixed_only_through_the_backend_that_made_it(runtime, sandbox) -> None:
    take = finished_sora_take(runtime, sandbox_backend(sandbox))
    live = Backend(base_url="https://api.cometapi.com", api_key="sk-live-key-000000")
    message = submit_remix(runtime, live, take, "make it night", request_id="click-2")
    assert message.startswith("Remix refused") and remix_posts(sandbox) == []

"""UI fixtures: a ledger of real sandbox-generated takes (seeded once per session), copied into each test's data dir.

Seeding runs a real Runner against a real sandbox on loopback, so the pages see what users see: probed
clips under static/clips/test-<uuid>/ (served at /app/static/...), thumbnails, mapping reports, costs,
a settings-ignored take, a content-policy failure and jobs that need attention.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import streamlit as st

from components.runtime import clips_url_prefix
from jobs import settings
from jobs.clipstore import ClipStore
from jobs.ledger import Job, JobState, Ledger
from jobs.runner import Runner
from providers.catalog import load_catalog
from providers.client import Backend
from providers.recipe import ImageInput, ModelOptions, Recipe
from sandbox import SandboxConfig, SandboxServer

SEED_TIME_SCALE = 0.01
BOARD_PROMPT = "a red kite over a beach at dawn"
IGNORED_PROMPT = "a lighthouse in a storm at night"
DONE = {JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED, JobState.CANCELED}


@dataclass
class Seeded:
    data_dir: Path
    clips_dir: Path
    board_run: str = ""
    board_jobs: dict[str, str] = field(default_factory=dict)
    """model id -> job id of the three-model run (veo3.1-fast, kling-v1-6, gen3a_turbo)."""
    ignored_job: str = ""
    """veo3.1-fast, 8 s at 1280x720, delivered smaller and shorter (settings_ignored)."""
    failed_job: str = ""
    spare_job: str = ""
    """A downloaded veo3.1-fast take that only the delete test touches."""
    attention: dict[str, str] = field(default_factory=dict)
    """state -> job id, for stale / submit_unknown / expired."""


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1280, 768), (40, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def _wait(runner: Runner, ids: list[str], timeout: float = 60.0) -> list[Job]:
    def done() -> bool:
        return all(j.state in DONE for j in runner.ledger.get_many(ids))

    assert runner.wait_for(done, timeout), [(j.model_id, j.state) for j in runner.ledger.get_many(ids)]
    return runner.ledger.get_many(ids)


def _seed(data_dir: Path, clips_dir: Path) -> Seeded:
    seeded = Seeded(data_dir, clips_dir)
    srv = SandboxServer(SandboxConfig(time_scale=SEED_TIME_SCALE, data_dir=data_dir / "seed-sandbox",
                                      render_times={"*": (20, 40)}), port=0).start()
    ledger = Ledger(data_dir / settings.LEDGER_FILENAME)
    clips = ClipStore(clips_dir, url_prefix=clips_url_prefix(clips_dir))
    catalog = load_catalog(overrides={"sora-2": {"available": True}})
    runner = Runner(ledger, clips, catalog, workers=4, concurrency_cap=8, rescan_interval_s=0.5).start()
    backend = Backend(base_url=srv.base_url, api_key="sk-sandbox", sandbox=True, time_scale=SEED_TIME_SCALE)
    try:
        # The board: one recipe on three models (Runway needs a first frame, so the recipe carries one).
        image = ImageInput(data=_png(), mime="image/png", name="first.png")
        board = Recipe(prompt=BOARD_PROMPT, duration_s=5, first_frame=image)
        veo = Recipe(prompt=BOARD_PROMPT, duration_s=4, aspect_ratio="16:9")
        run = uuid.uuid4().hex
        ids = runner.submit_run(veo, [("veo3.1-fast", ModelOptions())], backend, run_id=run, request_id=run + ":0")
        ids += runner.submit_run(board, [("kling-v1-6", ModelOptions()), ("gen3a_turbo", ModelOptions())], backend,
                                 run_id=run, request_id=run + ":1")
        jobs = _wait(runner, ids)
        seeded.board_run = run
        seeded.board_jobs = {j.model_id: j.id for j in jobs}

        srv.faults.add(route="submit", kind="settings_ignored", family="veo", count=1)
        (ignored,) = runner.submit_run(Recipe(prompt=IGNORED_PROMPT, duration_s=8, aspect_ratio="16:9"),
                                       [("veo3.1-fast", ModelOptions())], backend)
        # The fault is taken by the next veo task: only submit another once this one has its task id.
        assert runner.wait_for(lambda: bool(ledger.get(ignored).task_id), 30)
        srv.faults.add(route="submit", kind="content_policy", family="kling", count=1)
        (failed,) = runner.submit_run(Recipe(prompt="a forbidden scene", duration_s=5),
                                      [("kling-v1-6", ModelOptions())], backend)
        (spare,) = runner.submit_run(Recipe(prompt="a spare take to delete", duration_s=4),
                                     [("veo3.1-fast", ModelOptions())], backend)
        _wait(runner, [ignored, failed, spare])
        seeded.ignored_job, seeded.failed_job, seeded.spare_job = ignored, failed, spare
    finally:
        runner.stop(timeout=5)
        srv.stop()
    # Jobs that need attention, written as the engine would leave them.
    template = ledger.get(seeded.spare_job)
    assert template is not None
    for state in (JobState.STALE, JobState.SUBMIT_UNKNOWN, JobState.EXPIRED):
        job = ledger.create_job(run_id=uuid.uuid4().hex, model_id="kling-v1-6", family="kling", backend="sandbox",
                                base_url="http://127.0.0.1:9", key_fingerprint=template.key_fingerprint,
                                recipe_json=Recipe(prompt=f"needs attention: {state}", duration_s=5).to_json(),
                                est_low_usd=0.13, est_high_usd=2.64, state=str(state),
                                task_id=None if state == JobState.SUBMIT_UNKNOWN else f"task-{state}",
                                charged="unknown" if state == JobState.SUBMIT_UNKNOWN else None)
        seeded.attention[str(state)] = job.id
    ledger.update(seeded.board_jobs["veo3.1-fast"], kept=1, note="best light")
    ledger.update(seeded.board_jobs["kling-v1-6"], kept=0)
    ledger.close()
    return seeded


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    data_dir = tmp_path_factory.mktemp("ui-seed")
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield _seed(data_dir, clips_dir)
    finally:
        shutil.rmtree(clips_dir, ignore_errors=True)


def _use_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path, clips_dir: Path) -> None:
    monkeypatch.setenv("DAILIES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(clips_dir))
    monkeypatch.setenv("DAILIES_SANDBOX_PORT", "0")
    monkeypatch.setenv("DAILIES_SANDBOX_TIME_SCALE", str(SEED_TIME_SCALE))
    monkeypatch.delenv("COMETAPI_KEY", raising=False)


@pytest.fixture
def seeded(seeded_template: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    """The seeded ledger copied into this test's data dir (clips shared), and the app pointed at it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for name in (settings.LEDGER_FILENAME, settings.LEDGER_FILENAME + "-wal"):
        src = seeded_template.data_dir / name
        if src.exists():
            shutil.copy2(src, data_dir / name)
    _use_data_dir(monkeypatch, data_dir, seeded_template.clips_dir)
    st.cache_resource.clear()
    yield Seeded(**{**seeded_template.__dict__, "data_dir": data_dir})
    st.cache_resource.clear()


@pytest.fixture
def empty_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An app on an empty ledger."""
    data_dir = tmp_path / "data"
    clips_dir = settings.PROJECT_ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    _use_data_dir(monkeypatch, data_dir, clips_dir)
    st.cache_resource.clear()
    yield data_dir
    st.cache_resource.clear()
    shutil.rmtree(clips_dir, ignore_errors=True)

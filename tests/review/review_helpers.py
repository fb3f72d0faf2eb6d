"""Finished takes for review, ranking and demo-pack tests: real MP4s (the sandbox's renderer), real ledger rows."""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st

from jobs.clipstore import ClipStore
from jobs.ledger import Job, JobState, Ledger
from jobs.runner import applied_vs_requested
from providers.catalog import Catalog
from providers.recipe import Recipe
from sandbox.render import ClipSpec, render_clip

FAMILIES = {"veo3.1-fast": "veo", "veo3-fast": "veo", "veo3.1": "veo", "sora-2": "sora", "sora-2-pro": "sora",
            "kling-v1-6": "kling", "kling-v2-1-master": "kling", "gen3a_turbo": "runway", "gen4_turbo": "runway"}


def render_small(dest_dir: Path, model_id: str, prompt: str, seconds: float = 3.0) -> Path:
    return render_clip(ClipSpec(model=model_id, prompt=prompt, width=320, height=180, seconds=seconds, fps=24),
                       dest_dir / f"src-{uuid.uuid4().hex[:8]}.mp4")


def finished_job(ledger: Ledger, clips: ClipStore, model_id: str, prompt: str, *, run_id: str, take: int = 0,
                 seconds: float = 3.0, render_s: float | None = None, options: dict | None = None,
                 work_dir: Path | None = None, task_id: str | None = None) -> Job:
    """A downloaded job with a real clip in the store, the way the runner records one."""
    src = render_small(work_dir or clips.root.parent, model_id, prompt, seconds)
    info = clips.put(src, f"{model_id}-{uuid.uuid4().hex[:12]}")
    src.unlink()
    now = time.time()
    job = ledger.create_job(run_id=run_id, take=take, model_id=model_id, family=FAMILIES[model_id],
                            backend="sandbox", base_url="http://127.0.0.1:1",
                            recipe_json=Recipe(prompt=prompt).to_json(),
                            options_json=json.dumps(options or {}), est_low_usd=0.4, est_high_usd=0.4)
    submitted = now - (render_s or 30.0)
    ledger.record_task_id(job.id, task_id or f"task_{uuid.uuid4().hex[:10]}", submitted_at=submitted)
    meta = applied_vs_requested({}, info, FAMILIES[model_id])
    return ledger.transition(job.id, JobState.DOWNLOADED, clip_path=info.key, clip_url=info.url,
                             clip_sha256=info.sha256, clip_meta_json=json.dumps(meta, default=str),
                             thumb_url=info.thumb_url, detected_at=now, downloaded_at=now)


def display_names(catalog: Catalog, model_id: str) -> list[str]:
    spec = catalog.get(model_id)
    return [model_id, spec.display_name, spec.family, spec.wire_model]


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppEnv]:
    """The app's environment for AppTest: its own data dir and clips namespace under static/clips/."""
    clips_dir = ROOT / "static" / "clips" / f"test-{uuid.uuid4().hex[:12]}"
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DAILIES_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAILIES_CLIPS_DIR", str(clips_dir))
    monkeypatch.setenv("DAILIES_SANDBOX_PORT", "0")
    monkeypatch.setenv("DAILIES_SANDBOX_TIME_SCALE", "0.01")
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    clips_dir.mkdir(parents=True)
    ledger = Ledger(data_dir / "ledger.sqlite3")
    clips = ClipStore(clips_dir, url_prefix="/app/static/clips/" + clips_dir.name)
    yield AppEnv(data_dir=data_dir, clips_dir=clips_dir, ledger=ledger, clips=clips, work_dir=tmp_path)
    st.cache_resource.clear()
    ledger.close()
    shutil.rmtree(clips_dir, ignore_errors=True)


@dataclass
class AppEnv:
    data_dir: Path
    clips_dir: Path
    ledger: Ledger
    clips: ClipStore
    work_dir: Path


def page_text(at: object) -> str:
    """Everything the page sent to the browser: every element's and block's proto, as text."""
    parts = []
    for node in at._tree:  # type: ignore[attr-defined]
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
    return "\n".join(parts)


def video_urls(at: object) -> list[str]:
    """Every clip the page plays: st.video URLs and the <video> sources of player iframes."""
    urls = []
    for node in at._tree:  # type: ignore[attr-defined]
        if getattr(node, "type", None) == "video":
            urls.append(node.proto.url)
        elif getattr(node, "type", None) == "iframe":
            urls += re.findall(r'<video class="sync"[^>]* src="([^"]+)"', node.proto.srcdoc)
    return urls

"""The process-wide engine (ledger, clip store, runner, sandbox) shared by every browser session."""

from __future__ import annotations

import atexit
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import streamlit as st

from jobs import catalog_watch, permissions, settings
from jobs.clipstore import ClipStorage, open_clip_store
from jobs.eta import EtaBook
from jobs.identity import Identity
from jobs.ledger import Ledger
from jobs.prefs import Prefs, changes, load_deployment_prefs, save_deployment_prefs
from jobs.runner import Runner
from providers.catalog import Catalog, load_catalog
from sandbox import SandboxConfig, SandboxServer

log = logging.getLogger(__name__)

SANDBOX_KEY = "sk-sandbox"
STATIC_ROOT = settings.PROJECT_ROOT / "static"


@dataclass
class Runtime:
    data_dir: Path
    ledger: Ledger
    clips: ClipStorage
    runner: Runner
    prefs: Prefs
    eta: EtaBook
    sandbox: SandboxServer | None = None
    sandbox_url: str | None = None
    prefs_problems: tuple[str, ...] = ()
    """Saved settings that failed validation at start (each fell back to its default; Settings names them)."""
    watch: catalog_watch.CatalogWatch | None = None
    catalog_verdict: dict[str, Any] = field(default_factory=dict)
    """The last CometAPI listing check for the watched base URL (jobs/catalog_watch.py)."""

    @property
    def catalog(self) -> Catalog:
        return self.runner.catalog

    def save_prefs(self, prefs: Prefs, *, by: Identity) -> None:
        """Persist, then apply what can change while running (catalog overrides, sandbox speed). Every settings
        change passes here, so `by` (who asks) is required: it is recorded in the Activity table (the signed-in
        email; None with no sign-in), and anyone but an admin is refused (PermissionError) whatever a page showed."""
        refused = permissions.refusal(by.role, permissions.SETTINGS)
        if refused is not None:
            raise PermissionError(f"settings: {refused}")
        who = by.email
        changed = changes(self.prefs, prefs)
        save_deployment_prefs(self.data_dir, prefs)
        if changed:
            self.ledger.record_activity(who, "settings changed", "; ".join(changed))
        self.prefs = prefs
        self.prefs_problems = ()
        self.runner.catalog = self.build_catalog()
        self.runner.concurrency_cap = prefs.concurrency_cap
        if self.sandbox is not None:
            self.sandbox.update_config(time_scale=prefs.sandbox_time_scale)

    def build_catalog(self) -> Catalog:
        """The user's overrides, plus the models CometAPI's listing stopped naming switched off."""
        base = load_catalog(overrides=self.prefs.model_overrides)
        if not self.catalog_verdict.get("delisted"):
            return base
        return load_catalog(overrides=catalog_watch.with_delistings(self.prefs.model_overrides, self.catalog_verdict,
                                                                    set(base.ids())))

    def watch_catalog(self, base_url: str) -> None:
        """Check CometAPI's listing for this base URL now (in the background) and daily; once per base URL."""
        if not catalog_watch.enabled() or (self.watch is not None and self.watch.base_url == base_url):
            return
        if self.watch is not None:
            self.watch.stop()
        self.catalog_verdict = catalog_watch.load(self.data_dir, base_url)
        self.runner.catalog = self.build_catalog()
        self.watch = catalog_watch.CatalogWatch(self.data_dir, base_url,
                                                lambda: load_catalog(overrides=self.prefs.model_overrides),
                                                self._apply_verdict).start()

    def _apply_verdict(self, saved: dict[str, Any]) -> None:
        self.catalog_verdict = saved
        self.runner.catalog = self.build_catalog()

    def ensure_sandbox(self) -> str:
        """Start (or find) the local simulator on its fixed port, so restarts find their tasks again."""
        if self.sandbox_url:
            return self.sandbox_url
        port = int(os.environ.get("DAILIES_SANDBOX_PORT", "8765"))
        existing = f"http://127.0.0.1:{port}"
        if port and _sandbox_answers(existing):
            self.sandbox_url = existing
            return existing
        config = SandboxConfig(time_scale=self.prefs.sandbox_time_scale, data_dir=self.data_dir / "sandbox")
        self.sandbox = SandboxServer(config, port=port).start()
        self.sandbox_url = self.sandbox.base_url
        return self.sandbox_url

    def close(self) -> None:
        if self.watch is not None:
            self.watch.stop()
        self.runner.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.ledger.close()


def _sandbox_answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/_sandbox/config", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def clips_url_prefix(clips_dir: Path) -> str:
    """Streamlit serves only static/ next to app.py, at /app/static/..."""
    try:
        rel = clips_dir.resolve().relative_to(STATIC_ROOT.resolve())
    except ValueError:
        log.warning("clips dir %s is outside static/: the browser cannot play its clips", clips_dir)
        rel = Path("clips")
    return "/app/static/" + rel.as_posix()


@st.cache_resource(on_release=lambda rt: rt.close(), show_spinner=False)
def get_runtime() -> Runtime:
    data_dir = settings.data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    prefs, problems = load_deployment_prefs(data_dir)
    for problem in problems:
        log.warning("settings: %s", problem)
    scale = os.environ.get("DAILIES_SANDBOX_TIME_SCALE", "").strip()
    if scale:  # tests and demos pick the sandbox speed without touching saved preferences
        prefs.sandbox_time_scale = float(scale)
    clips_dir = settings.clips_dir()
    clips_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_target())
    clips = open_clip_store(clips_dir, clips_url_prefix(clips_dir), data_dir / "clip-staging")
    clips.sweep_partials()  # .part files of a process killed mid-download; static/ serves this folder
    catalog = load_catalog(overrides=prefs.model_overrides)
    # DAILIES_ENGINE=external: this process admits and reads; `python -m jobs worker` processes drive the jobs.
    drive = not settings.external_engine()
    runner = Runner(ledger, clips, catalog, concurrency_cap=prefs.concurrency_cap, drive=drive,
                    check_clips=drive).start()
    eta = EtaBook(ledger, lambda: runner.catalog)
    runtime = Runtime(data_dir=data_dir, ledger=ledger, clips=clips, runner=runner, prefs=prefs, eta=eta,
                      prefs_problems=tuple(problems))
    atexit.register(runtime.close)
    return runtime

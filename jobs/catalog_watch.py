"""The live catalog check: CometAPI's public listing read at start and daily, its verdict kept in the data dir.

A catalog model the listing no longer names is switched off "no longer listed by CometAPI on DATE" (the date
it was first found missing); it comes back on by itself when the listing names it again. The listing is
public: no key is sent. A failed, empty or malformed listing is recorded as such and switches nothing off.
`DAILIES_CATALOG_CHECK=off` disables the check (tests that must not touch a listing).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from providers.catalog import Catalog
from providers.catalog_check import CheckResult, Listed, parse_listing

log = logging.getLogger(__name__)

LISTING_PATH = "/api/models"
CHECK_FILE = "catalog_check.json"
INTERVAL_S = 86400.0
TIMEOUT_S = 15.0


def enabled() -> bool:
    return os.environ.get("DAILIES_CATALOG_CHECK", "").strip().lower() not in ("off", "0", "false", "no")


def fetch(base_url: str, catalog: Catalog, *, transport: httpx.BaseTransport | None = None,
          today: str | None = None) -> CheckResult:
    """GET the listing (no Authorization header: it is public) and read it against the catalog."""
    day = today or dt.date.today().isoformat()
    url = base_url.rstrip("/") + LISTING_PATH
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        return CheckResult(False, f"the listing could not be reached ({type(exc).__name__})", day, url)
    if response.status_code != 200:
        return CheckResult(False, f"the listing answered HTTP {response.status_code}", day, url)
    try:
        body = response.json()
    except ValueError:
        return CheckResult(False, "the listing was not JSON", day, url)
    return parse_listing(body, catalog, source=url, today=day)


def _load_all(data_dir: Path) -> dict[str, Any]:
    try:
        saved = json.loads((data_dir / CHECK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def load(data_dir: Path, base_url: str) -> dict[str, Any]:
    """The saved verdict for one API base URL (the sandbox's and the live one's are kept apart)."""
    entry = _load_all(data_dir).get(base_url.rstrip("/"))
    return entry if isinstance(entry, dict) else {}


def record(data_dir: Path, base_url: str, result: CheckResult) -> dict[str, Any]:
    """Merge one check into the saved verdict: a failed check keeps the last good one's switch-offs."""
    everything = _load_all(data_dir)
    saved = load(data_dir, base_url)
    delisted: dict[str, str] = dict(saved.get("delisted") or {})
    if result.ok:
        delisted = {mid: delisted.get(mid, result.checked_on) for mid in result.missing}
        saved.update(unsupported=[asdict(x) for x in result.unsupported], prices=dict(result.prices),
                     last_good=result.checked_on)
    saved.update(delisted=delisted, checked_on=result.checked_on, source=result.source, ok=result.ok,
                 problem=result.problem)
    everything[base_url.rstrip("/")] = saved
    path = data_dir / CHECK_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(everything, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return saved


def unsupported(saved: dict[str, Any]) -> list[Listed]:
    return [Listed(**x) for x in saved.get("unsupported") or [] if isinstance(x, dict)]


def with_delistings(overrides: dict[str, dict[str, Any]], saved: dict[str, Any],
                    catalog_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The user's overrides, plus a switch-off for each model the listing stopped naming."""
    merged = {k: dict(v) for k, v in overrides.items()}
    for model_id, since in (saved.get("delisted") or {}).items():
        if model_id in catalog_ids:
            merged.setdefault(model_id, {})["availability"] = {
                "available": False, "reason": f"no longer listed by CometAPI on {since}", "since": since}
            merged[model_id].pop("available", None)
    return merged


class CatalogWatch:
    """One daemon thread per base URL: check now, then every INTERVAL_S; `on_result` applies the verdict."""

    def __init__(self, data_dir: Path, base_url: str, catalog: Callable[[], Catalog],
                 on_result: Callable[[dict[str, Any]], None], *, interval_s: float = INTERVAL_S) -> None:
        self.data_dir, self.base_url, self._catalog, self._on_result = data_dir, base_url, catalog, on_result
        self.interval_s = interval_s
        self._stop = threading.Event()
        self.checked = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"catalog-watch {base_url}", daemon=True)

    def start(self) -> CatalogWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check_now(self) -> dict[str, Any]:
        saved = record(self.data_dir, self.base_url, fetch(self.base_url, self._catalog()))
        self._on_result(saved)
        self.checked.set()
        return saved

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_now()
            except Exception:  # noqa: BLE001 - a watcher must outlive one bad check; it is logged
                log.exception("catalog check against %s failed", self.base_url)
            self._stop.wait(self.interval_s)

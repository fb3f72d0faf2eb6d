"""User preferences the app keeps between restarts (budget, base URL, overrides). Never the API key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobs import limits, settings
from jobs.keys import LIVE_BASE_URL as DEFAULT_BASE_URL
from providers.catalog import Catalog, load_catalog
from providers.errors import DailiesError
from providers.url_policy import is_loopback_host

PERIODS = ("day", "week", "month")
BUDGET_RULE = limits.BUDGET
TIME_SCALE_RULE = dataclasses.replace(limits.TIME_SCALE, name="sandbox_time_scale")
CONCURRENCY_RULE = dataclasses.replace(limits.CONCURRENCY, name="concurrency_cap")


@dataclass
class Prefs:
    budget_usd: float = 25.0
    """Live spend allowed per period. Sandbox spend never counts."""
    budget_period: str = "month"
    base_url: str = DEFAULT_BASE_URL
    model_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Catalog overrides by model id, e.g. {"sora-2": {"available": true}} or a "price" rule."""
    sandbox_time_scale: float = 0.1
    """Real seconds per simulated second in sandbox mode (0.1: a 60 s render takes 6 s)."""
    concurrency_cap: int = 4
    allow_http: bool = False
    """Opt-in: a plain-http base URL off this machine (a self-hosted gateway). The key travels in clear text."""
    person_budget_usd: float | None = None
    """Live spend one signed-in person may reserve per period, inside `budget_usd`; None: no per-person limit."""

    def validate(self) -> list[str]:
        problems = []
        # The CLI's flags use the same rules (jobs/limits.py): NaN or infinity is never a budget.
        for rule, value in ((BUDGET_RULE, self.budget_usd), (TIME_SCALE_RULE, self.sandbox_time_scale),
                            (CONCURRENCY_RULE, self.concurrency_cap)):
            problem = rule.problem(value)
            if problem:
                problems.append(problem)
        if self.person_budget_usd is not None:
            problem = dataclasses.replace(BUDGET_RULE, name="person_budget_usd").problem(self.person_budget_usd)
            if problem:
                problems.append(problem)
        if not isinstance(self.budget_period, str) or self.budget_period not in PERIODS:
            problems.append(f"budget_period: {self.budget_period!r} not allowed; allowed: {', '.join(PERIODS)}")
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("https://", "http://")):
            problems.append("base_url: must start with https:// (or http:// with the plain-http switch)")
        elif self.base_url.startswith("http://") and not self.allow_http and not _loopback(self.base_url):
            problems.append("base_url: plain http off this machine sends the key in clear text; allowed: https://, "
                            "http://127.0.0.1, or switch on 'allow plain http'")
        if not isinstance(self.allow_http, bool):
            problems.append(f"allow_http: must be true or false, got {self.allow_http!r}")
        if not isinstance(self.model_overrides, dict) or not all(
                isinstance(k, str) and isinstance(v, dict) for k, v in self.model_overrides.items()):
            problems.append("model_overrides: must map model ids to objects")
        return problems


def changes(old: Prefs, new: Prefs) -> list[str]:
    """What a save changed, in words for the Activity table (model overrides by the models they touch)."""
    out: list[str] = []
    for f in dataclasses.fields(Prefs):
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before == after:
            continue
        if f.name == "model_overrides":
            touched = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            out.append(f"model_overrides: {', '.join(touched)}")
        else:
            out.append(f"{f.name}: {before} → {after}")
    return out


def _loopback(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def prefs_path(data_dir: Path) -> Path:
    return data_dir / "prefs.json"


def load_prefs(path: Path) -> Prefs:
    return load_prefs_report(path)[0]


def load_prefs_report(path: Path) -> tuple[Prefs, list[str]]:
    """The saved preferences, each field on its own: a bad value falls back to its default and is named in
    the problems (Settings shows them, the CLI prints them); the valid fields are kept."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Prefs(), []
    except (OSError, UnicodeDecodeError) as exc:
        return Prefs(), [f"{path.name}: unreadable ({type(exc).__name__}); using the defaults"]
    return prefs_from_text(text, path.name)


def prefs_from_text(text: str | None, label: str) -> tuple[Prefs, list[str]]:
    if text is None:
        return Prefs(), []
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return Prefs(), [f"{label}: unreadable ({type(exc).__name__}); using the defaults"]
    if not isinstance(raw, dict):
        return Prefs(), [f"{label}: not a JSON object; using the defaults"]
    known = {f.name for f in dataclasses.fields(Prefs)}
    kept: dict[str, Any] = {}
    problems: list[str] = []
    # The base URL is judged with the plain-http switch it was saved with, so that one goes first.
    for name in sorted(known & raw.keys(), key=lambda n: n != "allow_http"):
        trial = dataclasses.replace(Prefs(**kept), **{name: raw[name]})
        found = [p for p in trial.validate() if p.startswith(f"{name}:")]
        if found:
            problems += [f"{p} (saved value ignored; using the default)" for p in found]
        elif name == "model_overrides":
            kept[name], bad = checked_overrides(raw[name])
            problems += bad
        else:
            kept[name] = raw[name]
    return Prefs(**kept), problems


def checked_overrides(overrides: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each model's saved override on its own against the catalog: one for a model the catalog no longer has, or a
    price it cannot read (no source, NaN, negative), is dropped and named; the others, and every other setting,
    are kept. Without this, one bad entry stopped the catalog loading, so the app would not start and the CLI
    refused every run."""
    kept: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    known = load_catalog().ids()
    for model_id, override in overrides.items():
        if model_id not in known:
            problems.append(f"model_overrides: {model_id}: no such model in the catalog (allowed: "
                            f"{', '.join(known)}) (saved override ignored)")
            continue
        try:
            load_catalog(overrides={model_id: override})
        except (DailiesError, ValueError, KeyError, TypeError) as exc:
            reason = exc.message if isinstance(exc, DailiesError) else str(exc)
            reason = re.sub(r"^(catalog: model [^:]+|model): ", "", reason)  # the model is named already
            problems.append(f"model_overrides: {model_id}: {reason} (saved override ignored)")
        else:
            kept[model_id] = override
    return kept, problems


PREFS_DOCUMENT = "prefs"


def load_deployment_prefs(data_dir: Path) -> tuple[Prefs, list[str]]:
    """A team database's shared preferences when DAILIES_DATABASE_URL is set, else the data folder's prefs.json."""
    url = settings.database_url()
    if url is None:
        return load_prefs_report(prefs_path(data_dir))
    from jobs.store.documents import Documents

    docs = Documents(url)
    try:
        return prefs_from_text(docs.get(PREFS_DOCUMENT), "team preferences")
    finally:
        docs.close()


def save_deployment_prefs(data_dir: Path, prefs: Prefs) -> None:
    url = settings.database_url()
    if url is None:
        save_prefs(prefs_path(data_dir), prefs)
        return
    problems = prefs.validate()
    if problems:
        raise ValueError("; ".join(problems))
    from jobs.store.documents import Documents

    docs = Documents(url)
    try:
        docs.put(PREFS_DOCUMENT, prefs_json(prefs))
    finally:
        docs.close()


def prefs_json(prefs: Prefs) -> str:
    return json.dumps(dataclasses.asdict(prefs), indent=2, sort_keys=True)


def save_prefs(path: Path, prefs: Prefs) -> None:
    problems = prefs.validate()
    if problems:
        raise ValueError("; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(prefs_json(prefs))
    os.replace(tmp, path)


def period_start(period: str, now: dt.datetime | None = None) -> float:
    """Unix time at which the current budget period began, in the deployment's time zone (DAILIES_TIMEZONE)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(settings.timezone())
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start = day
    elif period == "week":
        start = day - dt.timedelta(days=day.weekday())
    else:
        start = day.replace(day=1)
    return start.timestamp()


def headless_catalog(prefs: Prefs, *, sandbox: bool) -> Catalog:
    """The catalog a process without the app (batch CLI, worker) runs with: Settings' switches and prices, and
    in the sandbox every model switched off upstream switched back on (the simulator still speaks it, so old
    recipes can be rehearsed); a user's own switch still wins."""
    overrides: dict[str, dict[str, Any]] = {}
    if sandbox:
        overrides = {m.id: {"available": True} for m in load_catalog().models() if not m.availability.available}
    for model_id, entry in prefs.model_overrides.items():
        overrides[model_id] = {**overrides.get(model_id, {}), **entry}
    return load_catalog(overrides=overrides or None)

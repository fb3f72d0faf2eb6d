"""Prices read from CometAPI's public model catalogue (`GET {base}/api/models`), to refresh the catalog's snapshot.

Each record carries `pricing{currency, input, output, per_request, per_second}` (reference §5). Only USD
`per_second` or `per_request` prices for models we know become overrides; everything else is reported
as skipped, never guessed. Live only: the sandbox has no such route and the app never calls it there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx

from providers.catalog import Catalog
from providers.errors import DailiesError, ErrorKind

CATALOGUE_PATH = "/api/models"
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PriceRefresh:
    overrides: dict[str, dict[str, Any]]
    """{model_id: {"price": rule}} in the shape Settings stores (Prefs.model_overrides)."""
    skipped: dict[str, str] = field(default_factory=dict)
    """model_id -> why no price was taken from the catalogue."""
    source_url: str = ""


def _records(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for key in ("data", "models", "items"):
            if isinstance(body.get(key), list):
                body = body[key]
                break
    if not isinstance(body, list):
        raise DailiesError("the model catalogue answered with neither a list nor {data: [...]}",
                           kind=ErrorKind.PROVIDER_OUTAGE)
    return [r for r in body if isinstance(r, dict)]


def _record_id(record: dict[str, Any]) -> str | None:
    for key in ("id", "model", "model_id", "name"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def parse_catalogue(body: Any, catalog: Catalog, *, source_url: str, today: str | None = None) -> PriceRefresh:
    """Overrides for our models from a catalogue body. Pure: no HTTP, so it is tested on its own."""
    as_of = today or dt.date.today().isoformat()
    by_wire = {m.wire_model: m for m in catalog.models()} | {m.id: m for m in catalog.models()}
    overrides: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    seen: set[str] = set()
    for record in _records(body):
        rid = _record_id(record)
        spec = by_wire.get(rid or "")
        if spec is None or spec.id in seen:
            continue
        seen.add(spec.id)
        pricing = record.get("pricing") if isinstance(record.get("pricing"), dict) else {}
        currency = str(pricing.get("currency") or "USD").upper()
        if currency != "USD":
            skipped[spec.id] = f"priced in {currency}, not USD"
            continue
        per_second, per_request = _number(pricing.get("per_second")), _number(pricing.get("per_request"))
        source = f"{source_url} (pricing of {rid})"
        if per_second is not None:
            rule: dict[str, Any] = {"kind": "per_second", "usd_per_second": per_second, "source": source,
                                    "as_of": as_of}
            if spec.price.size_multipliers:  # the catalogue has one rate; size surcharges stay ours
                rule["size_multipliers"] = dict(spec.price.size_multipliers)
            overrides[spec.id] = {"price": rule}
        elif per_request is not None:
            overrides[spec.id] = {"price": {"kind": "per_task", "usd": per_request, "source": source,
                                            "as_of": as_of}}
        else:
            skipped[spec.id] = "no per_second or per_request price in the record"
    for spec in catalog.models():
        if spec.id not in seen:
            skipped.setdefault(spec.id, "not in the catalogue")
    return PriceRefresh(overrides=overrides, skipped=skipped, source_url=source_url)


def fetch_prices(base_url: str, catalog: Catalog, *, transport: httpx.BaseTransport | None = None,
                 today: str | None = None) -> PriceRefresh:
    """GET the public catalogue (no key needed) and turn its prices into overrides."""
    url = base_url.rstrip("/") + CATALOGUE_PATH
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT_S, follow_redirects=False) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as e:
        raise DailiesError(f"the model catalogue at {url} could not be reached: {type(e).__name__}",
                           kind=ErrorKind.PROVIDER_OUTAGE) from e
    if response.status_code != 200:
        raise DailiesError(f"the model catalogue at {url} answered HTTP {response.status_code}",
                           kind=ErrorKind.PROVIDER_OUTAGE)
    try:
        body = response.json()
    except ValueError as e:
        raise DailiesError(f"the model catalogue at {url} did not answer JSON", kind=ErrorKind.PROVIDER_OUTAGE) from e
    return parse_catalogue(body, catalog, source_url=url, today=today)


def merge_overrides(current: dict[str, dict[str, Any]], refresh: PriceRefresh) -> dict[str, dict[str, Any]]:
    """Settings' overrides with refreshed prices; a price the user typed in Settings wins over the catalogue."""
    merged = {k: dict(v) for k, v in current.items()}
    for model_id, override in refresh.overrides.items():
        entry = merged.setdefault(model_id, {})
        typed = (entry.get("price") or {}).get("source") == "override in Settings"
        if not typed:
            entry["price"] = override["price"]
    return merged

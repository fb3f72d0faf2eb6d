"""CometAPI's public model listing (`GET {base}/api/models`) against our catalog: pure, no HTTP, no disk.

Reference §5 and §8: the listing is public (no key), each record has `id`, `provider`, `model_type`,
`features[]`, `pricing{currency,input,output,per_request,per_second}` and `api_doc_url`. What it tells us:
- a catalog model CometAPI no longer lists (matched by id, wire id or a catalog alias) is to be switched
  off "no longer listed by CometAPI on DATE";
- a listed video model no catalog entry matches is "listed, not supported yet";
- a listed price is a "CometAPI catalog price", shown beside the rate card, never put in its place.
A listing that is empty, failed or malformed, or that names none of our models, switches nothing off: a
broken answer must not look like every model vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.catalog import Catalog, ModelSpec


@dataclass(frozen=True)
class Listed:
    id: str
    provider: str = ""
    model_type: str = ""
    per_second: float | None = None
    per_request: float | None = None
    currency: str = "USD"
    api_doc_url: str = ""

    @property
    def price_text(self) -> str | None:
        unit = "$" if self.currency == "USD" else f"{self.currency} "
        if self.per_second is not None:
            return f"{unit}{self.per_second:g}/s"
        if self.per_request is not None:
            return f"{unit}{self.per_request:g} per request"
        return None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    problem: str
    """Why the listing was not used ("" when it was)."""
    checked_on: str
    source: str
    missing: tuple[str, ...] = ()
    """Catalog model ids the listing does not name (only when ok)."""
    unsupported: tuple[Listed, ...] = ()
    prices: dict[str, str] = field(default_factory=dict)
    """model id -> the listing's price for it, in words."""


def _records(body: Any) -> list[Any] | None:
    if isinstance(body, dict):
        for key in ("data", "models", "items"):
            if isinstance(body.get(key), list):
                return list(body[key])
        return None
    return list(body) if isinstance(body, list) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == number and number != float("inf") else None


def _listed(record: Any) -> Listed | None:
    if not isinstance(record, dict):
        return None
    rid = record.get("id")
    if not isinstance(rid, str) or not rid.strip():
        return None
    pricing = record.get("pricing") if isinstance(record.get("pricing"), dict) else {}
    currency = pricing.get("currency")
    return Listed(id=rid.strip(), provider=str(record.get("provider") or ""),
                  model_type=str(record.get("model_type") or ""), per_second=_number(pricing.get("per_second")),
                  per_request=_number(pricing.get("per_request")),
                  currency=currency.upper() if isinstance(currency, str) and currency.strip() else "USD",
                  api_doc_url=str(record.get("api_doc_url") or ""))


def _is_video(record: Any, listed: Listed) -> bool:
    features = record.get("features") if isinstance(record, dict) else None
    words = {str(f).lower() for f in features} if isinstance(features, list) else set()
    return listed.model_type.lower() == "video" or "video" in words


def names(spec: ModelSpec) -> set[str]:
    """Every spelling the listing may use for this model: our id, the wire id, the catalog's aliases."""
    return {n.lower() for n in (spec.id, spec.wire_model, *spec.aliases)}


def parse_listing(body: Any, catalog: Catalog, *, source: str, today: str) -> CheckResult:
    records = _records(body)
    if records is None:
        return CheckResult(False, "the listing was neither a list nor {data: [...]}", today, source)
    pairs = [(r, listed) for r in records if (listed := _listed(r)) is not None]
    if not pairs:
        return CheckResult(False, "the listing had no model records", today, source)
    by_name = {listed.id.lower(): listed for _, listed in pairs}
    matched: dict[str, Listed] = {}
    for spec in catalog.models():
        hit = next((by_name[n] for n in sorted(names(spec)) if n in by_name), None)
        if hit is not None:
            matched[spec.id] = hit
    if not matched:
        return CheckResult(False, "the listing names none of the catalog's models", today, source)
    ours = set().union(*(names(s) for s in catalog.models()))
    unsupported = tuple(sorted({listed.id: listed for r, listed in pairs
                                if _is_video(r, listed) and listed.id.lower() not in ours}.values(),
                               key=lambda x: x.id))
    prices = {mid: text for mid, listed in matched.items() if (text := listed.price_text)}
    missing = tuple(s.id for s in catalog.models() if s.id not in matched)
    return CheckResult(True, "", today, source, missing=missing, unsupported=unsupported, prices=prices)

"""Price rules as catalog.json writes them: per second, per task, a table, a range, or none known."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PRICE_KINDS = ("per_second", "per_task", "table", "range", "none")
"""`none`: no known price. Such a model runs in the sandbox only until the rate card gives it a price."""


class CatalogError(ValueError):
    """catalog.json (or an override) is malformed: a programming/config error, not user input."""


@dataclass(frozen=True)
class PriceRow:
    usd: float
    mode: str | None = None
    duration_s: int | None = None
    size: str | None = None

    def matches(self, mode: str | None, duration_s: int | None, size: str | None) -> bool:
        return all(
            want is None or want == got
            for want, got in ((self.mode, mode), (self.duration_s, duration_s), (self.size, size))
        )


@dataclass(frozen=True)
class PriceRule:
    kind: str
    """per_second | per_task | table | range."""
    source: str
    as_of: str
    usd_per_second: float | None = None
    usd: float | None = None
    low_usd: float | None = None
    high_usd: float | None = None
    per: str = "task"
    """For kind=range: "task" or "second"."""
    size_multipliers: tuple[tuple[str, float], ...] = ()
    table: tuple[PriceRow, ...] = ()

    def multiplier(self, size: str | None) -> float:
        return dict(self.size_multipliers).get(size or "", 1.0)

    @property
    def known(self) -> bool:
        """Whether the budget can guard a live run of this model (a price of any kind but `none`)."""
        return self.kind != "none"


MAX_PRICE_USD = 1000.0
"""No clip is priced above this (per second or per clip): a bigger number is a typo, not a rate."""


def _check_usd(value: Any, where: str) -> float:
    """A price in USD: a number from 0 to MAX_PRICE_USD (NaN, infinities and negatives would disarm the budget)."""
    try:
        usd = float(value)
    except (TypeError, ValueError):
        usd = math.nan
    if not math.isfinite(usd) or not 0 <= usd <= MAX_PRICE_USD:
        raise CatalogError(f"catalog: {where}: {value!r} is not a price; allowed: a number from 0 to "
                           f"{MAX_PRICE_USD:g} USD")
    return usd


def parse_price(p: dict[str, Any], where: str) -> PriceRule:
    kind = p.get("kind")
    if kind not in PRICE_KINDS:
        raise CatalogError(f"catalog: {where}: price kind {kind!r} not in {PRICE_KINDS}")
    if not p.get("source") or not p.get("as_of"):
        raise CatalogError(f"catalog: {where}: every price needs a source and an as_of date")
    needed = {"per_second": ("usd_per_second",), "per_task": ("usd",), "range": ("low_usd", "high_usd"),
              "table": ("table",), "none": ()}[kind]
    for key in needed:
        if p.get(key) is None:
            raise CatalogError(f"catalog: {where}: price kind {kind} needs {key!r}")
    for key in ("usd_per_second", "usd", "low_usd", "high_usd"):
        if p.get(key) is not None:
            _check_usd(p[key], f"{where}: {key}")
    rows = tuple(PriceRow(_check_usd(r.get("usd"), f"{where}: table usd"), r.get("mode"), r.get("duration_s"),
                          r.get("size")) for r in p.get("table") or ())
    return PriceRule(
        kind=kind,
        source=p["source"],
        as_of=p["as_of"],
        usd_per_second=p.get("usd_per_second"),
        usd=p.get("usd"),
        low_usd=p.get("low_usd"),
        high_usd=p.get("high_usd"),
        per=p.get("per", "task"),
        size_multipliers=tuple((p.get("size_multipliers") or {}).items()),
        table=rows,
    )


def price_rule_to_dict(rule: PriceRule) -> dict[str, Any]:
    """A price rule in catalog.json's own form, so a job can keep the rule it was priced with."""
    return {
        "kind": rule.kind, "source": rule.source, "as_of": rule.as_of, "usd_per_second": rule.usd_per_second,
        "usd": rule.usd, "low_usd": rule.low_usd, "high_usd": rule.high_usd, "per": rule.per,
        "size_multipliers": dict(rule.size_multipliers),
        "table": [{"usd": r.usd, "mode": r.mode, "duration_s": r.duration_s, "size": r.size} for r in rule.table],
    }


def price_rule_from_dict(d: dict[str, Any]) -> PriceRule:
    return parse_price(d, "stored price rule")

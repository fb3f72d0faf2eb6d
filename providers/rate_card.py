"""The rate card: every price the app estimates with, one row per model (or per mode x duration where a model
prices that way), with the shipped price and its source, the CometAPI listing, and the user's own price.

Pure Python: Settings draws it in an editable table and saves `overrides_from` into the preferences; the
catalog then applies those overrides, so the user's price wins in every estimate and in the budget.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from providers import pricing
from providers.catalog import Catalog, ModelSpec, PriceRule
from providers.price_rules import MAX_PRICE_USD

YOURS_SOURCE = "override in Settings"
"""The source written on a user's price (model_prices.merge_overrides keeps these over a refresh)."""
MAX_USD = MAX_PRICE_USD
_URL = re.compile(r"https://[^\s)]+")
NO_LISTING = "—"


@dataclass(frozen=True)
class RateRow:
    model_id: str
    model: str
    mode: str | None
    duration_s: int | None
    unit: str
    """"per second" or "per clip"."""
    shipped: str
    """The shipped price as a person reads it: "$0.05/s", "$0.13–$2.64 per clip"."""
    source_url: str | None
    """Where the shipped price was read; None: unverified."""
    as_of: str
    listing: str
    """CometAPI's live listing for this row, once a live catalog check has run; "—" before."""
    yours: float | None
    in_use: str
    """What estimates use now (yours if set), for a clip of the row's length (or the model's default)."""

    @property
    def key(self) -> tuple[str, str | None, int | None]:
        return self.model_id, self.mode, self.duration_s


def money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 0.995 or abs(usd * 100 - round(usd * 100)) < 1e-9 else f"${usd:.3f}"


def money_range(low: float, high: float) -> str:
    return money(high) if abs(high - low) < 1e-9 else f"{money(low)}–{money(high)}"


def link_in(source: str) -> str | None:
    """The first https link in a price's source note; None when it names none (unverified)."""
    found = _URL.search(source or "")
    return found.group(0).rstrip(".,;") if found else None


def source_url(rule: PriceRule) -> str | None:
    return link_in(rule.source)


def source_markdown(source: str, as_of: str) -> str:
    """A price's source for people, as Markdown: "your price (Settings, <date>)", "[site](link), <date>" or
    "unverified". Internal notes and codes never show."""
    if source == YOURS_SOURCE:
        return f"your price (Settings, {as_of})"
    url = link_in(source)
    if not url:
        return "unverified"
    site = re.sub(r"^https://(www\.)?", "", url).split("/", 1)[0]
    return f"[{site}]({url}), {as_of}"


def by_mode_and_duration(spec: ModelSpec) -> bool:
    """Models priced per mode x duration (Kling's std/pro at 5 or 10 s) get one row per combination."""
    return spec.params.mode is not None or spec.price.kind == "table"


def _unit(spec: ModelSpec) -> str:
    rule = spec.price
    # An unpriced model (kind none) gets a per-second price: its lengths run over a span, not two or three steps.
    per_second = rule.kind in ("per_second", "none") or (rule.kind == "range" and rule.per == "second")
    return "per second" if per_second and not by_mode_and_duration(spec) else "per clip"


def _shipped_text(spec: ModelSpec, mode: str | None, duration: int | None) -> str:
    rule = spec.price
    if rule.kind == "none":
        return "no price"
    if duration is not None:
        est = pricing.estimate(spec, duration, None, mode)
        return money_range(est.low_usd, est.high_usd)
    if rule.kind == "per_second":
        text = f"{money(float(rule.usd_per_second or 0))}/s"
        by_factor: dict[float, list[str]] = {}
        for size, factor in rule.size_multipliers:
            by_factor.setdefault(factor, []).append(size)
        extra = [f"×{f:.3g} at {'/'.join(sizes)}" for f, sizes in by_factor.items()]
        return text + (f" ({', '.join(extra)})" if extra else "")
    if rule.kind == "per_task":
        return money(float(rule.usd or 0))
    if rule.kind == "range":
        text = money_range(float(rule.low_usd or 0), float(rule.high_usd or 0))
        return text + ("/s" if rule.per == "second" else "")
    return "no price"


def _yours(current: ModelSpec, mode: str | None, duration: int | None) -> float | None:
    rule = current.price
    if rule.source != YOURS_SOURCE:
        return None
    if duration is not None:
        for row in rule.table:
            if row.mode == mode and row.duration_s == duration and row.size is None:
                return row.usd
        return None
    if rule.kind == "per_second":
        return rule.usd_per_second
    if rule.kind == "per_task":
        return rule.usd
    return None


def _in_use(current: ModelSpec, mode: str | None, duration: int | None) -> str:
    if current.price.kind == "none":
        return "no price: live runs refused"
    secs = duration if duration is not None else current.durations.default
    est = pricing.estimate(current, secs, None, mode)
    return f"{money_range(est.low_usd, est.high_usd)} for {secs} s"


def rate_rows(shipped: Catalog, current: Catalog, listing: Mapping[str, str] | None = None) -> list[RateRow]:
    """The card: shipped prices from `shipped` (catalog.json), yours and what is in use from `current`;
    `listing` is CometAPI's listed price per model id, from the live catalog check (shown, never used)."""
    rows = []
    for spec in current.models():
        base = shipped.get(spec.id)
        combos: list[tuple[str | None, int | None]] = [(None, None)]
        if by_mode_and_duration(base):
            modes = list(base.params.mode.allowed) if base.params.mode else [None]
            combos = [(m, d) for m in modes for d in base.durations.allowed]
        for mode, duration in combos:
            rows.append(RateRow(
                model_id=spec.id, model=spec.display_name, mode=mode, duration_s=duration, unit=_unit(base),
                shipped=_shipped_text(base, mode, duration), source_url=source_url(base.price),
                as_of=base.price.as_of, listing=(listing or {}).get(spec.id) or NO_LISTING,
                yours=_yours(spec, mode, duration), in_use=_in_use(spec, mode, duration)))
    return rows


def check_yours(value: Any) -> float | None:
    """A price typed by the user: blank, or a number from 0 to MAX_USD (ValueError names the allowed range)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return None
    try:
        usd = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"your price: {value!r} is not a number; allowed: 0 to {MAX_USD:g} USD or blank") from exc
    if not 0 <= usd <= MAX_USD:
        raise ValueError(f"your price: {usd:g} is out of range; allowed: 0 to {MAX_USD:g} USD or blank")
    return usd


def overrides_from(shipped: Catalog, current_overrides: Mapping[str, Mapping[str, Any]],
                   yours: Mapping[tuple[str, str | None, int | None], float | None], *,
                   today: str | None = None) -> dict[str, dict[str, Any]]:
    """The preferences' model overrides with the user's prices from the card: a model with none of its cells
    filled goes back to its shipped (or refreshed) price; other settings (availability) are kept."""
    today = today or dt.date.today().isoformat()
    out = {k: dict(v) for k, v in current_overrides.items()}
    by_model: dict[str, list[tuple[str | None, int | None, float]]] = {}
    for (model_id, mode, duration), usd in yours.items():
        if usd is not None:
            by_model.setdefault(model_id, []).append((mode, duration, usd))
    for spec in shipped.models():
        entry = out.setdefault(spec.id, {})
        cells = by_model.get(spec.id)
        if not cells:
            if (entry.get("price") or {}).get("source") == YOURS_SOURCE:
                entry.pop("price")
        else:
            entry["price"] = _rule(spec, cells, today)
        if not entry:
            out.pop(spec.id)
    return out


def _rule(spec: ModelSpec, cells: Sequence[tuple[str | None, int | None, float]], today: str) -> dict[str, Any]:
    base = spec.price
    head = {"source": YOURS_SOURCE, "as_of": today}
    if not by_mode_and_duration(spec):
        usd = cells[0][2]
        if _unit(spec) == "per second":
            multipliers = dict(base.size_multipliers) if base.kind == "per_second" else {}
            return {"kind": "per_second", "usd_per_second": usd, "size_multipliers": multipliers, **head}
        return {"kind": "per_task", "usd": usd, **head}
    rule: dict[str, Any] = {"kind": "table", "per": "task", **head,
                            "table": [{"mode": m, "duration_s": d, "usd": usd} for m, d, usd in cells]}
    # Cells left blank keep the shipped price, as a range (pricing falls back to it when no row matches).
    combos = [(m, d) for m in (spec.params.mode.allowed if spec.params.mode else (None,))
              for d in spec.durations.allowed]
    missing = [(m, d) for m, d in combos if (m, d) not in {(c[0], c[1]) for c in cells}]
    if missing and base.kind == "none":
        # Nothing shipped to fall back on: a blank cell would be priced at $0 and slip past the budget.
        names = ", ".join(" ".join(x for x in (m, f"{d} s") if x) for m, d in missing)
        raise ValueError(f"your price: {spec.display_name} has no shipped price, so give every mode and length "
                         f"one (missing: {names})")
    if len(cells) < len(combos):
        lows, highs = zip(*(_est(spec, m, d) for m, d in combos if (m, d) not in {(c[0], c[1]) for c in cells}),
                          strict=True)
        rule.update(low_usd=min(lows), high_usd=max(highs))
    return rule


def _est(spec: ModelSpec, mode: str | None, duration: int) -> tuple[float, float]:
    est = pricing.estimate(spec, duration, None, mode)
    return est.low_usd, est.high_usd

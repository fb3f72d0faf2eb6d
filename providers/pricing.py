"""Price rules applied: a cost estimate before spending, and the recorded cost of a delivered clip."""

from __future__ import annotations

from providers.catalog import ModelSpec, PriceRule
from providers.submission import CostEstimate


def estimate(spec: ModelSpec, duration_s: float, size: str | None = None, mode: str | None = None) -> CostEstimate:
    """Exact where the rule is known; a low-high range where the source only gives one."""
    low, high, exact, rule = _apply(spec.price, duration_s, size, mode)
    return CostEstimate(round(low, 6), round(high, 6), exact, rule, spec.price.source, spec.price.as_of,
                        priced=spec.price.known)


def recorded_cost(spec: ModelSpec, probed_duration_s: float, size: str | None = None, mode: str | None = None) -> float:
    """What a delivered clip is booked at on the Costs page.

    Providers bill the requested length, not the probed one (an "8 s" clip probes as 8.04 s), so the
    probed duration is snapped to the nearest length the model offers. Where only a range is known
    the high end is booked, so a budget never under-counts.
    """
    billed = spec.durations.nearest(probed_duration_s)
    _, high, _, _ = _apply(spec.price, billed, size, mode)
    return round(high, 6)


def live_refusal(spec: ModelSpec) -> str | None:
    """Why a live run of this model is refused, or None. The budget cannot guard what it cannot price."""
    if spec.price.known:
        return None
    return (f"{spec.display_name} ({spec.id}) has no known price, so it runs only in the sandbox: "
            "give it a price in the rate card (Settings) before a live run")


def _money(x: float) -> str:
    return f"${x:.2f}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"${x:g}"


NO_PRICE_RULE = "no known price: sandbox only until the rate card in Settings gives it one"


def _apply(rule: PriceRule, duration_s: float, size: str | None, mode: str | None) -> tuple[float, float, bool, str]:
    secs = float(duration_s)
    if rule.kind == "none":
        # Costs nothing in the sandbox; a live run is refused before any spend (jobs/runner.py), since the
        # budget cannot guard what it cannot price.
        return 0.0, 0.0, False, NO_PRICE_RULE
    if rule.kind == "per_second":
        rate = float(rule.usd_per_second or 0.0)
        mult = rule.multiplier(size)
        usd = rate * secs * mult
        text = f"{_money(rate)}/s x {secs:g} s"
        if mult != 1.0:
            text += f" x {mult:g} at {size}"
        return usd, usd, True, text
    if rule.kind == "per_task":
        usd = float(rule.usd or 0.0)
        return usd, usd, True, f"{_money(usd)} per task"
    if rule.kind == "table":
        rows = [r for r in rule.table if r.matches(mode, int(round(secs)), size)]
        if rows:
            return rows[0].usd, rows[0].usd, True, f"{_money(rows[0].usd)} per task ({_describe(mode, secs, size)})"
        if rule.low_usd is not None and rule.high_usd is not None:
            # A partial table (the rate card with some cells blank): the rest keeps the range it had.
            low, high = float(rule.low_usd), float(rule.high_usd)
            return low, high, False, f"no price row for {_describe(mode, secs, size)}; {_money(low)}-{_money(high)}"
        prices = [r.usd for r in rule.table]
        return (min(prices), max(prices), False,
                f"no price row for {_describe(mode, secs, size)}; range of the whole table")
    low, high = float(rule.low_usd or 0.0), float(rule.high_usd or 0.0)
    if rule.per == "second":
        return low * secs, high * secs, False, f"{_money(low)}-{_money(high)}/s x {secs:g} s (price unconfirmed)"
    return low, high, False, f"{_money(low)}-{_money(high)} per task (price unconfirmed)"


def _describe(mode: str | None, secs: float, size: str | None) -> str:
    return ", ".join(x for x in (mode, f"{secs:g} s", size) if x)

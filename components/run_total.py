"""The Generate total: what it covers and what it leaves out, so a sum never hides a dropped or $0 model."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from components.model_cards import CardResult
from components.recipe_form import FIELD_LABELS
from providers.submission import CostEstimate


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fix_hint(card: CardResult) -> str:
    """"fix duration" from a card's error fields, so the reader knows why it is not counted."""
    fields = [FIELD_LABELS.get(f, f.replace("_", " ")).lower() for f in card.errors if f != "prompt"]
    return "fix " + ", ".join(fields) if fields else "not ready"


def run_total(cards: Sequence[CardResult], takes: int, cost_of: Callable[[CardResult], CostEstimate],
              form_has_errors: bool) -> tuple[str, float, float]:
    """The total's sentence and its low/high USD; a model without a price or with errors is named, not summed."""
    if form_has_errors:
        # A bad field (Duration −3) must not be priced at some stand-in value.
        return "**Total: —** (fix the fields marked in red first).", 0.0, 0.0
    if not cards:
        return "**Total: —** (no model switched on).", 0.0, 0.0
    counted: list[CardResult] = []
    left_out: list[str] = []
    for card in cards:
        if card.submission is None and not set(card.errors) <= {"prompt"}:
            left_out.append(f"{card.spec.display_name} ({_fix_hint(card)})")
        elif not cost_of(card).priced:
            left_out.append(f"{card.spec.display_name} (no price)")
        else:
            counted.append(card)
    low = sum(cost_of(c).low_usd for c in counted) * takes
    high = sum(cost_of(c).high_usd for c in counted) * takes
    amount = f"${high:.2f}" if abs(high - low) < 1e-9 else f"${low:.2f}–${high:.2f}"
    if counted:
        line = f"**Total: {amount}** for {_plural(len(counted), 'priced model')} × {_plural(takes, 'take')}"
    else:
        line = "**Total: —** (no priced model)"
    if left_out:
        line += " · not counted: " + ", ".join(sorted(left_out))
    return line + ".", low, high

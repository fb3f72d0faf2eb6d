"""Range checks for the Generate form's numbers, done in Python so an out-of-range value is refused, not kept.

A Streamlit number widget with bounds never hands an out-of-range value to Python (the browser silently keeps
the old one), so the widgets have no bounds and these rules decide; the message names the field and the range.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.catalog import Catalog

MAX_TAKES = 4
SEED_MAX = 4_294_967_295


@dataclass(frozen=True)
class NumberRule:
    field: str
    """The field's label, as the user reads it."""
    low: int
    high: int
    unit: str = ""

    def check(self, value: float | None) -> str | None:
        """None when `value` is empty or a whole number in range; else the message shown next to the field."""
        if value is None:
            return None
        allowed = f"allowed: {self.low}{self.unit} to {self.high}{self.unit}"
        if value != int(value):
            return f"{self.field}: {value:g} is not a whole number ({allowed})."
        if not self.low <= value <= self.high:
            return f"{self.field}: {value:g}{self.unit} is out of range ({allowed})."
        return None


def duration_rule(catalog: Catalog) -> NumberRule:
    """1 s up to the longest clip any catalog model renders; each card then says which lengths its model takes."""
    longest = max((a for spec in catalog.models() for a in spec.durations.allowed), default=20)
    return NumberRule("Duration", 1, longest, " s")


TAKES = NumberRule("Takes per model", 1, MAX_TAKES)
SEED = NumberRule("Seed", 0, SEED_MAX)

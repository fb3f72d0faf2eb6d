"""The allowed range of every number a user can give the engine, shared by the CLI's flags and Settings.

One table, so `--budget nan` and a hand-edited prefs.json are refused by the same rule with the same words:
NaN and infinities are never a number here, and zero or negatives only where they mean something.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class NumberRule:
    name: str
    low: float
    high: float | None = None
    low_open: bool = False
    """True when `low` itself is not allowed (a time scale of 0 would freeze the clock)."""
    whole: bool = False

    @property
    def allowed(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        low = f"{self.low:g}"
        if self.high is None:
            return f"{kind} {'above' if self.low_open else 'of at least'} {low}"
        if self.low_open:
            return f"{kind} above {low} and at most {self.high:g}"
        return f"{kind} from {low} to {self.high:g}"

    def problem(self, value: object) -> str | None:
        """None when `value` is allowed, else a sentence naming the field and the allowed values."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{self.name}: must be {self.allowed}, got {value!r}"
        if not math.isfinite(value) or (self.whole and value != int(value)):
            return f"{self.name}: must be {self.allowed}, got {value}"
        below = value <= self.low if self.low_open else value < self.low
        if below or (self.high is not None and value > self.high):
            return f"{self.name}: must be {self.allowed}, got {value:g}"
        return None

    def parse(self, text: str) -> float | int:
        """A command-line value: the number, or ValueError with the sentence `problem` gives."""
        try:
            value: float | int = int(text) if self.whole else float(text)
        except ValueError:
            raise ValueError(f"{self.name}: must be {self.allowed}, got {text!r}") from None
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value


BUDGET = NumberRule("budget_usd", 0.0, 1_000_000.0)
TIMEOUT = NumberRule("timeout", 0.0, None, low_open=True)
TIME_SCALE = NumberRule("time_scale", 0.0, 10.0, low_open=True)
CONCURRENCY = NumberRule("concurrency", 1, 32, whole=True)
WORKERS = NumberRule("workers", 1, 32, whole=True)
TAKES = NumberRule("takes", 1, 4, whole=True)

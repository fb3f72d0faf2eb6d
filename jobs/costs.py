"""What takes cost: a what-if calculator across models, and spend read back from the ledger.

No provider offers a billing API, so "recorded" cost is the catalog's price rule applied to the clip
that was actually delivered (its probed length, the size and mode that were sent), while "estimated"
is what the job reserved before it was sent (the upper end of any price range).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jobs.ledger import Job, JobState
from providers import pricing
from providers.catalog import Catalog, CatalogError, ModelSpec, price_rule_from_dict
from providers.errors import ValidationError
from providers.families.grok import cost_ticks

DAYS_PER_MONTH = 30
FAILED_STATES = frozenset({JobState.FAILED, JobState.EXPIRED, JobState.CANCELED, JobState.SUBMIT_UNKNOWN})
CHARGED_YES = ("yes", "likely")


@dataclass(frozen=True)
class CalcRow:
    """One model's price for N clips of one duration, size and mode, and per month at K clips a day."""

    model_id: str
    display_name: str
    available: bool
    duration_s: int
    """The length the model would bill (the nearest one it offers)."""
    size: str | None
    mode: str | None
    per_clip_low: float
    per_clip_high: float
    exact: bool
    total_low: float
    total_high: float
    monthly_low: float
    monthly_high: float
    rule: str
    source: str
    as_of: str


def _size_for(spec: ModelSpec, ratio: str | None) -> str | None:
    ratios = spec.ratio_map()
    if not ratios:
        return None
    return ratios.get(ratio or "") or ratios.get(spec.default_ratio)


def _mode_for(spec: ModelSpec, mode: str | None) -> str | None:
    rule = spec.params.mode
    if rule is None:
        return None
    return mode if mode in rule.allowed else rule.default


def calculate(catalog: Catalog, *, clips: int, duration_s: float, ratio: str | None = None, mode: str | None = None,
              per_day: int = 0, include_unavailable: bool = True) -> list[CalcRow]:
    """Price `clips` clips of about `duration_s` seconds on every model, and `per_day` clips a day for a month."""
    if clips < 0:
        raise ValidationError("clips", f"clips: must be 0 or more, got {clips}", allowed="0 or more")
    if per_day < 0:
        raise ValidationError("per_day", f"per_day: must be 0 or more, got {per_day}", allowed="0 or more")
    if duration_s <= 0:
        raise ValidationError("duration_s", f"duration_s: must be more than 0, got {duration_s}",
                              allowed="more than 0 seconds")
    rows = []
    for spec in catalog.models():
        if not include_unavailable and not spec.availability.available:
            continue
        billed = spec.durations.nearest(duration_s)
        size, chosen_mode = _size_for(spec, ratio), _mode_for(spec, mode)
        est = pricing.estimate(spec, billed, size, chosen_mode)
        month = per_day * DAYS_PER_MONTH
        rows.append(CalcRow(
            model_id=spec.id, display_name=spec.display_name, available=spec.availability.available,
            duration_s=billed, size=size, mode=chosen_mode, per_clip_low=est.low_usd, per_clip_high=est.high_usd,
            exact=est.exact, total_low=round(est.low_usd * clips, 6), total_high=round(est.high_usd * clips, 6),
            monthly_low=round(est.low_usd * month, 6), monthly_high=round(est.high_usd * month, 6),
            rule=est.rule, source=est.source, as_of=est.as_of))
    return rows


# --- spend read back from the ledger ------------------------------------------------------------------------


def sent_size_and_mode(job: Job, spec: ModelSpec) -> tuple[str | None, str | None]:
    """The wire size and mode the job was sent with (what the price rule keys on)."""
    size = None
    for line in job.mapping.get("report") or []:
        if line.get("field") in ("size", "aspect_ratio") and line.get("sent"):
            size = str(line["sent"])
    mode = job.options.get("mode") or (spec.params.mode.default if spec.params.mode else None)
    return size, mode


def unpriced(job: Job) -> bool:
    """The job's model had no known price when it was sent (its estimate says so, not $0.00)."""
    return str((job.mapping.get("cost") or {}).get("rule", "")) == pricing.NO_PRICE_RULE


def provider_reported(job: Job) -> str | None:
    """That the provider itself reported a cost (xAI's `usage.cost_in_usd_ticks`), shown beside the estimate and
    never booked: its unit is not documented, so the raw number (billions of "ticks") stays in the take's raw
    status (History → the take's details), not on a card a reader would take as a price."""
    if job.family != "grok":
        return None
    return None if cost_ticks(job.raw_status) is None else "xAI reported a cost in an undocumented unit (not booked)"


def range_priced(job: Job) -> bool:
    """The take was priced from a range (no exact rule): what is booked for it is the range's top, not a price."""
    if job.est_high_usd is None or job.est_low_usd is None:
        return False
    return abs(job.est_low_usd - job.est_high_usd) > 1e-9


RANGE_TOP_NOTE = "top of the price range; no exact price"


def booked_label(job: Job, catalog: Catalog) -> str | None:
    """How a delivered take's booked cost reads everywhere: "recorded $0.40" for an exact rule, "reserved $2.64
    (top of the price range; no exact price)" for a range, None when nothing is booked (not delivered, no price)."""
    booked = recorded_cost(job, catalog)
    if booked is None:
        return None
    if range_priced(job):
        return f"reserved ${booked:.2f} ({RANGE_TOP_NOTE})"
    return f"recorded ${booked:.2f}"


def recorded_cost(job: Job, catalog: Catalog) -> float | None:
    """The price rule applied to the delivered (probed) clip; None when no clip was delivered."""
    probe = job.clip_meta.get("probe") or {}
    if job.state != JobState.DOWNLOADED or not probe.get("duration_s"):
        return None
    try:
        spec = catalog.get(job.model_id)
    except ValidationError:
        return None
    stored = job.mapping.get("price_rule")
    if stored:  # the rule the job was priced with at submit, not today's (Settings overrides, refreshes)
        try:
            spec = dataclasses.replace(spec, price=price_rule_from_dict(stored))
        except CatalogError:
            pass
    if not spec.price.known:
        return None  # no price: nothing to book (it ran in the sandbox, where nothing is charged)
    size, mode = sent_size_and_mode(job, spec)
    return pricing.recorded_cost(spec, float(probe["duration_s"]), size, mode)


@dataclass
class ModelSpend:
    model_id: str
    takes: int = 0
    delivered: int = 0
    kept: int = 0
    discarded: int = 0
    estimated_usd: float = 0.0
    """Upper estimates (what the budget reserved) of the delivered takes: compare with recorded_usd."""
    recorded_usd: float = 0.0
    """Sum of the price rule over delivered clips (the top of the range for a range-priced one)."""
    unpriced_delivered: int = 0
    """Delivered takes of a model with no price: nothing is booked for them, and they read "no price", not $0."""
    range_delivered: int = 0
    """Delivered takes booked at the top of a price range (no exact price)."""
    failed_charged: int = 0
    failed_not_charged: int = 0
    failed_unknown: int = 0
    failed_charged_usd: float = 0.0
    """Estimated cost of failed tasks that were (or were likely) charged: money spent on nothing."""
    job_ids: list[str] = field(default_factory=list)

    @property
    def cost_per_kept(self) -> float | None:
        """Everything spent on this model (delivered plus charged failures) over the clips worth keeping."""
        if not self.kept:
            return None
        return round((self.recorded_usd + self.failed_charged_usd) / self.kept, 6)

    def as_row(self) -> dict[str, Any]:
        return {"model": self.model_id, "takes": self.takes, "delivered": self.delivered, "kept": self.kept,
                "discarded": self.discarded, "estimated_usd": round(self.estimated_usd, 6),
                "recorded_usd": round(self.recorded_usd, 6), "cost_per_kept_usd": self.cost_per_kept,
                "failed_charged": self.failed_charged, "failed_not_charged": self.failed_not_charged,
                "failed_unknown": self.failed_unknown}


def spend_by_model(jobs: Iterable[Job], catalog: Catalog) -> dict[str, ModelSpend]:
    """Per model: estimated vs recorded spend, kept clips, and failed tasks split by whether they were charged."""
    out: dict[str, ModelSpend] = {}
    for job in jobs:
        row = out.setdefault(job.model_id, ModelSpend(job.model_id))
        row.takes += 1
        row.job_ids.append(job.id)
        if job.kept == 1:
            row.kept += 1
        elif job.kept == 0:
            row.discarded += 1
        if job.state == JobState.DOWNLOADED:  # delivered is a state, whether or not it has a price
            row.delivered += 1
            recorded = recorded_cost(job, catalog)
            if recorded is None:
                row.unpriced_delivered += 1
            else:
                row.recorded_usd += recorded
                row.estimated_usd += job.est_high_usd or 0.0
                row.range_delivered += range_priced(job)
        if job.state in FAILED_STATES:
            charged = (job.charged or "unknown").lower()
            if charged in CHARGED_YES:
                row.failed_charged += 1
                row.failed_charged_usd += job.est_high_usd or 0.0
            elif charged == "no":
                row.failed_not_charged += 1
            else:
                row.failed_unknown += 1
    return dict(sorted(out.items()))


def totals(spend: dict[str, ModelSpend]) -> ModelSpend:
    total = ModelSpend("all models")
    for row in spend.values():
        for name in ("takes", "delivered", "unpriced_delivered", "range_delivered", "kept", "discarded",
                     "failed_charged", "failed_not_charged", "failed_unknown"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        total.estimated_usd += row.estimated_usd
        total.recorded_usd += row.recorded_usd
        total.failed_charged_usd += row.failed_charged_usd
    return total

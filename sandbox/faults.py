"""Fault injection rules: which requests or new tasks misbehave, how, and how often."""

from __future__ import annotations

import itertools
import math
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from . import defects
from .config import FAMILIES

ROUTES = ("submit", "poll", "content", "download", "callback", "any")

# Faults that change one HTTP response.
RESPONSE_KINDS = (
    "pass",  # a no-op step, so scripted sequences can let a request through
    "http_429", "http_500", "http_502", "http_503", "http_504", "http_524",
    "malformed_json", "html_error_page", "slow", "truncated_download", "wrong_content_type",
    "kling_1102", "kling_1303", "drip", "chunked", "corrupt_clip", "gzip", "error_json", "error_xml",
)
# Faults decided once per new task at submit time and carried by the task.
TASK_KINDS = ("task_not_exist", "content_policy", "stuck_in_queue", "settings_ignored", "cancelled", "defect")
# Faults of a callback the sandbox sends (route "callback" only): not sent, sent late, sent more than once.
CALLBACK_KINDS = ("callback_drop", "callback_delay", "callback_duplicate")
KINDS = RESPONSE_KINDS + TASK_KINDS + CALLBACK_KINDS

# Kinds that only make sense on some routes, or for some families (Kling has no cancelled status).
# Faults of a clip's body: on "any" they would be used up by the first submit or poll.
_CLIP_ROUTES = ("content", "download")
_KIND_ROUTES: dict[str, tuple[str, ...]] = {
    kind: _CLIP_ROUTES for kind in ("drip", "chunked", "corrupt_clip", "gzip", "error_json", "error_xml")}
_KIND_ROUTES.update({kind: ("callback",) for kind in CALLBACK_KINDS})
_KIND_FAMILIES = {"cancelled": (None, "veo", "sora", "runway")}


@dataclass
class Fault:
    id: int
    route: str
    kind: str
    family: str | None = None
    count: int | None = None  # remaining firings; None = unlimited
    probability: float | None = None
    task_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "route": self.route, "kind": self.kind, "family": self.family, "count": self.count,
                "probability": self.probability, "task_id": self.task_id, "params": self.params, "fired": self.fired}


class FaultRegistry:
    """Ordered fault rules. The first rule that matches and fires decides; `count` rules are used up in order,
    which is how a scripted sequence is written (add them in the order they should happen)."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._applied: dict[str, int] = {}
        self._every_fault: list[Fault] = []  # used-up and removed ones included, for unapplied()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, route: str = "any", kind: str = "pass", family: str | None = None, count: int | None = None,
            probability: float | None = None, task_id: str | None = None, **params: Any) -> Fault:
        if route not in ROUTES:
            raise ValueError(f"route: {route!r} not allowed; allowed: {', '.join(ROUTES)}")
        if kind not in KINDS:
            raise ValueError(f"kind: {kind!r} not allowed; allowed: {', '.join(KINDS)}")
        if family is not None and family not in FAMILIES:
            raise ValueError(f"family: {family!r} not allowed; allowed: {', '.join(FAMILIES)} or null")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError(f"count must be a positive integer, got {count!r}")
        if probability is not None and not 0 <= probability <= 1:
            raise ValueError(f"probability must be within [0, 1], got {probability!r}")
        _check_kind(route, kind, family, params)
        fault = Fault(next(self._ids), route, kind, family, count, probability, task_id, dict(params))
        with self._lock:
            self._faults.append(fault)
            if kind != "pass":  # a scripted "let this one through" step applies nothing by design
                self._every_fault.append(fault)
        return fault

    def script(self, route: str, kinds: list[str | None], family: str | None = None, **params: Any) -> list[Fault]:
        """A sequence of one-shot faults; None lets that request through untouched."""
        return [self.add(route, kind or "pass", family, count=1, **params) for kind in kinds]

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Remove every rule (the applied counts stay: they are a record of what happened)."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def applied(self, kind: str | None = None) -> int:
        """How many times faults (of `kind`, or any) were applied, used-up rules included: a fault test
        asserts this, so a rule that never matched cannot pass for a fault the engine survived."""
        with self._lock:
            return self._applied.get(kind, 0) if kind is not None else sum(self._applied.values())

    def unapplied(self) -> list[Fault]:
        """Faults added that never fired once (the test fixture fails a test that has any)."""
        with self._lock:
            return [f for f in self._every_fault if not f.fired]

    def applied_by_kind(self) -> dict[str, int]:
        with self._lock:
            return dict(self._applied)

    def take_response_fault(self, route: str, family: str | None, task_id: str | None = None) -> Fault | None:
        return self._take(route, family, task_id, RESPONSE_KINDS)

    def take_callback_fault(self, family: str | None, task_id: str | None) -> Fault | None:
        """When a task's callback is due: drop it, delay it (`delay_s` simulated seconds) or send `copies`."""
        return self._take("callback", family, task_id, CALLBACK_KINDS)

    def take_task_faults(self, family: str) -> dict[str, Any]:
        """At submit: each task-level kind fires at most once for the new task."""
        chosen: dict[str, Any] = {}
        for kind in TASK_KINDS:
            if family not in _KIND_FAMILIES.get(kind, (family,)):
                continue  # a family-less rule is not used up by a family it cannot apply to
            fault = self._take("submit", family, None, (kind,), any_route=True)
            if fault is not None:
                chosen[kind] = dict(fault.params)
        return chosen

    def _take(self, route: str, family: str | None, task_id: str | None, kinds: tuple[str, ...],
              any_route: bool = False) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind not in kinds:
                    continue
                if not any_route and fault.route not in (route, "any"):
                    continue
                if fault.family is not None and fault.family != family:
                    continue
                if fault.task_id is not None and fault.task_id != task_id:
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                self._applied[fault.kind] = self._applied.get(fault.kind, 0) + 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None


def _check_kind(route: str, kind: str, family: str | None, params: dict[str, Any]) -> None:
    """Refuse a rule that could never do what it says, naming the field and what is allowed."""
    if route == "callback" and kind not in CALLBACK_KINDS:
        raise ValueError(f"kind: {kind!r} not allowed on route 'callback'; allowed: {', '.join(CALLBACK_KINDS)}")
    routes = _KIND_ROUTES.get(kind)
    if routes is not None and route not in routes:
        raise ValueError(f"route: {route!r} not allowed for kind {kind!r}; allowed: {', '.join(routes)}")
    families = _KIND_FAMILIES.get(kind)
    if families is not None and family not in families:
        allowed = ", ".join(f for f in families if f) + " or null"
        raise ValueError(f"family: {family!r} not allowed for kind {kind!r} (Kling has no cancelled status); "
                         f"allowed: {allowed}")
    if kind == "drip":
        slice_bytes = params.get("slice_bytes", 1024)
        rate = params.get("bytes_per_s", 1024)
        if isinstance(slice_bytes, bool) or not isinstance(slice_bytes, int) or slice_bytes < 1:
            raise ValueError(f"slice_bytes must be a positive integer, got {slice_bytes!r}")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"bytes_per_s must be a finite number > 0, got {rate!r}")
    if kind == "cancelled":
        after = params.get("after_s", 0)
        if isinstance(after, bool) or not isinstance(after, int | float) or not (math.isfinite(after) and after >= 0):
            raise ValueError(f"after_s must be a finite number >= 0, got {after!r}")
    if kind == "chunked":
        fraction = params.get("fraction", 1.0)
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
            raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    if kind == "corrupt_clip":
        keep = params.get("keep_bytes", 1024)
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ValueError(f"keep_bytes must be an integer >= 0, got {keep!r}")
    if kind in ("error_json", "error_xml"):
        _check_error_body(params)
    if kind == "callback_delay":
        delay = params.get("delay_s", 10)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"delay_s must be a finite number >= 0 (simulated seconds), got {delay!r}")
    if kind == "callback_duplicate":
        copies = params.get("copies", 2)
        if isinstance(copies, bool) or not isinstance(copies, int) or not 2 <= copies <= 10:
            raise ValueError(f"copies must be an integer in [2, 10], got {copies!r}")
    if kind == "defect":
        defects.check_params(params)  # a defect baked into the task's clip (sandbox/defects.py)


def _check_error_body(params: dict[str, Any]) -> None:
    status = params.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError(f"status must be an integer HTTP status in [200, 599], got {status!r}")
    for name in ("content_type", "code", "message"):
        value = params.get(name)
        # These end up in headers or markup: a line break would split the answer.
        if value is not None and (not isinstance(value, str) or any(c in value for c in "\r\n<>")):
            raise ValueError(f"{name} must be a one-line string without '<' or '>', got {value!r}")

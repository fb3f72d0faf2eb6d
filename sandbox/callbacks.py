"""Kling's `callback_url`: when a task that asked for one ends, POST its status object there.

The reference documents the field ("Webhook URL to receive task status updates when the task completes") but no
payload, signature or retry policy (cometapi-video-api.md 3, 8); the sandbox sends the task object its status
query answers with (`data` of the Kling envelope), once, when the task ends. A simulator on a developer's machine
must not become a way to make requests elsewhere: only loopback addresses are called back, any other URL is
refused (recorded, never contacted). Faults on route "callback": `callback_drop`, `callback_delay` (`delay_s`
simulated seconds later), `callback_duplicate` (`copies` times).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .faults import FaultRegistry
from .store import Task

SEND_TIMEOUT_S = 5.0


def loopback(url: str) -> bool:
    """http(s) to 127.0.0.0/8, ::1 or `localhost`: the only places the sandbox calls back."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost: resolving it could lead anywhere


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    task: Task = field(compare=False)
    url: str = field(compare=False)
    body: Callable[[], dict[str, Any]] = field(compare=False)
    """The task's status object at the moment of sending."""
    faulted: bool = field(compare=False, default=False)
    """A delayed callback is not offered to the faults a second time."""


class CallbackSender:
    """One thread with a heap of due callbacks; started by the first task that asks for one."""

    def __init__(self, faults: FaultRegistry, time_scale: Callable[[], float],
                 finished_at: Callable[[Task], float | None]) -> None:
        self._faults, self._scale, self._finished_at = faults, time_scale, finished_at
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._records: list[dict[str, Any]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._client: httpx.Client | None = None

    def schedule(self, task: Task, url: str, body: Callable[[], dict[str, Any]]) -> None:
        """Arm the task's callback for the moment it ends (never, for a task stuck in the queue)."""
        if not loopback(url):
            self._record(task, url, "refused", note="not a loopback address: the sandbox calls back only locally")
            return
        at = self._finished_at(task)
        if at is None:
            return
        with self._cond:
            heapq.heappush(self._heap, _Due(at, next(self._seq), task, url, body))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="sandbox-callbacks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def records(self) -> list[dict[str, Any]]:
        """Every callback decided so far: time (a delivery's: when it was sent), task_id, path (no query: it holds
        the client's token), outcome (delivered, dropped, delayed, refused, error), HTTP status, fault."""
        with self._cond:
            return [dict(r) for r in self._records]

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(SEND_TIMEOUT_S + 1)
        if self._client is not None:
            self._client.close()

    def _loop(self) -> None:
        self._client = httpx.Client(timeout=SEND_TIMEOUT_S, trust_env=False)
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0].at > time.time()):
                    wait = self._heap[0].at - time.time() if self._heap else None
                    self._cond.wait(timeout=wait)
                if self._stopping:
                    return
                due = heapq.heappop(self._heap)
            self._fire(due)

    def _fire(self, due: _Due) -> None:
        fault = None if due.faulted else self._faults.take_callback_fault(due.task.family, due.task.id)
        kind = fault.kind if fault is not None else None
        if kind == "callback_drop":
            self._record(due.task, due.url, "dropped", fault=kind)
            return
        if kind == "callback_delay":
            assert fault is not None
            later = time.time() + float(fault.params.get("delay_s", 10)) * self._scale()
            self._record(due.task, due.url, "delayed", fault=kind)
            with self._cond:
                heapq.heappush(self._heap, _Due(later, next(self._seq), due.task, due.url, due.body, faulted=True))
            return
        copies = int(fault.params.get("copies", 2)) if fault is not None and kind == "callback_duplicate" else 1
        for _ in range(copies):
            self._send(due, kind)

    def _send(self, due: _Due, fault: str | None) -> None:
        assert self._client is not None
        sent_at = time.time()  # the record's time: when it went out (it is written once answered)
        try:
            response = self._client.post(due.url, json=due.body())
        except httpx.HTTPError as exc:
            self._record(due.task, due.url, "error", fault=fault, note=type(exc).__name__, at=sent_at)
            return
        self._record(due.task, due.url, "delivered", status=response.status_code, fault=fault, at=sent_at)

    def _record(self, task: Task, url: str, outcome: str, *, status: int | None = None, fault: str | None = None,
                note: str = "", at: float | None = None) -> None:
        try:
            path = urlsplit(url).path
        except ValueError:
            path = ""
        with self._cond:
            self._records.append({"time": at or time.time(), "task_id": task.id, "family": task.family, "path": path,
                                  "outcome": outcome, "status": status, "fault": fault, "note": note})

"""Runs the technical checks on downloaded clips on one background thread.

A job is `downloaded` the moment its clip is verified; the checks come after, here, and never hold that up.
Their result is written to the job's `flags_json` ("[]" when the clip raised nothing), so a clip that is
downloaded but not yet checked reads as None, and one the process died before checking is found again at the
next start (`Ledger.unchecked_clips`). The thread runs at a lower CPU priority where the OS allows it, so a
batch of checks does not slow polling or the UI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from jobs.checks import Flag, check_clip
from jobs.clipstore import ClipStorage
from jobs.ledger import Job, Ledger

log = logging.getLogger(__name__)

NICE_INCREMENT = 10
CheckFn = Callable[[Path, bool], list[Flag]]


def expects_audio(job: Job) -> bool:
    """What the request promised (recorded from the catalog when the job was made)."""
    return bool(job.mapping.get("has_audio"))


class ClipChecker:
    def __init__(self, ledger: Ledger, *, on_checked: Callable[[str], None] = lambda job_id: None,
                 check: CheckFn = check_clip, clips: ClipStorage | None = None) -> None:
        self.ledger = ledger
        self.clips = clips
        """Where the clips are read from; None reads `clip_path` as a local file (old ledgers, tests)."""
        self.on_checked = on_checked
        self._check = check
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pending: set[str] = set()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> ClipChecker:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clip-checks", daemon=True)
            self._thread.start()
            with contextlib.suppress(Exception):  # noqa: BLE001 - a ledger that cannot be read now is read later
                for job in self.ledger.unchecked_clips():
                    self.submit(job)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def submit(self, job: Job) -> None:
        """Queue a downloaded job's clip (once, however often it is submitted)."""
        with self._idle:
            if job.id in self._pending:
                return
            self._pending.add(job.id)
        self._queue.put(job.id)

    def wait_idle(self, timeout: float) -> bool:
        """True once every queued clip has been checked (for tests and batch runs)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: a thread's id is a process id for nice
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE_INCREMENT)
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._check_one(job_id)
            except Exception:  # noqa: BLE001 - one unreadable clip must not stop the checks of the others
                log.exception("clip checks failed for job %s", job_id)
            finally:
                with self._idle:
                    self._pending.discard(job_id)
                    self._idle.notify_all()

    def _check_one(self, job_id: str) -> None:
        job = self.ledger.get(job_id)
        if job is None or job.flags_json is not None or not job.clip_path:
            return
        if self.clips is None:
            local = Path(job.clip_path)
            found = contextlib.nullcontext(local) if local.exists() else None
        else:
            found = self.clips.local_path(job.clip_path) if self.clips.exists(job.clip_path) else None
        if found is None:
            return  # removed since: nothing to look at, and not worth a flag
        with found as path:  # a bucket's clip is read from a temporary local copy
            flags = self._check(path, expects_audio(job))
        self.ledger.update(job_id, flags_json=json.dumps([f.to_json() for f in flags]))
        self.on_checked(job_id)

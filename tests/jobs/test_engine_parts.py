"""The engine's parts on their own: the frozen task handle, the lookup-done field, storage errors matched by type."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from jobs_helpers import backend_for, recipe_for, run_one, wait_state

from jobs.clipstore import ClipStore, StorageError
from jobs.engine import leases, reconcile
from jobs.engine.handle import TaskHandle
from jobs.ledger import JobState
from jobs.runner import Runner
from providers.client import Backend
from providers.errors import ErrorKind, ProviderError
from providers.recipe import ModelOptions

FAST = {"render_times": {"*": (5, 10)}}


def test_a_task_handle_fills_both_route_templates_once_and_cannot_change() -> None:
    backend = Backend(base_url="http://127.0.0.1:8000/", api_key="sk-x", sandbox=True)
    handle = TaskHandle.from_templates("veo", "t-1", "/v1/videos/{task_id}", "/v1/videos/{task_id}/content", backend)
    assert (handle.poll_path, handle.content_path) == ("/v1/videos/t-1", "/v1/videos/t-1/content")
    assert handle.content_url == "http://127.0.0.1:8000/v1/videos/t-1/content"
    assert TaskHandle.from_templates("kling", "9", "/kling/v1/x/{task_id}", None, backend).content_url is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        handle.task_id = "t-2"  # type: ignore[misc]


def unclear_kling_job(runner: Runner, server: Any) -> str:
    """A `submit_unknown` Kling job left in the ledger, as a stopped process leaves it (never sent here)."""
    backend = backend_for(server)
    (job_id,) = runner.submit_run(recipe_for("kling-v1-6"), [("kling-v1-6", ModelOptions())], backend)
    assert runner.ledger.begin_submit(job_id, owner=runner.owner, cap=10) is not None
    runner.ledger.transition(job_id, JobState.SUBMIT_UNKNOWN, error_message="The answer was lost.")
    runner._ctx.forget_now(job_id)  # noqa: SLF001 - the runner is never started: rescan is driven by hand
    return job_id


def test_a_recorded_lookup_stops_every_process_from_looking_again_and_the_message_does_not(
        make_sandbox, ledger, clips, catalog) -> None:
    server = make_sandbox(**FAST)
    runner = Runner(ledger, clips, catalog)
    done, pending = unclear_kling_job(runner, server), unclear_kling_job(runner, server)
    ledger.update(done, raw_status_json='{"lookup": {"by": "external_task_id", "tries": 4, "done": true}}')
    ledger.update(pending, error_message="Looked up 4 times, says the text, but no lookup is recorded.")
    leases.rescan(runner._ctx)  # noqa: SLF001
    assert not runner._ctx.sched.has_entry(done)  # noqa: SLF001
    assert runner._ctx.sched.has_entry(pending)  # noqa: SLF001


def test_a_lookup_recorded_by_a_ledger_from_before_the_lookup_field_is_still_honoured(
        make_sandbox, ledger, clips, catalog) -> None:
    """Rows written by the old runner carry only its sentence; looking them up again would be wasted polls."""
    server = make_sandbox(**FAST)
    runner = Runner(ledger, clips, catalog)
    old = unclear_kling_job(runner, server)
    ledger.update(old, error_message=(
        "The answer was lost. Looked up 4 times by this job's own id (external_task_id): the provider has no "
        "such task, so the POST most likely created nothing. Dailies never resends it on its own; run it again "
        "if you want it."))
    leases.rescan(runner._ctx)  # noqa: SLF001
    assert not runner._ctx.sched.has_entry(old)  # noqa: SLF001


class FlakyDisk:
    """A clip sink whose first write fails with `error`, then stores as the real clip store does."""

    def __init__(self, store: ClipStore, error: ProviderError) -> None:
        self.store, self.error, self.calls, self.failed_at = store, error, 0, 0.0

    def download(self, open_stream: Callable[[Mapping[str, str]], Any], name_hint: str) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.failed_at = time.time()
            raise self.error
        return self.store.download(open_stream, name_hint)


class LookalikeStorageError(ProviderError):
    """Not a clip-store error, only named like one: must be treated as an invalid download, not a full disk."""


LookalikeStorageError.__name__ = "StorageError"


def polls_after_the_failed_write(make_sandbox, make_runner, sink: FlakyDisk) -> int:
    """One Kling take through `sink` (it must end downloaded, on the 2nd try); how often its task was asked
    about after the first write failed."""
    server = make_sandbox(**FAST)
    runner = make_runner(clips=sink)
    job = wait_state(runner, run_one(runner, server, "kling-v1-6"), {JobState.DOWNLOADED, JobState.FAILED}, 20)
    assert job.state == JobState.DOWNLOADED and sink.calls == 2, job.error_message
    return len([r for r in server.requests() if r.get("route") == "poll" and r["time"] > sink.failed_at])


def test_a_full_disk_is_known_by_its_type_and_only_the_download_is_tried_again(make_sandbox, make_runner,
                                                                               clips) -> None:
    sink = FlakyDisk(clips, StorageError("could not write the clip: ENOSPC No space left on device"))
    assert polls_after_the_failed_write(make_sandbox, make_runner, sink) == 0  # the clip is still there: fetch again


def test_an_error_merely_named_like_a_storage_error_is_an_invalid_download(make_sandbox, make_runner,
                                                                          clips) -> None:
    sink = FlakyDisk(clips, LookalikeStorageError("bad bytes", kind=ErrorKind.DOWNLOAD_INVALID))
    # An invalid download asks the task again (for a fresh URL) before the next try.
    assert polls_after_the_failed_write(make_sandbox, make_runner, sink) == 1


def test_the_last_lookup_of_an_unclear_submit_is_recorded_on_its_row(make_sandbox, make_runner, fault_proxy) -> None:
    server = make_sandbox(time_scale=0.002, **FAST)
    proxy = fault_proxy(server.port)
    proxy.reset_next_n(1, match=r"^POST ", before_upstream=True)  # nothing reached the provider
    runner = make_runner()
    job_id = run_one(runner, server, "kling-v1-6", base_url=proxy.base_url)
    assert runner.wait_for(lambda: reconcile.lookup_done(runner.ledger.get(job_id)), 20)
    job = runner.ledger.get(job_id)
    assert job.state == JobState.SUBMIT_UNKNOWN
    assert job.raw_status["lookup"] == {"by": "external_task_id", "tries": 4, "done": True}

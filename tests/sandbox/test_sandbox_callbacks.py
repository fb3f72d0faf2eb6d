"""Kling's `callback_url`: the sandbox POSTs the task's status object when it ends, only to loopback, and drops,
delays or duplicates it on request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sandbox_helpers import client, submit_kling

from sandbox.callbacks import loopback
from sandbox.pytest_plugin import wait_until

DONE_SOON = {"render_times": {"kling": (2, 2)}, "time_scale": 0.05}


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                outer.bodies.append(json.loads(self.rfile.read(length)))
                outer.paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/job1?token=s3cret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_a_finished_task_is_called_back_with_its_status_object(make_sandbox, receiver: Receiver):
    srv = make_sandbox(**DONE_SOON)
    with client(srv.base_url) as c:
        task_id = submit_kling(c, callback_url=receiver.url).json()["data"]["task_id"]
    wait_until(lambda: receiver.bodies, timeout=10)
    (body,) = receiver.bodies
    assert body["task_id"] == task_id and body["task_status"] == "succeed"
    assert body["task_result"]["videos"][0]["url"]
    assert receiver.paths == ["/hook/job1?token=s3cret"]
    # The sandbox records a delivery once the receiver has answered it: a moment after the body arrived.
    wait_until(lambda: srv.callbacks(), timeout=10)
    (record,) = srv.callbacks()
    assert (record["outcome"], record["status"], record["path"]) == ("delivered", 204, "/hook/job1")
    assert "s3cret" not in json.dumps(srv.callbacks())  # the sandbox's log keeps no query string


def test_only_loopback_is_called_back(make_sandbox):
    assert loopback("http://127.0.0.1:9/x") and loopback("http://[::1]:9/x") and loopback("https://localhost/x")
    assert not loopback("http://10.0.0.5/x") and not loopback("https://example.com/x")
    assert not loopback("ftp://127.0.0.1/x") and not loopback("not a url")
    srv = make_sandbox(**DONE_SOON)
    with client(srv.base_url) as c:
        answer = submit_kling(c, callback_url="http://203.0.113.9/hook")
    assert answer.status_code == 200  # the task runs; only the call back is refused
    (record,) = srv.callbacks()
    assert record["outcome"] == "refused" and "loopback" in record["note"]


def test_callbacks_can_be_dropped_delayed_and_duplicated(make_sandbox, receiver: Receiver):
    srv = make_sandbox(**DONE_SOON)
    srv.faults.add(route="callback", kind="callback_drop", count=1)
    srv.faults.add(route="callback", kind="callback_delay", count=1, delay_s=10)
    srv.faults.add(route="callback", kind="callback_duplicate", count=1, copies=3)
    with client(srv.base_url) as c:
        for _ in range(3):
            assert submit_kling(c, callback_url=receiver.url).status_code == 200
    wait_until(lambda: len(receiver.bodies) == 4, timeout=15)
    wait_until(lambda: len(srv.callbacks()) >= 6, timeout=10)  # each recorded once its receiver answered
    outcomes = [(r["outcome"], r["fault"]) for r in srv.callbacks()]
    assert outcomes.count(("dropped", "callback_drop")) == 1
    assert outcomes.count(("delayed", "callback_delay")) == 1
    assert outcomes.count(("delivered", "callback_duplicate")) == 3
    assert outcomes.count(("delivered", None)) == 1  # the delayed one, sent once, later


@pytest.mark.parametrize("spec, message", [
    ({"route": "poll", "kind": "callback_drop"}, "route: 'poll' not allowed for kind 'callback_drop'"),
    ({"route": "callback", "kind": "callback_delay", "delay_s": -1}, "delay_s must be"),
    ({"route": "callback", "kind": "callback_duplicate", "copies": 1}, "copies must be"),
    ({"route": "callback", "kind": "http_503"}, "kind: 'http_503' not allowed on route 'callback'; allowed: "),
])
def test_callback_fault_rules_name_what_is_allowed(sandbox, spec: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=message):
        sandbox.faults.add(**spec)


def test_a_callback_url_must_be_a_string(sandbox):
    with client(sandbox.base_url) as c:
        answer = submit_kling(c, callback_url=5)
    assert answer.status_code == 400 and "callback_url" in answer.text

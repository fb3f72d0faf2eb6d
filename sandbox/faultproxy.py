"""A small TCP proxy in front of the sandbox for faults uvicorn can't make: connection resets and silent hangs."""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class _Rule:
    mode: str  # reset | hang
    remaining: int
    pattern: re.Pattern[str] | None
    before_upstream: bool = False  # reset only: drop the request before the app sees it
    fired: int = field(default=0)
    applied: int = field(default=0)
    """Resets actually sent / answers actually withheld (a matched request whose connection died first
    applied nothing)."""


class FaultProxy:
    """`FaultProxy(upstream_port).start()`; point the client at `.base_url`.

    reset_next_n(n, match="POST /v1/videos"): the next n matching requests are forwarded, then the client
    connection is reset (RST) instead of answered; with before_upstream=True the app never sees them.
    hang_next_n(n, match=...): the request is forwarded but the answer is withheld forever.
    applied(mode=None): how many resets were sent / answers withheld (assert it: a rule that never matched
    applies nothing).
    Matching is on the request line ("METHOD /path HTTP/1.1") by regular-expression search.
    """

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host, self.port = host, port
        self._rules: list[_Rule] = []
        self._every_rule: list[_Rule] = []  # used-up ones included, for unapplied()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.seen: list[str] = []  # request lines that passed through, in order
        self._applied: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- configuration (thread-safe) -------------------------------------------------------------------------

    def passthrough(self) -> None:
        with self._lock:
            self._rules.clear()

    def reset_next_n(self, n: int, match: str | None = None, before_upstream: bool = False) -> None:
        self._add(_Rule("reset", n, re.compile(match) if match else None, before_upstream))

    def hang_next_n(self, n: int, match: str | None = None) -> None:
        self._add(_Rule("hang", n, re.compile(match) if match else None))

    def _add(self, rule: _Rule) -> None:
        if rule.remaining < 1:
            raise ValueError(f"n must be >= 1, got {rule.remaining}")
        with self._lock:
            self._rules.append(rule)
            self._every_rule.append(rule)

    def applied(self, mode: str | None = None) -> int:
        """Faults actually applied (a connection reset sent, an answer withheld), by mode or in all: a fault
        test asserts this, so a pattern that never matched cannot pass for a fault the client survived."""
        with self._lock:
            return self._applied.get(mode, 0) if mode is not None else sum(self._applied.values())

    def unapplied(self) -> list[str]:
        """The rules added that never applied once, described (the test fixture fails a test that has any)."""
        with self._lock:
            return [f"{r.mode} /{r.pattern.pattern if r.pattern else ''}/" for r in self._every_rule if not r.applied]

    def _count(self, rule: _Rule) -> None:
        with self._lock:
            rule.applied += 1
            self._applied[rule.mode] = self._applied.get(rule.mode, 0) + 1

    def _decide(self, request_line: str) -> _Rule | None:
        with self._lock:
            self.seen.append(request_line)
            for rule in self._rules:
                if rule.pattern is None or rule.pattern.search(request_line):
                    rule.remaining -= 1
                    rule.fired += 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # ---- lifecycle -----------------------------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> FaultProxy:
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port))
                self.port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:
                errors.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="sandbox-faultproxy", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or errors:
            raise RuntimeError(f"fault proxy failed to start: {errors[0] if errors else 'timeout'}")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            # Finish every connection handler (a hung one included) while the loop still runs, so none is
            # garbage-collected later against a closed loop.
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(timeout=5)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- per connection ------------------------------------------------------------------------------------------

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.transport.abort()
            self._writers.discard(client_w)
            return
        self._writers.add(up_w)
        # What to do with the upstream's next answer on this connection (HTTP/1.1 clients don't pipeline).
        pending: dict[str, _Rule | None] = {"rule": None}
        to_client = asyncio.create_task(self._pump_responses(up_r, client_w, up_w, pending))
        try:
            while True:
                head = await client_r.readuntil(b"\r\n\r\n")
                length = _content_length(head)
                body = await client_r.readexactly(length) if length else b""
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                rule = self._decide(line)
                if rule is not None and rule.mode == "reset" and rule.before_upstream:
                    _reset(client_w)
                    self._count(rule)
                    break
                pending["rule"], pending["withheld"] = rule, None
                up_w.write(head + body)
                await up_w.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            to_client.cancel()
            for w in (client_w, up_w):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump_responses(self, up_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                              up_w: asyncio.StreamWriter, pending: dict[str, _Rule | None]) -> None:
        try:
            while True:
                chunk = await up_r.read(65536)
                if not chunk:
                    client_w.close()
                    return
                rule = pending["rule"]
                if rule is not None and rule.mode == "reset":
                    _reset(client_w)
                    up_w.transport.abort()
                    self._count(rule)
                    return
                if rule is not None and rule.mode == "hang":
                    if not pending.get("withheld"):
                        pending["withheld"] = rule
                        self._count(rule)
                    continue  # swallow the answer; the client waits until it gives up
                client_w.write(chunk)
                await client_w.drain()
        except (ConnectionError, asyncio.CancelledError):
            return


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN, which is what a client sees as 'connection reset by peer'."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

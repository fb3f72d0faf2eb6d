"""The sandbox's HTTP surface: one Starlette app that assembles each dialect's routes (one module per family:
videos.py for Veo and Sora, kling.py, kling_omni.py, runway.py, seedance.py, grok.py; listing.py for
`/api/models`) over what they share here: the task store, the fault table and how faults answer, the signed
download route, the request log middleware and the /_sandbox control routes."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from . import grok, kling, kling_omni, listing, runway, videos, wire
from .callbacks import CallbackSender
from .config import SandboxConfig
from .defects import Defect
from .faults import Fault, FaultRegistry
from .files import UrlSigner, denied, file_response
from .lifecycle import Phase, phase_at
from .looks import variant_for
from .render import ClipCache, ClipSpec
from .requestlog import LogMiddleware, RequestLog
from .store import Task, TaskStore

# Faults that replace the answer; on submit they refuse before a task exists unless params say created=True.
_REPLACING = ("http_429", "http_500", "http_502", "http_503", "http_504", "http_524", "html_error_page",
              "kling_1102", "kling_1303", "error_json", "error_xml")

_HTML_PAGE = """<!DOCTYPE html>
<html><head><title>{status} Bad Gateway | api.cometapi.com | Cloudflare</title></head>
<body><h1>Error {status}</h1><p>Bad gateway. The web server reported a bad gateway error.</p>
<p>Cloudflare Ray ID: {ray}</p></body></html>"""

_S3_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId><HostId>{host}</HostId></Error>"""


class Sandbox:
    """One simulator instance: config, task store, faults, request log and clip cache behind a Starlette app."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = TaskStore(config.data_dir)
        self.faults = FaultRegistry(config.seed)
        self.log = RequestLog()
        self.clips = ClipCache(config.data_dir / "clips")
        self.signer = UrlSigner(self.store.secret())
        self._rng = random.Random(config.seed)
        self._render_draws: dict[str, random.Random] = {}
        self._takes: dict[str, int] = {}  # tasks per model so far: picks the look variant of an unseeded take
        self.inputs_dir = config.data_dir / "inputs"
        self.callbacks = CallbackSender(self.faults, lambda: self.config.time_scale, self._finished_at)
        routes = [
            *grok.routes(self),
            *listing.routes(self),
            *kling_omni.routes(self),  # before the generic /kling/v1/videos/{action} routes
            *videos.routes(self),  # Veo and Sora (Seedance shares /v1/videos: sandbox/seedance.py)
            *kling.routes(self),
            *runway.routes(self),
            Route("/files/{token}.mp4", self.download, methods=["GET", "HEAD"]),
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/config", self.config_route, methods=["GET", "POST"]),
            Route("/_sandbox/faults", self.faults_route, methods=["GET", "POST", "DELETE"]),
            Route("/_sandbox/faults/applied", self.faults_applied, methods=["GET"]),
            Route("/_sandbox/faults/{fault_id:int}", self.fault_delete, methods=["DELETE"]),
            Route("/_sandbox/requests", self.requests_route, methods=["GET", "DELETE"]),
            Route("/_sandbox/callbacks", self.callbacks_route, methods=["GET"]),
        ]
        starlette = Starlette(routes=routes, exception_handlers={HTTPException: self._http_exception})
        self.app: ASGIApp = LogMiddleware(starlette, self.log)

    async def _http_exception(self, request: Request, exc: Exception) -> Response:
        # A wrong path answers with an HTML page, as CometAPI's edge does, not a JSON 404.
        status = getattr(exc, "status_code", 404)
        return HTMLResponse(f"<html><body><h1>{status}</h1><p>Not Found</p></body></html>", status_code=status)

    # ---- helpers -----------------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if header != f"Bearer {self.config.api_key}":
            return wire.envelope(401, "Invalid token")
        return None

    def _base_url(self, request: Request) -> str:
        return self.config.public_base_url or str(request.base_url).rstrip("/")

    def _phase(self, task: Task) -> Phase:
        return phase_at(task, time.time(), self.config.time_scale, self.config.queue_fraction,
                        self.config.progress_curve(task.model, task.family))

    def _url(self, request: Request, task: Task, phase: Phase) -> tuple[str | None, int | None]:
        if phase.state != "succeeded":
            return None, None
        return self.signer.sign(self._base_url(request), task.id, self.config.url_ttl_s)

    def _new_task(self, task_id: str, family: str, model: str, action: str, params: dict[str, Any]) -> Task:
        nth = self._takes.get(model, 0)
        self._takes[model] = nth + 1
        params = {**params, "look_variant": variant_for(params.get("seed"), nth)}
        task = Task(task_id, family, model, action, params, time.time(),
                    self.config.draw_render_time(model, family, self._render_rng(model)),
                    self.faults.take_task_faults(family))
        self.store.add(task)
        return task

    def _finished_at(self, task: Task) -> float | None:
        """Real time the task ends (succeeds or fails); None if it never does (stuck in the queue)."""
        return phase_at(task, 1e18, self.config.time_scale, self.config.queue_fraction).finished_at

    def _arm_callback(self, request: Request, task: Task,
                      status_object: Callable[[Task, Phase, str | None], dict[str, Any]]) -> Task:
        """The submit asked for `callback_url`: send the task's status object there when it ends."""
        url = task.params.get("callback_url")
        if url:
            base = self._base_url(request)

            def body() -> dict[str, Any]:
                phase = self._phase(task)
                signed = self.signer.sign(base, task.id, self.config.url_ttl_s)[0] \
                    if phase.state == "succeeded" else None
                return status_object(task, phase, signed)

            self.callbacks.schedule(task, str(url), body)
        return task

    def _render_rng(self, model: str) -> random.Random:
        """With a seed, one stream of render times per model: the n-th task of a model gets the same render time
        whatever else was submitted in between, so two runs of one workload (a benchmark's two clients) see the
        same draws. Setting the seed again restarts the streams."""
        if self.config.seed is None:
            return self._rng
        if model not in self._render_draws:
            self._render_draws[model] = random.Random(f"{self.config.seed}:{model}")
        return self._render_draws[model]

    def reseed(self) -> None:
        self._render_draws.clear()

    @staticmethod
    def _mark(request: Request, route: str, family: str | None = None, task_id: str | None = None,
              fault: Fault | None = None) -> None:
        request.state.route = route
        if family:
            request.state.family = family
        if task_id:
            request.state.task_id = task_id
        if fault is not None and fault.kind != "pass":
            request.state.fault = fault.kind

    def _fault_response(self, fault: Fault, route: str) -> Response:
        p = fault.params
        if fault.kind == "http_429":
            seconds = p.get("retry_after", 2)
            fmt = p.get("retry_after_format", "seconds")
            headers = {
                "seconds": {"Retry-After": str(seconds)},
                "date": {"Retry-After": formatdate(time.time() + float(seconds), usegmt=True)},
                "ms": {"retry-after-ms": str(int(float(seconds) * 1000))},
                "none": {},
            }[fmt]
            if p.get("body") == "task":
                return wire.task_error(429, "rate_limit", "upstream is overloaded, please try again later", headers)
            return wire.envelope(429, "upstream is overloaded, please try again later", headers=headers)
        if fault.kind.startswith("http_"):
            status = int(fault.kind[5:])
            code = "invalid_request" if p.get("invalid_request") else ""
            return wire.envelope(status, p.get("message", f"upstream error (HTTP {status})"), code=code)
        if fault.kind == "html_error_page":
            status = int(p.get("status", 502))
            return HTMLResponse(_HTML_PAGE.format(status=status, ray=wire.request_id()[-16:]), status_code=status)
        if fault.kind in ("error_json", "error_xml"):
            return self._error_body(fault)
        if fault.kind == "kling_1102":
            return wire.kling_error(429, 1102, "Account balance is in arrears; please recharge")
        if fault.kind == "kling_1303":
            return wire.kling_error(429, 1303, "parallel task over resource pack limit")
        raise ValueError(f"fault kind {fault.kind} does not replace a response")

    @staticmethod
    def _error_body(fault: Fault) -> Response:
        """An error where a clip was expected, under a 200 by default (reliability.md D6): CometAPI's `/content`
        envelope for a video that is not ready, or an S3 error document."""
        p = fault.params
        status = int(p.get("status", 200))
        if fault.kind == "error_json":
            response = wire.envelope(status, p.get("message", "Video is not ready: content is available once status "
                                                              "is completed"), type_="invalid_request_error")
            media_type = "application/json"
        else:
            rid = secrets.token_hex(8).upper()
            body = _S3_ERROR.format(code=p.get("code", "AccessDenied"), message=p.get("message", "Access Denied"),
                                    rid=rid, host=secrets.token_urlsafe(48))
            response = Response(body, status_code=status)
            media_type = "application/xml"
        response.headers["content-type"] = p.get("content_type", media_type)
        return response

    async def _finish(self, fault: Fault | None, response: Response) -> Response:
        """Apply a fault that alters (rather than replaces) a real answer."""
        if fault is None:
            return response
        if fault.kind == "slow":
            await asyncio.sleep(float(fault.params.get("delay_s", 30)))
        elif fault.kind == "malformed_json":
            body = bytes(response.body)
            return Response(body[: max(1, len(body) // 2)], status_code=response.status_code,
                            media_type="application/json")
        elif fault.kind in _REPLACING:
            return self._fault_response(fault, "submit")
        return response

    async def _submit(self, request: Request, family: str, create: Callable[[], Task],
                      answer: Callable[[Task], dict[str, Any]]) -> Response:
        fault = self.faults.take_response_fault("submit", family)
        self._mark(request, "submit", family, fault=fault)
        if fault is not None and fault.kind in _REPLACING and not fault.params.get("created"):
            return self._fault_response(fault, "submit")
        task = await run_in_threadpool(create)
        request.state.task_id = task.id
        return await self._finish(fault, wire.json_response(answer(task)))

    async def _poll(self, request: Request, task: Task | None, family: str | None,
                    answer: Callable[[Task, Phase], dict[str, Any]]) -> Response:
        self._mark(request, "poll", family or (task.family if task else None),
                   task.id if task else request.path_params.get("task_id"))
        if task is None:
            return wire.task_not_exist()
        polls = self.store.count_poll(task)
        not_exist = task.faults.get("task_not_exist")
        if not_exist is not None and polls <= int(not_exist.get("polls", 1)):
            request.state.fault = "task_not_exist"
            return wire.task_not_exist()
        fault = self.faults.take_response_fault("poll", task.family, task.id)
        self._mark(request, "poll", fault=fault)
        if fault is not None and fault.kind in _REPLACING:
            return self._fault_response(fault, "poll")
        return await self._finish(fault, wire.json_response(answer(task, self._phase(task))))

    # ---- files ---------------------------------------------------------------------------------------------

    async def download(self, request: Request) -> Response:
        token = request.path_params["token"]
        self._mark(request, "download", task_id=token)
        refusal = self.signer.check(token, request.query_params.get("expires"), request.query_params.get("sig"))
        if refusal:
            return denied(refusal)
        task = self.store.get(token)
        if task is None or self._phase(task).state != "succeeded":
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", status_code=404, media_type="application/xml")
        self._mark(request, "download", task.family, task.id)
        return await self._serve_clip(request, task, "download")

    def clip_spec(self, task: Task) -> ClipSpec:
        p = task.params
        width, height, seconds = p["width"], p["height"], float(p["render_seconds"])
        ignored = task.faults.get("settings_ignored")
        if ignored is not None:
            # The API still reports what was asked; the file really is smaller and shorter.
            scale_to = 480 if min(width, height) <= 720 else 720
            ratio = scale_to / min(width, height)
            width = int(ignored.get("width") or round(width * ratio / 2) * 2)
            height = int(ignored.get("height") or round(height * ratio / 2) * 2)
            seconds = float(ignored.get("seconds") or max(1, int(seconds) * 5 // 8))
        defect = task.faults.get("defect")
        return ClipSpec(model=task.model, prompt=p.get("prompt") or "", width=width, height=height, seconds=seconds,
                        fps=self.config.fps, audio=bool(p.get("audio")), image_path=p.get("image_path"),
                        variant=int(p.get("look_variant") or 0),
                        defect=Defect.from_params(defect) if defect is not None else None)

    def clip_path(self, task: Task) -> Path:
        if self.config.prerendered_clip is not None:
            return self.config.prerendered_clip
        return self.clips.get(self.clip_spec(task))

    async def _serve_clip(self, request: Request, task: Task, route: str) -> Response:
        fault = self.faults.take_response_fault(route, task.family, task.id)
        self._mark(request, route, fault=fault)
        if fault is not None and fault.kind in _REPLACING:
            return self._fault_response(fault, route)
        path = await run_in_threadpool(self.clip_path, task)
        kind = fault.kind if fault is not None else None
        params = fault.params if fault is not None else {}
        head = request.method == "HEAD"
        if kind == "slow":
            await asyncio.sleep(float(params.get("delay_s", 30)))
        content_type = "video/mp4"
        if kind == "wrong_content_type":
            content_type = params.get("content_type", "text/plain; charset=utf-8")
        truncate = float(params.get("fraction", 0.5)) if kind == "truncated_download" else None
        drip = None
        if kind == "drip" and not head:
            drip = (int(params.get("slice_bytes", 1024)), float(params.get("bytes_per_s", 1024)))
        chunked = float(params.get("fraction", 1.0)) if kind == "chunked" and not head else None
        keep = int(params.get("keep_bytes", 1024)) if kind == "corrupt_clip" else None
        response = file_response(path, request.headers.get("range"), content_type, truncate, drip,
                                 chunked_fraction=chunked, gzip_body=kind == "gzip", corrupt_keep=keep,
                                 if_range=request.headers.get("if-range"))
        if head:
            response.body = b""
            if kind == "chunked":
                del response.headers["content-length"]  # the GET would not say it either
        return response

    # ---- /_sandbox control -------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return wire.json_response({"ok": True})

    async def config_route(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("body must be a JSON object")
                self.config.update(changes)
                if "seed" in changes:
                    self.reseed()
            except (ValueError, TypeError) as exc:
                return wire.json_response({"error": str(exc)}, 400)
        return wire.json_response(self.config.to_json())

    async def faults_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            try:
                spec = await request.json()
                if not isinstance(spec, dict):
                    raise ValueError("body must be a JSON object {route, kind, ...}")
                params = spec.pop("params", {}) or {}
                fault = self.faults.add(**spec, **params)
            except (ValueError, TypeError) as exc:
                return wire.json_response({"error": str(exc)}, 400)
            return wire.json_response(fault.to_json(), 201)
        return wire.json_response([f.to_json() for f in self.faults.list()])

    async def faults_applied(self, request: Request) -> Response:
        by_kind = self.faults.applied_by_kind()
        return wire.json_response({"applied": sum(by_kind.values()), "by_kind": by_kind})

    async def fault_delete(self, request: Request) -> Response:
        found = self.faults.remove(request.path_params["fault_id"])
        return wire.json_response({"deleted": found}, 200 if found else 404)

    async def callbacks_route(self, request: Request) -> Response:
        return wire.json_response(self.callbacks.records())

    async def requests_route(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.log.reset()
            return wire.json_response([])
        return wire.json_response(self.log.all())



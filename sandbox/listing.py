"""`GET /api/models`: CometAPI's public model listing (reference §5, §8), for the video models the sandbox knows.

Public (no key). Each record: `id`, `provider`, `model_type`, `features[]`,
`pricing{currency,input,output,per_request,per_second}`, `api_doc_url`. Prices are the reference's where it
has one (Veo 3.1 $0.05/s, Seedance 2.0 $0.08/s, Sora 2 $0.08/s, Sora 2 Pro $0.24/s), else null. `omni-fast`
(§8 "Omni (beta)") is listed too: a video model the app does not support. Config: `listing_removed` drops
ids, `listing_renamed` lists one under another spelling, `listing_mode` breaks the answer (empty, error,
malformed) to show that a bad listing switches nothing off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import wire
from .grok import RESOLUTIONS as GROK_MODELS
from .seedance import MODELS as SEEDANCE_MODELS
from .validate import KLING_MODELS, RUNWAY_MODELS, SORA_MODELS, VEO_MODELS

if TYPE_CHECKING:
    from .app import Sandbox

DOCS = "https://apidoc.cometapi.com"
PRICES = {"veo3.1": 0.05, "veo3.1-fast": 0.05, "doubao-seedance-2-0": 0.08, "sora-2": 0.08, "sora-2-pro": 0.24}
_PROVIDERS: list[tuple[tuple[str, ...], str, str]] = [
    (VEO_MODELS, "google", "/api/video/veo3"),
    (SORA_MODELS, "openai", "/api/video/sora-2/official/create"),
    (KLING_MODELS + ("kling-video-o1",), "kling", "/api/video/kling/text-to-video"),
    (RUNWAY_MODELS, "runway", "/api/video/runway/official-format/runway-images-raw-video"),
    (tuple(SEEDANCE_MODELS), "doubao", "/api/video/seedance/create"),
    (tuple(GROK_MODELS), "xai", "/api/video/xai/video-generation"),
    (("omni-fast",), "cometapi", "/api/video/omni/create"),
]


def record(model_id: str, provider: str, doc: str) -> dict[str, Any]:
    return {"id": model_id, "provider": provider, "model_type": "video", "features": ["video"],
            "pricing": {"currency": "USD", "input": None, "output": None, "per_request": None,
                        "per_second": PRICES.get(model_id)},
            "api_doc_url": DOCS + doc}


def listing(removed: list[str], renamed: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for ids, provider, doc in _PROVIDERS:
        for model_id in ids:
            if model_id in removed:
                continue
            out.append(record(renamed.get(model_id, model_id), provider, doc))
    return out


def routes(sb: Sandbox) -> list[Route]:
    async def models(request: Request) -> Response:
        sb._mark(request, "listing")
        mode = sb.config.listing_mode
        if mode == "error":
            return wire.envelope(503, "upstream error (HTTP 503)")
        if mode == "malformed":
            return Response("<html><body>maintenance</body></html>", media_type="text/html")
        data = [] if mode == "empty" else listing(sb.config.listing_removed, sb.config.listing_renamed)
        return wire.json_response({"success": True, "data": data})

    return [Route("/api/models", models, methods=["GET"])]

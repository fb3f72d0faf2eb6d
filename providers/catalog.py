"""The model catalog: catalog.json read into frozen specs, so capabilities and prices are data, not code."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.errors import ValidationError
from providers.families import register_family
from providers.price_rules import (  # noqa: F401 - re-exported: callers import them from here
    PRICE_KINDS,
    CatalogError,
    PriceRow,
    PriceRule,
    parse_price as _price,
    price_rule_from_dict,
    price_rule_to_dict,
)

CATALOG_PATH = Path(__file__).with_name("catalog.json")

MODES = ("t2v", "i2v", "flf")
"""text-to-video, image-to-video (first frame), first + last frame."""


@dataclass(frozen=True)
class FamilySpec:
    """What the engine and the mapping need to know about one wire family, as data (catalog.json `families`).

    The family's code (its parsers, its request body, where its clip may be fetched) lives in its adapter
    module, named by `adapter`: a module of providers/families, or any importable dotted path.
    """

    name: str
    adapter: str
    first_poll_s: float = 10.0
    """Provider seconds before the first poll: soon enough to catch an instant rejection."""
    min_interval_s: float = 2.0
    """The provider's floor between two polls of one task; no hint or ETA goes below it."""
    progress_hints: bool = True
    """The provider reports progress while rendering (the schedule extrapolates it); else the catalog prior."""
    request_id_field: str | None = None
    """The body field our job id is sent in, documented as usable to look the task up: an unclear submit is
    then settled by polling that id instead of asking the user."""
    last_frame_alone: bool = False
    """A last frame without a first one is a valid first+last request."""
    image_sets_aspect: str | None = None
    """When set, image-to-video follows the input image's shape: the aspect ratio is not sent (the note says why)."""
    absent_option_notes: tuple[tuple[str, str], ...] = ()
    """Why an option is missing on this family's models, added to the "has no option" error."""
    resolution_equivalents: tuple[tuple[tuple[int, int], frozenset[tuple[int, int]]], ...] = ()
    """A requested pixel size -> the sizes the provider delivers for it (documented), honoured when probed."""
    callback: bool = False
    """The family's own submit route (one with no model routes, e.g. Kling's extend) documents `callback_url`."""
    source: str = ""

    def absent_note(self, option: str) -> str:
        return dict(self.absent_option_notes).get(option, "")

    def equivalents(self, size: tuple[int, int]) -> frozenset[tuple[int, int]]:
        return dict(self.resolution_equivalents).get(size, frozenset())


def default_family(name: str) -> FamilySpec:
    """The rules of a family no catalog describes (a caller asking about a name it made up)."""
    return FamilySpec(name=name, adapter="")


@dataclass(frozen=True)
class Route:
    submit: str
    poll: str
    """Template with {task_id}."""
    callback: bool = False
    """The route documents `callback_url`: a worker with a public URL asks to be told when the task ends (a hint
    to poll at once; the status endpoint stays the source of truth)."""


@dataclass(frozen=True)
class DurationRule:
    allowed: tuple[int, ...]
    default: int
    approximate_within_s: int
    """A requested duration this close to an allowed one is approximated; further away it is an error."""
    wire_field: str | None
    """None: the route has no duration field (veo3-fast renders a fixed length)."""
    source: str

    def nearest(self, seconds: float) -> int:
        # Ties go to the longer clip: users rarely mind an extra second, often mind a missing one.
        return min(self.allowed, key=lambda a: (abs(a - seconds), -a))


@dataclass(frozen=True)
class NumberRange:
    min: float
    max: float
    default: float | None = None


@dataclass(frozen=True)
class ModeRule:
    allowed: tuple[str, ...]
    default: str


@dataclass(frozen=True)
class ChoiceRule:
    """A documented set of values with no documented default: nothing is sent unless the user picks one."""

    allowed: tuple[str, ...]
    default: str | None


@dataclass(frozen=True)
class CameraControlRule:
    kinds: tuple[str, ...]
    modes: tuple[str, ...]
    durations: tuple[int, ...]
    source: str

    def describe(self, model_id: str) -> str:
        return f"{model_id} in {'/'.join(self.modes)} mode at {'/'.join(map(str, self.durations))} s"


@dataclass(frozen=True)
class Params:
    negative_prompt: bool
    cfg_scale: NumberRange | None
    seed: NumberRange | None
    watermark: bool
    mode: ModeRule | None
    flf_modes: tuple[str, ...] | None
    """Modes in which first+last frame works (None: any)."""
    camera_control: CameraControlRule | None
    resolution: ChoiceRule | None = None
    """A resolution sent apart from the aspect ratio (Seedance, Grok: 480p / 720p / 1080p)."""


@dataclass(frozen=True)
class Limits:
    prompt_max: int
    negative_prompt_max: int | None
    source: str


@dataclass(frozen=True)
class ImageRules:
    mimes: tuple[str, ...]
    max_bytes: int
    min_side: int
    min_aspect: float
    max_aspect: float
    urls: bool
    """Whether the route accepts an https URL instead of bytes."""
    upload_as: str
    """"file" (multipart), "raw_base64" (Kling) or "data_uri" (Runway)."""
    fit_to_size: bool
    """Centre-crop the upload to the requested size before sending (Sora)."""
    source: str


@dataclass(frozen=True)
class RenderPrior:
    p50_s: float
    p90_s: float
    first_poll_after_s: float
    deadline_s: float
    source: str


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str
    since: str


@dataclass(frozen=True)
class ModelSpec:
    id: str
    family: str
    display_name: str
    wire_model: str
    encoding: str
    """"multipart" (Veo, Sora) or "json" (Kling, Runway)."""
    routes: tuple[tuple[str, Route], ...]
    content_path: str | None
    headers: tuple[tuple[str, str], ...]
    modes: tuple[str, ...]
    durations: DurationRule
    aspect_ratios: tuple[tuple[str, str], ...]
    """Canonical ratio ("16:9") -> the model's spelling ("1280x720", "1280:720", "16x9", "16:9")."""
    default_ratio: str
    sizes: tuple[tuple[str, tuple[int, int] | None], ...]
    """The model's size spelling -> pixels (None where the resolution is undocumented)."""
    size_option: bool
    """Whether the user may pick an exact size (e.g. 1920x1080) beyond the ratio default."""
    ratio_notes: tuple[tuple[str, str], ...]
    audio: bool
    params: Params
    limits: Limits
    images: ImageRules
    price: PriceRule
    render: RenderPrior
    availability: Availability
    card_note: str = ""
    """A caveat the model's card states (e.g. which Veo tier an alias buys is unclear)."""
    aliases: tuple[str, ...] = ()
    """Other documented spellings of this model (a resolved provider id), for matching CometAPI's listing."""

    def route(self, mode: str) -> Route:
        return dict(self.routes)[mode]

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)

    def ratio_map(self) -> dict[str, str]:
        return dict(self.aspect_ratios)

    def size_px(self, wire_size: str | None) -> tuple[int, int] | None:
        return dict(self.sizes).get(wire_size or "")

    def ratio_note(self, ratio: str) -> str:
        return dict(self.ratio_notes).get(ratio, "")

    def option_names(self) -> tuple[str, ...]:
        """The per-model extras (ModelOptions keys) this model understands."""
        p = self.params
        names = [
            ("mode", p.mode is not None),
            ("cfg_scale", p.cfg_scale is not None),
            ("camera_control", p.camera_control is not None),
            ("watermark", p.watermark),
            ("size", self.size_option),
            ("resolution", p.resolution is not None),
            ("image_fit", self.images.fit_to_size),
        ]
        return tuple(n for n, present in names if present)


@dataclass(frozen=True)
class Catalog:
    _models: tuple[ModelSpec, ...]
    source_path: str = ""
    _families: tuple[FamilySpec, ...] = ()

    def families(self) -> tuple[FamilySpec, ...]:
        return self._families

    def family(self, name: str) -> FamilySpec:
        for f in self._families:
            if f.name == name:
                return f
        return default_family(name)

    def models(self) -> tuple[ModelSpec, ...]:
        return self._models

    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self._models)

    def available(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self._models if m.availability.available)

    def get(self, model_id: str) -> ModelSpec:
        for m in self._models:
            if m.id == model_id:
                return m
        allowed = ", ".join(self.ids())
        raise ValidationError("model", f"unknown model {model_id!r}", allowed=allowed, model=model_id)


def load_catalog(path: str | Path | None = None, overrides: dict[str, dict[str, Any]] | None = None) -> Catalog:
    """Read catalog.json; `overrides` ({model_id: {"available": True, "price": {...}}}) come from Settings."""
    p = Path(path) if path is not None else CATALOG_PATH
    raw = json.loads(p.read_text(encoding="utf-8"))
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{p}: 'models' must be a non-empty list")
    families = _families(raw.get("families"), p)
    entries = [_apply_override(e, (overrides or {}).get(e.get("id", ""))) for e in entries]
    known = {e.get("id") for e in entries}
    for model_id in overrides or {}:
        if model_id not in known:
            raise ValidationError("model", f"override for unknown model {model_id!r}",
                                  allowed=", ".join(sorted(str(k) for k in known)), model=model_id)
    specs = tuple(_spec(e, families) for e in entries)
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise CatalogError(f"{p}: duplicate model ids")
    for family in families:
        register_family(family)  # the client finds a family's parsers by name, whichever catalog named it
    return Catalog(specs, str(p), families)


def _size(text: str, where: str) -> tuple[int, int]:
    w, sep, h = str(text).partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise CatalogError(f"catalog: {where}: size {text!r} is not WIDTHxHEIGHT")
    return int(w), int(h)


def _families(raw: Any, p: Path) -> tuple[FamilySpec, ...]:
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{p}: 'families' must be a non-empty object")
    out = []
    for name, f in raw.items():
        w = f"family {name}"
        if not isinstance(f, dict):
            raise CatalogError(f"catalog: {w}: must be an object")
        seen_as = f.get("resolution_equivalents") or {}
        equivalents = tuple((_size(k, w), frozenset(_size(v, w) for v in vs)) for k, vs in seen_as.items())
        out.append(FamilySpec(
            name=str(name), adapter=str(_req(f, "adapter", w)), first_poll_s=float(f.get("first_poll_s", 10.0)),
            min_interval_s=float(f.get("min_interval_s", 2.0)), progress_hints=bool(f.get("progress_hints", True)),
            request_id_field=f.get("request_id_field"), last_frame_alone=bool(f.get("last_frame_alone")),
            image_sets_aspect=f.get("image_sets_aspect"),
            absent_option_notes=tuple((f.get("absent_option_notes") or {}).items()),
            resolution_equivalents=equivalents, callback=bool(f.get("callback")), source=str(f.get("source", ""))))
    return tuple(out)


def _apply_override(entry: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    if not override:
        return entry
    merged = copy.deepcopy(entry)
    for key, value in override.items():
        if key == "available":
            merged["availability"] = {**merged.get("availability", {}), "available": bool(value)}
        elif key == "price" and isinstance(value, dict) and "kind" in value:
            merged["price"] = dict(value)  # a new rule replaces the old one whole: kinds don't mix
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _req(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise CatalogError(f"catalog: {where}: missing {key!r}")
    return d[key]


def _range(d: dict[str, Any] | None) -> NumberRange | None:
    if d is None:
        return None
    return NumberRange(float(d["min"]), float(d["max"]), None if d.get("default") is None else float(d["default"]))


def _spec(e: dict[str, Any], families: tuple[FamilySpec, ...]) -> ModelSpec:
    mid = str(_req(e, "id", "model"))
    w = f"model {mid}"
    family = _req(e, "family", w)
    names = tuple(f.name for f in families)
    if family not in names:
        raise CatalogError(f"catalog: {w}: family {family!r} not in {names}")
    modes = tuple(_req(e, "modes", w))
    routes = tuple((k, Route(v["submit"], v["poll"], bool(v.get("callback"))))
                   for k, v in _req(e, "routes", w).items())
    if bad := [m for m in modes if m not in MODES or m not in dict(routes)]:
        raise CatalogError(f"catalog: {w}: modes {bad} lack a route or are not in {MODES}")
    d = _req(e, "durations", w)
    durations = DurationRule(tuple(int(x) for x in d["allowed"]), int(d["default"]),
                             int(d.get("approximate_within_s", 0)), d.get("wire_field"), d.get("source", ""))
    if durations.default not in durations.allowed:
        raise CatalogError(f"catalog: {w}: default duration not allowed")
    pr = _req(e, "params", w)
    cc = pr.get("camera_control")
    mode = pr.get("mode")
    params = Params(
        negative_prompt=bool(pr.get("negative_prompt")),
        cfg_scale=_range(pr.get("cfg_scale")),
        seed=_range(pr.get("seed")),
        watermark=bool(pr.get("watermark")),
        mode=ModeRule(tuple(mode["allowed"]), mode["default"]) if mode else None,
        flf_modes=tuple(pr["flf_modes"]) if pr.get("flf_modes") else None,
        camera_control=CameraControlRule(tuple(cc["kinds"]), tuple(cc["modes"]),
                                         tuple(int(x) for x in cc["durations"]), cc.get("source", ""))
        if cc else None,
        resolution=ChoiceRule(tuple(res["allowed"]), res.get("default")) if (res := pr.get("resolution")) else None,
    )
    lim = _req(e, "limits", w)
    im = _req(e, "images", w)
    ratios = _req(e, "aspect_ratios", w)
    if e.get("default_ratio") not in ratios:
        raise CatalogError(f"catalog: {w}: default_ratio not among aspect_ratios")
    return ModelSpec(
        id=mid,
        family=family,
        display_name=e.get("display_name", mid),
        wire_model=e.get("wire_model", mid),
        encoding=_req(e, "encoding", w),
        routes=routes,
        content_path=e.get("content_path"),
        headers=tuple((e.get("headers") or {}).items()),
        modes=modes,
        durations=durations,
        aspect_ratios=tuple(ratios.items()),
        default_ratio=e["default_ratio"],
        sizes=tuple((k, tuple(v) if v else None) for k, v in (e.get("sizes") or {}).items()),  # type: ignore[misc]
        size_option=bool(e.get("size_option")),
        ratio_notes=tuple((e.get("ratio_notes") or {}).items()),
        audio=bool(e.get("audio")),
        params=params,
        limits=Limits(int(lim["prompt_max"]), lim.get("negative_prompt_max"), lim.get("source", "")),
        images=ImageRules(tuple(im["mimes"]), int(im["max_bytes"]), int(im["min_side"]), float(im["min_aspect"]),
                          float(im["max_aspect"]), bool(im.get("urls")), im["upload_as"],
                          bool(im.get("fit_to_size")), im.get("source", "")),
        price=_price(_req(e, "price", w), w),
        render=RenderPrior(**{k: _req(e, "render", w)[k] for k in
                              ("p50_s", "p90_s", "first_poll_after_s", "deadline_s", "source")}),
        availability=Availability(bool(e["availability"]["available"]), e["availability"].get("reason", ""),
                                  e["availability"].get("since", "")),
        card_note=str(e.get("card_note") or ""),
        aliases=tuple(str(a) for a in e.get("aliases") or ()),
    )

"""Recipe -> one model's exact wire request, with a field-by-field mapping report and every error at once."""
#
# Approximation policy (data in catalog.json, `durations.approximate_within_s`): a duration within 1 s of
# an allowed one is approximated where the catalog allows it (7 s -> 8 s), because the clip is nearly what
# was asked and the price moves by one second's worth. Models that only offer 5 or 10 s billed per task
# have no approximation: a silent jump to 10 s would double the clip and its price, so there it is an error
# ("duration 7 s: ... allows 5 or 10"). A model with a single fixed length always takes it, reported.
# A last frame sent to a model without first+last support is dropped and reported, not an error, so one
# recipe can fan out to every model; a missing first frame for an image-only model is an error.
# What differs by family is data (catalog.json `families`) or the family's adapter module (its request body).
#
# Error fields are the recipe's field names ("prompt", "first_frame", ...; "duration" for duration_s)
# and the ModelOptions keys ("mode", "cfg_scale", "camera_control", "size", "watermark", "image_fit").

from __future__ import annotations

import math
from typing import Any

from providers import families, pricing
from providers.camera import CAMERA_AXES, CAMERA_PRESETS, camera_wire
from providers.catalog import Catalog, ModelSpec
from providers.errors import DailiesError, ErrorKind, ValidationError, ValidationErrors
from providers.families.wire import WireParts
from providers.mapping_images import map_frames
from providers.recipe import ModelOptions, Recipe
from providers.submission import MappingAction as A, MappingLine, Submission, WireFile, WireRequest

__all__ = ["CAMERA_AXES", "CAMERA_PRESETS", "prepare", "validate"]


def validate(recipe: Recipe, spec: ModelSpec, options: ModelOptions | None = None) -> list[ValidationError]:
    """Every field error for this recipe on this model, without building anything for the wire."""
    return _Plan(recipe, spec, options or ModelOptions()).errors


def prepare(
    recipe: Recipe,
    model_id: str,
    options: ModelOptions | None,
    catalog: Catalog,
    *,
    request_id: str | None = None,
) -> Submission:
    """The exact request for one model, or ValidationErrors listing every bad field (before any HTTP)."""
    try:
        spec = catalog.get(model_id)
    except ValidationError as e:
        raise ValidationErrors([e]) from None
    if not spec.availability.available:
        raise DailiesError(
            f"{spec.display_name} ({spec.id}) is switched off: {spec.availability.reason} "
            f"(since {spec.availability.since}). It can be switched back on in Settings.",
            kind=ErrorKind.MODEL_UNAVAILABLE,
        )
    plan = _Plan(recipe, spec, options or ModelOptions(), request_id)
    if plan.errors:
        raise ValidationErrors(plan.errors)
    return plan.submission()


def _or(values: Any) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _ratio_of(w: int, h: int) -> str:
    g = math.gcd(w, h)
    return f"{w // g}:{h // g}"


class _Plan:
    """Walks the recipe once: collects errors, report lines and the wire fields together."""

    def __init__(self, recipe: Recipe, spec: ModelSpec, options: ModelOptions, request_id: str | None = None):
        self.r, self.s, self.request_id = recipe, spec, request_id
        self.fam = families.rules(spec.family)
        self.opts = options.to_dict()
        self.name = spec.display_name
        self.errors: list[ValidationError] = []
        self.lines: list[MappingLine] = []
        self.files: list[WireFile] = []
        self.images_wire: dict[str, str] = {}
        self.kind = "t2v"
        self.duration = spec.durations.default
        self.wire_size: str | None = None
        self.ratio_wire: str | None = None
        self.mode: str | None = spec.params.mode.default if spec.params.mode else None
        self.extras: dict[str, Any] = {}
        self._run()

    # -- helpers ---------------------------------------------------------------------------------------

    def err(self, field: str, message: str, allowed: str) -> None:
        self.errors.append(ValidationError(field, message, allowed=allowed, model=self.s.id))

    def line(self, field: str, action: A, requested: Any, sent: Any, note: str = "") -> None:
        self.lines.append(MappingLine(field, action, requested, sent, note))

    def _run(self) -> None:
        self._check_option_names()
        self._mode_option()
        self._kind()
        self.line("model", A.SENT, self.s.id, self.s.wire_model)
        self._prompt()
        self._negative_prompt()
        self._duration()
        self._size_and_ratio()
        self._seed()
        self._images()
        self._resolution()
        self._cfg_scale()
        self._camera_control()
        self._watermark()
        if self.fam.request_id_field and self.request_id:
            self.line("request_id", A.SENT, self.request_id, self.request_id, f"as {self.fam.request_id_field}")

    # -- recipe fields ---------------------------------------------------------------------------------

    def _check_option_names(self) -> None:
        allowed = self.s.option_names()
        for key in self.opts:
            if key not in allowed:
                why = self.fam.absent_note(key)
                msg = f"{key}: {self.name} has no {key} option" + (f" ({why})" if why else "")
                self.err(key, msg, ", ".join(allowed) or "no extra options")

    def _mode_option(self) -> None:
        rule = self.s.params.mode
        if rule is None:
            return
        given = self.opts.get("mode")
        if given is None:
            self.line("mode", A.DEFAULTED, None, rule.default)
        elif given in rule.allowed:
            self.mode = given
            self.line("mode", A.SENT, given, given)
        else:
            self.err("mode", f"mode {given!r}: {self.name} allows {_or(rule.allowed)}", _or(rule.allowed))

    def _kind(self) -> None:
        first, last, modes = self.r.first_frame, self.r.last_frame, self.s.modes
        if first is None and last is None:
            if "t2v" in modes:
                self.kind = "t2v"
            else:
                self.err("first_frame", f"first_frame: {self.name} is image-to-video only and needs a first frame",
                         "a PNG, JPEG or WebP upload, or an https:// URL")
                self.kind = modes[0]
            return
        if "i2v" not in modes and "flf" not in modes:
            self.kind = "t2v"  # a text-only model: the frames are dropped and reported (see _images)
            return
        if first is None:
            # Some families document an end frame alone ("at least one of image and image_tail"); others need a start.
            if self.fam.last_frame_alone and "flf" in modes:
                self.kind = "flf"
            else:
                self.err("first_frame", f"first_frame: {self.name} needs a first frame when a last frame is given",
                         "a first frame, or no last frame")
                self.kind = "i2v"
        else:
            self.kind = "flf" if last is not None and "flf" in modes else "i2v"
        flf_modes = self.s.params.flf_modes
        if self.kind == "flf" and flf_modes and self.mode not in flf_modes:
            self.err("last_frame", f"last_frame: {self.name} takes an end frame only in {_or(flf_modes)} mode",
                     f"mode {_or(flf_modes)}, or no last frame")

    def _prompt(self) -> None:
        text = self.r.prompt.strip()
        limit = self.s.limits.prompt_max
        if not text:
            self.err("prompt", "prompt is empty", f"1-{limit} characters")
        elif len(text) > limit:
            self.err("prompt", f"prompt is {len(text)} characters: {self.name} allows at most {limit}",
                     f"at most {limit}")
        else:
            self.line("prompt", A.SENT, self.r.prompt, text)
        self.prompt = text

    def _negative_prompt(self) -> None:
        neg = self.r.negative_prompt.strip()
        self.negative = ""
        if not neg:
            self.line("negative_prompt", A.DEFAULTED, "", None, "none given")
        elif not self.s.params.negative_prompt:
            self.line("negative_prompt", A.DROPPED, neg, None, f"{self.name} has no negative prompt")
        elif (limit := self.s.limits.negative_prompt_max) is not None and len(neg) > limit:
            self.err("negative_prompt", f"negative_prompt is {len(neg)} characters: {self.name} allows at most {limit}",
                     f"at most {limit}")
        else:
            self.negative = neg
            self.line("negative_prompt", A.SENT, neg, neg)

    def _duration(self) -> None:
        rule = self.s.durations
        asked = self.r.duration_s
        wire = None if rule.wire_field is None else str(rule.default)
        if asked is None:
            self.duration = rule.default
            self.line("duration", A.DEFAULTED, None, wire, f"{rule.default} s (model default)")
            return
        if isinstance(asked, bool) or not isinstance(asked, int | float) or asked <= 0:
            self.err("duration", f"duration {asked!r}: {self.name} allows {_or(rule.allowed)}", _or(rule.allowed))
            return
        fixed_note = "" if rule.wire_field else f"{self.name} renders a fixed {rule.default} s; no field is sent"
        if asked in rule.allowed:
            self.duration = int(asked)
            self.line("duration", A.SENT, asked, None if rule.wire_field is None else str(int(asked)), fixed_note)
            return
        nearest = rule.nearest(asked)
        if len(rule.allowed) == 1 or abs(nearest - asked) <= rule.approximate_within_s:
            self.duration = nearest
            note = fixed_note or f"{asked:g} s -> {nearest} s, the nearest length {self.name} offers"
            self.line("duration", A.APPROXIMATED, asked, None if rule.wire_field is None else str(nearest), note)
            return
        self.err("duration", f"duration {asked:g} s: {self.name} allows {_or(rule.allowed)}", _or(rule.allowed))

    def _size_and_ratio(self) -> None:
        s = self.s
        ratios = s.ratio_map()
        asked = (self.r.aspect_ratio or "").replace(" ", "") or None
        size_opt = self.opts.get("size")
        if self.fam.image_sets_aspect and self.kind != "t2v":
            if asked:
                self.line("aspect_ratio", A.DROPPED, asked, None, self.fam.image_sets_aspect)
            else:
                self.line("aspect_ratio", A.DEFAULTED, None, None, self.fam.image_sets_aspect)
            return
        if size_opt is not None and s.size_option:
            sizes = [k for k, _ in s.sizes]
            if size_opt not in sizes:
                self.err("size", f"size {size_opt}: {self.name} allows {_or(sizes)}", _or(sizes))
                return
            px = s.size_px(size_opt)
            size_ratio = _ratio_of(*px) if px else None
            if asked and size_ratio and asked != size_ratio:
                self.err("size", f"size {size_opt} is {size_ratio}, not the requested aspect_ratio {asked}",
                         _or(k for k, v in s.sizes if v and _ratio_of(*v) == asked) or _or(sizes))
                return
            self.wire_size = size_opt
            self.line("size", A.SENT, size_opt, size_opt)
            self.line("aspect_ratio", A.CONVERTED if asked else A.DEFAULTED, asked, size_opt,
                      f"the size option {size_opt} sets the frame")
            return
        if s.size_option:
            self.line("size", A.DEFAULTED, None, None, "from aspect_ratio")
        if asked is None:
            ratio = s.default_ratio
            self.wire_size = ratios[ratio]
            self.line("aspect_ratio", A.DEFAULTED, None, self.wire_size, f"{ratio} (model default)")
            return
        if asked not in ratios:
            self.err("aspect_ratio", f"aspect_ratio {asked}: {self.name} allows {_or(ratios)}", _or(ratios))
            return
        self.wire_size = ratios[asked]
        action = A.SENT if self.wire_size == asked else A.CONVERTED
        self.line("aspect_ratio", action, asked, self.wire_size, s.ratio_note(asked))

    def _seed(self) -> None:
        seed, rule = self.r.seed, self.s.params.seed
        if seed is None:
            self.line("seed", A.DEFAULTED, None, None, "random")
        elif rule is None:
            self.line("seed", A.DROPPED, seed, None, f"{self.name} has no seed parameter")
        elif isinstance(seed, bool) or not isinstance(seed, int) or not rule.min <= seed <= rule.max:
            rng = f"{int(rule.min)}-{int(rule.max)}"
            self.err("seed", f"seed {seed}: {self.name} allows {rng}", rng)
        else:
            self.extras["seed"] = seed
            self.line("seed", A.SENT, seed, seed)

    # -- images ----------------------------------------------------------------------------------------

    def _images(self) -> None:
        frames = map_frames(self.r, self.s, kind=self.kind, wire_size=self.wire_size,
                            image_fit=self.opts.get("image_fit", "crop"))
        self.errors.extend(frames.errors)
        self.lines.extend(frames.lines)
        self.files.extend(frames.files)
        self.images_wire.update(frames.wire)

    # -- model options ---------------------------------------------------------------------------------

    def _resolution(self) -> None:
        rule = self.s.params.resolution
        if rule is None:
            return
        given = self.opts.get("resolution")
        if given is None:
            # No documented default: send nothing and let the provider choose, rather than guess one.
            self.line("resolution", A.DEFAULTED, None, rule.default, rule.default or "provider default; not sent")
            if rule.default:
                self.extras["resolution"] = rule.default
        elif given in rule.allowed:
            self.extras["resolution"] = given
            self.line("resolution", A.SENT, given, given)
        else:
            self.err("resolution", f"resolution {given!r}: {self.name} allows {_or(rule.allowed)}", _or(rule.allowed))

    def _cfg_scale(self) -> None:
        rule = self.s.params.cfg_scale
        if rule is None:
            return
        given = self.opts.get("cfg_scale")
        if given is None:
            self.line("cfg_scale", A.DEFAULTED, None, None, f"provider default {rule.default:g}")
        elif isinstance(given, bool) or not isinstance(given, int | float) or not rule.min <= given <= rule.max:
            rng = f"{rule.min:g}-{rule.max:g}"
            self.err("cfg_scale", f"cfg_scale {given}: {self.name} allows {rng}", rng)
        else:
            self.extras["cfg_scale"] = float(given)
            self.line("cfg_scale", A.SENT, given, float(given))

    def _camera_control(self) -> None:
        given = self.opts.get("camera_control")
        rule = self.s.params.camera_control
        if given is None:
            if rule is not None:
                self.line("camera_control", A.DEFAULTED, None, None, "none")
            return
        if rule is None:
            return  # already reported by the option-name check
        # One message per field (the form shows one), so stop at the most specific problem.
        where = rule.describe(self.s.id)
        if self.r.last_frame is not None:
            self.err("camera_control", "camera_control cannot be combined with an end frame (last_frame)",
                     "camera control or a last frame, not both")
        elif self.kind not in rule.kinds:
            self.err("camera_control", f"camera_control: not available for {self.kind} on {self.name}", where)
        elif self.mode not in rule.modes:
            self.err("camera_control", f"camera_control: not available in {self.mode} mode on {self.name}", where)
        elif self.duration not in rule.durations:
            self.err("camera_control", f"camera_control: not available at {self.duration} s on {self.name}", where)
        elif (wire := self._camera_wire(given)) is not None:
            self.extras["camera_control"] = wire
            self.line("camera_control", A.SENT, given, wire)

    def _camera_wire(self, given: Any) -> dict[str, Any] | None:
        wire, problem = camera_wire(given)
        if problem is not None:
            self.err("camera_control", *problem)
        return wire

    def _watermark(self) -> None:
        if not self.s.params.watermark:
            return
        given = self.opts.get("watermark")
        if given is None:
            self.line("watermark", A.DEFAULTED, None, None, "provider default")
        elif not isinstance(given, bool):
            self.err("watermark", f"watermark {given!r}: allowed true or false", "true or false")
        else:
            self.extras["watermark"] = given
            self.line("watermark", A.SENT, given, given)

    # -- output ----------------------------------------------------------------------------------------

    def _request(self, route_submit: str) -> WireRequest:
        parts = WireParts(spec=self.s, route_submit=route_submit, kind=self.kind, prompt=self.prompt,
                          negative_prompt=self.negative, duration=self.duration, wire_size=self.wire_size,
                          mode=self.mode, images=dict(self.images_wire), files=tuple(self.files),
                          extras=dict(self.extras),
                          request_id=self.request_id if self.fam.request_id_field else None,
                          request_id_field=self.fam.request_id_field)
        return families.module_for(self.s.family).build_request(parts)  # type: ignore[no-any-return]

    def submission(self) -> Submission:
        route = self.s.route(self.kind)
        cost = pricing.estimate(self.s, self.duration, self.wire_size, self.mode)
        return Submission(
            model_id=self.s.id,
            family=self.s.family,
            recipe=self.r,
            options=ModelOptions.from_dict(self.opts),
            request=self._request(route.submit),
            poll_path_template=route.poll,
            content_path_template=self.s.content_path,
            report=tuple(self.lines),
            cost=cost,
            requested_duration_s=float(self.duration),
            requested_size=self.s.size_px(self.wire_size),
            has_audio=self.s.audio,
            callback=route.callback,
        )

"""Property tests: whatever bytes or JSON arrive, parsers raise only the project's typed errors, and
documented samples with irrelevant fields added or changed still parse to the same state."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from providers.errors import DailiesError
from providers.families import grok, kling, kling_extend, kling_omni, openai_videos, runway, seedance
from providers.status import TaskStatus

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
Parser = Callable[[int, Mapping[str, str], bytes], TaskStatus]

PARSERS: list[Parser] = [openai_videos.parse_submit, openai_videos.parse_poll, kling.parse_submit, kling.parse_poll,
                         runway.parse_submit, runway.parse_poll, seedance.parse_submit, seedance.parse_poll,
                         grok.parse_submit, grok.parse_poll, kling_omni.parse_submit, kling_omni.parse_poll,
                         kling_extend.parse_submit, kling_extend.parse_poll]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# 22 samples x 2 properties: fewer examples each keeps the file fast while every sample is covered.
PER_SAMPLE = settings(SETTINGS, max_examples=50)

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20) | st.floats() | st.text(
    max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
status_codes = st.sampled_from([200, 201, 202, 204, 301, 400, 401, 403, 404, 408, 413, 425, 429, 500, 502, 503, 524])
# Keys the parsers read, so random objects actually hit the interesting branches.
KNOWN_KEYS = ["id", "task_id", "status", "progress", "video_url", "output", "url", "metadata", "error", "code",
              "message", "data", "task_status", "task_status_msg", "task_result", "videos", "failure", "failureCode",
              "result_url", "fail_reason", "created_at", "completed_at", "expires_at", "createdAt", "submit_time",
              "finish_time", "updated_at", "result", "request_id", "video"]
shaped = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=6),
    max_leaves=30,
)

SAMPLES = {
    "veo/submit_gen_a.json": openai_videos, "veo/poll_gen_a_queued.json": openai_videos,
    "veo/completed_cdoc.json": openai_videos, "videos/generic_submit.json": openai_videos,
    "videos/generic_completed.json": openai_videos, "videos/legacy_succeeded_output.json": openai_videos,
    "sora/create.json": openai_videos, "sora/retrieve_in_progress.json": openai_videos,
    "kling/submit_cdoc.json": kling, "kling/poll_processing.json": kling, "kling/success_reconstructed.json": kling,
    "runway/poll_wrapped_queued.json": runway, "runway/poll_bare_succeeded.json": runway,
    "seedance/create_reconstructed.json": seedance, "seedance/query_in_progress_reconstructed.json": seedance,
    "seedance/query_success_reconstructed.json": seedance,
    "grok/submit.json": grok, "grok/poll_wrapped_done.json": grok, "grok/poll_bare_done_reconstructed.json": grok,
    "kling_omni/query_native_processing.json": kling_omni,
    "kling_omni/query_wrapped_success_reconstructed.json": kling_omni,
    "kling_extend/submit_reconstructed.json": kling_extend,
}
# Fields whose value decides the parsed state; everything else is "irrelevant" to it.
RELEVANT = {"status", "task_status", "videos", "code", "data", "id", "task_id", "error", "object", "task_result",
            "output", "video_url", "url", "metadata", "fail_reason", "result_url", "result", "failure", "failureCode",
            "request_id", "video"}


def _only_typed_errors(parse: Parser, status: int, body: bytes) -> None:
    try:
        result = parse(status, {}, body)
    except DailiesError:
        return
    assert isinstance(result, TaskStatus)
    assert result.progress is None or 0 <= result.progress <= 100


@pytest.mark.parametrize("parse", PARSERS)
@SETTINGS
@given(status=status_codes, body=st.binary(max_size=200))
def test_random_bytes(parse: Parser, status: int, body: bytes) -> None:
    _only_typed_errors(parse, status, body)


@pytest.mark.parametrize("parse", PARSERS)
@SETTINGS
@given(status=status_codes, value=json_values | shaped)
def test_random_json(parse: Parser, status: int, value: Any) -> None:
    _only_typed_errors(parse, status, json.dumps(value).encode())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    if isinstance(doc, dict):
        return {**doc, path[0]: _set(doc.get(path[0]), path[1:], value)}
    if isinstance(doc, list):
        copy = list(doc)
        copy[path[0]] = _set(copy[path[0]], path[1:], value)
        return copy
    return doc


@pytest.mark.parametrize("sample", sorted(SAMPLES))
@PER_SAMPLE
@given(data=st.data())
def test_documented_samples_survive_mutation(sample: str, data: st.DataObject) -> None:
    """Up to four edits to a real sample: replace any value, or add a key the parsers read, anywhere."""
    doc = json.loads((WIRE / sample).read_bytes())
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        paths = _paths(doc)
        objects = [p for p in [(), *paths] if isinstance(_get(doc, p), dict)]
        if paths and data.draw(st.booleans(), label="replace"):
            path = data.draw(st.sampled_from(paths), label="path")
        else:
            where = data.draw(st.sampled_from(objects), label="object")
            path = (*where, data.draw(st.sampled_from(KNOWN_KEYS), label="key"))
        doc = _set(doc, path, data.draw(json_values, label="value"))
    status = data.draw(st.sampled_from([200, 200, 200, 201, 400, 429, 500]), label="status")
    for parse in (SAMPLES[sample].parse_submit, SAMPLES[sample].parse_poll):
        _only_typed_errors(parse, status, json.dumps(doc).encode())


@pytest.mark.parametrize("sample", sorted(SAMPLES))
@PER_SAMPLE
@given(data=st.data(), extra_key=st.text(min_size=1, max_size=12), extra=json_values)
def test_irrelevant_fields_do_not_change_the_state(sample: str, data: st.DataObject, extra_key: str,
                                                   extra: Any) -> None:
    doc = json.loads((WIRE / sample).read_bytes())
    parse = SAMPLES[sample].parse_poll
    expected = parse(200, {}, json.dumps(doc).encode())
    # Add a new field to some object in the sample, or change a field the state does not depend on.
    objects = [p for p in [(), *_paths(doc)] if isinstance(_get(doc, p), dict)]
    where = data.draw(st.sampled_from(objects), label="object")
    if extra_key in RELEVANT or extra_key in _get(doc, where):
        changeable = [k for k in _get(doc, where) if k not in RELEVANT]
        if not changeable:
            return
        extra_key = data.draw(st.sampled_from(changeable), label="changed field")
    changed = _set(doc, (*where, extra_key), extra)
    got = parse(200, {}, json.dumps(changed).encode())
    assert (got.task_id, got.state, got.video_url) == (expected.task_id, expected.state, expected.video_url)


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc

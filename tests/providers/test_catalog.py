"""The catalog: every model present, every price sourced and dated, Sora shipped off but switchable on."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from providers.catalog import CATALOG_PATH, CatalogError, load_catalog
from providers.errors import ValidationError

EXPECTED_IDS = {"veo3-fast", "veo3.1-fast", "veo3.1", "sora-2", "sora-2-pro", "kling-v1-6", "kling-v2-1-master",
                "gen3a_turbo", "gen4_turbo",
                # reference §8: only the documented ids, none from memory
                "doubao-seedance-2-0", "doubao-seedance-2-0-fast", "doubao-seedance-1-5-pro", "doubao-seedance-1-0-pro",
                "grok-imagine-video", "grok-imagine-video-1.5", "kling-video-o1"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_every_offered_model_is_in_the_catalog(catalog):
    assert set(catalog.ids()) == EXPECTED_IDS
    assert {m.family for m in catalog.models()} == {"veo", "sora", "kling", "runway", "seedance", "grok",
                                                   "kling_omni"}


def test_every_price_has_a_source_and_a_date(catalog):
    for m in catalog.models():
        assert m.price.source.strip(), m.id
        assert DATE.match(m.price.as_of), (m.id, m.price.as_of)


def test_every_model_states_why_it_is_or_is_not_available(catalog):
    for m in catalog.models():
        assert m.availability.reason.strip(), m.id
        assert DATE.match(m.availability.since), m.id


def test_sora_ships_switched_off_with_the_shutdown_reason(catalog):
    for model_id in ("sora-2", "sora-2-pro"):
        a = catalog.get(model_id).availability
        assert a.available is False
        assert "2026-09-24" in a.reason and "Sora" in a.reason
    assert {m.id for m in catalog.available()} == EXPECTED_IDS - {"sora-2", "sora-2-pro"}


def test_settings_override_switches_sora_back_on_and_replaces_a_price():
    cat = load_catalog(overrides={
        "sora-2": {"available": True},
        "kling-v1-6": {"price": {"kind": "per_task", "usd": 0.5, "source": "our invoice", "as_of": "2026-11-01"}},
    })
    assert cat.get("sora-2").availability.available is True
    assert cat.get("sora-2-pro").availability.available is False
    price = cat.get("kling-v1-6").price
    assert (price.kind, price.usd, price.source) == ("per_task", 0.5, "our invoice")
    assert cat.get("kling-v2-1-master").price.kind == "range"  # untouched


def test_override_for_an_unknown_model_is_refused():
    with pytest.raises(ValidationError) as e:
        load_catalog(overrides={"sora-3": {"available": True}})
    assert e.value.field == "model" and "sora-2" in e.value.message


def test_unknown_model_names_the_allowed_ids(catalog):
    with pytest.raises(ValidationError) as e:
        catalog.get("veo4")
    assert e.value.field == "model"
    for model_id in EXPECTED_IDS:
        assert model_id in e.value.message


def test_capabilities_are_per_model_not_per_family(catalog):
    fast, v31 = catalog.get("veo3-fast"), catalog.get("veo3.1")
    assert fast.durations.allowed == (8,) and fast.durations.wire_field is None
    assert fast.ratio_map()["16:9"] == "16x9" and "flf" in fast.modes
    assert v31.durations.allowed == (4, 6, 8) and v31.ratio_map()["16:9"] == "1280x720" and "flf" not in v31.modes
    assert catalog.get("kling-v1-6").params.cfg_scale is not None
    assert catalog.get("kling-v2-1-master").params.cfg_scale is None
    assert catalog.get("kling-v1-6").params.camera_control is not None
    assert catalog.get("kling-v2-1-master").params.camera_control is None
    assert catalog.get("gen4_turbo").ratio_map()["16:9"] == "1280:720"
    assert catalog.get("gen3a_turbo").ratio_map()["16:9"] == "1280:768"
    assert catalog.get("gen4_turbo").modes == ("i2v",)
    assert catalog.get("gen4_turbo").header_dict() == {"X-Runway-Version": "2024-11-06"}
    assert all(m.audio for m in catalog.models() if m.family in ("veo", "sora"))
    assert not any(m.audio for m in catalog.models() if m.family in ("kling", "runway"))


def test_render_priors_are_ordered(catalog):
    for m in catalog.models():
        r = m.render
        assert 0 < r.first_poll_after_s < r.p50_s <= r.p90_s < r.deadline_s, m.id


def test_specs_are_frozen(catalog):
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.get("veo3.1").audio = False  # type: ignore[misc]


def test_the_data_file_is_editable_without_code(tmp_path):
    raw = json.loads(CATALOG_PATH.read_text())
    for m in raw["models"]:
        if m["id"] == "gen3a_turbo":
            m["price"]["usd"] = 0.4
        if m["id"] == "sora-2":
            m["availability"]["available"] = True
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw))
    cat = load_catalog(path)
    assert cat.get("gen3a_turbo").price.usd == 0.4
    assert cat.get("sora-2").availability.available is True


def test_a_price_without_a_source_is_refused(tmp_path):
    raw = json.loads(CATALOG_PATH.read_text())
    raw["models"][0]["price"]["source"] = ""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(CatalogError, match="source"):
        load_catalog(path)

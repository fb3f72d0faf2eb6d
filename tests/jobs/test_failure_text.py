"""The failure message: one sentence of what happened, the charge from the taxonomy ("no — sandbox" there), advice."""

from __future__ import annotations

from jobs.failure_text import NO_REASON, failure_text
from jobs.form_rules import SEED, TAKES, NumberRule, duration_rule
from jobs.ledger import Job, JobState
from providers.catalog import Catalog


def _job(**fields: object) -> Job:
    base: dict = {"id": "j1", "run_id": "r1", "take": 0, "model_id": "kling-v1-6", "family": "kling",
                  "backend": "live", "base_url": "https://api.cometapi.com", "key_fingerprint": None,
                  "recipe_json": "{}", "state": JobState.FAILED}
    return Job(**{**base, **fields})  # type: ignore[arg-type]


def test_a_message_equal_to_the_title_is_said_once_with_what_it_means() -> None:
    text = failure_text(_job(error_kind="content_policy", error_message="Blocked by content policy"))
    assert text.what.lower().count("blocked by content policy") == 1
    assert "no message" not in text.markdown() and NO_REASON not in text.what


def test_no_message_says_so_once_and_suggests_the_filter() -> None:
    text = failure_text(_job(error_kind="content_policy", error_message=None))
    assert text.what == f"Blocked by content policy: {NO_REASON}."


def test_the_providers_reason_is_kept_verbatim() -> None:
    text = failure_text(_job(error_kind="task_failed", error_message="face detected in the first frame"))
    assert text.what == "Generation failed: face detected in the first frame."


def test_sandbox_is_never_charged_and_live_uses_the_taxonomy_or_the_engines_verdict() -> None:
    assert failure_text(_job(backend="sandbox", error_kind="timeout")).charged == "no — sandbox"
    live = failure_text(_job(error_kind="timeout", error_message="took too long"))
    assert live.charged.startswith("likely (")  # KIND_INFO[TIMEOUT]
    assert failure_text(_job(error_kind="content_policy", charged="no")).charged == "no"
    assert failure_text(_job(error_kind="auth", error_message="bad key")).charged.startswith("no")


def test_attention_states_explain_themselves_and_say_what_to_do() -> None:
    text = failure_text(_job(state=JobState.SUBMIT_UNKNOWN, error_kind=None, error_message=None))
    assert "console" in text.advice and text.what.startswith("Maybe sent: ")


def test_number_rules_name_the_field_and_the_range(catalog: Catalog) -> None:
    duration = duration_rule(catalog)
    assert (duration.low, duration.high) == (1, 15)  # Seedance 2.0 and Grok render up to 15 s, the longest
    assert duration.check(999) == "Duration: 999 s is out of range (allowed: 1 s to 15 s)."
    assert duration.check(None) is None and duration.check(8) is None
    assert TAKES.check(50) == "Takes per model: 50 is out of range (allowed: 1 to 4)."
    assert TAKES.check(0) is not None and TAKES.check(4) is None
    assert SEED.check(-1) is not None and SEED.check(4_294_967_295) is None
    assert NumberRule("Takes", 1, 4).check(2.5) == "Takes: 2.5 is not a whole number (allowed: 1 to 4)."

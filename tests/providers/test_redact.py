"""Secrets stay out of messages and logs: bearer tokens, sk- keys, the configured key, signed-URL queries."""

from __future__ import annotations

import logging

import pytest

from providers.errors import ErrorKind
from providers.redact import RedactingFilter, get_logger, redact, register_secret
from providers.taxonomy import error_from, verdict


@pytest.mark.parametrize(
    ("text", "secret"),
    [("Authorization: Bearer abc.def-123", "abc.def-123"),
     ("bearer sk-live-0123456789", "sk-live-0123456789"),
     ("key sk-proj_AbCdEf012345 rejected", "sk-proj_AbCdEf012345"),
     ("GET https://cdn.example/v.mp4?X-Amz-Signature=deadbeef&X-Amz-Expires=3600 failed", "deadbeef"),
     ("see https://storage.googleapis.com/b/o.mp4?X-Goog-Signature=c0ffee", "c0ffee"),
     ("{'authorization': 'Token plain-secret-value'}", "plain-secret-value")],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "<redacted>" in cleaned


def test_urls_keep_scheme_host_and_path() -> None:
    cleaned = redact("fetch https://cdn.example/a/b.mp4?token=xyz done")
    assert cleaned == "fetch https://cdn.example/a/b.mp4?<redacted> done"
    assert redact("plain https://cdn.example/a.mp4 stays") == "plain https://cdn.example/a.mp4 stays"


def test_configured_key_is_removed_even_without_the_sk_prefix() -> None:
    register_secret("cmt-ZZZ-odd-format-key-42")
    assert "cmt-ZZZ-odd-format-key-42" not in redact("the key cmt-ZZZ-odd-format-key-42 was refused")


def test_ordinary_text_is_untouched() -> None:
    text = "duration 7 s: Kling allows 5 or 10 (HTTP 400, code 1201)"
    assert redact(text) == text


def test_provider_errors_are_redacted() -> None:
    err = error_from(verdict(ErrorKind.AUTH), "bad key sk-leaky-0123456789 for https://x.example/p?sig=1",
                     status_code=401)
    assert "sk-leaky" not in str(err)
    assert "sig=1" not in str(err)


def test_log_filter_redacts_message_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    log = get_logger("providers.test_redact")
    caplog.set_level(logging.DEBUG, logger="providers.test_redact")
    log.info("sending with %s to %s", "Bearer sk-args-0123456789", "https://cdn.example/v.mp4?sig=topsecret")
    try:
        raise RuntimeError("boom sk-trace-0123456789")
    except RuntimeError:
        log.exception("failed")
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "sk-args" not in text and "topsecret" not in text and "sk-trace" not in text
    assert "sending with Bearer <redacted>" in text


def test_filter_can_be_put_on_any_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key=%s", ("sk-handler-0123456789",), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "key=sk-<redacted>"

"""Keep API keys and signed-URL tokens out of every log line and error message providers/ produces."""

from __future__ import annotations

import logging
import re
import threading

_SECRETS: set[str] = set()
_LOCK = threading.Lock()

_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s'\",;]+")
_SK_KEY = re.compile(r"\bsk-[A-Za-z0-9_\-]{4,}")
# Signed URLs carry their token in the query string (X-Amz-Signature, X-Goog-Signature, token=...).
_URL_QUERY = re.compile(r"((?:https?|wss?)://[^\s?#'\"<>]+)\?[^\s#'\"<>]*")
_AUTH_HEADER = re.compile(r"(?i)(['\"]?authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+")

REDACTED = "<redacted>"


def register_secret(secret: str) -> None:
    """Remember a configured key so it is scrubbed even if it does not look like `sk-...`."""
    secret = secret.strip()
    # Very short strings would scrub ordinary words out of messages; such keys fail auth anyway.
    if len(secret) >= 6:
        with _LOCK:
            _SECRETS.add(secret)


def redact(text: str) -> str:
    """Remove bearer tokens, sk- keys, configured keys and URL query strings from `text`."""
    if not text:
        return text
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SK_KEY.sub("sk-" + REDACTED, text)
    text = _URL_QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    return text


def strip_query(url: str) -> str:
    """The URL without its query string or fragment: safe to store and to show."""
    return redact(url.split("#", 1)[0])


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and exception text) through `redact` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_FILTER = RedactingFilter()


def install(logger: logging.Logger) -> logging.Logger:
    """Attach the shared redacting filter to `logger` (idempotent) and return it."""
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def get_logger(name: str) -> logging.Logger:
    """A logger for providers/ whose records are always redacted."""
    return install(logging.getLogger(name))

"""The project's typed errors, written down once.

    DailiesError                      every error this project raises on purpose
    ├── ValidationError               bad input, caught before any HTTP call (one field)
    │   └── ValidationErrors          several field errors at once
    ├── ProviderError                 the provider answered with an error, or nothing usable
    │   ├── TransientError            worth retrying later (429, 5xx, network, task_not_exist)
    │   │   └── TaskNotFoundYet       `task_not_exist` on a poll: the task row is not there yet
    │   └── MalformedResponse         HTML, truncated or unexpected JSON (keeps the raw status)
    └── SubmitUnknown                 the POST may have reached the provider: reconcile, never resend

Each error carries a `kind` the UI explains in plain words, whether the user was charged,
and what to do. The per-kind defaults live in `KIND_INFO`; the mapping from provider statuses
and codes onto kinds lives in `providers/taxonomy.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    VALIDATION = "validation"
    AUTH = "auth"
    BILLING = "billing"
    RATE_LIMITED = "rate_limited"
    CONTENT_POLICY = "content_policy"
    PROVIDER_OUTAGE = "provider_outage"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"
    MALFORMED_RESPONSE = "malformed_response"
    URL_EXPIRED = "url_expired"
    DOWNLOAD_INVALID = "download_invalid"
    MODEL_UNAVAILABLE = "model_unavailable"
    SUBMIT_UNKNOWN = "submit_unknown"
    TASK_FAILED = "task_failed"


class Charged(StrEnum):
    YES = "yes"
    LIKELY = "likely"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KindInfo:
    title: str
    charged: Charged
    charged_reason: str
    advice: str


KIND_INFO: dict[ErrorKind, KindInfo] = {
    ErrorKind.VALIDATION: KindInfo(
        "Invalid request", Charged.NO, "rejected before any task was created",
        "Fix the field named in the message and try again."),
    ErrorKind.AUTH: KindInfo(
        "API key rejected", Charged.NO, "the provider refused the request",
        "Check the key in Settings (no spaces or line breaks)."),
    ErrorKind.BILLING: KindInfo(
        "Account cannot pay", Charged.NO, "the provider refused to start the task",
        "Top up the CometAPI balance or resource pack; retrying will not help."),
    ErrorKind.RATE_LIMITED: KindInfo(
        "Rate limited", Charged.NO, "the request was refused before a task was created",
        "The job waits in the local queue and is sent again automatically."),
    ErrorKind.CONTENT_POLICY: KindInfo(
        "Blocked by content policy", Charged.UNKNOWN,
        "providers differ: input refusals are usually free, output refusals after a render may be billed",
        "Rephrase the prompt or change the image; a failure with no message is usually a content filter."),
    ErrorKind.PROVIDER_OUTAGE: KindInfo(
        "Provider error", Charged.UNKNOWN, "the task failed on the provider's side",
        "Try again later, or send the same recipe to another model."),
    ErrorKind.TIMEOUT: KindInfo(
        "Took too long", Charged.LIKELY, "the task was accepted and may still finish and be billed",
        "The job stays resumable; switch to a faster model if this keeps happening."),
    ErrorKind.NOT_FOUND: KindInfo(
        "Task not found", Charged.UNKNOWN, "the provider no longer knows this task id",
        "Check the base URL and key; the task id is kept in History."),
    ErrorKind.MALFORMED_RESPONSE: KindInfo(
        "Unreadable answer", Charged.UNKNOWN, "the provider's answer could not be read",
        "Usually a proxy or outage page; the request is retried where that is safe."),
    ErrorKind.URL_EXPIRED: KindInfo(
        "Result link expired", Charged.YES, "the clip was rendered and billed",
        "A fresh link is requested from the provider automatically."),
    ErrorKind.DOWNLOAD_INVALID: KindInfo(
        "Download was not a valid MP4", Charged.YES, "the clip was rendered and billed",
        "The download is retried; nothing broken is kept."),
    ErrorKind.MODEL_UNAVAILABLE: KindInfo(
        "Model unavailable", Charged.NO, "nothing was sent",
        "Pick another model; the catalog says why this one is off."),
    ErrorKind.SUBMIT_UNKNOWN: KindInfo(
        "Submit outcome unknown", Charged.UNKNOWN,
        "the request may have reached the provider before the connection failed",
        "Check the provider's console before re-running; the app never resends on its own."),
    ErrorKind.TASK_FAILED: KindInfo(
        "Generation failed", Charged.UNKNOWN, "the provider reported a failed task",
        "Read the provider's message; rephrase or try another model."),
}


class DailiesError(Exception):
    """Base of every error this project raises on purpose."""

    kind: ErrorKind = ErrorKind.PROVIDER_OUTAGE

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind | None = None,
        charged: Charged | None = None,
        charged_reason: str | None = None,
        advice: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        info = KIND_INFO[self.kind]
        self.charged = charged or info.charged
        self.charged_reason = charged_reason or info.charged_reason
        self.advice = advice or info.advice

    @property
    def title(self) -> str:
        return KIND_INFO[self.kind].title


class ValidationError(DailiesError):
    """One bad field. The message names the field and the allowed values."""

    kind = ErrorKind.VALIDATION

    def __init__(self, field: str, message: str, *, allowed: str | None = None, model: str | None = None) -> None:
        self.field = field
        self.allowed = allowed
        self.model = model
        text = message if allowed is None or allowed in message else f"{message} (allowed: {allowed})"
        super().__init__(f"{field}: {text}" if not text.startswith(field) else text)


class ValidationErrors(DailiesError):
    """Several field errors found at once, so the form can show each next to its field."""

    kind = ErrorKind.VALIDATION

    def __init__(self, errors: list[ValidationError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))

    def by_field(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}


class ProviderError(DailiesError):
    """The provider answered with an error. Keeps the raw HTTP status and provider code."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status_code: int | None = None,
        provider_code: str | None = None,
        retry_after_s: float | None = None,
        charged: Charged | None = None,
        charged_reason: str | None = None,
        advice: str | None = None,
    ) -> None:
        super().__init__(message, kind=kind, charged=charged, charged_reason=charged_reason, advice=advice)
        self.status_code = status_code
        self.provider_code = provider_code
        self.retry_after_s = retry_after_s


class TransientError(ProviderError):
    """Worth trying again later: the job is not failed by this."""


class TaskNotFoundYet(TransientError):
    """`task_not_exist` on a poll: new-api has not stored the task row yet."""


class MalformedResponse(ProviderError):
    """The body was not the JSON we expected. Never a KeyError or TypeError."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, kind=ErrorKind.MALFORMED_RESPONSE, status_code=status_code)


class SubmitUnknown(DailiesError):
    """A submit POST failed after it may have reached the server. Never resend blindly."""

    kind = ErrorKind.SUBMIT_UNKNOWN

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

"""Every provider status string and error code mapped onto TaskState and ErrorKind, written down once.

The family adapters only pull values out of their dialect; what a value *means* (terminal or not,
retry or not, charged or not, what to tell the user) is decided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from providers.errors import KIND_INFO, Charged, ErrorKind, ProviderError, TaskNotFoundYet, TransientError
from providers.redact import get_logger, redact
from providers.status import TaskState

log = get_logger(__name__)

# ---------------------------------------------------------------------------------------------
# Task statuses
# ---------------------------------------------------------------------------------------------

# Lower-cased. Sources: /v1/videos (queued/in_progress/completed/failed/error), the tutorial
# (succeeded), new-api's tolerant Sora table and internal TaskDto vocabulary (NOT_START, SUBMITTED,
# QUEUED, IN_PROGRESS, SUCCESS, FAILURE, UNKNOWN), new-api's simple format (processing), Kling
# (submitted, processing, succeed, failed), Runway (PENDING, THROTTLED, RUNNING, SUCCEEDED, FAILED,
# CANCELLED).
STATUS_TABLE: dict[str, TaskState] = {
    **dict.fromkeys(
        ["queued", "pending", "submitted", "not_start", "preparing", "unknown", "created", "starting",
         "throttled", "waiting", "in_queue"],
        TaskState.QUEUED,
    ),
    **dict.fromkeys(["processing", "in_progress", "running", "generating", "rendering"], TaskState.RUNNING),
    **dict.fromkeys(["completed", "complete", "success", "succeeded", "succeed", "finished", "done"],
                    TaskState.SUCCEEDED),
    **dict.fromkeys(["failed", "failure", "fail", "error", "errored", "nsfw", "rejected"], TaskState.FAILED),
    **dict.fromkeys(["cancelled", "canceled", "cancel", "aborted"], TaskState.CANCELED),
}

# Unknown strings: new-api's converter turns "unknown" into "queued"; we keep them apart as UNKNOWN, which the
# engine treats as still queued, so that a renamed status keeps the job polling (bounded by the job deadline)
# instead of failing it.
UNKNOWN_STATUS_STATE = TaskState.UNKNOWN
_unknown_seen: set[str] = set()


def task_state(raw: object) -> TaskState | None:
    """Map a provider status value onto TaskState. None when there is no status at all."""
    if raw is None or isinstance(raw, bool):
        return None
    if not isinstance(raw, str):
        raw = str(raw)
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    if not key:
        return None
    state = STATUS_TABLE.get(key)
    if state is None:
        if key not in _unknown_seen and len(_unknown_seen) < 256:
            _unknown_seen.add(key)
            log.warning("unknown task status %r: treated as %s, polling continues", key[:40], UNKNOWN_STATUS_STATE)
        return UNKNOWN_STATUS_STATE
    return state


# ---------------------------------------------------------------------------------------------
# Verdicts: kind + retry + charged + advice
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    kind: ErrorKind
    retryable: bool
    """Worth sending the same request again later (the job is not failed by it)."""
    charged: Charged
    charged_reason: str
    advice: str


def verdict(kind: ErrorKind, *, retryable: bool = False, charged: Charged | None = None,
            charged_reason: str | None = None, advice: str | None = None) -> Verdict:
    info = KIND_INFO[kind]
    return Verdict(kind, retryable, charged or info.charged, charged_reason or info.charged_reason,
                   advice or info.advice)


RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504, 524})

_MODERATION = re.compile(
    r"moderation|content.?polic|safety|nsfw|inappropriate|sensitive|prohibited|violat|blocked|"
    r"copyright|celebrity|public figure|违规|敏感|审核",
    re.IGNORECASE,
)
_BILLING = re.compile(r"insufficient|quota|balance|arrear|余额|额度|credits? (exhausted|insufficient)",
                      re.IGNORECASE)
_MODEL = re.compile(r"model.{0,40}(not (found|exist|available|supported)|unavailable|no available channel)|"
                    r"无可用渠道|no available channel", re.IGNORECASE)

# new-api / CometAPI string codes (task routes and the OpenAI-style envelope).
_CODE_TABLE: dict[str, Verdict] = {
    "invalid_request": verdict(ErrorKind.VALIDATION),
    "invalid_request_error": verdict(ErrorKind.VALIDATION),
    "invalid_api_key": verdict(ErrorKind.AUTH),
    "unauthorized": verdict(ErrorKind.AUTH),
    "insufficient_user_quota": verdict(ErrorKind.BILLING),
    "insufficient_quota": verdict(ErrorKind.BILLING),
    "pre_consume_token_quota_failed": verdict(ErrorKind.BILLING),
    "model_not_found": verdict(ErrorKind.MODEL_UNAVAILABLE),
    "model_price_error": verdict(ErrorKind.MODEL_UNAVAILABLE),
    "get_task_failed": verdict(ErrorKind.PROVIDER_OUTAGE, retryable=True),
    "rate_limit_exceeded": verdict(ErrorKind.RATE_LIMITED, retryable=True),
    "moderation_blocked": verdict(ErrorKind.CONTENT_POLICY),
    "content_policy_violation": verdict(ErrorKind.CONTENT_POLICY),
    "callback_url_empty": verdict(ErrorKind.VALIDATION),
}

TASK_NOT_EXIST = "task_not_exist"

_REFUSED_CONTENT = verdict(ErrorKind.CONTENT_POLICY, charged=Charged.NO,
                           charged_reason="refused before a task was created")


def verdict_for_http(status_code: int, code: str | None = None, message: str | None = None) -> Verdict:
    """An error answer (HTTP status + optional provider code + message) from CometAPI / new-api."""
    code_key = (code or "").strip().lower()
    # A 500 carrying invalid_request is a malformed request, not an outage (CometAPI error table).
    if code_key in _CODE_TABLE:
        found = _CODE_TABLE[code_key]
        if status_code == 429 and found.kind is ErrorKind.PROVIDER_OUTAGE:
            return verdict(ErrorKind.RATE_LIMITED, retryable=True)
        return found
    text = message or ""
    if status_code == 429:
        if _BILLING.search(text):
            return verdict(ErrorKind.BILLING)
        return verdict(ErrorKind.RATE_LIMITED, retryable=True)
    if status_code in (401,):
        return verdict(ErrorKind.AUTH)
    if status_code == 402:
        return verdict(ErrorKind.BILLING)
    if status_code == 403:
        if _BILLING.search(text):
            return verdict(ErrorKind.BILLING)
        if _MODERATION.search(text):
            return _REFUSED_CONTENT
        return verdict(ErrorKind.AUTH,
                       advice="The key is blocked or not allowed to use this model; check the CometAPI console.")
    if status_code == 404:
        if _MODEL.search(text):
            return verdict(ErrorKind.MODEL_UNAVAILABLE)
        return verdict(ErrorKind.NOT_FOUND)
    if status_code == 408:
        return verdict(ErrorKind.TIMEOUT, retryable=True, charged=Charged.NO, charged_reason="the request timed out")
    if 300 <= status_code < 400:
        return verdict(ErrorKind.NOT_FOUND, advice="The base URL redirected: check it (https://api.cometapi.com).")
    if 400 <= status_code < 500:
        if _MODERATION.search(text):
            return _REFUSED_CONTENT
        if _MODEL.search(text):
            return verdict(ErrorKind.MODEL_UNAVAILABLE)
        if status_code == 425:
            return verdict(ErrorKind.RATE_LIMITED, retryable=True)
        return verdict(ErrorKind.VALIDATION)
    if status_code >= 500:
        return verdict(ErrorKind.PROVIDER_OUTAGE, retryable=True)
    return verdict(ErrorKind.MALFORMED_RESPONSE)


def verdict_for_kling(code: int, status_code: int, message: str | None = None) -> Verdict:
    """Kling's native `code` (official Kling error table; CometAPI passes it through, probably)."""
    if 1000 <= code <= 1004 or code in (1103, 1304):
        return verdict(ErrorKind.AUTH)
    if 1100 <= code <= 1102:
        return verdict(ErrorKind.BILLING, advice="Kling account in arrears or resource pack exhausted: top up; "
                                                 "retrying will not help.")
    if 1200 <= code <= 1299:
        return verdict(ErrorKind.VALIDATION)
    if code in (1300, 1301):
        return verdict(ErrorKind.CONTENT_POLICY, charged=Charged.NO, charged_reason="Kling refused the request")
    if code in (1302, 1303):
        return verdict(ErrorKind.RATE_LIMITED, retryable=True)
    if 5000 <= code <= 5999:
        return verdict(ErrorKind.PROVIDER_OUTAGE, retryable=True)
    return verdict_for_http(status_code if status_code >= 400 else 400, None, message)


_NO_MESSAGE = verdict(
    ErrorKind.CONTENT_POLICY,
    charged_reason="the task failed without any message, which is usually a content filter",
    advice="Rephrase the prompt or change the image: a failure with no message is usually a content filter.",
)


def verdict_for_task_failure(message: str | None, code: str | None = None) -> Verdict:
    """A task that reached a failed state (Sora `error`, Kling `task_status_msg`, Runway `failure(Code)`)."""
    code_u = (code or "").strip().upper()
    if code_u.startswith(("SAFETY", "INPUT_PREPROCESSING.SAFETY")):
        return verdict(ErrorKind.CONTENT_POLICY, advice="Runway's safety check refused the input or output: "
                                                        "change the prompt or image; retrying as-is will not help.")
    if code_u.startswith("INTERNAL.BAD_OUTPUT"):
        return verdict(ErrorKind.PROVIDER_OUTAGE, retryable=True,
                       advice="Runway produced a bad output: you may retry, but it is unlikely to succeed unchanged.")
    if code_u.startswith("INTERNAL") or ".INTERNAL" in code_u:
        return verdict(ErrorKind.PROVIDER_OUTAGE, retryable=True)
    if code_u.startswith(("ASSET.INVALID", "INPUT_PREPROCESSING")):
        return verdict(ErrorKind.VALIDATION, charged=Charged.NO, charged_reason="the input was rejected")
    if code and code.strip().lower() in _CODE_TABLE:
        return _CODE_TABLE[code.strip().lower()]
    text = (message or "").strip()
    if not text and not code_u:
        return _NO_MESSAGE
    if _MODERATION.search(text) or _MODERATION.search(code or ""):
        return verdict(ErrorKind.CONTENT_POLICY)
    if _BILLING.search(text):
        return verdict(ErrorKind.BILLING)
    if re.search(r"time.?out|timed out|超时", text, re.IGNORECASE):
        return verdict(ErrorKind.TIMEOUT)
    return verdict(ErrorKind.TASK_FAILED)


def error_from(v: Verdict, message: str, *, status_code: int | None, provider_code: str | None = None,
               retry_after_s: float | None = None) -> ProviderError:
    """Build the typed exception for a verdict; its message is redacted."""
    if provider_code == TASK_NOT_EXIST:
        return TaskNotFoundYet(redact(message), kind=ErrorKind.NOT_FOUND, status_code=status_code,
                               provider_code=provider_code, retry_after_s=retry_after_s,
                               advice="The task was just created; the next poll usually finds it.")
    cls = TransientError if v.retryable else ProviderError
    return cls(redact(message), kind=v.kind, status_code=status_code, provider_code=provider_code,
               retry_after_s=retry_after_s, charged=v.charged, charged_reason=v.charged_reason, advice=v.advice)

"""One clear failure message per take: what happened (one sentence), whether it was charged, what to do.

The charge comes from the taxonomy (`providers.errors.KIND_INFO`, or the verdict the engine stored on the
job); in the sandbox nothing is ever charged, so it says "no — sandbox" instead of a live guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs import vocabulary
from jobs.ledger import Job, JobState
from providers.errors import KIND_INFO, ErrorKind

NO_REASON = "the provider gave no reason, which usually means a content filter"
SAME_AS_TITLE = {
    ErrorKind.CONTENT_POLICY: "the provider's filter refused the prompt or the image",
}
ADVICE = {
    # The taxonomy's advice for these kinds mentions the no-message case; say it only when it applies.
    ErrorKind.CONTENT_POLICY: "Rephrase the prompt or change the image, then retry.",
}
STATE_ADVICE = {
    JobState.STALE: "Resume it from History, or try another model.",
    JobState.SUBMIT_UNKNOWN: "Look for this prompt in your CometAPI console before re-running.",
    JobState.EXPIRED: "Re-run the take if you need the clip.",
}


@dataclass(frozen=True)
class FailureText:
    what: str
    """One sentence: the kind of failure and the provider's reason (never repeated)."""
    charged: str
    """"no — sandbox", or yes / likely / no / unknown with the taxonomy's reason."""
    advice: str

    def markdown(self) -> str:
        return f"{self.what}  \nCharged: **{self.charged}**. {self.advice}".strip()


def _kind(job: Job) -> ErrorKind | None:
    return ErrorKind(job.error_kind) if job.error_kind in ErrorKind._value2member_map_ else None


def _sentence(title: str, message: str, kind: ErrorKind | None) -> str:
    """"Title: reason." with a message that only repeats the title replaced by what it means."""
    message = " ".join(message.split()).rstrip(".")
    if not message:
        reason = NO_REASON
    elif message.lower() == title.lower():
        reason = SAME_AS_TITLE.get(kind, "") if kind else ""
    elif message.lower().startswith(title.lower()):
        return message[0].upper() + message[1:] + "."
    else:
        reason = message
    return f"{title}: {reason}." if reason else f"{title}."


def failure_text(job: Job) -> FailureText:
    kind = _kind(job)
    info = KIND_INFO[kind] if kind else None
    title = info.title if info else vocabulary.label(job.state)
    message = (job.error_message or "").strip()
    if job.state in STATE_ADVICE and not message:
        what = f"{title}: {vocabulary.explain(job.state)}"
    else:
        what = _sentence(title, message, kind)
    if job.backend == "sandbox":
        charged = "no — sandbox"
    else:
        level = job.charged or (info.charged.value if info else "unknown")
        reason = info.charged_reason if info and not job.charged else ""
        charged = f"{level}" + (f" ({reason})" if reason else "")
    advice = (STATE_ADVICE.get(job.state) or (ADVICE.get(kind) if kind else None)
              or (info.advice if info else "Retry, or try another model."))
    return FailureText(what=what, charged=charged, advice=advice)

"""`callback_url` on the routes that document it: added at send time by a worker with a public URL.

The URL carries the job's token in its query string, so the one redaction every log line, stored answer and
View-code script already goes through (providers/redact.py strips URL query strings) keeps it out of sight.
A callback is a hint to poll now, never the result (cometapi-video-api.md 8: no payload, no signature).
"""

from __future__ import annotations

import dataclasses

from providers.redact import redact
from providers.submission import MappingAction, MappingLine, Submission

FIELD = "callback_url"
NOTE = "a hint to poll at once when the task ends; the status endpoint stays the source of truth"


def shown(url: str) -> str:
    """The callback URL as it may be shown or logged: its token (the query string) redacted."""
    return redact(url)


def with_callback(sub: Submission, url: str) -> Submission:
    """The same submission with `callback_url` in its JSON body and a report line (the URL redacted).
    A route that does not document the field, or a form body, is returned unchanged."""
    if not sub.callback or sub.request.json is None:
        return sub
    request = dataclasses.replace(sub.request, json={**sub.request.json, FIELD: url})
    line = MappingLine(FIELD, MappingAction.SENT, None, shown(url), NOTE)
    return dataclasses.replace(sub, request=request, report=(*sub.report, line))


def report_line(url: str) -> dict[str, object]:
    """The ledger's mapping-report row for a callback URL (as records.submission_mapping_json writes rows)."""
    return {"field": FIELD, "action": str(MappingAction.SENT), "requested": None, "sent": shown(url), "note": NOTE}

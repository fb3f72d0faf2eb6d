"""The user-facing words for a job's state, written down once.

Every page, filter and detail view names a state through `label()` and explains it through `explain()`;
the internal names (`downloaded`, `submit_unknown`, ...) stay in the ledger and the code. Before this module
History said "Ready" on its cards, `downloaded` in "Open a job" and offered `submit_unknown` in its filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.ledger import JobState


@dataclass(frozen=True)
class StateWords:
    label: str
    """What the user reads on a badge, a filter option or a detail line."""
    explanation: str
    """One line: what the state means and, where there is one, what to do."""
    color: str
    """Badge colour (Streamlit's named colours)."""


STATES: dict[JobState, StateWords] = {
    JobState.WAITING: StateWords("Waiting", "In the local queue, waiting for a free slot at the provider.", "gray"),
    JobState.SUBMITTING: StateWords("Sending", "The request is being sent to the provider.", "blue"),
    JobState.QUEUED: StateWords("Queued", "The provider accepted the request and has not started rendering.", "blue"),
    JobState.RUNNING: StateWords("Rendering", "The provider is rendering the clip.", "blue"),
    JobState.SUCCEEDED: StateWords("Downloading", "Rendered; the clip is being downloaded and checked.", "violet"),
    JobState.DOWNLOADED: StateWords("Ready", "The clip is on disk, checked, and plays here.", "green"),
    JobState.FAILED: StateWords("Failed", "The take did not produce a clip; the card says why and what to do.",
                                "red"),
    JobState.CANCELED: StateWords("Stopped", "Tracking was stopped; the app no longer follows this task.", "gray"),
    JobState.STALE: StateWords("Stuck", "Took longer than this model normally does; it can still be resumed.",
                               "orange"),
    JobState.SUBMIT_UNKNOWN: StateWords(
        "Maybe sent", "The connection failed mid-send: check the CometAPI console before re-running "
                      "(the app never resends on its own).", "orange"),
    JobState.EXPIRED: StateWords("Link expired", "Rendered, but its download link expired before the clip was "
                                                  "fetched.", "red"),
}


def words(state: JobState | str) -> StateWords:
    try:
        return STATES[JobState(state)]
    except ValueError:  # a state written by a newer version of the app: show it rather than fail
        return StateWords(str(state).replace("_", " ").capitalize(), "", "gray")


def label(state: JobState | str) -> str:
    return words(state).label


def explain(state: JobState | str) -> str:
    return words(state).explanation


def filter_options() -> list[str]:
    """The state filter's values (internal names, so queries stay exact); show them through `label`."""
    return [s.value for s in STATES]

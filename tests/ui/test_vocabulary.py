"""One vocabulary: every page names a job's state with jobs/vocabulary.py's words, never the internal name."""

from __future__ import annotations

import re
from pathlib import Path

from ui_helpers import open_page, rerun

from jobs import vocabulary
from jobs.ledger import JobState
from jobs.settings import PROJECT_ROOT

INTERNAL = [s.value for s in JobState if vocabulary.label(s).lower() != s.value]


def test_history_filter_offers_the_vocabularys_labels_and_still_filters_exactly(seeded) -> None:
    at = open_page("app_pages/history.py")
    states = at.multiselect(key="h_states")
    shown = list(states.options)  # AppTest lists the formatted labels
    assert shown == [vocabulary.label(s) for s in JobState]
    assert not set(shown) & set(INTERNAL)
    states.select("submit_unknown")
    rerun(at)
    grid = next(h.proto.body for h in at.get("html") if "hgrid" in h.proto.body)
    assert seeded.attention["submit_unknown"] in grid
    assert f"</b> · {vocabulary.label(JobState.SUBMIT_UNKNOWN)}" in grid
    assert "</b> · submit_unknown" not in grid  # (the seeded prompt itself says "submit_unknown")


def test_card_grid_open_a_job_and_detail_use_the_same_word(seeded) -> None:
    at = open_page("app_pages/history.py", query={"job": seeded.board_jobs["veo3.1-fast"]})
    grid = next(h.proto.body for h in at.get("html") if "hgrid" in h.proto.body)
    ready = vocabulary.label(JobState.DOWNLOADED)
    assert f"· {ready}" in grid
    opener = at.selectbox(key="h_open")
    labels = [str(o) for o in opener.options]  # AppTest lists the formatted labels
    assert any(f" · {ready} · " in label for label in labels), labels
    assert not any(re.search(rf"· {name} ·", label) for label in labels for name in INTERNAL), labels


def test_no_page_or_component_keeps_its_own_state_words() -> None:
    """The words live in jobs/vocabulary.py only: another module spelling one of them out is a second source."""
    offenders = []
    for folder in ("app_pages", "components", "review", "library", "exports"):
        for path in Path(PROJECT_ROOT, folder).rglob("*.py"):
            text = path.read_text()
            for words in vocabulary.STATES.values():
                own_label = re.search(rf'JobState\.\w+:\s*\("{re.escape(words.label)}"', text)
                if f'"{words.explanation}"' in text or own_label:
                    offenders.append(f"{path.name}: {words.label}")
            if re.search(r"STATE_LABELS\s*=", text):
                offenders.append(f"{path.name}: STATE_LABELS")
    assert not offenders, offenders

"""What a model will receive, readable: the changes that matter on the card itself ("duration 5 s → 6 s"), and the
full mapping report and runnable code in a wide dialog, where every column shows and a long script scrolls
inside its own box instead of stretching the page."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.rate_card import price_caption
from jobs.keys import LIVE_BASE_URL
from providers import codegen
from providers.catalog import ModelSpec
from providers.submission import MappingAction, MappingLine, Submission

DIALOG_WIDTH = 1200
CODE_HEIGHT = 520
FIELD_WORDS = {"negative_prompt": "negative prompt", "aspect_ratio": "aspect ratio", "first_frame": "first frame",
               "last_frame": "last frame", "cfg_scale": "cfg scale", "camera_control": "camera control"}
ACTION_WORDS = {MappingAction.SENT: "sent as is", MappingAction.CONVERTED: "converted",
                MappingAction.APPROXIMATED: "approximated", MappingAction.DROPPED: "dropped",
                MappingAction.DEFAULTED: "model default"}


def _words(field: str) -> str:
    return FIELD_WORDS.get(field, field.replace("_", " "))


def _change(line: MappingLine, spec: ModelSpec) -> str | None:
    """One short phrase for a line the user should see before spending, None for the ordinary ones."""
    if line.action == MappingAction.APPROXIMATED:
        if line.field == "duration":
            got = line.sent if line.sent is not None else spec.durations.default
            return f"{line.requested} s → {got} s"
        return f"{_words(line.field)} {line.requested} → {line.sent}"
    if line.action == MappingAction.DROPPED:
        return f"{_words(line.field)} dropped"
    if line.action == MappingAction.CONVERTED and line.field in ("first_frame", "last_frame"):
        return f"{_words(line.field)}: {line.note or 'converted'}"
    return None


def card_changes(sub: Submission, spec: ModelSpec) -> list[str]:
    return [text for line in sub.report if (text := _change(line, spec))]


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 90 else text[:87] + "…"


def report_table(sub: Submission) -> pd.DataFrame:
    return pd.DataFrame([{"Field": _words(line.field), "What happens": ACTION_WORDS.get(line.action, str(line.action)),
                          "You asked": _short(line.requested), "Sent": _short(line.sent), "Why": line.note}
                         for line in sub.report])


def _sandbox_hint(sandbox_url: str | None) -> str:
    where = sandbox_url or "http://127.0.0.1:8765"
    return (f"The scripts call the live API at `{LIVE_BASE_URL}` with the key in `COMETAPI_KEY` (the same as the "
            f"board's code export). To run one against the local sandbox instead: "
            f"`COMETAPI_BASE_URL={where} COMETAPI_KEY=sk-sandbox python take.py`.")


def render_mapping_buttons(sub: Submission, spec: ModelSpec, sandbox_url: str | None) -> None:
    """The two buttons under a card; each opens its dialog."""

    @st.dialog(f"What {spec.display_name} will receive", width=DIALOG_WIDTH)
    def receive() -> None:
        st.dataframe(report_table(sub), hide_index=True, width="stretch",
                     column_config={"Field": st.column_config.TextColumn(width="small"),
                                    "What happens": st.column_config.TextColumn(width="small"),
                                    "You asked": st.column_config.TextColumn(width="medium"),
                                    "Sent": st.column_config.TextColumn(width="medium"),
                                    "Why": st.column_config.TextColumn(width="large")})
        st.caption(price_caption(sub.cost))

    @st.dialog(f"Code for {spec.display_name}", width=DIALOG_WIDTH)
    def code() -> None:
        st.markdown(_sandbox_hint(sandbox_url))
        python_tab, node_tab = st.tabs(["Python", "Node.js"])
        with python_tab:
            st.code(codegen.python_snippet(sub, LIVE_BASE_URL), language="python", height=CODE_HEIGHT)
            st.caption("Needs `pip install httpx`.")
        with node_tab:
            st.code(codegen.node_snippet(sub, LIVE_BASE_URL), language="javascript", height=CODE_HEIGHT)
            st.caption("Node.js 18+.")

    if st.button("What it will receive", key=f"receive:{spec.id}", icon=":material/fact_check:", width="stretch"):
        receive()
    if st.button("View code", key=f"code:{spec.id}", icon=":material/code:", width="stretch"):
        code()

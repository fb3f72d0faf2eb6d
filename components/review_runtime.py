"""The team stores (reviews and votes, prompt library, boards) as process-wide singletons beside the runtime."""

from __future__ import annotations

import streamlit as st

from components.runtime import Runtime
from jobs.boards import Boards
from library.prompts import PromptLibrary
from providers.errors import ValidationError
from review.bestworst import BestWorstStore
from review.store import ReviewStore


@st.cache_resource(on_release=lambda s: s.close(), show_spinner=False)
def _review_store(data_dir: str) -> ReviewStore:
    return ReviewStore.in_data_dir(data_dir)


@st.cache_resource(on_release=lambda s: s.close(), show_spinner=False)
def _best_worst(data_dir: str) -> BestWorstStore:
    return BestWorstStore.in_data_dir(data_dir)


@st.cache_resource(on_release=lambda s: s.close(), show_spinner=False)
def _library(data_dir: str) -> PromptLibrary:
    return PromptLibrary.in_data_dir(data_dir)


@st.cache_resource(on_release=lambda s: s.close(), show_spinner=False)
def _boards(ledger_path: str) -> Boards:
    return Boards(ledger_path)


def review_store(rt: Runtime) -> ReviewStore:
    return _review_store(str(rt.data_dir))


def best_worst_store(rt: Runtime) -> BestWorstStore:
    return _best_worst(str(rt.data_dir))


def prompt_library(rt: Runtime) -> PromptLibrary:
    return _library(str(rt.data_dir))


def boards(rt: Runtime) -> Boards:
    """Every run is a board; new runs get theirs on the next read."""
    b = _boards(str(rt.ledger.target))
    b.sync_runs()
    return b


def model_name(rt: Runtime, model_id: str) -> str:
    try:
        return rt.catalog.get(model_id).display_name
    except ValidationError:  # a model since removed from the catalog still has votes
        return model_id

"""Form values that survive page switches, reloads and a second tab.

Streamlit deletes a widget's value when the page that owns it is not rendered in a run, and Session State dies
with a reload. So the value a user enters lives in the draft (jobs/drafts.py), not in the widget's key:

* `bind(key, default)` fills the widget's key from the draft before the widget is drawn (only when Streamlit
  has dropped it, so a widget being edited is never overwritten), and returns the `on_change` that writes the
  new value back — only that one field, only when the user changed it. Nothing writes on an ordinary rerun, so a
  rerun can never put stale widget values over what another tab wrote.
* `ensure_draft()` runs from the entrypoint on every run: it picks this session's draft id (the URL's, else the
  latest draft, else a new one) and puts it back in the URL, which Streamlit clears on every page change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from components.auth import current_owner
from jobs import settings
from jobs.drafts import DraftStore, StoredImage, is_draft_id, new_draft_id

PARAM = "draft"
_ID_KEY = "_draft_id"


@st.cache_resource(show_spinner=False)
def _store_for(root: str) -> DraftStore:
    return DraftStore(Path(root))


def store() -> DraftStore:
    return _store_for(str(settings.data_dir() / "drafts"))


def ensure_draft() -> str:
    """This session's draft id, also written into the URL (call from the entrypoint on every run)."""
    drafts = store()
    owner = current_owner()
    wanted = st.query_params.get(PARAM)
    current = st.session_state.get(_ID_KEY)
    if is_draft_id(wanted) and wanted != current:
        if current is not None:
            _forget_widget_values()  # another draft's link: its values replace this session's
        current = wanted
    if not is_draft_id(current):
        # Signed in, the person's own latest draft: the last one anyone wrote would show them another's recipe.
        current = drafts.latest(owner) or new_draft_id()
    if owner is not None and st.session_state.get(_ID_KEY) != current:
        drafts.set_latest(current, owner)
    st.session_state[_ID_KEY] = current
    if st.query_params.get(PARAM) != current:
        # No rerun follows: Streamlit sends the new query string and the browser changes the URL in place
        # (history.pushState / replaceState; read in 1.67's server and frontend), so an edit made meanwhile is kept.
        st.query_params[PARAM] = current
    return current


def draft_id() -> str:
    current = st.session_state.get(_ID_KEY)
    return current if is_draft_id(current) else ensure_draft()


_BOUND = "_draft_bound"
"""Session key: every key bound so far, so a new draft can drop their values."""


def _forget_widget_values() -> None:
    for key in st.session_state.get(_BOUND, ()):
        st.session_state.pop(key, None)


_SHOWN = "_draft_shown"
"""Session key: each bound field's value as this session last drew it."""


def _write(key: str, convert: Callable[[Any], Any] | None) -> None:
    """on_change: write the field only when its value differs from what this session drew.

    Streamlit also calls on_change when nothing was edited (the first run after a value is set through Session
    State, a page switch): writing then would put this tab's possibly stale value over another tab's edit.
    """
    value = st.session_state.get(key)
    value = convert(value) if convert else value
    shown = st.session_state.setdefault(_SHOWN, {})
    if key in shown and shown[key] == value:
        return
    shown[key] = value
    store().write(draft_id(), {key: value})


def bind(key: str, default: Any, *, allowed: Sequence[Any] | None = None,
         load: Callable[[Any], Any] | None = None,
         save: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Widget kwargs (`key`, `on_change`, `args`) for a value kept in the draft. Pass no `value=` to the widget.

    `allowed`: the widget's options; a stored value no longer among them falls back to `default`.
    `load` / `save`: convert between the widget's value and its JSON form (e.g. a date, a tuple).
    """
    st.session_state.setdefault(_BOUND, set()).add(key)
    if key not in st.session_state:
        stored = store().values(draft_id())
        value = load(stored[key]) if key in stored and load else stored.get(key, default)
        if allowed is not None and value not in allowed:
            value = default
        st.session_state[key] = value
    current = st.session_state[key]
    st.session_state.setdefault(_SHOWN, {})[key] = save(current) if save else current
    return {"key": key, "on_change": _write, "args": (key, save)}


def value(key: str, default: Any = None) -> Any:
    """The draft's value for a field no widget owns (e.g. an image kept from an earlier upload)."""
    return store().values(draft_id()).get(key, default)


def set_values(changed: dict[str, Any]) -> None:
    store().write(draft_id(), changed)


def reset(keys: Sequence[str]) -> None:
    """Back to the defaults: drop the fields from the draft and the widgets' values (call from a callback)."""
    store().clear(draft_id(), list(keys))
    for key in keys:
        st.session_state.pop(key, None)


def keep_image(field: str, data: bytes, mime: str, name: str) -> StoredImage:
    image = store().put_image(data, mime, name)
    set_values({field: image.to_dict()})
    return image


def kept_image(field: str) -> tuple[StoredImage, bytes] | None:
    image = StoredImage.from_dict(value(field))
    if image is None:
        return None
    data = store().image_bytes(image)
    return (image, data) if data is not None else None

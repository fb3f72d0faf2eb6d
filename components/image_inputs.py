"""First and last frame: an upload, kept in the draft by content hash (an uploader cannot be refilled after a
page switch or a reload, so the kept copy is shown beside it with a Remove button)."""

from __future__ import annotations

import streamlit as st

from components import draft_state
from providers import images
from providers.errors import ValidationError
from providers.image_fetch import fetch_image
from providers.recipe import ImageInput
from providers.url_policy import validate_user_image_url

MAX_UPLOAD_BYTES = images.MAX_IMAGE_BYTES
_FETCHED = "_image_fetched:"
_PROBLEM = "_image_problem:"
"""Session key prefix: why the last upload of a field was refused (shown next to it)."""


def _check(name: str, field: str, size: int, data: bytes | None) -> tuple[str | None, str | None]:
    """(mime, problem): the size the browser declared is checked before the bytes are touched, then the bytes."""
    if size > MAX_UPLOAD_BYTES or (data is not None and len(data) > MAX_UPLOAD_BYTES):
        return None, f"{field}: {max(size, len(data or b'')) / 2**20:.1f} MB is over the 20 MB limit"
    mime = images.sniff_mime(data or b"")
    if mime is None:
        return None, f"{field}: not a PNG, JPEG or WebP image (allowed: PNG, JPEG, WebP)"
    return mime, None


def _uploaded(field: str) -> None:
    """on_change of the uploader: keep the new file in the draft, or forget it when the user removed it."""
    upload = st.session_state.get(field)
    st.session_state.pop(_PROBLEM + field, None)
    if upload is None:
        draft_state.set_values({field: None})
        return
    size = int(getattr(upload, "size", 0) or 0)
    data = None if size > MAX_UPLOAD_BYTES else upload.getvalue()
    mime, problem = _check(upload.name, field, size, data)
    if problem or data is None or mime is None:
        st.session_state[_PROBLEM + field] = problem
        return
    draft_state.keep_image(field, data, mime, upload.name)


def _remove(field: str) -> None:
    draft_state.set_values({field: None})


def _from_url(field: str, url: str, needs_file: bool, errors: dict[str, str]) -> ImageInput | None:
    """A typed URL, checked by the URL policy before anything is sent; fetched (once) when a switched-on model takes
    files only, forwarded as it is to the others."""
    try:
        validate_user_image_url(url, field=field)
        if not needs_file:
            return ImageInput(url=url.strip(), name=url.strip().rsplit("/", 1)[-1][:80] or "image")
        cache = st.session_state.setdefault(_FETCHED + field, {})
        if url not in cache:
            cache.clear()  # one fetched image per field is plenty; old bytes are not kept around
            cache[url] = fetch_image(url, field=field)
        got = cache[url]
    except ValidationError as e:
        errors[field] = e.message
        st.error(e.message, icon=":material/link_off:")
        return None
    st.caption(f"Fetched by the app ({len(got.data) / 1024:.0f} KB) for the models that take files only; the "
               "others get the URL.")
    return ImageInput(url=url.strip(), data=got.data, mime=got.mime, name=url.strip().rsplit("/", 1)[-1][:80])


def render_image_input(label: str, field: str, errors: dict[str, str], *,
                       needs_file: bool = False) -> ImageInput | None:
    st.file_uploader(label, type=["png", "jpg", "jpeg", "webp"], key=field, on_change=_uploaded, args=(field,),
                     help="PNG, JPEG or WebP, at most 20 MB.")
    problem = st.session_state.get(_PROBLEM + field)
    if problem:
        errors[field] = problem
        st.error(problem, icon=":material/error:")
        return None
    kept = draft_state.kept_image(field)
    url = st.text_input(f"…or {label.lower()} by URL", placeholder="https://…/image.png",
                        help="A public https:// image. Kling and Runway get the URL; for Veo and Sora the app "
                             "fetches it (checked first: no private, local or plain-http addresses).",
                        **draft_state.bind(f"{field}_url", ""), disabled=kept is not None)
    if kept is None:
        return _from_url(field, url, needs_file, errors) if url and url.strip() else None
    image, data = kept
    if st.session_state.get(field) is None:  # the uploader is empty again (page switch, reload): say what is kept
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.caption(f"Kept from your draft: **{image.name}**")
        c2.button("Remove", key=f"remove_image:{field}", on_click=_remove, args=(field,), type="tertiary",
                  icon=":material/close:")
    return ImageInput(data=data, mime=image.mime, name=image.name)

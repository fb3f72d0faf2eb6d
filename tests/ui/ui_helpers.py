"""Helpers the UI tests share (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from jobs import settings

APP = str(settings.PROJECT_ROOT / "app.py")


def open_page(page: str, *, query: dict[str, str] | None = None, timeout: float = 30) -> AppTest:
    """The app from its entrypoint, switched to `page` (e.g. "app_pages/history.py"), with no exception."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(getattr(e, "value", "")) for e in at.get(kind)]


def find(at: AppTest, kind: str, **attrs: Any) -> list[Any]:
    return [e for e in at.get(kind) if all(getattr(e, k, None) == v for k, v in attrs.items())]

"""Where the API key comes from, and which backend (live or sandbox) this browser session talks to.

Order: a key entered in this browser session (not with DAILIES_ENGINE=external), then
`.streamlit/secrets.toml`, then the environment.
The key is never rendered, logged or stored; only its masked form and fingerprint are shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from components.runtime import SANDBOX_KEY, Runtime
from jobs import settings
from jobs.keys import allow_http_from_env
from providers.client import Backend
from providers.redact import register_secret

SESSION_KEY = "_cometapi_key"
FORCE_SANDBOX = "force_sandbox"


@dataclass(frozen=True)
class KeyStatus:
    source: str | None
    """"session", "secrets", "environment" or None."""
    masked: str


def _from_secrets() -> str | None:
    try:
        value = st.secrets.get("COMETAPI_KEY")
    except (FileNotFoundError, KeyError):  # StreamlitSecretNotFoundError is a FileNotFoundError
        return None
    return str(value).strip() or None if value else None


def session_keys_allowed() -> bool:
    """With DAILIES_ENGINE=external the workers send the work: a key held in one browser session's memory
    cannot reach them, so only the server's secrets or environment count."""
    return not settings.external_engine()


def find_key() -> tuple[str | None, str | None]:
    session = st.session_state.get(SESSION_KEY) if session_keys_allowed() else None
    if session:
        return session, "session"
    secret = _from_secrets()
    if secret:
        return secret, "secrets"
    env = os.environ.get("COMETAPI_KEY", "").strip()
    if env:
        return env, "environment"
    return None, None


def mask(key: str) -> str:
    return f"{key[:3]}…{key[-4:]}" if len(key) > 10 else "••••"


def key_status() -> KeyStatus:
    key, source = find_key()
    return KeyStatus(source=source, masked=mask(key) if key else "")


def set_session_key(key: str) -> None:
    st.session_state[SESSION_KEY] = key.strip()


def forget_session_key() -> None:
    st.session_state.pop(SESSION_KEY, None)


def current_backend(rt: Runtime) -> Backend:
    """Live when a key is known and sandbox mode is not forced; otherwise the local simulator."""
    key, _ = find_key()
    if key and not st.session_state.get(FORCE_SANDBOX, False):
        base = os.environ.get("COMETAPI_BASE_URL", "").strip() or rt.prefs.base_url
        register_secret(key)
        backend = Backend(base_url=base.rstrip("/"), api_key=key,
                          allow_http=rt.prefs.allow_http or allow_http_from_env())
    else:
        url = rt.ensure_sandbox()
        backend = Backend(base_url=url, api_key=SANDBOX_KEY, sandbox=True, time_scale=rt.prefs.sandbox_time_scale)
    rt.runner.set_key(backend)
    rt.watch_catalog(backend.base_url)  # at start and daily, for whichever API this session talks to
    return backend

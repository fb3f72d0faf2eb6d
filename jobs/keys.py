"""API keys live in memory only, found by fingerprint: the ledger stores the fingerprint, never the key.

After a restart the runner knows no key, so each job waits with `needs_key` ("needs attention:
re-enter the key") until someone hands the runner a backend whose key has the same fingerprint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

from providers.client import Backend
from providers.errors import ValidationError
from providers.url_policy import is_loopback_host

SANDBOX_KEY = "sk-sandbox"
LIVE_BASE_URL = "https://api.cometapi.com"


def mask(key: str) -> str:
    """A form safe to show: `sk-…abcd` (the last four characters at most)."""
    key = key.strip()
    if len(key) <= 8:
        return "…"
    return f"{key[:3]}…{key[-4:]}"


def normalise_base_url(url: str) -> str:
    return url.strip().rstrip("/")


ALLOW_HTTP_ENV = "DAILIES_ALLOW_HTTP"


def allow_http_from_env(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (env.get(ALLOW_HTTP_ENV) or "").strip().lower() in ("1", "true", "yes")


def plain_http_warning(backend: Backend) -> str | None:
    """The sentence to show when the key will travel in clear text (plain http off this machine)."""
    parts = urlsplit(backend.base_url)
    if parts.scheme != "http" or is_loopback_host(parts.hostname or ""):
        return None
    return (f"plain http to {parts.hostname}" + (f":{parts.port}" if parts.port else "") +
            ": the API key and every request travel in clear text on the network")


def backend_from_env(env: Mapping[str, str] | None = None, *, sandbox: bool | None = None,
                     time_scale: float = 1.0, base_url: str | None = None,
                     allow_http: bool = False) -> Backend | None:
    """COMETAPI_BASE_URL / COMETAPI_KEY (stripped: a trailing newline is the classic 401, S6); None without a key.

    `sandbox` defaults to "the key is the sandbox's key"; `base_url` (Settings') applies when the environment
    names none; plain http off this machine needs `allow_http` or DAILIES_ALLOW_HTTP=1.
    """
    env = os.environ if env is None else env
    key = (env.get("COMETAPI_KEY") or "").strip()
    if not key:
        return None
    if any(c.isspace() for c in key):
        raise ValidationError("COMETAPI_KEY", "the key contains spaces or line breaks", allowed="a key such as sk-...")
    base = normalise_base_url(env.get("COMETAPI_BASE_URL") or base_url or LIVE_BASE_URL)
    is_sandbox = (key == SANDBOX_KEY) if sandbox is None else sandbox
    return Backend(base_url=base, api_key=key, sandbox=is_sandbox, time_scale=time_scale if is_sandbox else 1.0,
                   allow_http=allow_http or allow_http_from_env(env))


class KeyRing:
    """Backends by (key fingerprint, base URL). Thread-safe; nothing here is ever written anywhere."""

    def __init__(self) -> None:
        self._backends: dict[tuple[str, str], Backend] = {}
        self._lock = threading.Lock()

    def add(self, backend: Backend) -> tuple[str, str]:
        ident = (backend.key_fingerprint, normalise_base_url(backend.base_url))
        with self._lock:
            self._backends[ident] = backend
        return ident

    def get(self, fingerprint: str | None, base_url: str) -> Backend | None:
        if fingerprint is None:
            return None
        with self._lock:
            return self._backends.get((fingerprint, normalise_base_url(base_url)))

    def forget(self, fingerprint: str) -> None:
        with self._lock:
            for ident in [i for i in self._backends if i[0] == fingerprint]:
                del self._backends[ident]

    def fingerprints(self) -> set[str]:
        with self._lock:
            return {fp for fp, _ in self._backends}

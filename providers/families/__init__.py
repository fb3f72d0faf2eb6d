"""One adapter module per wire dialect, named by the catalog's `families` section; `module_for(family)` finds it.

A short name is a module of this package; a dotted one any importable module.

An adapter module provides `parse_submit` and `parse_poll` (the family's answers as TaskStatus),
`build_request(parts)` (its submit body) and `result_urls(status, content_url)` (where a finished clip
may be fetched, best first). The catalog registers every family it names when it is loaded, so a new
family is a catalog entry plus one adapter module: no edit in the engine, the mapping or the client.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType
from typing import TYPE_CHECKING

from providers.errors import ValidationError
from providers.families._common import Parser

if TYPE_CHECKING:
    from providers.catalog import FamilySpec

_lock = threading.Lock()
_RULES: dict[str, FamilySpec] = {}
_ADAPTERS: dict[str, ModuleType] = {}


def register_family(spec: FamilySpec) -> None:
    """Make a catalog family known by name: its rules, and its adapter module (imported here)."""
    module = _import_adapter(spec.adapter)
    with _lock:
        _RULES[spec.name] = spec
        _ADAPTERS[spec.name] = module


def _import_adapter(name: str) -> ModuleType:
    """A module of this package by its short name, else any importable module by its full name."""
    if "." not in name:
        local = f"{__name__}.{name}"
        try:
            return importlib.import_module(local)
        except ModuleNotFoundError as exc:
            if exc.name != local:
                raise
    return importlib.import_module(name)


def _ensure_defaults() -> None:
    """The shipped catalog's families, for callers that ask by name before any catalog was loaded."""
    with _lock:
        if _RULES:
            return
    from providers.catalog import load_catalog

    load_catalog()


def rules(family: str) -> FamilySpec:
    """The family's catalog rules; defaults for a name no catalog described."""
    _ensure_defaults()
    with _lock:
        found = _RULES.get(family)
    if found is not None:
        return found
    from providers.catalog import default_family

    return default_family(family)


def module_for(family: str) -> ModuleType:
    _ensure_defaults()
    with _lock:
        module = _ADAPTERS.get(family)
        known = sorted(_ADAPTERS)
    if module is None:
        raise ValidationError("family", f"unknown family {family!r}", allowed=", ".join(known))
    return module


def submit_parser(family: str) -> Parser:
    return module_for(family).parse_submit  # type: ignore[no-any-return]


def poll_parser(family: str) -> Parser:
    return module_for(family).parse_poll  # type: ignore[no-any-return]

"""One parser module per wire dialect; `parsers_for(family)` picks the right one.

Veo and Sora share the OpenAI-style `/v1/videos` dialect; Kling and Runway have their own.
"""

from __future__ import annotations

from types import ModuleType

from providers.errors import ValidationError
from providers.families import kling, openai_videos, runway
from providers.families._common import Parser

FAMILY_MODULES: dict[str, ModuleType] = {
    "veo": openai_videos,
    "sora": openai_videos,
    "kling": kling,
    "runway": runway,
}


def module_for(family: str) -> ModuleType:
    try:
        return FAMILY_MODULES[family]
    except KeyError:
        raise ValidationError("family", f"unknown family {family!r}",
                              allowed=", ".join(sorted(FAMILY_MODULES))) from None


def submit_parser(family: str) -> Parser:
    return module_for(family).parse_submit


def poll_parser(family: str) -> Parser:
    return module_for(family).parse_poll

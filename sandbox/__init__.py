"""A local simulator of CometAPI's video routes (Veo, Sora, Kling, Runway) with real MP4s and fault injection."""

from .config import SandboxConfig
from .faultproxy import FaultProxy
from .server import SandboxServer

__all__ = ["FaultProxy", "SandboxConfig", "SandboxServer"]

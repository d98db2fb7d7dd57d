"""What a provider can do beyond create and retrieve, and how a server shows it cannot.

A capability is a fact about a provider, not an assumption: the profile states what it knows
(`Profile.capabilities`), and what a server refuses at run time is learned by the client
(``client.learned``) from the errors and bodies recognised here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CAPABILITIES", "detect_profile", "is_gateway_header"]

CAPABILITIES: tuple[str, ...] = ("list", "delete", "variants", "range", "remix", "edit", "extend")
"""What a provider may lack: ``GET /videos``, ``DELETE /videos/{id}``, the thumbnail and
spritesheet variants of content, HTTP Range on content, ``POST /videos/{id}/remix``,
``POST /videos/edits`` and ``POST /videos/extensions``."""

_LITELLM_PREFIX = "x-litellm-"


def is_gateway_header(name: str) -> bool:
    """True for a response header by which LiteLLM's proxy identifies itself (``x-litellm-*``)."""
    return name.lower().startswith(_LITELLM_PREFIX)


def detect_profile(headers: Mapping[str, str]) -> str | None:
    """The built-in profile a server's response headers identify, or None if they name none.

    ``"litellm"`` when any ``x-litellm-*`` header is present (LiteLLM's proxy sends
    ``x-litellm-call-id``, ``x-litellm-version`` … on every routed answer).
    """
    return "litellm" if any(is_gateway_header(name) for name in headers) else None

"""sora-widgets: video generation as a first-class citizen of Jupyter.

``%load_ext sora_widgets`` registers the ``%sora`` / ``%%sora`` magics; `SoraClient` and
`AsyncSoraClient` speak the `/v1/videos` API to any gateway or to the built-in emulator.
Everything here is imported lazily, so loading the extension stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # wire
    "SoraClient": "sora_widgets.api",
    "AsyncSoraClient": "sora_widgets.api",
    "Video": "sora_widgets.api",
    "VideoError": "sora_widgets.api",
    "VideoStatus": "sora_widgets.api",
    "VideoList": "sora_widgets.api",
    "DeletedVideo": "sora_widgets.api",
    "Character": "sora_widgets.api",
    "Profile": "sora_widgets.api",
    "ModelSpec": "sora_widgets.api",
    "get_profile": "sora_widgets.api",
    "register_model": "sora_widgets.api",
    "side_by_side": "sora_widgets.display",
    "compare": "sora_widgets.compare",
    "storyboard": "sora_widgets.jobs",
    "Storyboard": "sora_widgets.jobs",
    "Shot": "sora_widgets.jobs",
    "get_board": "sora_widgets.jobs",
    "resume_boards": "sora_widgets.jobs",
    "unregister_model": "sora_widgets.api",
    "find_model": "sora_widgets.api",
    "catalogue_names": "sora_widgets.api",
    "RetryPolicy": "sora_widgets.api",
    "PollPolicy": "sora_widgets.api",
    "SoraError": "sora_widgets.api",
    "APIError": "sora_widgets.api",
    "BadRequestError": "sora_widgets.api",
    "AuthenticationError": "sora_widgets.api",
    "PermissionDeniedError": "sora_widgets.api",
    "NotFoundError": "sora_widgets.api",
    "ConflictError": "sora_widgets.api",
    "RateLimitError": "sora_widgets.api",
    "ServerError": "sora_widgets.api",
    "APIConnectionError": "sora_widgets.api",
    "APITimeoutError": "sora_widgets.api",
    "ValidationError": "sora_widgets.api",
    "VideoFailedError": "sora_widgets.api",
    "ReferenceImageError": "sora_widgets.api",
    # media
    "prepare_reference": "sora_widgets.reference",
    "Reference": "sora_widgets.reference",
    # notebook
    "VideoPlayer": "sora_widgets.player",
    "SoraPanel": "sora_widgets.panel",
    # jobs
    "generate": "sora_widgets.jobs",
    "resume": "sora_widgets.jobs",
    "Job": "sora_widgets.jobs",
    "JobStatus": "sora_widgets.jobs",
    "Ledger": "sora_widgets.ledger",
    "Settings": "sora_widgets.config",
    "resolve_settings": "sora_widgets.config",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncSoraClient",
    "AuthenticationError",
    "BadRequestError",
    "Character",
    "ConflictError",
    "DeletedVideo",
    "Job",
    "JobStatus",
    "Ledger",
    "ModelSpec",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "Profile",
    "RateLimitError",
    "Reference",
    "ReferenceImageError",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "Shot",
    "SoraClient",
    "SoraError",
    "SoraPanel",
    "Storyboard",
    "ValidationError",
    "Video",
    "VideoError",
    "VideoFailedError",
    "VideoList",
    "VideoPlayer",
    "VideoStatus",
    "__version__",
    "catalogue_names",
    "compare",
    "find_model",
    "generate",
    "get_board",
    "get_profile",
    "load_ipython_extension",
    "prepare_reference",
    "register_model",
    "resolve_settings",
    "resume",
    "resume_boards",
    "side_by_side",
    "storyboard",
    "unload_ipython_extension",
    "unregister_model",
]

if TYPE_CHECKING:
    from .api import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AsyncSoraClient,
        AuthenticationError,
        BadRequestError,
        Character,
        ConflictError,
        DeletedVideo,
        ModelSpec,
        NotFoundError,
        PermissionDeniedError,
        PollPolicy,
        Profile,
        RateLimitError,
        ReferenceImageError,
        RetryPolicy,
        ServerError,
        SoraClient,
        SoraError,
        ValidationError,
        Video,
        VideoError,
        VideoFailedError,
        VideoList,
        VideoStatus,
        catalogue_names,
        find_model,
        get_profile,
        register_model,
        unregister_model,
    )
    from .compare import compare
    from .config import Settings, resolve_settings
    from .display import side_by_side
    from .jobs import (
        Job,
        JobStatus,
        Shot,
        Storyboard,
        generate,
        get_board,
        resume,
        resume_boards,
        storyboard,
    )
    from .ledger import Ledger
    from .panel import SoraPanel
    from .player import VideoPlayer
    from .reference import Reference, prepare_reference


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sora_widgets``: register the ``%sora`` and ``%%sora`` magics (nothing heavy)."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sora_widgets``."""
    from .magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sora_widgets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

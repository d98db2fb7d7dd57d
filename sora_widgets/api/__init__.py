"""The `/v1/videos` protocol: models, errors, provider profiles, request building, clients.

Knows HTTP and the contract, nothing of Jupyter or Pillow.
"""

from __future__ import annotations

from ._capabilities import CAPABILITIES, detect_profile
from ._catalogue import (
    ModelSpec,
    catalogue_names,
    find_model,
    load_models_file,
    model_from_mapping,
    register_model,
    registered_models,
    unregister_model,
)
from ._client import AsyncSoraClient, AsyncVideoPager, SoraClient, VideoPager, safe_filename
from ._endpoints import first_env
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReferenceImageError,
    ServerError,
    SoraError,
    UnsupportedError,
    ValidationError,
    VideoFailedError,
)
from ._flows import failure_hint
from ._models import Character, DeletedVideo, Video, VideoError, VideoList, VideoStatus
from ._polling import PollPolicy, PollTracker
from ._prices import GatewayModel, GatewayPrice
from ._profiles import BUILTIN_PROFILES, MAX_PROMPT_CHARS, Profile, Resolved, get_profile
from ._references import (
    FileReference,
    PreparedReference,
    UrlReference,
    image_dimensions,
    normalize_reference,
)
from ._retry import RetryPolicy, parse_retry_after
from ._sizes import nominal_pixels, orientation, parse_size, ratio_of, read_size, size_tier

__all__ = [
    "BUILTIN_PROFILES",
    "CAPABILITIES",
    "MAX_PROMPT_CHARS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncSoraClient",
    "AsyncVideoPager",
    "AuthenticationError",
    "BadRequestError",
    "Character",
    "ConflictError",
    "ContentFailedError",
    "DeletedVideo",
    "FileReference",
    "GatewayModel",
    "GatewayPrice",
    "ModelSpec",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "PollTracker",
    "PreparedReference",
    "Profile",
    "RateLimitError",
    "ReferenceImageError",
    "Resolved",
    "RetryPolicy",
    "ServerError",
    "SoraClient",
    "SoraError",
    "UnsupportedError",
    "UrlReference",
    "ValidationError",
    "Video",
    "VideoError",
    "VideoFailedError",
    "VideoList",
    "VideoPager",
    "VideoStatus",
    "catalogue_names",
    "detect_profile",
    "failure_hint",
    "find_model",
    "first_env",
    "get_profile",
    "image_dimensions",
    "load_models_file",
    "model_from_mapping",
    "nominal_pixels",
    "normalize_reference",
    "orientation",
    "parse_retry_after",
    "parse_size",
    "ratio_of",
    "read_size",
    "register_model",
    "registered_models",
    "safe_filename",
    "size_tier",
    "unregister_model",
]

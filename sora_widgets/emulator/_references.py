"""Turn an ``input_reference`` as sent (file, ``{image_url}`` object, URL string) into image bytes.

URLs are fetched over http(s) with a short timeout and a size limit; data URLs are decoded. Every
problem is a `ServiceError` (400) naming the parameter. The image itself is checked by
`check_reference_image`.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._settings import ServiceRules
from ._validate import ServiceError, Upload, bad_request, decode_data_url

__all__ = ["resolve_reference"]


async def resolve_reference(
    value: object,
    *,
    rules: ServiceRules,
    from_json: bool,
    timeout: float,
    max_bytes: int,
    name: str = "input_reference",
) -> Upload:
    """The reference as an `Upload`; raises `ServiceError` for any shape the profile refuses."""
    if isinstance(value, Upload):
        return value
    if isinstance(value, str):
        if rules.url_string_references:
            return await _from_url(value, name, timeout, max_bytes)
        expected = "an object" if from_json else "a file"
        raise bad_request(
            f"Invalid type for '{name}': expected {expected}, but got a string instead.",
            param=name,
            code="invalid_type",
        )
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in ("image_url", "file_id")]
        if unknown:
            raise bad_request(
                f"Unknown parameter: '{name}.{unknown[0]}'.",
                param=f"{name}.{unknown[0]}",
                code="unknown_parameter",
            )
        if ("image_url" in value) == ("file_id" in value):
            raise bad_request(
                f"Invalid '{name}': provide exactly one of 'image_url' or 'file_id'.",
                param=name,
                code="invalid_value",
            )
        if "file_id" in value:
            raise bad_request(
                f"Invalid '{name}.file_id': no file with id '{value['file_id']}' "
                "(this emulator has no Files API; upload the image or send an image_url).",
                param=f"{name}.file_id",
                code="invalid_value",
            )
        url = value["image_url"]
        if not isinstance(url, str):
            raise bad_request(
                f"Invalid type for '{name}.image_url': expected a string.",
                param=f"{name}.image_url",
                code="invalid_type",
            )
        return await _from_url(url, f"{name}.image_url", timeout, max_bytes)
    raise bad_request(
        f"Invalid type for '{name}': expected a file or an object.",
        param=name,
        code="invalid_type",
    )


async def _from_url(url: str, name: str, timeout: float, max_bytes: int) -> Upload:
    if url.startswith("data:"):
        return decode_data_url(url, name, max_bytes)
    if not url.lower().startswith(("http://", "https://")):
        raise bad_request(
            f"Invalid '{name}': expected an http(s) URL or a base64 data URL, but got '{url[:80]}'.",
            param=name,
            code="invalid_value",
        )
    import httpx

    def failed(reason: str) -> ServiceError:
        return bad_request(
            f"Failed to download the image at '{url[:200]}': {reason}.",
            param=name,
            code="invalid_image_url",
        )

    try:
        async with (
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=True, max_redirects=3, trust_env=False
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise failed(f"the server answered {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise failed(f"it is larger than {max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise failed(f"it is larger than {max_bytes} bytes")
                chunks.append(chunk)
            mime = response.headers.get("content-type", "application/octet-stream")
    except httpx.TimeoutException:
        raise failed(f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise failed(type(exc).__name__) from None
    return Upload(filename=url.rsplit("/", 1)[-1] or None, content_type=mime, data=b"".join(chunks))

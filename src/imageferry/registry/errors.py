"""Turn a registry's error response into an error from :mod:`imageferry.errors`.

OCI distribution-spec, "Error Codes": an error body is
``{"errors": [{"code": "...", "message": "...", "detail": ...}]}``. The
status decides the class; the code refines it (``DENIED``, ``*_UNKNOWN``,
``TOOMANYREQUESTS``); ECR's immutable-tag refusal becomes :class:`TagImmutable`.
Messages name the registry, what was asked for, the status, the code and
the registry's own message, and never a header value (no tokens).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from imageferry.errors import (
    Denied,
    NotFound,
    ResponseError,
    ServerError,
    TagImmutable,
    TooManyRequests,
    Unauthorized,
)

__all__ = ["OciError", "error_for_response", "parse_error_body"]

_MAX_MESSAGE = 300
_NOT_FOUND_CODES = {
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_UNKNOWN",
    "MANIFEST_UNKNOWN",
    "NAME_UNKNOWN",
    "REPOSITORY_NOT_FOUND",
}
_IMMUTABLE_CODES = {"IMAGETAGALREADYEXISTSEXCEPTION", "TAG_IMMUTABLE"}


@dataclass(frozen=True, slots=True)
class OciError:
    """One entry of an error body."""

    code: str
    message: str


def parse_error_body(body: bytes) -> list[OciError]:
    """The entries of an OCI error body; empty when the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return []
    entries = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    out: list[OciError] = []
    for entry in entries:
        if isinstance(entry, dict):
            out.append(OciError(str(entry.get("code") or ""), str(entry.get("message") or "")))
    return out


def _is_immutable(status: int, errors: list[OciError]) -> bool:
    for error in errors:
        code = error.code.upper()
        if code in _IMMUTABLE_CODES:
            return True
        if code == "TAG_INVALID" and "immutable" in error.message.lower():
            return True
    return status == 400 and any("immutable" in e.message.lower() for e in errors)


def _plain_text(body: bytes) -> str:
    text = body[:_MAX_MESSAGE].decode("utf-8", errors="replace").strip()
    return " ".join(text.split()) if text and not text.startswith("<") else ""


def error_for_response(
    status: int,
    body: bytes,
    *,
    registry: str,
    what: str,
    url: str = "",
    hint: str = "",
) -> ResponseError:
    """The typed error for an unexpected status.

    ``what`` names the request in the user's terms (``manifest
    localhost:5000/app:1.0``); ``hint`` says how to fix it when we know.
    """
    errors = parse_error_body(body)
    code = errors[0].code if errors else ""
    # dict.fromkeys: registries repeat one error per missing blob; say it once.
    parts = dict.fromkeys(f"{e.code}: {e.message}" if e.message else e.code for e in errors)
    detail = "; ".join(parts)
    detail = detail[:_MAX_MESSAGE] or _plain_text(body)
    cls: type[ResponseError]
    codes = {e.code.upper() for e in errors}
    if _is_immutable(status, errors):
        cls = TagImmutable
        hint = hint or "the repository has immutable tags; push to a new tag instead"
    elif status == 401 or "UNAUTHORIZED" in codes:
        cls = Unauthorized
    elif status == 403 or "DENIED" in codes:
        cls = Denied
    elif status == 404 or codes & _NOT_FOUND_CODES:
        cls = NotFound
    elif status == 429 or "TOOMANYREQUESTS" in codes:
        cls = TooManyRequests
    elif status >= 500:
        cls = ServerError
    else:
        cls = ResponseError
    message = f"{what}: {registry} answered {status}"
    if detail:
        message += f" ({detail})"
    if hint:
        message += f"; {hint}"
    return cls(message, status=status, code=code, registry=registry, url=url)

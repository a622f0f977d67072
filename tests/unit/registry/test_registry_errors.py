"""OCI error bodies become typed errors with a message a user can act on."""

from __future__ import annotations

import json

import pytest

from imageferry.errors import (
    Denied,
    NotFound,
    ResponseError,
    ServerError,
    TagImmutable,
    TooManyRequests,
    Unauthorized,
)
from imageferry.registry.errors import OciError, error_for_response, parse_error_body


def body(*errors: tuple[str, str]) -> bytes:
    return json.dumps(
        {"errors": [{"code": c, "message": m, "detail": {"x": 1}} for c, m in errors]}
    ).encode()


def test_parse_error_body() -> None:
    assert parse_error_body(body(("MANIFEST_UNKNOWN", "manifest unknown"))) == [
        OciError("MANIFEST_UNKNOWN", "manifest unknown")
    ]
    assert parse_error_body(b"<html>502 Bad Gateway</html>") == []
    assert parse_error_body(b'{"errors": "nope"}') == []
    assert parse_error_body(b"\xff\xfe") == []


ECR_IMMUTABLE = (
    "TAG_INVALID",
    "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten "
    "because the repository is immutable.",
)


@pytest.mark.parametrize(
    ("status", "payload", "cls", "code"),
    [
        (401, body(("UNAUTHORIZED", "authentication required")), Unauthorized, "UNAUTHORIZED"),
        (403, body(("DENIED", "requested access to the resource is denied")), Denied, "DENIED"),
        (404, body(("MANIFEST_UNKNOWN", "manifest unknown")), NotFound, "MANIFEST_UNKNOWN"),
        (404, body(("NAME_UNKNOWN", "repository name not known")), NotFound, "NAME_UNKNOWN"),
        (404, b"", NotFound, ""),
        (429, body(("TOOMANYREQUESTS", "pull rate limit")), TooManyRequests, "TOOMANYREQUESTS"),
        (503, b"<html>Service Unavailable</html>", ServerError, ""),
        (500, body(("UNKNOWN", "unknown error")), ServerError, "UNKNOWN"),
        (400, body(ECR_IMMUTABLE), TagImmutable, "TAG_INVALID"),
        (400, body(("ImageTagAlreadyExistsException", "tag exists")), TagImmutable, ""),
        (
            400,
            body(("TAG_INVALID", "manifest tag did not match URI")),
            ResponseError,
            "TAG_INVALID",
        ),
        (400, body(("MANIFEST_BLOB_UNKNOWN", "blob unknown")), ResponseError, ""),
        # A 200-class code in an odd status still maps by its code.
        (400, body(("DENIED", "no")), Denied, "DENIED"),
    ],
)
def test_status_and_code_choose_the_class(
    status: int, payload: bytes, cls: type[ResponseError], code: str
) -> None:
    error = error_for_response(status, payload, registry="r.example.com", what="thing")
    assert type(error) is cls
    assert error.status == status
    if code:
        assert error.code == code


def test_message_names_registry_request_status_code_and_registry_message() -> None:
    error = error_for_response(
        404,
        body(("MANIFEST_UNKNOWN", "manifest unknown")),
        registry="localhost:5000",
        what="manifest localhost:5000/app:missing",
        url="http://localhost:5000/v2/app/manifests/missing",
    )
    text = str(error)
    assert "manifest localhost:5000/app:missing" in text
    assert "404" in text
    assert "MANIFEST_UNKNOWN: manifest unknown" in text
    assert error.registry == "localhost:5000"
    assert error.url.endswith("/manifests/missing")


def test_repeated_errors_are_said_once_and_hint_is_appended() -> None:
    payload = body(
        ("MANIFEST_BLOB_UNKNOWN", "blob unknown"), ("MANIFEST_BLOB_UNKNOWN", "blob unknown")
    )
    error = error_for_response(
        400, payload, registry="r", what="pushing x", hint="push blobs first"
    )
    assert str(error).count("blob unknown") == 1
    assert str(error).endswith("; push blobs first")


def test_immutable_tag_says_how_to_fix() -> None:
    error = error_for_response(400, body(ECR_IMMUTABLE), registry="ecr", what="pushing manifest")
    assert "immutable" in str(error)
    assert "new tag" in str(error)


def test_html_bodies_are_not_pasted_into_messages() -> None:
    error = error_for_response(
        502, b"<html><body>Bad Gateway</body></html>", registry="r", what="x"
    )
    assert "<html>" not in str(error)
    plain = error_for_response(502, b"upstream connect error", registry="r", what="x")
    assert "upstream connect error" in str(plain)

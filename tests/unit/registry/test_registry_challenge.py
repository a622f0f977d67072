"""WWW-Authenticate parsing: what registries and token servers actually send."""

from __future__ import annotations

import pytest

from imageferry.registry.challenge import Challenge, parse_challenges, pick_challenge

CASES = [
    ('Basic realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
    (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull"',
        [
            (
                "bearer",
                {
                    "realm": "https://auth.docker.io/token",
                    "service": "registry.docker.io",
                    "scope": "repository:library/alpine:pull",
                },
            )
        ],
    ),
    (
        'Bearer realm="https://t/token",service="reg",scope="repository:a/b:pull,push",'
        'error="insufficient_scope"',
        [
            (
                "bearer",
                {
                    "realm": "https://t/token",
                    "service": "reg",
                    "scope": "repository:a/b:pull,push",
                    "error": "insufficient_scope",
                },
            )
        ],
    ),
    # Scheme and parameter names are case-insensitive; values keep their case.
    ('BEARER Realm="https://T/Token"', [("bearer", {"realm": "https://T/Token"})]),
    # Quoted-pair escapes inside a quoted string.
    (r'Basic realm="say \"hi\" \\ now"', [("basic", {"realm": 'say "hi" \\ now'})]),
    # Unquoted values and spaces around '='.
    (
        "Bearer realm = https://t/token , service=reg",
        [("bearer", {"realm": "https://t/token", "service": "reg"})],
    ),
    # Several challenges in one header; a comma inside quotes is not a separator.
    (
        'Basic realm="a, b", Bearer realm="https://t",scope="repository:x:pull,push"',
        [
            ("basic", {"realm": "a, b"}),
            ("bearer", {"realm": "https://t", "scope": "repository:x:pull,push"}),
        ],
    ),
    # token68 form (RFC 7235) followed by another challenge.
    (
        "Negotiate abc123==, Basic realm=r",
        [
            ("negotiate", {"token68": "abc123=="}),
            ("basic", {"realm": "r"}),
        ],
    ),
    ("Basic", [("basic", {})]),
    ("", []),
    ("   ", []),
    ('Bearer realm="unterminated', [("bearer", {"realm": "unterminated"})]),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    parsed = parse_challenges(header)
    assert [(c.scheme, dict(c.params)) for c in parsed] == expected


def test_several_headers_are_concatenated_in_order() -> None:
    parsed = parse_challenges(['Basic realm="r"', 'Bearer realm="https://t"'])
    assert [c.scheme for c in parsed] == ["basic", "bearer"]


def test_properties_read_the_named_parameters() -> None:
    (challenge,) = parse_challenges(
        'Bearer realm="https://t",service="s",scope="repository:x:pull",error="insufficient_scope"'
    )
    assert (challenge.realm, challenge.service, challenge.scope, challenge.error) == (
        "https://t",
        "s",
        "repository:x:pull",
        "insufficient_scope",
    )


@pytest.mark.parametrize(
    ("header", "scheme"),
    [
        ('Basic realm="r", Bearer realm="https://t"', "bearer"),
        ('Bearer realm="https://t", Basic realm="r"', "bearer"),
        ('Basic realm="r"', "basic"),
        ("Negotiate abc==", None),
        ("", None),
    ],
)
def test_pick_challenge_prefers_bearer(header: str, scheme: str | None) -> None:
    picked = pick_challenge(parse_challenges(header))
    assert (picked.scheme if picked else None) == scheme


def test_challenge_is_a_frozen_value() -> None:
    challenge = Challenge("basic")
    with pytest.raises(AttributeError):
        challenge.scheme = "bearer"  # type: ignore[misc]

"""The sans-I/O auth flow, driven by hand: every request it would send is visible."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from imageferry.errors import InsecureRegistry, Unauthorized
from imageferry.registry.auth import (
    Authenticator,
    AuthReply,
    AuthRequest,
    NeedCredentials,
    pull_scope,
    push_scope,
)
from imageferry.registry.config import RegistryConfig
from imageferry.registry.credentials import Credentials

HOST = "registry.example.com"
REALM = "https://auth.example.com/token"
BEARER = f'Bearer realm="{REALM}",service="reg"'
BOB = Credentials("bob", "t0ken-pass")
BOB_BASIC = "Basic " + base64.b64encode(b"bob:t0ken-pass").decode()

Server = Callable[[AuthRequest], AuthReply]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Drive:
    """Runs flows against a fake registry/token server and records what was sent."""

    def __init__(self, server: Server, credentials: Credentials | None = BOB) -> None:
        self.server = server
        self.credentials = credentials
        self.sent: list[AuthRequest] = []
        self.credential_asks = 0
        self.clock = Clock()
        self.auth = Authenticator(RegistryConfig(), clock=self.clock)

    def run(self, scopes: tuple[str, ...] = (pull_scope("app"),)) -> AuthReply:
        flow = self.auth.flow(
            AuthRequest("GET", f"https://{HOST}/v2/app/manifests/1"), HOST, scopes
        )
        last: AuthReply | None = None
        step = next(flow)
        while True:
            if isinstance(step, NeedCredentials):
                assert step.host == HOST
                self.credential_asks += 1
                answer: object = self.credentials
            else:
                self.sent.append(step)
                answer = self.server(step)
                if not step.is_token:
                    last = answer  # type: ignore[assignment]
            try:
                step = flow.send(answer)
            except StopIteration:
                assert last is not None
                return last

    @property
    def token_requests(self) -> list[AuthRequest]:
        return [r for r in self.sent if r.is_token]

    @property
    def registry_requests(self) -> list[AuthRequest]:
        return [r for r in self.sent if not r.is_token]


def token_body(token: str, **extra: object) -> bytes:
    return json.dumps({"token": token, **extra}).encode()


def scopes_of(request: AuthRequest) -> list[str]:
    return parse_qs(urlsplit(request.url).query).get("scope", [])


def bearer_server(
    *, expires_in: int | None = 300, valid: set[str] | None = None, field: str = "token"
) -> Server:
    """Registry accepting tokens in ``valid`` (default: any token it issued)."""
    issued: list[str] = []

    def serve(request: AuthRequest) -> AuthReply:
        if request.is_token:
            token = f"tok{len(issued)}"
            issued.append(token)
            body: dict[str, object] = {field: token}
            if expires_in is not None:
                body["expires_in"] = expires_in
            return AuthReply(200, (), json.dumps(body).encode())
        header = request.headers.get("Authorization", "")
        accepted = valid if valid is not None else set(issued)
        if header.startswith("Bearer ") and header[7:] in accepted:
            return AuthReply(200)
        return AuthReply(401, (BEARER,))

    return serve


def test_anonymous_registry_is_asked_once_without_credentials() -> None:
    drive = Drive(lambda request: AuthReply(200))
    assert drive.run().status == 200
    assert len(drive.sent) == 1
    assert "Authorization" not in drive.sent[0].headers
    assert drive.credential_asks == 0


def test_basic_challenge_is_answered_then_sent_pre_emptively() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        if request.headers.get("Authorization") == BOB_BASIC:
            return AuthReply(200)
        return AuthReply(401, ('Basic realm="Registry Realm"',))

    drive = Drive(serve)
    assert drive.run().status == 200
    assert [r.headers.get("Authorization") for r in drive.sent] == [None, BOB_BASIC]
    # Second request: no 401 round trip.
    drive.sent.clear()
    assert drive.run().status == 200
    assert [r.headers.get("Authorization") for r in drive.sent] == [BOB_BASIC]


def test_basic_without_credentials_returns_the_401() -> None:
    drive = Drive(lambda request: AuthReply(401, ('Basic realm="r"',)), credentials=None)
    assert drive.run().status == 401
    assert len(drive.sent) == 1


def test_wrong_basic_credentials_are_not_retried_forever() -> None:
    drive = Drive(lambda request: AuthReply(401, ('Basic realm="r"',)))
    assert drive.run().status == 401
    assert len(drive.sent) == 2
    drive.sent.clear()
    # Pre-emptive Basic rejected, and the provider has nothing newer: give up.
    assert drive.run().status == 401
    assert len(drive.sent) == 1


def test_bearer_flow_asks_token_server_with_basic_creds_and_scope() -> None:
    drive = Drive(bearer_server())
    assert drive.run((push_scope("team/app"),)).status == 200
    registry_first, token, registry_retry = drive.sent
    assert "Authorization" not in registry_first.headers
    assert token.is_token
    assert token.url.startswith(REALM + "?")
    assert parse_qs(urlsplit(token.url).query) == {
        "service": ["reg"],
        "scope": ["repository:team/app:pull,push"],
    }
    assert token.headers["Authorization"] == BOB_BASIC
    assert registry_retry.headers["Authorization"] == "Bearer tok0"


def test_anonymous_token_request_has_no_authorization() -> None:
    drive = Drive(bearer_server(), credentials=None)
    assert drive.run().status == 200
    assert "Authorization" not in drive.token_requests[0].headers


def test_access_token_field_is_accepted() -> None:
    drive = Drive(bearer_server(field="access_token"))
    assert drive.run().status == 200
    assert drive.registry_requests[-1].headers["Authorization"] == "Bearer tok0"


def test_tokens_are_cached_per_scope_and_reused_pre_emptively() -> None:
    drive = Drive(bearer_server())
    drive.run((pull_scope("app"),))
    drive.sent.clear()
    drive.run((pull_scope("app"),))
    # Known challenge and cached token: one request, no token request.
    assert len(drive.sent) == 1
    assert drive.sent[0].headers["Authorization"] == "Bearer tok0"
    drive.sent.clear()
    drive.run((pull_scope("other"),))
    # Another scope: a new token, fetched before the request (challenge known).
    assert [r.is_token for r in drive.sent] == [True, False]
    assert scopes_of(drive.token_requests[0]) == ["repository:other:pull"]


def test_cached_token_is_refreshed_before_it_expires() -> None:
    drive = Drive(bearer_server(expires_in=None))  # spec default: 60 s
    drive.run()
    drive.clock.now += 45
    drive.sent.clear()
    drive.run()
    assert drive.token_requests == []
    drive.clock.now += 10  # 55 s: within the refresh margin of the 60 s lifetime
    drive.sent.clear()
    drive.run()
    assert len(drive.token_requests) == 1
    assert drive.registry_requests[-1].headers["Authorization"] == "Bearer tok1"


def test_rejected_cached_token_is_dropped_and_fetched_with_fresh_credentials() -> None:
    valid = {"tok0"}
    drive = Drive(bearer_server(valid=valid))
    drive.run()
    # The registry stops accepting tok0 (say, issued with creds that expired).
    valid.clear()
    valid.add("tok1")
    drive.credentials = Credentials("bob", "rotated")
    drive.sent.clear()
    assert drive.run().status == 200
    assert [r.headers.get("Authorization", "")[:10] for r in drive.sent] == [
        "Bearer tok",
        "Basic " + base64.b64encode(b"bob:rotated").decode()[:4],
        "Bearer tok",
    ]
    assert drive.sent[-1].headers["Authorization"] == "Bearer tok1"
    drive.sent.clear()
    drive.run()
    assert drive.sent[0].headers["Authorization"] == "Bearer tok1"


def test_insufficient_scope_re_asks_with_combined_scopes() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        if request.is_token:
            return AuthReply(200, (), token_body(" ".join(sorted(scopes_of(request)))))
        header = request.headers.get("Authorization", "")
        if "repository:src:pull" in header and "repository:dst:pull,push" in header:
            return AuthReply(201)
        if not header:
            return AuthReply(401, (BEARER,))
        challenge = BEARER + ',scope="repository:src:pull",error="insufficient_scope"'
        return AuthReply(401, (challenge,))

    drive = Drive(serve)
    status = drive.run((push_scope("dst"),)).status
    assert status == 201
    assert [scopes_of(r) for r in drive.token_requests] == [
        ["repository:dst:pull,push"],
        ["repository:dst:pull,push", "repository:src:pull"],
    ]


def test_mount_scopes_go_in_one_token_request() -> None:
    drive = Drive(bearer_server())
    drive.run((push_scope("dst"), pull_scope("src")))
    assert len(drive.token_requests) == 1
    assert sorted(scopes_of(drive.token_requests[0])) == [
        "repository:dst:pull,push",
        "repository:src:pull",
    ]
    # And the combined token is cached under the combined scopes.
    assert drive.auth.cached_token(HOST, "reg", [pull_scope("src"), push_scope("dst")])


def test_token_server_refusal_is_unauthorized_naming_the_user_and_no_secret() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        if request.is_token:
            return AuthReply(401, (), b'{"errors":[{"code":"UNAUTHORIZED","message":"bad"}]}')
        return AuthReply(401, (BEARER,))

    drive = Drive(serve, credentials=Credentials("bob", "wrong-password"))
    with pytest.raises(Unauthorized) as info:
        drive.run()
    message = str(info.value)
    assert "bob" in message
    assert "auth.example.com" in message
    assert "wrong-password" not in message
    assert "Basic " not in message


def test_token_response_without_token_is_unauthorized() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        if request.is_token:
            return AuthReply(200, (), b'{"expires_in": 60}')
        return AuthReply(401, (BEARER,))

    with pytest.raises(Unauthorized, match="without a token"):
        Drive(serve).run()


def test_plain_http_realm_on_a_remote_host_is_refused() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        return AuthReply(401, ('Bearer realm="http://auth.example.com/token",service="reg"',))

    with pytest.raises(InsecureRegistry, match=re.escape("--insecure-registry auth.example.com")):
        Drive(serve).run()


def test_plain_http_realm_on_loopback_is_fine() -> None:
    def serve(request: AuthRequest) -> AuthReply:
        if request.is_token:
            return AuthReply(200, (), token_body("t"))
        if request.headers.get("Authorization") == "Bearer t":
            return AuthReply(200)
        return AuthReply(401, ('Bearer realm="http://127.0.0.1:5001/token",service="reg"',))

    assert Drive(serve).run().status == 200


def test_401_without_a_usable_challenge_is_returned_as_is() -> None:
    drive = Drive(lambda request: AuthReply(401, ("Negotiate abc==",)))
    assert drive.run().status == 401
    assert len(drive.sent) == 1


def test_identity_token_is_sent_as_an_oauth2_refresh_grant_in_the_body() -> None:
    refresh = "rt-7f3a-secret"
    drive = Drive(bearer_server(), credentials=Credentials("<token>", "", identity_token=refresh))
    assert drive.run((push_scope("team/app"),)).status == 200
    (token,) = drive.token_requests
    assert token.method == "POST"
    assert token.url == REALM  # nothing in the URL, where proxies and logs would see it
    assert "Authorization" not in token.headers
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token.body.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": ["imageferry"],
        "service": ["reg"],
        "scope": ["repository:team/app:pull,push"],
        "refresh_token": [refresh],
    }
    assert refresh not in repr(token)
    assert drive.registry_requests[-1].headers["Authorization"] == "Bearer tok0"


def test_refused_identity_token_says_to_log_in_again() -> None:
    def refuse(request: AuthRequest) -> AuthReply:
        if request.is_token:
            return AuthReply(400, (), b'{"error": "invalid_grant"}')
        return AuthReply(401, (BEARER,))

    expired = "rt-zz9-expired"
    drive = Drive(refuse, credentials=Credentials("<token>", "", identity_token=expired))
    with pytest.raises(Unauthorized) as info:
        drive.run()
    message = str(info.value)
    assert "identity token" in message and "docker login" in message
    assert expired not in message

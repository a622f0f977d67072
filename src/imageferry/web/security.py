"""Who is asking, and may they change things?

Two ways in: a browser session cookie (see :mod:`imageferry.web.sessions`),
or ``Authorization: Bearer <API token>`` for the CLI and automation. Every
page and every ``/api`` route requires one of them. State-changing requests
made with a session must also carry the session's CSRF token; token-bearing
requests need not, as browsers never send that header by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from fastapi import HTTPException, Request, status

from imageferry.store.errors import UserNotFound
from imageferry.web.console import Console, console_of
from imageferry.web.sessions import COOKIE_NAME, CSRF_FIELD, CSRF_HEADER, Session, tokens_match

__all__ = [
    "LoginRequired",
    "Principal",
    "api_user",
    "page_user",
    "principal_of",
    "session_of",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    username: str
    via: Literal["session", "token"]
    #: The session's CSRF token (empty for API tokens).
    csrf: str = ""

    def __repr__(self) -> str:
        return f"Principal(username={self.username!r}, via={self.via!r})"


class LoginRequired(Exception):
    """A page was asked for without a session; the app redirects to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def session_of(request: Request, console: Console) -> Session | None:
    """The signed session in the request's cookie, if any and valid."""
    raw = request.cookies.get(COOKIE_NAME)
    return console.codec.loads(raw) if raw else None


def principal_of(request: Request) -> Principal | None:
    """The caller, authenticated by bearer token or by a logged-in session."""
    console = console_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        user = console.accounts.verify_api_token(credentials.strip())
        return Principal(user.username, "token") if user else None
    session = session_of(request, console)
    if session is None or not session.username:
        return None
    try:
        console.accounts.get_user(session.username)
    except UserNotFound:
        # Deleted since the cookie was signed: the session ends with the account.
        return None
    return Principal(session.username, "session", session.csrf)


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in _SAFE_METHODS or principal.via == "token":
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(principal.csrf, given):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "missing or wrong CSRF token: reload the page and try again",
        )


async def api_user(request: Request) -> Principal:
    """Dependency of every ``/api`` route: 401 without credentials, 403 without CSRF."""
    principal = principal_of(request)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "authentication required: log in, or send 'Authorization: Bearer <token>' "
            "(create one with `ferry serve --create-token NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await _check_csrf(request, principal)
    return principal


async def page_user(request: Request) -> Principal:
    """Dependency of every page: redirect to the login page without a session."""
    principal = principal_of(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired("/login?next=" + quote(target, safe=""))
    await _check_csrf(request, principal)
    return principal

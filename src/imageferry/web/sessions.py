"""Signed session cookies and their CSRF tokens.

The session is a cookie signed with itsdangerous: it carries the user name,
a random CSRF token and the signing time, and nothing secret. It is HttpOnly
and SameSite=Lax, and Secure when the console is served over https.

CSRF uses the synchroniser-token pattern: each session has its own random
token, which every state-changing form carries in a hidden ``csrf_token``
field and every script request in the ``X-CSRF-Token`` header. Requests
authenticated by an API token (``Authorization: Bearer``) need none: a
browser never attaches that header on its own.

The signing key is generated on first start and kept under the data
directory (mode 0600), so sessions survive a restart of ``ferry serve``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadData, URLSafeTimedSerializer

__all__ = [
    "COOKIE_NAME",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Session",
    "SessionCodec",
    "load_or_create_key",
    "tokens_match",
]

COOKIE_NAME = "ferry_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: A session lasts a working day and a half; the user logs in again after that.
MAX_AGE_SECONDS = 36 * 3600


@dataclass(frozen=True)
class Session:
    """A logged-in browser: who, and the CSRF token its forms must echo."""

    username: str
    csrf: str

    def __repr__(self) -> str:
        return f"Session(username={self.username!r})"


class SessionCodec:
    """Turns a :class:`Session` into a signed cookie value and back."""

    def __init__(self, key: bytes, max_age: int = MAX_AGE_SECONDS) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="imageferry-session")
        self.max_age = max_age

    def new(self, username: str) -> Session:
        return Session(username=username, csrf=secrets.token_urlsafe(32))

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"u": session.username, "c": session.csrf})

    def loads(self, value: str) -> Session | None:
        """The session in ``value``, or None if it is forged, altered or expired."""
        try:
            data = self._serializer.loads(value, max_age=self.max_age)
        except BadData:
            return None
        if not isinstance(data, dict):
            return None
        username, csrf = data.get("u"), data.get("c")
        if not isinstance(username, str) or not isinstance(csrf, str):
            return None
        return Session(username=username, csrf=csrf)


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def load_or_create_key(data_dir: Path) -> bytes:
    """The console's signing key, created (0600) under ``data_dir`` on first use."""
    path = data_dir / "console-session.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between our read and our create: use theirs.
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key

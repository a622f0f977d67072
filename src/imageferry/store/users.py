"""Console users and API tokens.

Passwords are kept as salted scrypt hashes, API tokens as SHA-256 hashes;
the plaintext of a token exists once, in the :class:`NewApiToken` returned
by :meth:`UserService.create_api_token`.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from imageferry.errors import ConfigError
from imageferry.store import models
from imageferry.store.base import StoreBase
from imageferry.store.errors import UserExists, UserNotFound
from imageferry.store.ids import new_token_id
from imageferry.store.passwords import (
    TOKEN_PREFIX,
    hash_password,
    hash_token,
    new_token,
    verify_password_hash,
)
from imageferry.store.records import (
    ApiTokenRecord,
    NewApiToken,
    UserRecord,
    api_token_record,
    user_record,
)

__all__ = ["UserService", "check_password", "check_username"]

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")
_MIN_PASSWORD = 8
#: ``last_used_at`` is refreshed at most this often, so API calls stay read-mostly.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the user does not exist takes as long as a real check.

    Made on first use: hashing costs a scrypt, which every ``ferry`` command
    that opens the store would otherwise pay at import.
    """
    return hash_password("imageferry-no-such-user")


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise ConfigError(
            f"invalid username {username!r}: use 1-150 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    if len(password) < _MIN_PASSWORD:
        raise ConfigError(f"password too short: use at least {_MIN_PASSWORD} characters")
    return password


class UserService(StoreBase):
    """User and token methods of :class:`imageferry.store.Store`."""

    def create_user(self, username: str, password: str, *, is_admin: bool = False) -> UserRecord:
        """Create a user, or raise :class:`UserExists`."""
        check_username(username)
        hashed = hash_password(check_password(password))
        try:
            with self._write() as session:
                row = models.User(
                    username=username,
                    password_hash=hashed,
                    is_admin=is_admin,
                    created_at=self._now(),
                )
                session.add(row)
                session.flush()
                return user_record(row)
        except IntegrityError as e:
            raise UserExists(username) from e

    def get_user(self, username: str) -> UserRecord:
        with self._read() as session:
            return user_record(self._user_row(session, username))

    def list_users(self) -> list[UserRecord]:
        with self._read() as session:
            return [user_record(r) for r in session.scalars(select(models.User).order_by("id"))]

    def count_users(self) -> int:
        """How many users exist: zero on first start, when the admin is created."""
        with self._read() as session:
            return session.scalar(select(func.count()).select_from(models.User)) or 0

    def set_password(self, username: str, password: str) -> None:
        hashed = hash_password(check_password(password))
        with self._write() as session:
            self._user_row(session, username).password_hash = hashed

    def delete_user(self, username: str) -> None:
        """Delete the user and their API tokens."""
        with self._write() as session:
            session.delete(self._user_row(session, username))

    def verify_password(self, username: str, password: str) -> UserRecord | None:
        """The user when the password is right, else None (unknown users take as long)."""
        with self._read() as session:
            row = session.scalars(
                select(models.User).where(models.User.username == username)
            ).one_or_none()
            if row is None:
                verify_password_hash(password, _dummy_hash())
                return None
            if not verify_password_hash(password, row.password_hash):
                return None
            return user_record(row)

    def create_api_token(self, username: str, name: str) -> NewApiToken:
        """A new token for the user; its plaintext is in the result and nowhere else."""
        plaintext = new_token()
        with self._write() as session:
            user = self._user_row(session, username)
            row = models.ApiToken(
                id=new_token_id(),
                user_id=user.id,
                name=name,
                token_hash=hash_token(plaintext),
                created_at=self._now(),
            )
            session.add(row)
            session.flush()
            return NewApiToken(api_token_record(row, username), plaintext)

    def list_api_tokens(self, username: str) -> list[ApiTokenRecord]:
        with self._read() as session:
            user = self._user_row(session, username)
            rows = session.scalars(
                select(models.ApiToken)
                .where(models.ApiToken.user_id == user.id)
                .order_by(models.ApiToken.created_at)
            )
            return [api_token_record(r, username) for r in rows]

    def revoke_api_token(self, token_id: str) -> bool:
        """Delete the token; False if there was none with that id."""
        with self._write() as session:
            row = session.get(models.ApiToken, token_id)
            if row is None:
                return False
            session.delete(row)
            return True

    def verify_api_token(self, plaintext: str) -> UserRecord | None:
        """The token's user, or None; notes when the token was last used."""
        if not plaintext.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(plaintext)
        with self._read() as session:
            found = session.execute(
                select(models.ApiToken, models.User)
                .join(models.User, models.ApiToken.user_id == models.User.id)
                .where(models.ApiToken.token_hash == digest)
            ).one_or_none()
            if found is None:
                return None
            token, user = found
            stale = token.last_used_at is None or (
                self._now() - token.last_used_at > _LAST_USED_GRANULARITY
            )
            token_id, record = token.id, user_record(user)
        if stale:
            with self._write() as session:
                row = session.get(models.ApiToken, token_id)
                if row is not None:
                    row.last_used_at = self._now()
        return record

    @staticmethod
    def _user_row(session: Session, username: str) -> models.User:
        row = session.scalars(
            select(models.User).where(models.User.username == username)
        ).one_or_none()
        if row is None:
            raise UserNotFound(username)
        return row

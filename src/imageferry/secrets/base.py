"""What every secret store offers, the errors it raises, and the name rules.

A secret is a small JSON object of strings (``{"username": ..., "password": ...}``
or the reference's ``{"access_key_id": ..., "secret_access_key": ...}``) stored
under a name. The same names work with the local store and AWS Secrets
Manager, so a task's ``srcCredential``/``destCredential`` means the same thing
whichever backend is configured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from imageferry.errors import ConfigError, FerryError

__all__ = [
    "InvalidSecret",
    "SecretNotFound",
    "SecretStore",
    "SecretStoreError",
    "validate_secret_name",
    "validate_secret_value",
]

# The characters and length AWS Secrets Manager accepts for a secret name, so a
# name valid locally can move to AWS unchanged.
_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")


class SecretNotFound(ConfigError):
    """No secret has this name in the configured store."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"secret {name!r} does not exist; create it with `ferry secret put {name}`"
        )
        self.name = name


class InvalidSecret(ConfigError):
    """A secret name or value that cannot be stored or used as given."""


class SecretStoreError(FerryError):
    """The store itself failed (unreadable file, wrong key, AWS error)."""


class SecretStore(Protocol):
    """A named store of small string mappings. Values never leave it in logs."""

    def get(self, name: str) -> dict[str, str]:
        """The value stored under ``name``. Raises :class:`SecretNotFound`."""

    def put(self, name: str, value: Mapping[str, str]) -> None:
        """Create or replace the secret ``name``."""

    def list(self) -> list[str]:
        """The names of every stored secret, sorted. Never the values."""

    def delete(self, name: str) -> None:
        """Remove ``name`` for good. Raises :class:`SecretNotFound`."""


def validate_secret_name(name: str) -> str:
    """``name`` if Secrets Manager would accept it, else :class:`InvalidSecret`."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidSecret(
            f"invalid secret name {name!r}: use 1 to 512 characters from "
            "letters, digits and / _ + = . @ -"
        )
    return name


def validate_secret_value(value: Mapping[str, object]) -> dict[str, str]:
    """A plain ``dict[str, str]`` copy of ``value``; rejects other shapes.

    The message names the offending key, never a value.
    """
    if not isinstance(value, Mapping) or not value:
        raise InvalidSecret("a secret value must be a non-empty JSON object of strings")
    checked: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidSecret("secret keys must be non-empty strings")
        if not isinstance(item, str):
            raise InvalidSecret(f"secret key {key!r} must hold a string")
        checked[key] = item
    return checked

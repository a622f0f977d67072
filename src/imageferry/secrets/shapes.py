"""The two shapes a registry credential secret takes, turned into typed values.

* ECR: ``{"access_key_id", "secret_access_key"}`` (optionally ``session_token``),
  the reference's format; it becomes :class:`~imageferry.aws.AwsKeys`, which
  the ECR code exchanges for a registry login token.
* Any other registry: ``{"username", "password"}``; it becomes
  :class:`~imageferry.registry.credentials.Credentials`.
"""

from __future__ import annotations

from collections.abc import Mapping

from imageferry.aws import AwsKeys
from imageferry.registry.credentials import Credentials
from imageferry.secrets.base import InvalidSecret, SecretStore

__all__ = ["registry_credentials_from_secret", "resolve_credential"]

_AWS_KEYS = {"access_key_id", "secret_access_key"}
_USER_PASS = {"username", "password"}


def registry_credentials_from_secret(
    value: Mapping[str, str], name: str = "the secret"
) -> Credentials | AwsKeys:
    """Typed credentials from a stored secret ``value``.

    ``name`` is only used in the error message, which lists the keys found
    (never the values) and the two accepted shapes.
    """
    keys = set(value)
    if keys >= _AWS_KEYS and all(value[k] for k in _AWS_KEYS):
        return AwsKeys(
            access_key_id=value["access_key_id"],
            secret_access_key=value["secret_access_key"],
            session_token=value.get("session_token") or None,
        )
    if keys >= _USER_PASS and value["username"]:
        return Credentials(username=value["username"], password=value["password"])
    found = ", ".join(sorted(keys)) or "none"
    raise InvalidSecret(
        f"{name} holds keys ({found}) that are not registry credentials; store either "
        '{"access_key_id", "secret_access_key"} for ECR or {"username", "password"}'
    )


def resolve_credential(store: SecretStore, name: str) -> Credentials | AwsKeys:
    """The credentials a task's ``srcCredential``/``destCredential`` names.

    Raises :class:`~imageferry.secrets.base.SecretNotFound` (with the
    ``ferry secret put`` hint) or :class:`InvalidSecret` for a wrong shape.
    """
    return registry_credentials_from_secret(store.get(name), name=f"secret {name!r}")

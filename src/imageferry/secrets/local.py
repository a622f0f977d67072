"""The local secret store: one Fernet-encrypted file under the data directory.

Layout (created on first write)::

    <data_dir>/secrets/            0700
        fernet.key                 0600  the key (Fernet: AES-128-CBC + HMAC-SHA256)
        store.fernet               0600  one token holding every secret as JSON
        .lock                      0600  fcntl lock shared by readers, exclusive to writers

Encryption at rest keeps values out of backups, greps and indexers that copy
the store file; the key beside it is protected by file permissions only, like
an SSH private key. Every write replaces the store with a fully written
temporary file (``os.replace``), so a crash leaves the old or the new store,
never half of one, and writers in other threads or processes serialise on the
lock so none of their updates is lost.
"""

from __future__ import annotations

import builtins
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from imageferry.secrets.base import (
    SecretNotFound,
    SecretStoreError,
    validate_secret_name,
    validate_secret_value,
)

__all__ = ["LocalSecretStore"]

_FORMAT_VERSION = 1


class LocalSecretStore:
    """A :class:`~imageferry.secrets.base.SecretStore` in ``<data_dir>/secrets``."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / "secrets"
        self._key_path = self.directory / "fernet.key"
        self._store_path = self.directory / "store.fernet"
        self._lock_path = self.directory / ".lock"

    def __repr__(self) -> str:
        return f"LocalSecretStore({str(self.directory)!r})"

    # -- SecretStore ---------------------------------------------------------

    def get(self, name: str) -> dict[str, str]:
        validate_secret_name(name)
        with self._locked(exclusive=False):
            secrets = self._read()
        if name not in secrets:
            raise SecretNotFound(name)
        return dict(secrets[name])

    def put(self, name: str, value: Mapping[str, str]) -> None:
        validate_secret_name(name)
        checked = validate_secret_value(value)
        with self._locked(exclusive=True):
            secrets = self._read()
            secrets[name] = checked
            self._write(secrets)

    def list(self) -> builtins.list[str]:
        with self._locked(exclusive=False):
            return sorted(self._read())

    def delete(self, name: str) -> None:
        validate_secret_name(name)
        with self._locked(exclusive=True):
            secrets = self._read()
            if name not in secrets:
                raise SecretNotFound(name)
            del secrets[name]
            self._write(secrets)

    # -- files ---------------------------------------------------------------

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold the store's lock. flock locks belong to the open file, so two
        threads of one process exclude each other as two processes do."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode is filtered by the umask and ignored if the directory exists.
            os.chmod(self.directory, 0o700)
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise SecretStoreError(
                f"cannot open the secret store in {self.directory}: {e.strerror}"
            ) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, dict[str, str]]:
        """Every secret, decrypted. An absent store is an empty one."""
        try:
            token = self._store_path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise SecretStoreError(f"cannot read {self._store_path}: {e.strerror}") from e
        fernet = self._fernet(create=False)
        try:
            document = json.loads(fernet.decrypt(token))
        except InvalidToken as e:
            raise SecretStoreError(
                f"cannot decrypt {self._store_path} with {self._key_path}: the key does not "
                "match the store (was the key file replaced?)"
            ) from e
        except ValueError as e:
            raise SecretStoreError(f"{self._store_path} is corrupt: not valid JSON") from e
        secrets = document.get("secrets") if isinstance(document, dict) else None
        if not isinstance(secrets, dict):
            raise SecretStoreError(f"{self._store_path} is corrupt: no 'secrets' object")
        return secrets

    def _write(self, secrets: Mapping[str, Mapping[str, str]]) -> None:
        document = {"version": _FORMAT_VERSION, "secrets": dict(secrets)}
        token = self._fernet(create=True).encrypt(json.dumps(document).encode())
        self._replace(self._store_path, token)

    def _fernet(self, *, create: bool) -> Fernet:
        try:
            key = self._key_path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise SecretStoreError(
                    f"{self._store_path} exists but its key {self._key_path} is missing; "
                    "restore the key file or remove the store"
                ) from None
            key = Fernet.generate_key()
            self._replace(self._key_path, key)
        except OSError as e:
            raise SecretStoreError(f"cannot read {self._key_path}: {e.strerror}") from e
        try:
            return Fernet(key.strip())
        except ValueError as e:
            raise SecretStoreError(f"{self._key_path} does not hold a valid Fernet key") from e

    def _replace(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` atomically, mode 0600 from the start."""
        try:
            # mkstemp creates the file with mode 0600 whatever the umask.
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            raise SecretStoreError(f"cannot write {path}: {e.strerror}") from e

"""The sandbox's loopback registry with the authentication tests need.

``imageferry.sandbox.LocalRegistry`` is anonymous: that is all ``ferry demo``
runs. Tests also need registries that ask for credentials, so this subclass
adds distribution's two auth backends:

* ``"htpasswd"``: HTTP Basic against ``users`` (name → password), stored as
  bcrypt hashes, the only scheme distribution's htpasswd backend accepts;
* ``"token"``: Docker token auth against ``token_server``
  (distribution docs, "Token Authentication Specification").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import bcrypt

from imageferry.sandbox import registry as sandbox
from imageferry.sandbox.registry import SandboxError, free_port
from stand_ins.token_server import TokenServer

__all__ = ["AuthMode", "LocalRegistry", "SandboxError", "free_port"]

AuthMode = Literal["none", "htpasswd", "token"]


class LocalRegistry(sandbox.LocalRegistry):
    """A loopback ``docker-registry``, anonymous or with Basic or token auth."""

    def __init__(
        self,
        *,
        auth: AuthMode = "none",
        users: Mapping[str, str] | None = None,
        token_server: TokenServer | None = None,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        if auth == "htpasswd" and not users:
            raise ValueError("auth='htpasswd' needs users={name: password}")
        if auth == "token" and token_server is None:
            raise ValueError("auth='token' needs token_server=TokenServer(...)")
        super().__init__(data_dir=data_dir, host=host, config_overrides=config_overrides)
        self._auth: AuthMode = auth
        self._users = dict(users or (token_server.users if token_server else {}))
        self._token_server = token_server

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalRegistry(url={self.url!r}, auth={self._auth!r}, {state})"

    @property
    def auth(self) -> AuthMode:
        return self._auth

    @property
    def users(self) -> dict[str, str]:
        """The test users (name → password) this registry accepts."""
        return dict(self._users)

    def _auth_config(self, workdir: Path) -> dict[str, Any] | None:
        if self._auth == "htpasswd":
            htpasswd = workdir / "htpasswd"
            htpasswd.write_text("".join(_htpasswd_line(n, pw) for n, pw in self._users.items()))
            return {"htpasswd": {"realm": "ferry-sandbox", "path": str(htpasswd)}}
        if self._auth == "token":
            ts = self._token_server
            assert ts is not None
            ts.start()
            return {
                "token": {
                    "realm": ts.realm,
                    "service": ts.service,
                    "issuer": ts.issuer,
                    "rootcertbundle": str(ts.cert_path),
                }
            }
        return None


def _htpasswd_line(name: str, password: str) -> str:
    return f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"

"""Token server logic without a registry: key IDs, credentials, claims."""

from __future__ import annotations

import base64
import re

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from stand_ins.token_server import TokenServer, libtrust_key_id


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_libtrust_key_id_shape_and_stability() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    kid = libtrust_key_id(key)
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", kid)
    assert libtrust_key_id(key) == kid
    assert libtrust_key_id(ec.generate_private_key(ec.SECP256R1()).public_key()) != kid


def test_authenticate() -> None:
    ts = TokenServer({"bob": "pw"})
    assert ts.authenticate(_basic("bob", "pw")) == (True, "bob")
    assert ts.authenticate(_basic("bob", "nope")) == (False, None)
    assert ts.authenticate(_basic("eve", "pw")) == (False, None)
    assert ts.authenticate("Bearer abc") == (False, None)
    assert ts.authenticate(None) == (False, None)
    assert TokenServer({}, allow_anonymous=True).authenticate(None) == (True, None)


def test_issued_token_claims() -> None:
    def acl(user: str | None, repository: str, actions: str) -> set[str]:
        return {"pull"} if repository.startswith("ro/") else set(actions.split(","))

    ts = TokenServer({"bob": "pw"}, acl, expires_in=120)
    body = ts.issue("bob", ["repository:ro/app:pull,push", "repository:host:5000/rw:push"])
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 120
    header = jwt.get_unverified_header(body["token"])
    assert header["kid"] == ts.key_id
    assert header["alg"] == "ES256"
    claims = jwt.decode(
        body["token"],
        ts.public_key,
        algorithms=["ES256"],
        audience=ts.service,
        issuer=ts.issuer,
    )
    assert claims["sub"] == "bob"
    assert claims["exp"] - claims["iat"] == 120
    assert claims["access"] == [
        {"type": "repository", "name": "ro/app", "actions": ["pull"]},
        {"type": "repository", "name": "host:5000/rw", "actions": ["push"]},
    ]


def test_default_acl_gives_anonymous_nothing() -> None:
    ts = TokenServer({"bob": "pw"}, allow_anonymous=True)
    claims = jwt.decode(
        ts.issue(None, ["repository:a:pull"])["token"], options={"verify_signature": False}
    )
    assert claims["access"] == [{"type": "repository", "name": "a", "actions": []}]

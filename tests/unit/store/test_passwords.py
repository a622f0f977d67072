from __future__ import annotations

from imageferry.store.passwords import (
    TOKEN_PREFIX,
    hash_password,
    hash_token,
    new_token,
    verify_password_hash,
)


def test_password_hash_verifies_only_the_right_password() -> None:
    stored = hash_password("s3cret password")
    assert "s3cret" not in stored
    assert stored.startswith("scrypt$")
    assert verify_password_hash("s3cret password", stored)
    assert not verify_password_hash("s3cret passwore", stored)


def test_same_password_gets_a_different_salt() -> None:
    assert hash_password("same") != hash_password("same")


def test_malformed_stored_hash_never_verifies() -> None:
    for stored in ("", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$abc$def"):
        assert not verify_password_hash("anything", stored)


def test_tokens_are_random_prefixed_and_hashed_stably() -> None:
    a, b = new_token(), new_token()
    assert a != b and a.startswith(TOKEN_PREFIX) and len(a) > 40
    assert hash_token(a) == hash_token(a) != hash_token(b)
    assert len(hash_token(a)) == 64

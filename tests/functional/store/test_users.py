"""Console users and API tokens: only hashes are stored, plaintexts are shown once."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from imageferry.errors import ConfigError
from imageferry.store import Store, UserExists, UserNotFound


def _all_stored_text(store: Store) -> str:
    with store.engine.connect() as connection:
        users = connection.execute(text("SELECT * FROM users")).all()
        tokens = connection.execute(text("SELECT * FROM api_tokens")).all()
    return repr(users) + repr(tokens)


def test_password_is_checked_and_never_stored(store: Store) -> None:
    assert store.count_users() == 0
    admin = store.create_user("admin", "correct horse battery", is_admin=True)
    assert admin.is_admin and store.count_users() == 1
    assert store.verify_password("admin", "correct horse battery") == admin
    assert store.verify_password("admin", "wrong password!") is None
    assert store.verify_password("nobody", "correct horse battery") is None
    assert "correct horse battery" not in _all_stored_text(store)


def test_duplicate_and_invalid_users_are_refused(store: Store) -> None:
    store.create_user("alice", "long enough")
    with pytest.raises(UserExists):
        store.create_user("alice", "another one!")
    with pytest.raises(ConfigError, match="too short"):
        store.create_user("bob", "short")
    with pytest.raises(ConfigError, match="invalid username"):
        store.create_user("bad name", "long enough")
    with pytest.raises(UserNotFound):
        store.get_user("bob")


def test_password_change(store: Store) -> None:
    store.create_user("alice", "first password")
    store.set_password("alice", "second password")
    assert store.verify_password("alice", "first password") is None
    assert store.verify_password("alice", "second password") is not None


def test_api_token_round_trip(store: Store) -> None:
    alice = store.create_user("alice", "long enough")
    new = store.create_api_token("alice", "ci")
    assert new.plaintext.startswith("ferry_")
    assert new.plaintext not in repr(new)
    assert new.plaintext not in _all_stored_text(store)
    assert store.verify_api_token(new.plaintext) == alice
    assert store.verify_api_token(new.plaintext + "x") is None
    assert store.verify_api_token("not-a-token") is None
    (listed,) = store.list_api_tokens("alice")
    assert listed.name == "ci" and listed.last_used_at is not None
    assert store.revoke_api_token(listed.id)
    assert store.verify_api_token(new.plaintext) is None
    assert not store.revoke_api_token(listed.id)


def test_deleting_a_user_deletes_their_tokens(store: Store) -> None:
    store.create_user("alice", "long enough")
    token = store.create_api_token("alice", "laptop")
    store.delete_user("alice")
    assert store.verify_api_token(token.plaintext) is None
    assert store.list_users() == []

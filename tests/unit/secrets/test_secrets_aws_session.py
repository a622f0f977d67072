"""imageferry.aws (tested here: the secret stores are its first users)."""

import dataclasses

import pytest

from imageferry.aws import AwsKeys, aws_session


def test_explicit_keys_are_used_and_hidden_from_repr() -> None:
    keys = AwsKeys("AKIAEXAMPLE", "wJalrXUtnFEMI", "session-tok")
    session = aws_session("eu-central-1", keys)
    creds = session.get_credentials()
    assert creds is not None
    assert (creds.access_key, creds.secret_key, creds.token) == (
        "AKIAEXAMPLE",
        "wJalrXUtnFEMI",
        "session-tok",
    )
    assert session.region_name == "eu-central-1"
    assert "wJalrXUtnFEMI" not in repr(keys) and "session-tok" not in repr(keys)


def test_keys_are_immutable() -> None:
    keys = AwsKeys("a", "b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        keys.access_key_id = "c"  # type: ignore[misc]


def test_no_keys_means_the_default_chain(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    creds = aws_session("us-west-2").get_credentials()
    assert creds is not None and creds.access_key == "from-env"

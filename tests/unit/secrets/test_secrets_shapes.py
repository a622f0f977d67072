import pytest

from imageferry.aws import AwsKeys
from imageferry.registry.credentials import Credentials
from imageferry.secrets import (
    InvalidSecret,
    LocalSecretStore,
    SecretNotFound,
    registry_credentials_from_secret,
    resolve_credential,
)


def test_reference_ecr_format_becomes_aws_keys() -> None:
    creds = registry_credentials_from_secret(
        {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "wJalrSECRET"}
    )
    assert creds == AwsKeys("AKIAEXAMPLE", "wJalrSECRET")
    assert "wJalrSECRET" not in repr(creds)
    assert "AKIAEXAMPLE" in repr(creds)


def test_session_token_is_kept_and_hidden() -> None:
    creds = registry_credentials_from_secret(
        {"access_key_id": "AKIA", "secret_access_key": "sk", "session_token": "tok-123"}
    )
    assert isinstance(creds, AwsKeys)
    assert creds.session_token == "tok-123"
    assert "tok-123" not in repr(creds)


def test_username_password_becomes_registry_credentials() -> None:
    creds = registry_credentials_from_secret({"username": "bob", "password": "hunter2"})
    assert creds == Credentials("bob", "hunter2")
    assert "hunter2" not in repr(creds)


def test_other_shapes_name_the_keys_and_the_accepted_shapes() -> None:
    with pytest.raises(InvalidSecret) as info:
        registry_credentials_from_secret({"user": "bob", "token": "s3cr3t"}, name="secret 'hub'")
    message = str(info.value)
    assert "secret 'hub'" in message
    assert "token, user" in message
    assert "access_key_id" in message and "username" in message
    assert "s3cr3t" not in message and "bob" not in message


def test_empty_access_key_is_not_accepted() -> None:
    with pytest.raises(InvalidSecret):
        registry_credentials_from_secret({"access_key_id": "", "secret_access_key": "x"})


def test_resolve_credential_reads_the_named_secret(tmp_path) -> None:
    store = LocalSecretStore(tmp_path)
    store.put("ecr-src", {"access_key_id": "AKIA", "secret_access_key": "sk"})
    store.put("odd", {"token": "t"})
    assert resolve_credential(store, "ecr-src") == AwsKeys("AKIA", "sk")
    with pytest.raises(SecretNotFound, match="ferry secret put missing"):
        resolve_credential(store, "missing")
    with pytest.raises(InvalidSecret, match="secret 'odd'"):
        resolve_credential(store, "odd")

"""AwsSecretStore against moto's Secrets Manager (a real HTTP server)."""

import json

import boto3
import pytest

from imageferry.aws import aws_session
from imageferry.errors import AwsUnreachable
from imageferry.secrets import (
    AwsSecretStore,
    InvalidSecret,
    SecretNotFound,
    open_secret_store,
)
from imageferry.settings import Settings
from stand_ins.moto import MotoServer


@pytest.fixture
def store(aws_env: MotoServer) -> AwsSecretStore:
    return AwsSecretStore(aws_session("us-east-1"))


def test_round_trip(store: AwsSecretStore) -> None:
    assert store.list() == []
    store.put("ecr/prod", {"access_key_id": "AKIA", "secret_access_key": "sk-1"})
    store.put("hub", {"username": "bob", "password": "hunter2"})
    assert store.get("ecr/prod") == {"access_key_id": "AKIA", "secret_access_key": "sk-1"}
    assert store.list() == ["ecr/prod", "hub"]

    store.put("hub", {"username": "bob", "password": "rotated"})
    assert store.get("hub") == {"username": "bob", "password": "rotated"}

    store.delete("hub")
    assert store.list() == ["ecr/prod"]
    with pytest.raises(SecretNotFound, match="ferry secret put hub"):
        store.get("hub")
    with pytest.raises(SecretNotFound):
        store.delete("hub")


def test_a_deleted_name_can_be_reused_at_once(store: AwsSecretStore) -> None:
    store.put("hub", {"username": "a", "password": "1"})
    store.delete("hub")
    store.put("hub", {"username": "b", "password": "2"})
    assert store.get("hub") == {"username": "b", "password": "2"}


def test_value_is_stored_as_json_secret_string(store: AwsSecretStore) -> None:
    """Secrets created by the reference's console (plain SecretString JSON) are readable."""
    client = boto3.client("secretsmanager")
    client.create_secret(
        Name="from-console",
        SecretString=json.dumps({"access_key_id": "AKIA2", "secret_access_key": "sk-2"}),
    )
    assert store.get("from-console")["access_key_id"] == "AKIA2"
    store.put("ours", {"username": "bob", "password": "pw"})
    raw = client.get_secret_value(SecretId="ours")["SecretString"]
    assert json.loads(raw) == {"username": "bob", "password": "pw"}


def test_list_follows_every_page(store: AwsSecretStore) -> None:
    client = boto3.client("secretsmanager")
    names = [f"bulk/secret-{i:03d}" for i in range(130)]
    for name in names:
        client.create_secret(Name=name, SecretString='{"username":"u","password":"p"}')
    assert len(client.list_secrets()["SecretList"]) <= 100
    assert store.list() == names


def test_non_json_secret_is_reported_without_its_content(store: AwsSecretStore) -> None:
    boto3.client("secretsmanager").create_secret(Name="plain", SecretString="not-json-s3cret")
    with pytest.raises(InvalidSecret) as info:
        store.get("plain")
    assert "plain" in str(info.value)
    assert "not-json-s3cret" not in str(info.value)


def test_unreachable_service_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = AwsSecretStore(aws_session("us-east-1"))
    with pytest.raises(AwsUnreachable) as caught:
        store.put("hub", {"username": "bob", "password": "never-shown"})
    assert str(caught.value).startswith(
        "AWS Secrets Manager in us-east-1: cannot reach http://127.0.0.1:9/"
    )
    assert "never-shown" not in str(caught.value)


def test_configuration_selects_the_aws_backend(aws_env: MotoServer, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, secret_backend="aws", aws_region="us-east-1")
    open_secret_store(settings).put("hub", {"username": "bob", "password": "pw"})
    assert boto3.client("secretsmanager").list_secrets()["SecretList"][0]["Name"] == "hub"
    assert not (tmp_path / "secrets").exists()

from pathlib import Path

import boto3

from imageferry.secrets import AwsSecretStore, LocalSecretStore, open_secret_store
from imageferry.settings import Settings


def test_local_backend_lives_under_the_data_dir(tmp_path: Path) -> None:
    store = open_secret_store(Settings(data_dir=tmp_path, secret_backend="local"))
    assert isinstance(store, LocalSecretStore)
    assert store.directory == tmp_path / "secrets"


def test_aws_backend_uses_the_given_session(tmp_path: Path) -> None:
    session = boto3.Session(
        aws_access_key_id="a", aws_secret_access_key="b", region_name="eu-west-3"
    )
    store = open_secret_store(Settings(data_dir=tmp_path, secret_backend="aws"), session)
    assert isinstance(store, AwsSecretStore)
    assert "eu-west-3" in repr(store)


def test_aws_backend_defaults_to_the_configured_region(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_backend="aws", aws_region="ap-south-1")
    assert "ap-south-1" in repr(open_secret_store(settings))

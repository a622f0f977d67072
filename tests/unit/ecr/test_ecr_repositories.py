import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.repositories import (
    Ensured,
    RepositorySettings,
    ensure_repository,
    tag_immutable_from,
)
from imageferry.errors import ConfigError, NotFound, ResponseError, TagImmutable

TARGET = EcrRegistry("111122223333", "us-east-1")
HOST = TARGET.host


def test_kms_key_needs_kms_encryption() -> None:
    with pytest.raises(ConfigError, match="encryption is not KMS"):
        RepositorySettings(kms_key="alias/x")
    assert RepositorySettings(encryption="KMS", kms_key="alias/x").encryption_configuration() == {
        "encryptionType": "KMS",
        "kmsKey": "alias/x",
    }
    assert RepositorySettings().encryption_configuration() == {"encryptionType": "AES256"}


async def test_a_concurrent_creator_winning_the_race_is_fine() -> None:
    client = boto3.client(
        "ecr", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    with Stubber(client) as stub:
        stub.add_client_error("describe_repositories", "RepositoryNotFoundException")
        stub.add_client_error("create_repository", "RepositoryAlreadyExistsException")
        assert await ensure_repository(client, "app", target=TARGET) is Ensured.EXISTED
        stub.assert_no_pending_responses()


def test_ecr_immutable_refusal_becomes_tag_immutable_naming_the_tag() -> None:
    refusal = ResponseError(
        "pushing x: 400 (TAG_INVALID: The image tag 'v1' already exists in the 'app' "
        "repository and cannot be overwritten because the repository is immutable.)",
        status=400,
        code="TAG_INVALID",
        registry=HOST,
    )
    error = tag_immutable_from(refusal, registry=HOST, repository="app", tag="v1")
    assert isinstance(error, TagImmutable)
    assert "immutable tags" in str(error)
    assert f"{HOST}/app:v1" in str(error)
    assert "'v1' already exists" in str(error)


def test_put_image_tag_exists_becomes_tag_immutable() -> None:
    api_error = ClientError(
        {"Error": {"Code": "ImageTagAlreadyExistsException", "Message": "tag exists"}},
        "PutImage",
    )
    error = tag_immutable_from(api_error, registry=HOST, repository="app", tag="1.0")
    assert isinstance(error, TagImmutable)
    assert "app:1.0" in str(error)


def test_other_errors_are_not_tag_immutable() -> None:
    other = NotFound("x", status=404, code="NAME_UNKNOWN", registry=HOST)
    assert tag_immutable_from(other, registry=HOST, repository="a", tag="t") is None
    invalid = ResponseError("x: TAG_INVALID bad tag", status=400, code="TAG_INVALID")
    assert tag_immutable_from(invalid, registry=HOST, repository="a", tag="t") is None
    assert tag_immutable_from(ValueError("x"), registry=HOST, repository="a", tag="t") is None

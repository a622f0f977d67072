import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from imageferry.ecr.errors import (
    EcrAccessDenied,
    EcrCredentialsError,
    EcrError,
    EcrRepositoryNotFound,
    EcrThrottled,
    EcrUnreachable,
    aws_errors,
)
from imageferry.ecr.hosts import EcrRegistry
from imageferry.errors import AwsCredentialsError, AwsError, RegistryError, TransportError

TARGET = EcrRegistry("111122223333", "cn-north-1")


def client_error(code: str, message: str, action: str = "DescribeImages") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, action)


@pytest.mark.parametrize(
    ("error", "cls", "hint"),
    [
        (client_error("AccessDeniedException", "not authorized"), EcrAccessDenied, "grant ecr:"),
        (client_error("UnrecognizedClientException", "invalid"), EcrCredentialsError, "access key"),
        (client_error("ExpiredTokenException", "expired"), EcrCredentialsError, "session token"),
        (client_error("RepositoryNotFoundException", "no repo 'x'"), EcrRepositoryNotFound, "x"),
        (client_error("ThrottlingException", "Rate exceeded"), EcrThrottled, "AWS_MAX_ATTEMPTS"),
        (client_error("ServerException", "boom"), EcrError, "ServerException"),
    ],
)
def test_client_errors_name_action_target_and_code(
    error: ClientError, cls: type[EcrError], hint: str
) -> None:
    with pytest.raises(cls) as caught, aws_errors("DescribeImages", TARGET, "repository 'x'"):
        raise error
    message = str(caught.value)
    assert "DescribeImages" in message
    assert "111122223333" in message and "cn-north-1" in message
    assert error.response["Error"]["Code"] in message
    assert hint in message
    assert caught.value.aws_code == error.response["Error"]["Code"]
    assert caught.value.registry == "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert isinstance(caught.value, RegistryError)
    assert isinstance(caught.value, AwsError)
    assert (caught.value.service, caught.value.region) == ("Amazon ECR", "cn-north-1")


def test_missing_credentials_say_how_to_provide_them() -> None:
    expected = pytest.raises(EcrCredentialsError, match="no AWS credentials found")
    with (
        expected as caught,
        aws_errors("GetAuthorizationToken", TARGET, keys_from="destCredential"),
    ):
        raise NoCredentialsError()
    assert str(caught.value) == (
        "Amazon ECR in cn-north-1 (account 111122223333): no AWS credentials found; set "
        "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or name a destCredential secret"
    )
    assert isinstance(caught.value, AwsCredentialsError)


def test_unreachable_endpoint_is_a_transport_error() -> None:
    with pytest.raises(EcrUnreachable) as caught, aws_errors("DescribeRepositories", TARGET):
        raise EndpointConnectionError(endpoint_url="https://api.ecr.cn-north-1.amazonaws.com.cn")
    assert isinstance(caught.value, TransportError)
    assert "cannot reach" in str(caught.value)


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError), aws_errors("DescribeImages", TARGET):
        raise KeyError("x")


def test_invalid_parameters_are_reported_with_the_action() -> None:
    from botocore.exceptions import ParamValidationError

    expected = pytest.raises(
        EcrError, match=r"DescribeRepositories failed: Parameter validation failed"
    )
    with expected, aws_errors("DescribeRepositories", TARGET):
        raise ParamValidationError(report="repositoryNames[0] too short")

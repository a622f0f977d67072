"""botocore's failures, each as one line naming the service, the cause and the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from imageferry.aws_errors import ECR, SECRETS_MANAGER, SNS, STS, AwsCall, aws_errors
from imageferry.errors import (
    AwsAccessDenied,
    AwsCredentialsError,
    AwsError,
    AwsThrottled,
    AwsUnreachable,
    FerryError,
)

STS_CALL = AwsCall(STS, "us-west-2", "GetCallerIdentity", keys_from="destCredential")


def client_error(code: str, message: str = "", retries: int = 0) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"RetryAttempts": retries},
        },
        "GetCallerIdentity",
    )


CASES = [
    (
        NoCredentialsError(),
        AwsCredentialsError,
        "AWS STS in us-west-2: no AWS credentials found; set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or name a destCredential secret",
    ),
    (
        PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        AwsCredentialsError,
        "AWS STS in us-west-2: incomplete AWS credentials (Partial credentials found in env, "
        "missing: AWS_SECRET_ACCESS_KEY); set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or name a destCredential secret",
    ),
    (
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"),
        AwsUnreachable,
        "AWS STS in us-west-2: cannot reach http://127.0.0.1:9/ (EndpointConnectionError); "
        "check the network, proxy settings and region name, or AWS_ENDPOINT_URL_STS if set",
    ),
    (
        ConnectTimeoutError(endpoint_url="https://sts.us-west-2.amazonaws.com/"),
        AwsUnreachable,
        "cannot reach https://sts.us-west-2.amazonaws.com/ (ConnectTimeoutError)",
    ),
    (
        ReadTimeoutError(endpoint_url="https://sts.us-west-2.amazonaws.com/"),
        AwsUnreachable,
        "cannot reach https://sts.us-west-2.amazonaws.com/ (ReadTimeoutError)",
    ),
    (
        client_error("AccessDenied", "User: arn:aws:iam::1:user/u is not\nauthorized"),
        AwsAccessDenied,
        "AWS STS in us-west-2: access denied to sts:GetCallerIdentity (AccessDenied: User: "
        "arn:aws:iam::1:user/u is not authorized); grant sts:GetCallerIdentity to the keys of "
        "the destCredential secret (or, without one, of the environment)",
    ),
    (
        client_error("InvalidClientTokenId", "The security token is invalid."),
        AwsCredentialsError,
        "AWS did not accept the credentials for GetCallerIdentity (InvalidClientTokenId: The "
        "security token is invalid.); check the access key pair in the keys of the "
        "destCredential secret",
    ),
    (client_error("ExpiredToken"), AwsCredentialsError, "renew the session token"),
    (client_error("UnrecognizedClientException"), AwsCredentialsError, "check the access key"),
    (
        client_error("Throttling", "Rate exceeded", retries=4),
        AwsThrottled,
        "AWS STS in us-west-2: GetCallerIdentity still throttled after 5 attempt(s) "
        "(Throttling: Rate exceeded); try again later",
    ),
    (client_error("ThrottlingException"), AwsThrottled, "raise AWS_MAX_ATTEMPTS"),
    (client_error("TooManyRequestsException"), AwsThrottled, "still throttled"),
    (
        client_error("InternalFailure", "boom"),
        AwsError,
        "AWS STS in us-west-2: GetCallerIdentity failed with InternalFailure: boom",
    ),
]


@pytest.mark.parametrize(("error", "cls", "text"), CASES)
def test_each_failure_is_one_typed_line(error: Exception, cls: type[AwsError], text: str) -> None:
    with pytest.raises(AwsError) as caught, aws_errors(STS_CALL):
        raise error
    assert type(caught.value) is cls
    message = str(caught.value)
    assert text in message
    assert "\n" not in message
    assert isinstance(caught.value, FerryError)
    assert (caught.value.service, caught.value.region) == ("AWS STS", "us-west-2")
    assert caught.value.action == "GetCallerIdentity"
    assert caught.value.__cause__ is error


@pytest.mark.parametrize(
    ("service", "head", "permission"),
    [
        (ECR, "Amazon ECR in eu-west-1", "ecr:GetSecretValue"),
        (SECRETS_MANAGER, "AWS Secrets Manager in eu-west-1", "secretsmanager:GetSecretValue"),
        (SNS, "Amazon SNS in eu-west-1", "sns:GetSecretValue"),
    ],
)
def test_the_service_and_its_permission_are_named(service, head, permission) -> None:
    call = AwsCall(service, "eu-west-1", "GetSecretValue", subject="secret 'hub'")
    with pytest.raises(AwsAccessDenied) as caught, aws_errors(call):
        raise client_error("AccessDeniedException", "no")
    assert str(caught.value).startswith(f"{head}: access denied to {permission} on secret 'hub'")
    assert "the AWS keys in use (AWS_PROFILE or AWS_ACCESS_KEY_ID)" in str(caught.value)


def test_without_a_credential_parameter_the_fix_is_the_environment() -> None:
    with pytest.raises(AwsCredentialsError) as caught, aws_errors(AwsCall(SNS, "us-east-1", "X")):
        raise NoCredentialsError()
    assert str(caught.value) == (
        "Amazon SNS in us-east-1: no AWS credentials found; set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )


def test_other_exceptions_pass_through_untouched() -> None:
    with pytest.raises(KeyError), aws_errors(STS_CALL):
        raise KeyError("x")


def test_a_missing_profile_is_named_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from imageferry.aws import aws_session

    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AwsCredentialsError) as caught:
        aws_session("eu-west-1")
    assert str(caught.value) == (
        "AWS in eu-west-1: the AWS profile 'no-such-profile' is not in the AWS config files; "
        "set AWS_PROFILE to a profile that exists (`aws configure list-profiles`), or unset it"
    )

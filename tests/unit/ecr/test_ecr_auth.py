import base64
from datetime import UTC, datetime

import pytest

from imageferry.ecr.auth import EcrCredentialProvider, decode_token
from imageferry.registry.credentials import Credentials


def test_decode_token_splits_user_and_password() -> None:
    raw = base64.b64encode(b"AWS:eyJwYXlsb2FkIjoi:with:colons").decode()
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    token = decode_token(raw, expiry)
    assert token.credentials() == Credentials("AWS", "eyJwYXlsb2FkIjoi:with:colons")
    assert token.expires_at == expiry.timestamp()
    assert "eyJwYXlsb2FkIjoi" not in repr(token)


@pytest.mark.parametrize("raw", ["not base64!", base64.b64encode(b"no-colon").decode(), ""])
def test_decode_token_rejects_garbage_without_quoting_it(raw: str) -> None:
    with pytest.raises(ValueError, match="not base64 of user:password") as caught:
        decode_token(raw, 0.0)
    if raw:
        assert raw not in str(caught.value)


async def test_non_ecr_hosts_get_no_credentials_and_no_aws_call() -> None:
    def factory(region: str, keys: object) -> object:
        raise AssertionError("no ECR client should be made for a non-ECR host")

    provider = EcrCredentialProvider(client_factory=factory)  # type: ignore[arg-type]
    assert await provider.get("docker.io") is None
    assert await provider.get("localhost:5000") is None
    assert await provider.get("public.ecr.aws") is None

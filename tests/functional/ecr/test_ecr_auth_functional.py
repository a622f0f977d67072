"""EcrCredentialProvider against the stand-in: real tokens opening a real registry."""

from __future__ import annotations

import pytest

from fixtures.ecr import ECR_ACCOUNT, ECR_REGION, FAKE_ACCESS_KEY, data_plane_url
from imageferry.aws import AwsKeys
from imageferry.ecr.auth import EcrCredentialProvider
from imageferry.ecr.client import ecr_client
from imageferry.ecr.errors import EcrCredentialsError
from imageferry.ecr.hosts import EcrRegistry
from imageferry.ecr.repositories import ensure_repository
from imageferry.errors import Unauthorized
from imageferry.registry import RegistryClient, RegistryConfig, StaticCredentials
from stand_ins.ecr import EcrStandIn
from stand_ins.images import push_image

TARGET = EcrRegistry(ECR_ACCOUNT, ECR_REGION)


async def test_provider_credentials_push_and_pull_through_the_ecr_host_name(
    ecr: EcrStandIn,
) -> None:
    await ensure_repository(ecr_client(TARGET.region), "team/app", target=TARGET)
    data_plane = data_plane_url(ecr, TARGET)
    provider = EcrCredentialProvider(aliases=ecr.aliases())
    creds = await provider.get(TARGET.host)
    assert creds is not None and creds.username == "AWS"

    pushed = push_image(data_plane, "team/app", "1.0", auth=(creds.username, creds.password))
    config = RegistryConfig(mirrors=ecr.mirrors())
    async with RegistryClient(config, provider) as client:
        manifest = await client.repository(TARGET.host, "team/app").get_manifest("1.0")
    assert str(manifest.digest) == pushed.digest
    assert manifest.body == pushed.body


async def test_token_is_cached_and_refreshed_before_it_expires(ecr_env: None, monkeypatch) -> None:
    now = [1_700_000_000.0]

    def clock() -> float:
        return now[0]

    with EcrStandIn(clock=clock) as stand_in:
        monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", stand_in.endpoint_url)
        await ensure_repository(ecr_client(TARGET.region), "app", target=TARGET)
        url = data_plane_url(stand_in, TARGET)
        provider = EcrCredentialProvider(clock=clock, refresh_margin=1800)

        first = await provider.get(TARGET.host)
        assert first is not None
        now[0] += 6 * 3600  # well inside the 12 h lifetime: the cached token serves
        assert await provider.get(TARGET.host) == first
        assert stand_in.call_counts["GetAuthorizationToken"] == 1

        now[0] += 5.6 * 3600  # 11.6 h: within the 30 min margin, so a new token
        second = await provider.get(TARGET.host)
        assert second is not None and second != first
        assert stand_in.call_counts["GetAuthorizationToken"] == 2

        now[0] += 0.5 * 3600  # 12.1 h: the first token has expired at the registry
        config = RegistryConfig(mirrors=stand_in.mirrors(), retries=0)
        stale = StaticCredentials({url.removeprefix("http://"): first})
        async with RegistryClient(config, stale) as client:
            with pytest.raises(Unauthorized):
                await client.repository(TARGET.host, "app").list_tags()
        assert push_image(url, "app", "ok", auth=(second.username, second.password)).digest


async def test_each_registry_uses_its_own_keys_and_region(ecr: EcrStandIn) -> None:
    source = EcrRegistry("111111111111", "cn-north-1")
    destination = EcrRegistry("222222222222", "us-gov-west-1")
    provider = EcrCredentialProvider(
        {
            source.host: AwsKeys("AKIASOURCE0000000001", "source-secret"),
            destination.account_id: AwsKeys("AKIADEST000000000002", "dest-secret"),
        }
    )
    assert source.host.endswith(".amazonaws.com.cn")
    src_creds = await provider.get(source.host)
    dst_creds = await provider.get(destination.host)
    assert src_creds is not None and dst_creds is not None
    seen = {(c.access_key_id, c.region) for c in ecr.calls if c.action == "GetAuthorizationToken"}
    assert seen == {
        ("AKIASOURCE0000000001", "cn-north-1"),
        ("AKIADEST000000000002", "us-gov-west-1"),
    }
    # A token opens only the registry it was issued for.
    await ensure_repository(ecr_client("us-gov-west-1"), "app", target=destination)
    with pytest.raises(Exception, match="401"):
        push_image(data_plane_url(ecr, destination), "app", "x", auth=("AWS", src_creds.password))
    push_image(data_plane_url(ecr, destination), "app", "x", auth=("AWS", dst_creds.password))
    assert FAKE_ACCESS_KEY not in seen


async def test_rejected_keys_give_a_clear_error_without_the_secret(ecr_env: None, monkeypatch):
    with EcrStandIn(revoked_keys={"AKIAREVOKED000000000"}) as stand_in:
        monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", stand_in.endpoint_url)
        provider = EcrCredentialProvider(
            default_keys=AwsKeys("AKIAREVOKED000000000", "very-secret-value")
        )
        with pytest.raises(EcrCredentialsError) as caught:
            await provider.get(TARGET.host)
    message = str(caught.value)
    assert "GetAuthorizationToken" in message
    assert "UnrecognizedClientException" in message
    assert ECR_ACCOUNT in message and ECR_REGION in message
    assert "very-secret-value" not in message


async def test_no_credentials_at_all_is_a_clear_error(ecr: EcrStandIn, monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(EcrCredentialsError, match="no AWS credentials found; set AWS_PROFILE"):
        await EcrCredentialProvider().get(TARGET.host)

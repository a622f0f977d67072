import pytest

from imageferry.ecr.hosts import EcrRegistry, parse_registry_host, partition_of, registry_host
from imageferry.errors import ConfigError


@pytest.mark.parametrize(
    ("region", "partition", "host"),
    [
        ("us-east-1", "aws", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ("eu-central-2", "aws", "123456789012.dkr.ecr.eu-central-2.amazonaws.com"),
        ("cn-north-1", "aws-cn", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com"),
        ("us-iso-east-1", "aws-iso", "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov"),
        ("us-isob-east-1", "aws-iso-b", "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov"),
    ],
)
def test_partition_and_host_per_region(region: str, partition: str, host: str) -> None:
    assert partition_of(region) == partition
    assert registry_host("123456789012", region) == host
    assert parse_registry_host(host) == EcrRegistry("123456789012", region)
    assert EcrRegistry("123456789012", region).host == host


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("111122223333.dkr.ecr.ap-southeast-1.amazonaws.com", ("111122223333", "ap-southeast-1")),
        ("111122223333.DKR.ECR.us-west-2.AMAZONAWS.COM", ("111122223333", "us-west-2")),
        ("111122223333.dkr.ecr.us-west-2.amazonaws.com:443", ("111122223333", "us-west-2")),
        ("111122223333.dkr.ecr-fips.us-east-1.amazonaws.com", ("111122223333", "us-east-1")),
        # the suffix must belong to the region's partition
        ("111122223333.dkr.ecr.cn-north-1.amazonaws.com", None),
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com.cn", None),
        ("11112222333.dkr.ecr.us-east-1.amazonaws.com", None),
        ("public.ecr.aws", None),
        ("docker.io", None),
        ("localhost:5000", None),
        ("111122223333.dkr.ecr.us-east-1.amazonaws.com.evil.example", None),
    ],
)
def test_parse_registry_host(host: str, expected: tuple[str, str] | None) -> None:
    parsed = parse_registry_host(host)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None
        assert (parsed.account_id, parsed.region) == expected


@pytest.mark.parametrize("region", ["useast1", "US-EAST-1", "us-east", ""])
def test_bad_region_is_a_config_error_naming_it(region: str) -> None:
    with pytest.raises(ConfigError, match="region"):
        partition_of(region)


@pytest.mark.parametrize("account", ["12345", "abcdefghijkl", "1234567890123"])
def test_bad_account_is_a_config_error(account: str) -> None:
    with pytest.raises(ConfigError, match="12 digits"):
        registry_host(account, "us-east-1")

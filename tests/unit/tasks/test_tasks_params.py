"""TaskSpec: the reference's parameter table, its defaults, and every problem at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from imageferry.errors import ConfigError
from imageferry.manifest import Platform
from imageferry.tasks import params as params_module
from imageferry.tasks.params import (
    PARAMETER_NAMES,
    PARAMETER_TABLE,
    TaskSpec,
    TaskSpecError,
    parse_image_entry,
    parse_rate,
)

REFERENCE_PARAMETERS = [
    "sourceType",
    "srcRegion",
    "srcAccountId",
    "srcList",
    "srcImageList",
    "srcCredential",
    "destRegion",
    "destAccountId",
    "destPrefix",
    "destCredential",
    "includeUntagged",
    "ecsClusterName",
    "ecsVpcId",
    "ecsSubnetA",
    "ecsSubnetB",
    "alarmEmail",
]

# The smallest valid task: an ECR source region and an ECR destination region.
BASE = {"srcRegion": "us-east-1", "destRegion": "us-west-2"}
ECR = "111122223333.dkr.ecr.us-east-1.amazonaws.com"


def spec(**overrides: object) -> TaskSpec:
    return TaskSpec.from_parameters({**BASE, **overrides})


def problems(**overrides: object) -> dict[str, str]:
    with pytest.raises(TaskSpecError) as info:
        spec(**overrides)
    return {p.parameter: p.message for p in info.value.problems}


def test_table_has_the_reference_parameters_in_order_and_marks_extensions() -> None:
    reference_rows = [p.name for p in PARAMETER_TABLE if not p.is_extension]
    assert reference_rows == REFERENCE_PARAMETERS
    extensions = {p.name for p in PARAMETER_TABLE if p.is_extension}
    assert extensions == {
        "srcRegistry",
        "destRegistry",
        "includeTags",
        "excludeTags",
        "multiArch",
        "platforms",
        "copyReferrers",
        "scheduleType",
        "scheduleExpression",
        "destScanOnPush",
        "destTagMutability",
        "destEncryption",
        "destKmsKey",
        "concurrency",
        "name",
    }
    assert set(TaskSpec.model_fields) == set(PARAMETER_NAMES)


def test_defaults_are_the_references() -> None:
    s = spec()
    assert s.sourceType == "Amazon_ECR"
    assert s.srcList == "ALL"
    assert s.srcImageList == ""
    assert s.includeUntagged is True
    assert s.multiArch == "all"
    assert s.scheduleType == "FIXED_RATE"
    assert s.scheduleExpression == "rate(1 day)"
    assert s.interval == timedelta(days=1)
    assert s.concurrency is None  # blank: the registries' windows set the pace


def test_table_defaults_agree_with_a_default_spec() -> None:
    shown = spec().parameters()
    for row in PARAMETER_TABLE:
        if row.name not in BASE:
            assert shown[row.name] == row.default, row.name


def test_model_dump_gives_back_exactly_the_parameter_names() -> None:
    dumped = spec().model_dump(by_alias=True)
    assert list(dumped) == list(TaskSpec.model_fields)
    assert set(dumped) == set(PARAMETER_NAMES)


def test_parameters_are_strings_and_round_trip() -> None:
    s = spec(includeUntagged="false", concurrency="12", destPrefix="mirror")
    shown = s.parameters()
    assert list(shown) == list(PARAMETER_NAMES)
    assert all(isinstance(v, str) for v in shown.values())
    assert shown["includeUntagged"] == "false"
    assert shown["concurrency"] == "12"
    assert TaskSpec.from_parameters(shown) == s


def test_spec_is_frozen() -> None:
    s = spec()
    with pytest.raises(Exception, match="frozen"):
        s.srcRegion = "eu-west-1"  # type: ignore[misc]


def test_direct_construction_validates_too() -> None:
    with pytest.raises(TaskSpecError):
        TaskSpec(srcRegion="nowhere", destRegion="us-west-2")


def test_error_is_a_config_error_and_lists_every_problem_in_its_message() -> None:
    with pytest.raises(ConfigError) as info:
        spec(srcRegion="US-EAST-1", srcAccountId="12345", alarmEmail="nobody")
    text = str(info.value)
    assert "3 problems" in text
    for name in ("srcRegion", "srcAccountId", "alarmEmail"):
        assert f"- {name}:" in text


@pytest.mark.parametrize(
    ("name", "given", "stored"),
    [
        ("sourceType", "Amazon_ECR", "Amazon_ECR"),
        ("sourceType", "amazon_ecr", "Amazon_ECR"),
        ("srcList", "all", "ALL"),
        ("srcRegion", "us-east-1", "us-east-1"),
        ("srcRegion", "cn-north-1", "cn-north-1"),
        ("srcRegion", "cn-northwest-1", "cn-northwest-1"),
        ("srcRegion", "us-gov-west-1", "us-gov-west-1"),
        ("srcRegion", "us-isob-east-1", "us-isob-east-1"),
        ("srcRegion", " eu-central-1 ", "eu-central-1"),
        ("destRegion", "ap-southeast-2", "ap-southeast-2"),
        ("srcAccountId", "123456789012", "123456789012"),
        ("srcAccountId", "1234-5678-9012", "123456789012"),
        ("destAccountId", "", ""),
        ("srcCredential", "dev-us-credential", "dev-us-credential"),
        ("destCredential", "team/ecr@prod", "team/ecr@prod"),
        ("destPrefix", "mirror", "mirror"),
        ("destPrefix", "mirror/team-a", "mirror/team-a"),
        ("destPrefix", "mirror/", "mirror"),
        ("includeUntagged", "TRUE", True),
        ("includeUntagged", "False", False),
        ("includeUntagged", False, False),
        ("includeUntagged", "", True),
        ("alarmEmail", "your_email@example.com", "your_email@example.com"),
        ("ecsClusterName", "dth-v22-01-TaskCluster-eHzKkHatj0tN", None),
        ("ecsVpcId", "vpc-07f56e8e21630a2a0", None),
        ("ecsVpcId", "vpc-bef13dc7", None),
        ("ecsSubnetA", "subnet-97bfc4cd", None),
        ("ecsSubnetB", "subnet-0487ae5a1d3badde7", None),
        ("srcRegistry", "localhost:5000", "localhost:5000"),
        ("srcRegistry", "quay.io", "quay.io"),
        ("destRegistry", "registry.example.com:8443", "registry.example.com:8443"),
        ("destRegistry", "127.0.0.1:5000/", "127.0.0.1:5000"),
        ("includeTags", r"v\d+\.\d+", None),
        ("excludeTags", ".*-rc.*", None),
        ("multiArch", "index-only", "index-only"),
        ("multiArch", "SYSTEM", "system"),
        ("platforms", "linux/amd64, linux/arm64/v8", "linux/amd64,linux/arm64/v8"),
        ("concurrency", "1", 1),
        ("concurrency", 64, 64),
        ("name", "nightly mirror", "nightly mirror"),
    ],
)
def test_valid_values(name: str, given: object, stored: object) -> None:
    s = spec(**{name: given})
    assert getattr(s, name) == (given if stored is None else stored)


@pytest.mark.parametrize(
    ("name", "given", "fragment"),
    [
        ("sourceType", "ECR", "Amazon_ECR, Public"),
        ("srcList", "SOME", "ALL, SELECTED"),
        ("srcRegion", "us-east", "us-east-1"),
        ("srcRegion", "US-EAST-1", "region"),
        ("destRegion", "mars-1", "region"),
        ("srcAccountId", "12345678901", "12 digits"),
        ("destAccountId", "abcdefghijkl", "12 digits"),
        ("srcCredential", "has spaces in it", "secret name"),
        ("destPrefix", "/mirror", "must not start with '/'"),
        ("destPrefix", "Mirror", "'mirror'"),
        ("destPrefix", "a//b", "component"),
        ("includeUntagged", "yes", "true or false"),
        ("alarmEmail", "nobody", "e-mail"),
        ("alarmEmail", "a@b", "e-mail"),
        ("ecsClusterName", "bad name!", "letters"),
        ("ecsVpcId", "vpc-XYZ", "vpc-"),
        ("ecsVpcId", "subnet-97bfc4cd", "vpc-"),
        ("ecsSubnetA", "vpc-bef13dc7", "subnet-"),
        ("ecsSubnetB", "subnet-1", "subnet-"),
        ("srcRegistry", "https://quay.io", "host[:port] only, e.g. quay.io"),
        ("destRegistry", "myregistry", "host[:port]"),
        ("destRegistry", "host.example.com/path", "host[:port]"),
        ("destRegistry", "localhost:99999", "port"),
        ("includeTags", "v[0-9", "regular expression"),
        ("excludeTags", "(unclosed", "regular expression"),
        ("multiArch", "some", "all, system, index-only"),
        ("platforms", "linux", "os/architecture"),
        ("scheduleType", "DAILY", "ONE_TIME, FIXED_RATE, CRON"),
        ("scheduleExpression", "every day", "rate(1 day)"),
        ("scheduleExpression", "rate(0 days)", "at least"),
        ("concurrency", "0", "1 to 256"),
        ("concurrency", "257", "1 to 256"),
        ("concurrency", "many", "1 to 256"),
        ("whatever", "x", "unknown parameter"),
    ],
)
def test_invalid_values_name_the_parameter_and_the_fix(
    name: str, given: object, fragment: str
) -> None:
    found = problems(**{name: given})
    assert list(found) == [name]
    assert fragment in found[name]


def test_unknown_parameter_suggests_the_closest_name() -> None:
    assert "did you mean srcRegion?" in problems(srcRegoin="us-east-1")["srcRegoin"]
    assert "did you mean destPrefix?" in problems(destprefix="x")["destprefix"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        sourceType="Public",
        srcList="ALL",
        srcRegion="nowhere",
        srcAccountId="42",
        destRegion="",
        destPrefix="/Bad",
        alarmEmail="not-an-email",
        includeTags="[",
        concurrency="300",
        srcImgList="ubuntu",
    )
    assert set(found) == {
        "srcList",
        "srcRegion",
        "srcAccountId",
        "destRegion",
        "destPrefix",
        "alarmEmail",
        "includeTags",
        "concurrency",
        "srcImgList",
    }
    assert "did you mean srcImageList?" in found["srcImgList"]


def test_public_source_cannot_list_all() -> None:
    found = problems(sourceType="Public", srcRegion="")
    assert list(found) == ["srcList"]
    assert "a public registry cannot be listed" in found["srcList"]
    assert "srcList=SELECTED" in found["srcList"]


def test_public_source_with_a_registry_lists_its_catalog() -> None:
    s = spec(sourceType="Public", srcRegion="", srcRegistry="localhost:5000")
    assert s.srcList == "ALL"


def test_selected_needs_images() -> None:
    found = problems(srcList="SELECTED", srcImageList=" , \n ")
    assert list(found) == ["srcImageList"]
    assert "srcList=SELECTED" in found["srcImageList"]


def test_all_with_an_image_list_is_an_error_not_silently_ignored() -> None:
    found = problems(srcList="ALL", srcImageList="ubuntu")
    assert list(found) == ["srcImageList"]
    assert "set srcList=SELECTED" in found["srcImageList"]


def test_ecr_source_needs_a_region_unless_a_registry_is_given() -> None:
    assert "srcRegion=us-east-1" in problems(srcRegion="")["srcRegion"]
    assert spec(srcRegion="", srcRegistry="localhost:5000").srcRegion == ""


def test_public_source_needs_no_region() -> None:
    s = spec(sourceType="Public", srcRegion="", srcList="SELECTED", srcImageList="ubuntu")
    assert s.sourceType == "Public"


def test_destination_needs_a_region_or_a_registry() -> None:
    found = problems(destRegion="")
    assert "destRegistry" in found["destRegion"]
    assert spec(destRegion="", destRegistry="localhost:5000").destRegistry == "localhost:5000"


@pytest.mark.parametrize(
    "image_list",
    [
        "ubuntu,alpine:3.19",
        "ubuntu:latest, alpine:latest ,",
        "ubuntu\nalpine\n\nbusybox:ALL_TAGS",
        "localhost:5000/team/app:v1",
        "app@sha256:" + "a" * 64,
        "app:v1@sha256:" + "b" * 64,
        "repo:ALL_TAGS",
    ],
)
def test_valid_image_lists(image_list: str) -> None:
    s = spec(srcList="SELECTED", srcImageList=image_list)
    assert s.image_entries
    assert all(e and e == e.strip() for e in s.image_entries)


@pytest.mark.parametrize(
    ("image_list", "bad_entry"),
    [
        ("ubuntu,Alpine:3.19", "Alpine:3.19"),
        ("ubuntu,app:bad tag", "app:bad tag"),
        ("app@sha256:abc", "app@sha256:abc"),
        ("ubuntu, x:ALL_TAGS@sha256:" + "c" * 64, "x:ALL_TAGS@sha256:" + "c" * 64),
        ("host:notaport/x:1", "host:notaport/x:1"),
    ],
)
def test_invalid_image_entries_are_named(image_list: str, bad_entry: str) -> None:
    found = problems(srcList="SELECTED", srcImageList=image_list)
    assert list(found) == ["srcImageList"]
    assert repr(bad_entry) in found["srcImageList"]


def test_each_bad_entry_is_its_own_problem() -> None:
    with pytest.raises(TaskSpecError) as info:
        spec(srcList="SELECTED", srcImageList="A,b,C")
    assert [p.parameter for p in info.value.problems] == ["srcImageList", "srcImageList"]


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 day)", timedelta(days=1)),
        ("rate(2 days)", timedelta(days=2)),
        ("rate(6 hours)", timedelta(hours=6)),
        ("rate(30 minutes)", timedelta(minutes=30)),
        ("1d", timedelta(days=1)),
        ("6h", timedelta(hours=6)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_fixed_rate_expressions(expression: str, interval: timedelta) -> None:
    s = spec(scheduleType="FIXED_RATE", scheduleExpression=expression)
    assert s.interval == interval
    assert parse_rate(expression) == interval


def test_cron_schedule_is_validated_with_five_fields() -> None:
    s = spec(scheduleType="CRON", scheduleExpression="0 3 * * *")
    assert s.scheduleExpression == "0 3 * * *"
    assert s.interval is None
    for bad in ("", "rate(1 day)", "0 3 * * * *", "61 * * * *"):
        found = problems(scheduleType="CRON", scheduleExpression=bad)
        assert "5-field cron" in found["scheduleExpression"], bad


def test_one_time_ignores_the_expression() -> None:
    s = spec(scheduleType="ONE_TIME", scheduleExpression="rate(1 day)")
    assert s.scheduleExpression == ""
    assert s.interval is None
    assert TaskSpec.from_parameters(s.parameters()) == s


def test_tag_filters_match_whole_tags() -> None:
    s = spec(includeTags=r"v\d+(\.\d+)*", excludeTags=r".*\.0")
    assert s.tag_wanted("v1.2")
    assert not s.tag_wanted("v1.0")
    assert not s.tag_wanted("latest")
    assert not s.tag_wanted("xv1.2")
    assert spec().tag_wanted("anything")


def test_platform_list_is_typed() -> None:
    s = spec(platforms="linux/amd64,linux/arm/v7")
    assert s.platform_list == (Platform("linux", "amd64"), Platform("linux", "arm", "v7"))


def test_module_exports_exist() -> None:
    for name in params_module.__all__:
        assert hasattr(params_module, name), name


def test_one_source_password_for_images_from_several_registries_is_refused_at_create() -> None:
    found = problems(
        sourceType="Public",
        srcList="SELECTED",
        srcImageList="a.example/app:1,b.example/tool:1",
        srcCredential="alice",
    )
    assert "is for one registry, but srcImageList names images from 2" in found["srcCredential"]
    # Images from one registry, or no credential: fine.
    spec(
        sourceType="Public",
        srcList="SELECTED",
        srcImageList="a.example/x,a.example/y",
        srcCredential="alice",
    )
    spec(sourceType="Public", srcList="SELECTED", srcImageList="a.example/x,b.example/y")


def test_a_cron_that_matches_no_date_is_refused() -> None:
    found = problems(scheduleType="CRON", scheduleExpression="0 0 30 2 *")
    assert "matches no date" in found["scheduleExpression"]
    # 29 February comes round in leap years: a valid schedule.
    assert spec(scheduleType="CRON", scheduleExpression="0 0 29 2 *").scheduleExpression


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        # ECR repository names may hold dots: the source ECR's repository.
        ("my.team/app:1.0", f"{ECR}/my.team/app:1.0"),
        ("team/app", f"{ECR}/team/app:latest"),
        # An ECR host, a port or localhost still name their registry.
        (
            "444455556666.dkr.ecr.eu-west-1.amazonaws.com/x:1",
            "444455556666.dkr.ecr.eu-west-1.amazonaws.com/x:1",
        ),
        ("localhost:5000/y:2", "localhost:5000/y:2"),
    ],
)
def test_ecr_source_entries_with_dots_are_repositories(entry: str, expected: str) -> None:
    assert str(parse_image_entry(entry, ECR, ecr=True)) == expected
    # For any other registry Docker's rule holds: a dotted first part is a host.
    assert parse_image_entry("my.team/app:1.0", "r.example:5000").registry == "my.team"

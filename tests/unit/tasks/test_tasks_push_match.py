"""Which ON_PUSH tasks want a pushed image: a table, no I/O."""

from __future__ import annotations

import pytest

from imageferry.reference import Reference
from imageferry.tasks.params import TaskSpec
from imageferry.tasks.push_match import pushed_selection, wants

ECR = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
DEST = {"destRegistry": "mirror.example.com", "destPrefix": "copy", "scheduleType": "ON_PUSH"}


def _spec(**parameters: str) -> TaskSpec:
    return TaskSpec.from_parameters({**DEST, **parameters})


REG = {"sourceType": "Public", "srcRegistry": "reg.example.com"}


@pytest.mark.parametrize(
    ("parameters", "pushed", "expected"),
    [
        ({**REG, "srcList": "ALL"}, "reg.example.com/a/b:1", True),
        ({**REG, "srcList": "ALL"}, "other.example.com/a/b:1", False),
        ({**REG, "srcList": "ALL", "excludeTags": "dev-.*"}, "reg.example.com/a:dev-1", False),
        ({**REG, "srcList": "SELECTED", "srcImageList": "a:1,b:2"}, "reg.example.com/b:2", True),
        ({**REG, "srcList": "SELECTED", "srcImageList": "a:1,b:2"}, "reg.example.com/b:1", False),
        ({**REG, "srcList": "SELECTED", "srcImageList": "a:ALL_TAGS"}, "reg.example.com/a:9", True),
        (
            {"sourceType": "Public", "srcList": "SELECTED", "srcImageList": "ubuntu:24.04"},
            "docker.io/library/ubuntu:24.04",
            True,
        ),
        (
            {"sourceType": "Amazon_ECR", "srcRegion": "us-east-1", "srcList": "ALL"},
            f"{ECR}/team/app:1",
            True,
        ),
        (
            {"sourceType": "Amazon_ECR", "srcRegion": "eu-west-1", "srcList": "ALL"},
            f"{ECR}/team/app:1",
            False,
        ),
        (
            {
                "sourceType": "Amazon_ECR",
                "srcRegion": "us-east-1",
                "srcAccountId": "999999999999",
                "srcList": "ALL",
            },
            f"{ECR}/team/app:1",
            False,
        ),
    ],
)
def test_wants(parameters: dict[str, str], pushed: str, expected: bool) -> None:
    assert wants(_spec(**parameters), Reference.parse(pushed)) is expected


def test_a_push_run_copies_the_pushed_images_to_their_destinations() -> None:
    spec = _spec(**REG, srcList="SELECTED", srcImageList="a:ALL_TAGS")
    selection = pushed_selection(spec, ["reg.example.com/a:1", "reg.example.com/z:1"])
    assert [(str(p.source), str(p.destination)) for p in selection.pairs] == [
        ("reg.example.com/a:1", "mirror.example.com/copy/a:1")
    ]
    assert any("z:1 is not in this task's selection" in note for note in selection.notes)

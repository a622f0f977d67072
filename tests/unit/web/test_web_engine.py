"""The Engine column says Amazon ECR only when ECR is both ends; otherwise what is involved."""

from __future__ import annotations

import pytest

from imageferry.web.schemas import engine_label

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("parameters", "engine"),
    [
        ({"sourceType": "Amazon_ECR", "srcRegion": "us-east-1", "destRegion": "cn-north-1"},
         "Amazon ECR"),
        ({"sourceType": "Public", "srcImageList": "ubuntu, quay.io/org/app:1",
          "destRegion": "us-west-2"}, "Public registries → Amazon ECR"),
        ({"sourceType": "Public", "srcImageList": "ubuntu:22.04, library/nginx",
          "destRegion": "us-west-2"}, "docker.io → Amazon ECR"),
        ({"sourceType": "Public", "srcRegistry": "127.0.0.1:5000",
          "destRegistry": "127.0.0.1:5001"}, "127.0.0.1:5000 → 127.0.0.1:5001"),
        ({"sourceType": "Amazon_ECR", "srcRegion": "us-east-1",
          "destRegistry": "registry.example.com"}, "Amazon ECR → registry.example.com"),
        ({"sourceType": "Public", "srcRegistry": "localhost:5000", "destRegistry": ECR_HOST},
         "localhost:5000 → Amazon ECR"),
        ({"sourceType": "Public", "srcRegistry": ECR_HOST, "destRegion": "us-west-2"},
         "Amazon ECR"),
    ],
)  # fmt: skip
def test_engine_label(parameters: dict[str, str], engine: str) -> None:
    assert engine_label(parameters) == engine

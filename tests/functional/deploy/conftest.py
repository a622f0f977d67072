"""Fixtures: moto server and AWS environment, the ECR stand-in and its accounts."""

from fixtures.aws import *  # noqa: F403
from fixtures.ecr import *  # noqa: F403
from fixtures.tasks import *  # noqa: F403

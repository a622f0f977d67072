"""End-to-end task tests: the Runtime against real registries, the ECR stand-in,
moto (STS, Secrets Manager, SNS), aiosmtpd and PostgreSQL."""

from fixtures.aws import *  # noqa: F403
from fixtures.ecr import *  # noqa: F403
from fixtures.postgres import *  # noqa: F403
from fixtures.tasks import *  # noqa: F403

"""ECR tests run against the loopback stand-in (``fixtures.ecr``)."""

from fixtures.ecr import *  # noqa: F403

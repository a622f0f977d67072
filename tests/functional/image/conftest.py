"""Fixtures: the repository's Dockerfile built by buildah on an mmdebstrap base,
and the AWS stand-ins its ``ferry aws`` steps run against (moto, the ECR stand-in)."""

from fixtures.aws import *  # noqa: F403
from fixtures.ecr import *  # noqa: F403
from fixtures.image import *  # noqa: F403
from fixtures.tasks import *  # noqa: F403

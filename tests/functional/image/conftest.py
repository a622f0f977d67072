"""Fixtures: the repository's Dockerfile built by buildah on an mmdebstrap base."""

from fixtures.image import *  # noqa: F403

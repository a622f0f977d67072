"""Fixtures: moto server and AWS environment."""

from fixtures.aws import *  # noqa: F403

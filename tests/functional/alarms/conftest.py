"""Fixtures: moto server, AWS environment, SMTP server."""

from fixtures.aws import *  # noqa: F403

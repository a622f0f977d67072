"""ECR tests run against the loopback stand-in (``fixtures.ecr``)."""

from __future__ import annotations

import base64

from fixtures.ecr import *  # noqa: F403
from imageferry.ecr.client import ecr_client
from imageferry.ecr.hosts import EcrRegistry
from imageferry.sandbox.ecr import EcrStandIn


def login(target: EcrRegistry) -> tuple[str, str]:
    """``(user, password)`` from GetAuthorizationToken, as ``aws ecr get-login-password``."""
    client = ecr_client(target.region)
    data = client.get_authorization_token(registryIds=[target.account_id])
    user, _, password = (
        base64.b64decode(data["authorizationData"][0]["authorizationToken"]).decode().partition(":")
    )
    return user, password


def data_plane_url(ecr: EcrStandIn, target: EcrRegistry) -> str:
    return f"http://{ecr.ensure_account(target.account_id, target.region)}"

"""What ``ferry demo`` runs, and what tests and ``bench/`` build on.

Local anonymous registries (:class:`LocalRegistry`, Debian's ``docker-registry``),
a fleet of images built in code and pushed with the sandbox's own httpx client
(:mod:`~imageferry.sandbox.images`), and skopeo as an independent verifier
(:mod:`~imageferry.sandbox.skopeo`). Nothing here is on the product's copy path.
What only tests use (registries with auth, more image builders, the ECR
stand-in, a token server, moto) lives in ``tests/stand_ins``.
"""

from imageferry.sandbox.images import PushedManifest, Pusher, build_fleet, push_image
from imageferry.sandbox.registry import (
    INSTALL_HINT,
    LocalRegistry,
    SandboxError,
    free_port,
    missing_tools,
)

__all__ = [
    "INSTALL_HINT",
    "LocalRegistry",
    "PushedManifest",
    "Pusher",
    "SandboxError",
    "build_fleet",
    "free_port",
    "missing_tools",
    "push_image",
]

"""What ``ferry demo`` runs, also used by tests and ``bench/``.

Local registries (:class:`LocalRegistry`, Debian's ``docker-registry``), images
built in code and pushed with the sandbox's own httpx client
(:mod:`~imageferry.sandbox.images`), and skopeo as an independent verifier
(:mod:`~imageferry.sandbox.skopeo`). Nothing here is on the product's copy path.
Test-only servers (the ECR stand-in, a token server, moto) live in ``tests/stand_ins``.
"""

from imageferry.sandbox.images import (
    PushedManifest,
    Pusher,
    build_fleet,
    delete_manifest,
    push_artifact,
    push_foreign_layer_image,
    push_image,
    push_index,
    push_large_image,
)
from imageferry.sandbox.registry import LocalRegistry, SandboxError, free_port

__all__ = [
    "LocalRegistry",
    "PushedManifest",
    "Pusher",
    "SandboxError",
    "build_fleet",
    "delete_manifest",
    "free_port",
    "push_artifact",
    "push_foreign_layer_image",
    "push_image",
    "push_index",
    "push_large_image",
]

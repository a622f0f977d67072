"""A sandbox for tests, ``ferry demo`` and ``bench/``: local registries, a token
server, images built in code and pushed with plain httpx, and skopeo as an
independent verifier. Nothing here is used by the product's copy path.
"""

from imageferry.sandbox.images import PushedManifest, Pusher, push_image
from imageferry.sandbox.registry import LocalRegistry, SandboxError, free_port

__all__ = ["LocalRegistry", "PushedManifest", "Pusher", "SandboxError", "free_port", "push_image"]

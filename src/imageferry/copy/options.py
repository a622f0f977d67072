"""What to copy from an image: which instances of an index, and foreign layers.

The multi-arch modes follow skopeo's ``--multi-arch`` (containers/image
``copy.ImageListSelection``): ``all`` copies the index and every instance,
``system`` only the host platform's image, ``index-only`` the index manifest
alone. A non-empty ``platforms`` filter builds a new, smaller index.
"""

from __future__ import annotations

import platform as _host
from dataclasses import dataclass, field
from typing import Literal

from imageferry.manifest import Platform

__all__ = ["CopyOptions", "MultiArch", "host_platform"]

MultiArch = Literal["all", "system", "index-only"]

# Python's platform.machine() spellings -> GOARCH names used in image indexes
# (image-spec config.md "architecture": values from Go's runtime.GOARCH).
_ARCH_ALIASES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "i386": ("386", None),
    "i686": ("386", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


def host_platform(machine: str | None = None, system: str = "linux") -> Platform:
    """The platform images are pulled for on this host: ``linux/<GOARCH>``.

    Container images for ``system`` mode are Linux images even on a macOS host,
    as with Docker Desktop, so the OS is ``linux`` unless told otherwise.
    """
    raw = (machine if machine is not None else _host.machine()).lower()
    arch, variant = _ARCH_ALIASES.get(raw, (raw, None))
    return Platform(system, arch, variant)


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """Options of one copy. The defaults copy everything, digest preserved."""

    multi_arch: MultiArch = "all"
    #: Non-empty: keep only these platforms of an index (a new index, new digest).
    platforms: tuple[Platform, ...] = ()
    #: Copy non-distributable ("foreign") layers, e.g. Windows base layers.
    include_foreign_layers: bool = False
    #: The manifests copied are referrers whose subjects this run copies too
    #: (``--referrers``): no note that a subject is left behind.
    subjects_copied: bool = False
    system_platform: Platform = field(default_factory=host_platform)

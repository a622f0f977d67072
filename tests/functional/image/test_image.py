"""The container image: built from the Dockerfile with no docker daemon, then used.

What this proves, on an mmdebstrap stand-in for ``debian:bookworm-slim``
(see ``fixtures.image``):

* the Dockerfile builds with ``buildah bud`` (vfs, chroot isolation) from its
  one base name, resolved to the local image with pulling forbidden;
* its configuration: ``ferry`` as entrypoint, ``--help`` as command, a
  non-root numeric user, the data directory, the OCI labels (the version is
  pyproject's);
* its filesystem: python3 and the wheel's virtualenv with the runtime
  dependencies and every extra but the test one (postgres); no compiler, no
  pip, nothing of the test extra, no documentation but copyrights, no apt
  lists or pip cache;
* the configured entrypoint and command run as that user, who can write the
  data directory;
* ferry on this machine copies the pushed image from one loopback registry to
  another byte for byte, and skopeo reads the destination's digest,
  entrypoint, user and size (written to ``test-artifacts/image/``);
* the image's own ``ferry copy`` (``buildah run`` of the configured
  entrypoint) copies a test image between loopback registries, and skopeo
  confirms the digest.

``buildah run`` does not apply an image's entrypoint by itself, so the tests
read it from the image's configuration and run it with the arguments given.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.image import ROOT, BuiltImage, write_report
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry
from stand_ins.skopeo import inspect_digest, inspect_raw, run_skopeo

# The first test to ask for the image waits for the base and the build.
pytestmark = [pytest.mark.image, pytest.mark.timeout(1500)]

FERRY = str(Path(sys.executable).parent / "ferry")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
USER = "10001:10001"

#: Run inside the image (by its python3, as root so that every home is readable):
#: what the final image holds of compilers, pip, docs and caches.
_SURVEY = r"""
import glob, json, os, pwd, shutil
homes = {p.pw_dir for p in pwd.getpwall() if os.path.isdir(p.pw_dir)}
def files(pattern):
    return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
print(json.dumps({
    "compilers": sorted(
        name for name in ("cc", "gcc", "c++", "g++", "clang", "make", "ld", "as")
        if shutil.which(name)
    ) + sorted(glob.glob("/usr/lib/gcc*")),
    "docs": [p for p in files("/usr/share/doc/**") if os.path.basename(p) != "copyright"],
    "manuals": files("/usr/share/man/**")
        + [p for p in files("/usr/share/info/**") if p != "/usr/share/info/dir"],
    "apt": files("/var/lib/apt/lists/*") + files("/var/cache/apt/**/*.deb")
        + files("/var/cache/apt/*.bin"),
    "caches": [p for h in homes for p in files(os.path.join(h, ".cache", "**"))],
}))
"""

#: Run by the virtualenv's python: what it holds.
_PACKAGES = r"""
import importlib.metadata as md, importlib.util, json, re, sys
import imageferry
dist = md.distribution("imageferry")
print(json.dumps({
    "python": list(sys.version_info[:2]),
    "prefix": sys.prefix,
    "imageferry": imageferry.__file__,
    "editable": "editable" in (dist.read_text("direct_url.json") or ""),
    "installed": sorted({re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()
                         for d in md.distributions()}),
    "system_pip": importlib.util.find_spec("pip") is not None,
}))
"""


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]).lower()


def _run_ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _config(built_image: BuiltImage) -> dict[str, Any]:
    config: dict[str, Any] = built_image.buildah.image_config(built_image.name)["config"]
    return config


def _env(config: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config["Env"])


def _entrypoint(built_image: BuiltImage) -> list[str]:
    entrypoint: list[str] = _config(built_image)["Entrypoint"]
    return entrypoint


def test_the_build_starts_from_the_local_base(built_image: BuiltImage) -> None:
    buildah = built_image.buildah
    base = buildah.image_config(built_image.base)["rootfs"]["diff_ids"]
    image = buildah.image_config(built_image.name)["rootfs"]["diff_ids"]
    assert image[: len(base)] == base
    assert len(image) > len(base)


def test_the_image_configuration(built_image: BuiltImage) -> None:
    config = _config(built_image)
    assert config["Entrypoint"] == ["ferry"]
    assert config["Cmd"] == ["--help"]
    assert config["User"] == USER
    assert _env(config)["FERRY_DATA_DIR"] == "/var/lib/imageferry"
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == PYPROJECT["project"]["version"]
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]
    assert labels["org.opencontainers.image.title"] == "imageferry"
    assert labels["org.opencontainers.image.base.name"] == built_image.base


def test_the_final_image_holds_the_runtime_only(
    built_image: BuiltImage, image_container: str
) -> None:
    buildah = built_image.buildah
    survey = json.loads(
        _run_ok(buildah.in_container(image_container, "python3", "-c", _SURVEY, user="0:0"))
    )
    assert survey == {"compilers": [], "docs": [], "manuals": [], "apt": [], "caches": []}

    packages = json.loads(_run_ok(buildah.in_container(image_container, "python", "-c", _PACKAGES)))
    assert packages["python"] == [3, 11]
    assert packages["imageferry"].startswith(packages["prefix"] + "/lib/")
    assert not packages["editable"]
    installed = set(packages["installed"])
    project = PYPROJECT["project"]
    # Every extra but the test one is in the image (postgres today).
    extras = {
        _name(r)
        for extra, requirements in project["optional-dependencies"].items()
        if extra != "test"
        for r in requirements
    }
    runtime = {_name(r) for r in project["dependencies"]}
    test_only = {_name(r) for r in project["optional-dependencies"]["test"]} - runtime - extras
    assert runtime | extras | {"imageferry"} <= installed
    assert not installed & test_only
    assert not installed & {"pip", "setuptools", "wheel"}
    system_pip = buildah.in_container(image_container, "python3", "-c", "import pip")
    assert system_pip.returncode != 0


def test_ferry_runs_as_a_non_root_user_who_can_write_the_data_dir(
    built_image: BuiltImage, image_container: str
) -> None:
    buildah = built_image.buildah
    assert _run_ok(buildah.in_container(image_container, "id", "-u")).strip() == "10001"
    config = _config(built_image)
    shown = _run_ok(buildah.in_container(image_container, *config["Entrypoint"], *config["Cmd"]))
    assert "Usage: ferry" in shown
    _run_ok(buildah.in_container(image_container, *config["Entrypoint"], "task", "list"))
    data_dir = _env(config)["FERRY_DATA_DIR"]
    owner = buildah.in_container(image_container, "stat", "-c", "%u", f"{data_dir}/imageferry.db")
    assert _run_ok(owner).strip() == "10001"


def _layer_bytes(registry: LocalRegistry, repo: str, digest: str) -> int:
    """Bytes of the layer's tar, from the registry's gzip blob."""
    inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    total = 0
    with httpx.stream("GET", f"{registry.url}/v2/{repo}/blobs/{digest}", timeout=60) as blob:
        blob.raise_for_status()
        for chunk in blob.iter_bytes():
            total += len(inflate.decompress(chunk))
    return total + len(inflate.flush())


def test_ferry_copies_the_built_image_across_registries(
    built_image: BuiltImage, src_registry: LocalRegistry, dst_registry: LocalRegistry, tmp_path
) -> None:
    source = f"{src_registry.host}/imageferry:test"
    destination = f"{dst_registry.host}/imageferry:0.1"
    digestfile = tmp_path / "digest"
    built_image.buildah.run(
        "push", "--tls-verify=false", "--digestfile", str(digestfile),
        built_image.name, f"docker://{source}",
    )  # fmt: skip
    pushed = digestfile.read_text().strip()

    copied = subprocess.run(
        [FERRY, "copy", "-o", "json", source, destination],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    (result,) = json.loads(copied.stdout)["images"]
    assert result["status"] == "copied"
    assert result["digest"] == pushed == inspect_digest(destination)

    config = json.loads(
        run_skopeo(["inspect", "--config", "--tls-verify=false", f"docker://{destination}"])
    )["config"]
    assert config["Entrypoint"] == ["ferry"]
    assert config["User"] == USER
    manifest = json.loads(inspect_raw(destination))
    layers = manifest["layers"]
    compressed = manifest["config"]["size"] + sum(layer["size"] for layer in layers)
    tars = [_layer_bytes(dst_registry, "imageferry", layer["digest"]) for layer in layers]
    base_layers = len(built_image.buildah.image_config(built_image.base)["rootfs"]["diff_ids"])
    ours = layers[base_layers:]
    write_report(
        {
            "digest": pushed,
            "layers": len(layers),
            "compressed_bytes": compressed,
            "uncompressed_bytes": sum(tars),
            "ferry_layers_compressed_bytes": sum(layer["size"] for layer in ours),
            "ferry_layers_uncompressed_bytes": sum(tars[base_layers:]),
        }
    )
    # What ferry adds to the base, compressed: a ceiling that says when it grows.
    assert sum(layer["size"] for layer in ours) < 120 * 2**20


def test_the_image_entrypoint_copies_between_loopback_registries(
    built_image: BuiltImage,
    image_container: str,
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
) -> None:
    pushed = push_image(src_registry.url, "team/app", "1.0", seed="image-entrypoint")
    source = f"{src_registry.host}/team/app:1.0"
    destination = f"{dst_registry.host}/mirror/team/app:1.0"
    done = built_image.buildah.in_container(
        image_container, *_entrypoint(built_image), "copy", "--quiet", source, destination
    )
    assert "1 copied, 0 skipped, 0 failed" in _run_ok(done)
    assert inspect_digest(destination) == pushed.digest

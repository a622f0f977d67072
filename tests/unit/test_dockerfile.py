"""The Dockerfile's promises that need no build (tests/functional/image builds it)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from fixtures.image import base_names

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instruction(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, re.MULTILINE)


def test_every_stage_starts_from_debian_bookworm_slim() -> None:
    assert base_names(DOCKERFILE) == ["debian:bookworm-slim", "debian:bookworm-slim"]


def test_base_names_skip_the_dockerfiles_own_stages() -> None:
    text = "FROM debian:bookworm-slim AS build\nFROM --platform=linux/amd64 build\nFROM alpine\n"
    assert base_names(text) == ["debian:bookworm-slim", "alpine"]


def test_the_version_label_is_the_packages() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f'org.opencontainers.image.version="{version}"' in DOCKERFILE


def test_ferry_is_the_entrypoint_of_a_non_root_user() -> None:
    assert [json.loads(e) for e in _instruction("ENTRYPOINT")] == [["ferry"]]
    (user,) = _instruction("USER")
    assert all(part.isdigit() and int(part) != 0 for part in user.split(":")), user


def test_the_build_context_is_what_the_builder_copies() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for line in _instruction("COPY")
        if "--from=" not in line
        for source in line.split()[:-1]
    }
    assert "*" in ignored  # everything else stays out
    assert copied == kept == {"pyproject.toml", "README.md", "src"}


def test_every_image_test_module_is_marked_and_ci_runs_them() -> None:
    """CI (``.ci/run`` -> ``scripts/test``) runs the whole suite: nothing may deselect
    the ``image`` mark, and each module of the image tests carries it."""
    modules = sorted((ROOT / "tests" / "functional" / "image").glob("test_*.py"))
    assert len(modules) >= 2
    for module in modules:
        assert re.search(r"^pytestmark = \[pytest\.mark\.image\b", module.read_text(), re.M), module
    ci = (ROOT / ".ci" / "run").read_text() + (ROOT / "scripts" / "test").read_text()
    pytest_ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert "exec scripts/test" in ci
    options = ci + " " + pytest_ini["ini_options"]["addopts"]
    assert not re.search(r"(^|\s)(-m|--deselect|--ignore)\b", options)

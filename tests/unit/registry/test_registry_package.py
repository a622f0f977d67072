"""The package's public surface, and Link-header parsing."""

from __future__ import annotations

import importlib

import pytest

import imageferry.registry as registry
from imageferry.interfaces import ImageDestination, ImageSource
from imageferry.registry.pagination import next_link

MODULES = [
    "auth",
    "challenge",
    "client",
    "config",
    "congestion",
    "credentials",
    "errors",
    "pacing",
    "pagination",
    "ratelimit",
    "repository",
    "stats",
    "transport",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_is_re_exported(name: str) -> None:
    module = importlib.import_module(f"imageferry.registry.{name}")
    for public in module.__all__:
        assert getattr(module, public) is getattr(registry, public), public
        assert public in registry.__all__


def test_package_exports_only_what_exists() -> None:
    for public in registry.__all__:
        assert hasattr(registry, public)
    assert sorted(registry.__all__) == sorted(set(registry.__all__))


def test_repository_implements_both_engine_interfaces() -> None:
    repo = registry.RegistryClient().repository("localhost:5000", "app")
    source: ImageSource = repo
    destination: ImageDestination = repo
    assert (source.registry, destination.repository) == ("localhost:5000", "app")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (['</v2/a/tags/list?last=b&n=2>; rel="next"'], "http://r:5000/v2/a/tags/list?last=b&n=2"),
        (["<https://o/x?p=2>; rel=next"], "https://o/x?p=2"),
        (['<https://o/prev>; rel="prev", <https://o/next>; rel="next"'], "https://o/next"),
        (['<https://o/a>; rel="prev"', '<https://o/b>; rel="next"'], "https://o/b"),
        (['<https://o/a>; rel="prev"'], None),
        # Quoted parameter values may hold commas and semicolons (RFC 8288).
        (['<https://o/p2>; title="a,b"; rel="next"'], "https://o/p2"),
        (['<https://o/p2>; title="x; rel=next"; rel="prev"'], None),
        (['<https://o/a>; title="q\\"u,o"; rel="prev", <https://o/b>; REL="next"'], "https://o/b"),
        (['<https://o/p3>; rel="last next"'], "https://o/p3"),
        ([], None),
    ],
)
def test_next_link(headers: list[str], expected: str | None) -> None:
    assert next_link(headers, "http://r:5000/v2/a/tags/list?n=2") == expected

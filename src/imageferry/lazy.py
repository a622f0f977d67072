"""Names a package re-exports, loaded on first use (PEP 562).

A package whose modules pull in heavy libraries (SQLAlchemy, boto3) lists
where each name lives; importing one light module of it, or the package for
``--help``, then loads none of them::

    __getattr__ = lazy_exports(__name__, {"open_store": "imageferry.store.service"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``name`` from ``homes[name]`` and keeps it."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

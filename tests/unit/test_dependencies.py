"""The package's imports and pyproject.toml's dependencies agree, both ways.

A module the installed package imports but nobody declared works on a
developer's machine (the test extra brought it) and fails on a plain
``pip install``; a declared dependency nothing imports is weight every user
installs. ``tests/functional/packaging`` proves the first on a real wheel;
this test names the culprit in a second and also catches the second kind.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "imageferry"

#: Declared dependencies that no module imports by name, and who imports them.
IMPORTED_BY_A_DEPENDENCY = {
    "jinja2": "fastapi.templating renders the console's pages",
    "python-multipart": "FastAPI parses the console's Form() fields with it",
    "fastapi-offline": "web/api_docs.py serves its Swagger UI files (importlib.resources)",
}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(specs: list[str]) -> set[str]:
    return {_normalized(re.split(r"[^A-Za-z0-9._-]", spec, maxsplit=1)[0]) for spec in specs}


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _declared() -> set[str]:
    return _names(_project()["dependencies"])


def _user_extras() -> set[str]:
    """What the optional extras a user may install provide (not the test extra)."""
    extras = _project()["optional-dependencies"]
    return set().union(*(_names(specs) for name, specs in extras.items() if name != "test"))


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Inside ``try:`` whose handler catches ImportError (a missing extra)."""
    while node in parents:
        child, node = node, parents[node]
        if isinstance(node, ast.Try) and child in node.body:
            caught = " ".join(ast.unparse(h.type) for h in node.handlers if h.type is not None)
            if "ImportError" in caught or "ModuleNotFoundError" in caught:
                return True
    return False


def _imported_modules(*, guarded: bool = False) -> dict[str, set[str]]:
    """Top-level module → the files importing it at run time (not under TYPE_CHECKING).

    ``guarded`` selects the imports inside ``try: ... except ImportError``
    instead of the unconditional ones.
    """
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if _type_checking_only(node, parents) or _guarded(node, parents) != guarded:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "imageferry" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@functools.cache
def _installed() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _distributions_of(module: str) -> set[str]:
    return {_normalized(d) for d in _installed().get(module, [])}


def test_every_module_the_package_imports_is_a_declared_dependency() -> None:
    declared = _declared()
    undeclared = {
        module: sorted(files)
        for module, files in _imported_modules().items()
        if not _distributions_of(module) & declared
    }
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_an_import_behind_an_extra_belongs_to_a_user_extra() -> None:
    extras = _user_extras()
    stray = {
        module: sorted(files)
        for module, files in _imported_modules(guarded=True).items()
        if not _distributions_of(module) & extras
    }
    assert not stray, f"imported behind ImportError but in no user extra: {stray}"


def test_every_declared_dependency_is_imported() -> None:
    imported = set().union(*(_distributions_of(m) for m in _imported_modules()))
    unused = _declared() - imported - set(IMPORTED_BY_A_DEPENDENCY)
    assert not unused, f"declared in [project] dependencies but never imported: {sorted(unused)}"


def test_the_exceptions_are_still_needed() -> None:
    """An allow-listed dependency that the package came to import needs no entry."""
    imported = set().union(*(_distributions_of(m) for m in _imported_modules()))
    assert not set(IMPORTED_BY_A_DEPENDENCY) & imported
    assert set(IMPORTED_BY_A_DEPENDENCY) <= _declared()

"""Every module states its public surface, and every name it exports exists."""

import importlib
import pkgutil

import pytest

import imageferry

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(imageferry.__path__, "imageferry.")
    if ".migrations" not in m.name
)


@pytest.mark.parametrize("name", MODULES)
def test_module_has_an_export_list_of_defined_names(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names undefined {missing}"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"


@pytest.mark.parametrize("package", ["imageferry.registry", "imageferry.copy", "imageferry.store"])
def test_packages_re_export_their_modules_public_names(package):
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__, f"{package}."):
        module = importlib.import_module(info.name)
        for n in getattr(module, "__all__", []):
            if n in pkg.__all__:
                assert getattr(pkg, n) is getattr(module, n)

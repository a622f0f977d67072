import importlib

import imageferry.ecr

MODULES = ["auth", "client", "errors", "hosts", "layers", "listing", "repositories"]


def test_package_exports_resolve() -> None:
    for name in imageferry.ecr.__all__:
        assert hasattr(imageferry.ecr, name), name


def test_every_module_declares_its_public_names() -> None:
    for module_name in MODULES:
        module = importlib.import_module(f"imageferry.ecr.{module_name}")
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"

"""The package's public surface: every name in __all__ exists and is re-exported."""

from __future__ import annotations

import imageferry.tasks as tasks
from imageferry.tasks import forms, params, selection


def test_package_exports_exist_and_come_from_the_modules() -> None:
    for name in tasks.__all__:
        obj = getattr(tasks, name)
        homes = [m for m in (forms, params, selection) if getattr(m, name, None) is obj]
        assert homes, name
        assert any(name in m.__all__ for m in homes), name

"""A run's units in batches: one source repository each, at most ``size`` units."""

from __future__ import annotations

from imageferry.executor.base import WorkUnit, make_batches


def _units(*sources: str) -> list[WorkUnit]:
    return [WorkUnit("run", s, s.replace("src", "dst")) for s in sources]


def test_units_are_grouped_by_source_repository_in_order() -> None:
    units = _units("src.io/a:1", "src.io/b:1", "src.io/a:2", "src.io/a@sha256:" + "0" * 64)
    batches = make_batches(units)
    assert [(b.name, [u.source for u in b.units]) for b in batches] == [
        ("src.io/a", ["src.io/a:1", "src.io/a:2", "src.io/a@sha256:" + "0" * 64]),
        ("src.io/b", ["src.io/b:1"]),
    ]
    assert batches[1].keys == [units[1].key]


def test_a_big_repository_spreads_over_several_batches() -> None:
    units = _units(*(f"src.io/big:{i}" for i in range(7)))
    assert [len(b.units) for b in make_batches(units, size=3)] == [3, 3, 1]
    assert make_batches([], size=3) == []

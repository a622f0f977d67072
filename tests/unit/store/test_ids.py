from __future__ import annotations

import re

from imageferry.store.ids import new_run_id, new_task_id, unit_key


def test_task_ids_are_short_base32_and_distinct() -> None:
    ids = {new_task_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"t-[a-z2-7]{10}", i) for i in ids)
    assert re.fullmatch(r"r-[a-z2-7]{10}", new_run_id())


def test_unit_key_is_stable_and_direction_sensitive() -> None:
    key = unit_key("docker.io/library/alpine:3", "ecr/mirror/alpine:3")
    assert key == unit_key("docker.io/library/alpine:3", "ecr/mirror/alpine:3")
    assert key != unit_key("ecr/mirror/alpine:3", "docker.io/library/alpine:3")
    # No ambiguity from where the boundary between the two falls.
    assert unit_key("a", "bc") != unit_key("ab", "c")
    assert len(key) == 64

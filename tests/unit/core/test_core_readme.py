"""The README's parameter table is the code's table: names, allowed values, defaults."""

import re
from pathlib import Path

from imageferry.tasks.parameter_table import PARAMETER_TABLE

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_rows() -> dict[str, tuple[str, str, bool]]:
    """The rows of the "Task parameters" section's table (other tables name other things)."""
    text = README.read_text()
    section = text.split("\n## Task parameters\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([a-z]\w+)`( \*\(ext\)\*)? \| ([^|]*) \| ([^|]*) \|", line)
        if m:
            allowed = m.group(3).strip().replace("<br>", ",")
            rows[m.group(1)] = (allowed, m.group(4).strip(), bool(m.group(2)))
    return rows


def test_every_parameter_is_in_the_readme_with_its_values_and_default():
    rows = readme_rows()
    for info in PARAMETER_TABLE:
        assert info.name in rows, f"{info.name} is missing from the README's table"
        allowed, default, extension = rows[info.name]
        assert allowed == ",".join(info.allowed), info.name
        assert default == info.default, info.name
        assert extension == info.is_extension, info.name
    assert set(rows) == {info.name for info in PARAMETER_TABLE}

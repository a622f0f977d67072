"""Copy state-machine.asl.json into ecr-task.template.yaml's StateMachine.

The JSON file is the definition's one source; the template carries the same
document, written as YAML, between its BEGIN/END markers so that it deploys as a single file (the
reference's ``create-stack --template-url`` needs no packaging step).
CloudFormation fills the ``${...}`` placeholders from DefinitionSubstitutions.

Run ``python deploy/aws/render.py`` after editing the JSON or the template: it
also copies the template into the package (``src/imageferry/deploy_aws/``), from
which ``ferry task deploy`` reads it. ``--check`` exits 1 when either copy is
stale (the tests check the same).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "ecr-task.template.yaml"
DEFINITION = HERE / "state-machine.asl.json"
PACKAGED = HERE.parents[1] / "src" / "imageferry" / "deploy_aws" / TEMPLATE.name

_BLOCK = re.compile(
    r"(?P<indent>[ ]*)# BEGIN state-machine\.asl\.json\n.*?\n[ ]*# END state-machine\.asl\.json",
    re.DOTALL,
)


def rendered(template: str, definition: object) -> str:
    """``template`` with the marked block holding ``definition``, written as YAML."""
    match = _BLOCK.search(template)
    if match is None:
        raise SystemExit(f"{TEMPLATE.name}: no BEGIN/END state-machine.asl.json markers")
    indent = match["indent"]
    body = yaml.safe_dump(definition, sort_keys=False, width=100, allow_unicode=True)
    lines = [f"{indent}# BEGIN state-machine.asl.json", f"{indent}Definition:"]
    lines += [f"{indent}  {line}" for line in body.splitlines()]
    lines.append(f"{indent}# END state-machine.asl.json")
    return template[: match.start()] + "\n".join(lines) + template[match.end() :]


def main(argv: list[str]) -> int:
    definition = json.loads(DEFINITION.read_text(encoding="utf-8"))
    current = TEMPLATE.read_text(encoding="utf-8")
    fresh = rendered(current, definition)
    packaged = PACKAGED.read_text(encoding="utf-8") if PACKAGED.exists() else ""
    if "--check" in argv:
        stale = [p.name for p, text in ((TEMPLATE, current), (PACKAGED, packaged)) if text != fresh]
        if stale:
            print(f"{' and '.join(stale)} stale: run python deploy/aws/render.py", file=sys.stderr)
            return 1
        return 0
    TEMPLATE.write_text(fresh, encoding="utf-8")
    PACKAGED.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

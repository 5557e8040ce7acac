"""`physreel schema`: print the scene spec's JSON Schema (for editor autocompletion)."""

from __future__ import annotations

import json

from physreel.sim.spec import SceneSpec


def add_parser(subparsers):
    return subparsers.add_parser(
        "schema",
        help="print the JSON Schema of scene files",
        description="Print the JSON Schema of the scene spec. Point your editor's YAML language server at it, "
        "e.g. `physreel schema > physreel.schema.json` and `# yaml-language-server: $schema=physreel.schema.json`.",
    )


def run(args) -> int:
    schema = SceneSpec.model_json_schema()
    schema["title"] = "physreel scene"
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0

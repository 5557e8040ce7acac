"""`physreel models`: each generation backend, the models it needs, and whether they are found locally."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..backends import BACKENDS, BackendError, backend_class
from . import UsageError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "models",
        help="list the generation backends, the models each needs and whether they are found locally",
        description="For each backend: what it is, the model ids it needs, where each was found (the --model "
        "folder or the local Hugging Face cache) or the command that fetches it where a network exists. "
        "Nothing is downloaded or loaded.",
    )
    p.add_argument("--backend", help="only this backend")
    p.add_argument("--model", help="look in this folder first (the layout `physreel render --model` reads)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    return p


def run(args) -> int:
    names = list(BACKENDS)
    if args.backend is not None:
        if args.backend not in BACKENDS:
            raise UsageError(f"unknown backend {args.backend!r}; choose one of {', '.join(BACKENDS)}")
        names = [args.backend]
    report = []
    for name in names:
        try:
            info = backend_class(name)(model_path=args.model).describe()
            report.append({"available": info.available, **asdict(info)})
        except BackendError as exc:
            report.append({"name": name, "available": False, "error": str(exc)})
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_format(entry) for entry in report))
    return 0


def _format(entry: dict) -> str:
    status = "ready" if entry["available"] else "not available"
    lines = [f"{entry['name']}: {status}"]
    if "error" in entry:
        return "\n".join(lines + [f"  {entry['error']}"])
    lines.append(f"  {entry['description']}")
    lines.append(f"  controls: {', '.join(entry['controls']) or 'none'}")
    if entry.get("model_dir_layout"):
        lines.append(f"  --model layout: {entry['model_dir_layout']}")
    for req in entry["requirements"]:
        optional = " (optional)" if req["optional"] else ""
        if req["found"]:
            lines.append(f"  [found]   {req['role']}{optional}: {req['model_id']} at {req['location']}")
        else:
            fetch = f"; fetch: {req['fetch_command']}" if req.get("fetch_command") else ""
            lines.append(f"  [missing] {req['role']}{optional}: {req['model_id']}{fetch}")
    return "\n".join(lines)

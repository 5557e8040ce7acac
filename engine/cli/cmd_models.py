"""`physreel models`: each generation backend, the models it needs, whether they are found locally
(and what each found folder is), the `hf download` command for each missing one, and `--fetch`."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from ..backends import BACKENDS, BackendError, backend_class
from ..backends.base import BackendInfo
from ..backends.fetch import download, format_size, list_remote, missing_pieces
from ..backends.identity import describe_identity
from . import EXIT_FAILURE, UsageError


def add_parser(subparsers):
    p = subparsers.add_parser(
        "models",
        help="list the generation backends, the models each needs and whether they are found locally; --fetch downloads the missing ones",
        description="For each backend: what it is, the model ids it needs, where each was found (the --model "
        "folder or the local Hugging Face cache) and what that folder is by its own files, or the `hf download` "
        "command that fetches exactly the files physreel loads, into the folder it reads. Without --fetch nothing is "
        "downloaded or loaded. With --fetch, the missing models are listed with their sizes (asked of the hub) and "
        "downloaded.",
    )
    p.add_argument("--backend", help="only this backend")
    p.add_argument("--model", help="look in this folder first (the layout `physreel render --model` reads); --fetch downloads into it")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--fetch", action="store_true", help="download the missing models (needs a network; the only physreel command that uses one)")
    p.add_argument("--dry-run", action="store_true", help="with --fetch: list the files and sizes, download nothing")
    p.add_argument("--role", action="append", default=[], metavar="ROLE",
                   help="with --fetch: only this role (e.g. base, controlnet-depth; repeatable)")
    return p


def run(args) -> int:
    names = list(BACKENDS)
    if args.backend is not None:
        if args.backend not in BACKENDS:
            raise UsageError(f"unknown backend {args.backend!r}; choose one of {', '.join(BACKENDS)}")
        names = [args.backend]
    if not args.fetch and (args.dry_run or args.role):
        raise UsageError(f"{'--dry-run' if args.dry_run else '--role'} goes with --fetch")
    if args.fetch and args.json:
        raise UsageError("--json lists the models; --fetch downloads them: use one")
    report, infos = [], []
    for name in names:
        try:
            info = backend_class(name)(model_path=args.model).describe()
            infos.append(info)
            report.append({"available": info.available, **asdict(info)})
        except BackendError as exc:
            report.append({"name": name, "available": False, "error": str(exc)})
    if args.fetch:
        return _fetch(infos, tuple(args.role), args.dry_run)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(_format(entry) for entry in report))
        missing = [r for entry in report for r in entry.get("requirements", ()) if not r["found"] and r["include"]]
        if missing:
            print(f"\n{len(missing)} models missing. Run the `hf download` commands above where a network exists "
                  "(`--dry-run` added to one lists its files and sizes), or `physreel models --fetch` "
                  "(with --backend, --model and --role as above).")
        for clash in _folder_clashes([(entry["name"], r["role"], r["model_id"], r["local_dir"]) for entry in report
                                      for r in entry.get("requirements", ()) if not r["found"] and r["include"]]):
            print(f"note: {clash}")
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
            what = f" ({describe_identity(req['identity'])})" if req.get("identity") else ""
            lines.append(f"  [found]   {req['role']}{optional}: {req['model_id']} wanted; found at {req['location']}{what}")
        else:
            into = f" -> {req['local_dir'] or 'the Hugging Face cache'}" if req["include"] else ""
            lines.append(f"  [missing] {req['role']}{optional}: {req['model_id']}{into}")
            if req.get("fetch_command"):
                lines.append(f"      {req['fetch_command']}")
    return "\n".join(lines)


def _fetch(infos: list[BackendInfo], roles: tuple[str, ...], dry_run: bool) -> int:
    """List every missing piece with its files' sizes (one dry run each), then download them all."""
    pieces = [piece for info in infos for piece in missing_pieces(info.name, info.requirements, roles)]
    known_roles = {r.role for info in infos for r in info.requirements}
    unknown = [role for role in roles if role not in known_roles]
    if unknown:
        raise UsageError(f"--role {unknown[0]}: no such role; the roles are {', '.join(sorted(known_roles))}")
    clashes = _folder_clashes([(p.backend, p.role, p.files.repo_id, p.local_dir) for p in pieces])
    if clashes:  # before the hub is asked anything
        raise UsageError(f"--model: {clashes[0]}")
    for info in infos:  # missing, but not on the hub: say how to make it instead of passing over it
        for req in info.requirements:
            if not req.found and not req.include and (not roles or req.role in roles):
                print(f"{info.name} {req.role}: not on the hub; {req.fetch_command}")
    if not pieces:
        print("nothing to fetch from the hub: every hub model asked for is found locally")
        return 0
    try:
        listings = [list_remote(piece) for piece in pieces]
    except BackendError as exc:
        print(f"physreel models: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    total, unknown_sizes = 0, 0
    for piece, remote in zip(pieces, listings):
        sizes = [f.size_bytes for f in remote]
        size = None if None in sizes else sum(sizes)
        total += size or 0
        unknown_sizes += size is None
        print(f"{piece.backend} {piece.role}: {piece.files.repo_id} -> {piece.local_dir or 'the Hugging Face cache'} "
              f"({len(remote)} files, {format_size(size)})")
        for f in remote:
            print(f"    {f.name}  {format_size(f.size_bytes)}")
    print(f"total: {format_size(total)}" + (f" and {unknown_sizes} pieces of unknown size" if unknown_sizes else ""))
    if dry_run:
        return 0
    for piece, remote in zip(pieces, listings):
        try:
            folder = download(piece, remote)
        except BackendError as exc:
            print(f"physreel models: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"fetched {piece.backend} {piece.role} into {folder}")
    return 0


def _folder_clashes(wanted: list[tuple[str, str, str, str | None]]) -> list[str]:
    """One line per folder of the --model layout that two repositories would be downloaded into
    (animatediff's and cogvideox-flow's bases are both DIR/base: their files would mix, and neither
    backend could load the result). `wanted`: (backend, role, repository, local folder or None)."""
    by_folder: dict[str, list[tuple[str, str, str]]] = {}
    for backend, role, repo_id, folder in wanted:
        if folder is not None:
            by_folder.setdefault(str(folder), []).append((backend, role, repo_id))
    return [
        f"{' and '.join(f'{backend} {role} ({repo_id})' for backend, role, repo_id in sharing)} both belong in {folder}; "
        f"give each backend a --model folder of its own (--backend NAME --model DIR)"
        for folder, sharing in by_folder.items() if len({repo_id for _, _, repo_id in sharing}) > 1
    ]

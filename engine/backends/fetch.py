"""`physreel models --fetch`: download exactly the files each missing model is loaded from, into the
folder physreel reads, after listing every missing piece with its size.

The only network calls are huggingface_hub's `snapshot_download` (wrapped by `snapshot_download`
below, the one function tests replace): first with `dry_run=True`, which asks the hub for the
files matching a role's patterns and their sizes (no download), then for real. A pattern matching
no file of the repository stops the fetch before anything is downloaded: the repository's layout is
not what physreel loads from. A finished `--local-dir` download gets a `physreel_source.json` (the
repository, its commit and the files), so the folder says what it is (engine/backends/identity.py).
Downloads into the Hugging Face cache (no --model) are identified by the cache's own layout.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendError
from .base import ModelRequirement
from .identity import SOURCE_FILE
from .model_files import ModelFiles


def snapshot_download(**kwargs):
    """huggingface_hub.snapshot_download: the network call (and the only one)."""
    from huggingface_hub import snapshot_download as hub_snapshot_download

    return hub_snapshot_download(**kwargs)


@dataclass(frozen=True)
class FetchPiece:
    """One missing model to fetch: whose, which files, and where to."""

    backend: str
    role: str
    files: ModelFiles
    local_dir: Path | None
    """The --model layout's folder for it, or None for the Hugging Face cache."""


@dataclass(frozen=True)
class RemoteFile:
    """One file the hub would send for a piece."""

    name: str
    size_bytes: int | None
    """From the hub's metadata; None where the hub did not say."""
    commit: str


def missing_pieces(backend: str, requirements: tuple[ModelRequirement, ...], roles: tuple[str, ...] = ()) -> list[FetchPiece]:
    """The requirements of one backend not found locally (only `roles`, if given), as pieces to fetch."""
    pieces = []
    for req in requirements:
        if req.found or not req.include or (roles and req.role not in roles):
            continue
        files = ModelFiles(req.model_id, req.include, marker="")
        pieces.append(FetchPiece(backend, req.role, files, None if req.local_dir is None else Path(req.local_dir)))
    return pieces


def list_remote(piece: FetchPiece) -> list[RemoteFile]:
    """The files the hub has for a piece's patterns, with sizes (a dry run: nothing is downloaded).

    BackendError when a pattern matches none of them (the repository no longer has what physreel
    loads) or the hub cannot be asked (no network, unknown or gated repository).
    """
    try:
        infos = snapshot_download(repo_id=piece.files.repo_id, allow_patterns=list(piece.files.include),
                                  local_dir=None if piece.local_dir is None else str(piece.local_dir), dry_run=True)
    except (OSError, ValueError) as exc:  # huggingface_hub's HTTP and offline errors derive from these
        raise BackendError(f"{piece.backend} {piece.role}: cannot list {piece.files.repo_id} on the hub: {_first_line(exc)}") from None
    remote = [RemoteFile(info.filename, info.file_size, info.commit_hash) for info in infos]
    names = [f.name for f in remote]
    unmatched = [p for p in piece.files.include if not fnmatch.filter(names, p)]
    if unmatched:
        raise BackendError(
            f"{piece.backend} {piece.role}: {piece.files.repo_id} has no file matching {', '.join(unmatched)} "
            f"(its layout is not the one physreel loads; nothing was downloaded)"
        )
    return sorted(remote, key=lambda f: f.name)


def download(piece: FetchPiece, remote: list[RemoteFile]) -> Path:
    """Download a piece's files; write its physreel_source.json into a --model folder. The folder."""
    try:
        folder = Path(snapshot_download(repo_id=piece.files.repo_id, allow_patterns=list(piece.files.include),
                                        local_dir=None if piece.local_dir is None else str(piece.local_dir)))
    except (OSError, ValueError) as exc:
        raise BackendError(f"{piece.backend} {piece.role}: downloading {piece.files.repo_id} failed: {_first_line(exc)}") from None
    if piece.local_dir is not None:
        commits = sorted({f.commit for f in remote})
        statement = {
            "repo_id": piece.files.repo_id,
            "revision": commits[0] if len(commits) == 1 else None,
            "files": [{"name": f.name, "size_bytes": f.size_bytes} for f in remote],
            "recorded_by": "physreel models --fetch",
        }
        _write_atomically(folder / SOURCE_FILE, json.dumps(statement, indent=2) + "\n")
    return folder


def format_size(size_bytes: int | None) -> str:
    """'1.72 GB' (decimal units, as the hub shows them); 'size unknown' for None."""
    if size_bytes is None:
        return "size unknown"
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size_bytes >= factor:
            return f"{size_bytes / factor:.2f} {unit}"
    return f"{size_bytes} B"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text)
    os.replace(temporary, path)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

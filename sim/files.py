"""Writing output files so that a file appears under its final name only when complete."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it to `final` only if the block succeeds.

    Works for files and for directories written into the yielded path.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part" + final.suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def write_json(path: str | Path, data: Any) -> None:
    """Write `data` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write arrays to an uncompressed .npz, atomically. Byte-identical for identical arrays."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def update_json(path: str | Path, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge `updates` (top-level keys replaced) into the JSON file at `path`, atomically.

    Each stage adds its own section to OUT/meta.json this way; the file need not exist yet.
    Returns the merged data.
    """
    path = Path(path)
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data.update(json.loads(json.dumps(updates, default=_json_default)))
    write_json(path, data)
    return data


@contextlib.contextmanager
def output_folder(path: str | Path) -> Iterator[Path]:
    """Yield `path` as the folder a stage writes into; if the block fails and this call created
    the folder, remove it again, so a failed run leaves nothing half-written behind.

    Each file inside still appears only when complete (`atomic_path`); a folder that existed
    before keeps what it held.
    """
    path = Path(path)
    created = not path.exists()
    try:
        yield path
    except BaseException:
        if created:
            shutil.rmtree(path, ignore_errors=True)
        raise


STAGE_FOLDERS = ("control", "preview", "video")
"""Folders the stages write into below OUT (CONVENTIONS.md, "Files of one shot")."""


def output_folder_problem(path: str | Path) -> str | None:
    """Why a stage could not write its files into `path`, or None: checked before any work, so a
    run that cannot write fails in its first second rather than after simulating and generating.

    `path` is (or can be made as) a folder, a file can be created in it, and a meta.json an
    earlier stage left there is a JSON object (later stages read and extend it).
    """
    path = Path(path)
    if "\x00" in str(path):  # pathlib answers "does not exist", then mkdir raises
        return "the path holds a NUL character; give a folder name without one"
    try:
        if path.is_symlink() and not path.exists():
            return f"{path} is a link to nothing; remove it or give another folder"
        if path.exists() and not path.is_dir():
            return f"{path} is a file; give a folder"
        existing = next(folder for folder in (path, *path.parents) if folder.exists())
        if not existing.is_dir():
            return f"{existing} is a file, so no folder can be made below it; give another folder"
        folders = [existing] + [path / name for name in STAGE_FOLDERS if (path / name).exists()]
        for folder in folders:
            if not folder.is_dir():
                return f"{folder} is a file where a stage writes a folder; remove it or give another folder"
            # access(2) asks the kernel without writing anything: permissions, and a read-only file system
            if not os.access(folder, os.W_OK | os.X_OK):
                return f"cannot write in {folder} (permission denied or a read-only file system); give a folder you can write to"
        meta = path / "meta.json"
        data = _json_or_none(meta) if meta.exists() else {}
        # each stage adds its section to the object; render extends the `generate` section
        if not isinstance(data, dict) or not isinstance(data.get("generate", {}), dict):
            return f"{meta} is not a JSON object of sections (left by another program?); remove it or give another folder"
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"cannot write there: {exc.strerror or exc}{where}; give a folder you can write to"
    return None


def _json_or_none(path: Path) -> Any:
    """The JSON in `path`, or None if it is not a file of JSON."""
    try:
        return json.loads(path.read_bytes())
    except (ValueError, RecursionError, OSError):  # not JSON (UnicodeDecodeError is a ValueError), or unreadable
        return None

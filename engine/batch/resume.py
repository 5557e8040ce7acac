"""What a batch has already made: each shot's record, and whether a stage's files are complete.

OUT/shots/KEY/ is one shot (KEY: its name and spec hash, engine.batch.expand): `scene.yaml`
(the shot's spec), one folder per stage, and `shot.json`, the driver's record, rewritten
atomically after each of the shot's tasks. A stage is complete when its record says ok for the
same spec hash and stage settings and every file it lists is present with the recorded sha256;
or when it failed with an unstable simulation (the same spec fails the same way, so a rerun
does not repeat it). Anything else is redone. Only the driver writes records, and a stage's
folder only appears whole (engine.batch.tasks), so a complete stage is never touched by a rerun.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from physreel.sim.files import write_json

RECORD = "shot.json"
SHOTS = "shots"
DATASET = "dataset"


def shot_dir(out: Path, key: str) -> Path:
    return out / SHOTS / key


def stage_folder(out: Path, key: str, stage: str) -> Path:
    """OUT/shots/KEY/STAGE, or OUT/dataset/KEY for the dataset export."""
    return out / DATASET / key if stage == "dataset" else shot_dir(out, key) / stage


def file_digests(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative POSIX path, sorted) -> sha256 of its bytes."""
    digests = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digests[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return digests


def read_record(folder: Path) -> dict[str, Any]:
    """The shot's record, or {} when there is none (or it cannot be read: the shot is redone)."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def write_record(folder: Path, record: dict[str, Any]) -> None:
    write_json(folder / RECORD, record)


def is_complete(folder: Path, record: dict[str, Any], stage: str, spec_hash: str, settings: dict[str, Any]) -> bool:
    """Whether `stage` of the shot whose record is `record` needs no work (module docstring)."""
    entry = record.get("stages", {}).get(stage)
    if record.get("spec_hash") != spec_hash or not isinstance(entry, dict) or entry.get("settings") != settings:
        return False
    if entry.get("status") == "failed":
        return entry.get("kind") == "unstable"
    if entry.get("status") != "ok" or not folder.is_dir():
        return False
    listed = entry.get("files")
    return isinstance(listed, dict) and bool(listed) and file_digests(folder) == listed


def clean_partials(folder: Path) -> int:
    """Remove the `.NAME.*.part*` files and folders killed tasks left directly under `folder`; how many."""
    removed = 0
    if folder.is_dir():
        for leftover in folder.glob(".*.part*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed += 1
    return removed

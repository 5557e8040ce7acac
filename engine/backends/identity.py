"""What a model folder is, read from its own files, never from the repository id physreel expected.

A folder in the `--model` layout can hold anything: the official weights, a fine-tune, the tests'
tiny random models. Its identity is what the folder itself records:
- `class`: the `_class_name` of its marker (model_index.json or config.json), as save_pretrained wrote it;
- `config_sha256`: sha256 over its sorted (relative path, bytes) of every config `.json` (the
  architecture: a tiny model and the real one differ here even when the class is the same);
- `source`: where it came from, if the folder says so: `physreel_source.json` (written by
  `physreel models --fetch` after a download, and by the tiny test models), else the Hugging Face
  cache layout it sits in (`models--ORG--NAME/snapshots/COMMIT`), else huggingface_hub's
  `--local-dir` download record (`.cache/huggingface/download/MARKER.metadata`, which keeps the
  commit but not the repository), else unknown (None).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SOURCE_FILE = "physreel_source.json"
"""A folder's own statement of its origin: {"repo_id", "revision", ...} or {"origin": "..."}."""
LOCAL_DIR_RECORD = Path(".cache") / "huggingface" / "download"
"""Where `hf download --local-dir` keeps per-file records (commit hash on the first line)."""


def folder_identity(folder: str | Path, marker: str) -> dict:
    """{'class', 'config_sha256', 'source'} of a model folder, from its files only (JSON-ready)."""
    folder = Path(folder)
    return {
        "class": _class_name(folder / marker),
        "config_sha256": config_sha256(folder),
        "source": folder_source(folder, marker),
    }


def file_identity(path: str | Path) -> dict:
    """{'class', 'file', 'config_sha256', 'source'} of one weights file a backend loads by itself (a
    LoRA): no class (the file has no config), the configs beside it, and where its folder says it
    came from, the file standing as the marker (`hf download --local-dir` records it by its name)."""
    path = Path(path)
    return {
        "class": None,
        "file": path.name,
        "config_sha256": config_sha256(path.parent),
        "source": folder_source(path.parent, path.name),
    }


def _class_name(marker: Path) -> str | None:
    if marker.suffix != ".json":  # a weights file standing as the marker: no class to read, and not read whole
        return None
    try:
        value = json.loads(marker.read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def config_sha256(folder: Path) -> str:
    """sha256 over the sorted (relative path, bytes) of the folder's .json files outside hidden folders."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*.json") if p.is_file() and not _hidden(p.relative_to(folder)))
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts[:-1]) or relative.name == SOURCE_FILE


def folder_source(folder: Path, marker: str) -> dict | None:
    """Where the folder says it came from (see the module docstring), or None."""
    statement = folder / SOURCE_FILE
    if statement.is_file():
        try:
            data = json.loads(statement.read_text())
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict):
            return data
    resolved = folder.resolve()
    parts = resolved.parts
    for i in range(len(parts) - 2):
        if parts[i].startswith("models--") and parts[i + 1] == "snapshots":
            return {"repo_id": parts[i][len("models--"):].replace("--", "/"), "revision": parts[i + 2],
                    "recorded_by": "Hugging Face cache layout"}
    record = folder / LOCAL_DIR_RECORD / f"{marker}.metadata"
    if record.is_file():
        lines = record.read_text(errors="replace").splitlines()
        if lines and lines[0].strip():
            return {"repo_id": None, "revision": lines[0].strip(), "recorded_by": "hf download --local-dir"}
    return None


def describe_identity(identity: dict) -> str:
    """One human line: 'StableDiffusionPipeline folder from REPO@REV' / '..., origin unknown'."""
    if identity.get("class"):
        what = f"{identity['class']} folder"
    else:
        what = f"file {identity['file']}" if identity.get("file") else "folder without a _class_name"
    source = identity.get("source")
    if source is None:
        return f"{what}, origin unknown (no {SOURCE_FILE}, not a hub download)"
    if source.get("origin"):
        return f"{what}, {source['origin']}"
    repo = source.get("repo_id") or "an unrecorded hub repository"
    revision = f"@{source['revision'][:12]}" if source.get("revision") else ""
    return f"{what} from {repo}{revision}"

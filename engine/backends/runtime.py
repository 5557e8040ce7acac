"""Offline loading, model lookup and weight hashing shared by every backend."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
from pathlib import Path
from typing import Iterator

from ..errors import BackendError, ModelNotFoundError
from .base import ModelRequirement
from .device import resolve_device, resolve_dtype  # noqa: F401  (the backends import them from here too)
from .identity import folder_identity
from .model_files import ModelFiles

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")
OFFLINE_VARIABLE = "HF_HUB_OFFLINE"


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Forbid Hugging Face hub downloads inside the block; afterwards the process is as it was.

    physreel loads local weights only. Every from_pretrained also gets local_files_only=True; this
    guards whatever a loader reaches beyond that. huggingface_hub reads HF_HUB_OFFLINE once, when it
    is first imported (`huggingface_hub.constants.HF_HUB_OFFLINE`, which its HTTP hook checks), so
    setting the variable alone would not reach an already imported hub: both are set for the block
    and restored after it, an unset variable unset again. Import the libraries that load (diffusers,
    transformers, controlnet_aux) before entering, so none copies the switch at import inside it.
    """
    from huggingface_hub import constants  # before the variable changes: it is read at import

    saved_variable, saved_switch = os.environ.get(OFFLINE_VARIABLE), constants.HF_HUB_OFFLINE
    os.environ[OFFLINE_VARIABLE] = "1"
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_switch
        if saved_variable is None:
            os.environ.pop(OFFLINE_VARIABLE, None)
        else:
            os.environ[OFFLINE_VARIABLE] = saved_variable


class WeightHasher:
    """sha256 of weight files and folders. Each file is read once per (path, size, mtime) for the
    life of this hasher: a backend holds one, so repeated runs do not re-read gigabytes of weights."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, int, int], str] = {}

    def file_sha256(self, path: Path) -> str:
        """sha256 (hex) of one file."""
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in self._files:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    digest.update(block)
            self._files[key] = digest.hexdigest()
        return self._files[key]

    def weights_hash(self, directory: str | Path) -> str:
        """sha256 (hex) over the sorted (relative path, file sha256) of every weight file under `directory`.

        Configs are not hashed (they are small and recorded by id); two directories with the same
        weight files give the same hash wherever they live.
        """
        directory = Path(directory)
        files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        if not files:
            raise BackendError(f"{directory}: no weight files ({', '.join(WEIGHT_SUFFIXES)}) to hash")
        digest = hashlib.sha256()
        for path in files:
            digest.update(f"{path.relative_to(directory).as_posix()}\0{self.file_sha256(path)}\n".encode())
        return digest.hexdigest()


def hf_cache_snapshot(model_id: str) -> Path | None:
    """The local Hugging Face cache snapshot of `model_id`, or None; never downloads.

    Reads HF_HUB_CACHE (or HF_HOME/hub) at call time, so a changed environment is honoured.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache_dir = os.environ.get("HF_HUB_CACHE")
    if cache_dir is None and os.environ.get("HF_HOME"):
        cache_dir = str(Path(os.environ["HF_HOME"]) / "hub")
    try:
        return Path(snapshot_download(model_id, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def locate_model(model_dir: str | None, subdir: str, model_id: str, marker: str) -> Path | None:
    """Where a model's files are: `model_dir/subdir` if it holds `marker`, else the HF cache, else None.

    `marker` is a file that proves the layout (e.g. 'model_index.json', 'config.json').
    """
    if model_dir is not None:
        candidate = Path(model_dir) / subdir
        if (candidate / marker).is_file():
            return candidate
    snapshot = hf_cache_snapshot(model_id)
    if snapshot is not None and (snapshot / marker).is_file():
        return snapshot
    return None


def local_dir(model_dir: str | Path | None, subdir: str) -> Path | None:
    """The folder of one role in the `--model` layout (None: no --model, the HF cache is used)."""
    if model_dir is None:
        return None
    return Path(model_dir) / subdir if subdir else Path(model_dir)


def fetch_command(files: ModelFiles, model_dir: str | Path | None, subdir: str) -> str:
    """The `hf download` line fetching exactly the files a role loads, into the folder physreel reads."""
    return files.download_command(local_dir(model_dir, subdir))


def missing_models_error(backend: str, missing: list[tuple[str, ModelFiles, str]], model_dir: str | Path | None) -> ModelNotFoundError:
    """One error naming every missing (role, files, subdir) at once, each with its fetch command."""
    where = f"{model_dir} or the local Hugging Face cache" if model_dir else "the local Hugging Face cache"
    pieces = "; ".join(f"{role}: {files.repo_id}, fetch with `{fetch_command(files, model_dir, subdir)}`"
                       for role, files, subdir in missing)
    model_flag = f" --model {shlex.quote(str(model_dir))}" if model_dir else ""
    count = f"{len(missing)} models are" if len(missing) > 1 else "a model is"
    return ModelNotFoundError(
        f"{backend}: {count} not in {where} (physreel never downloads): {pieces}; or fetch all with "
        f"`physreel models --backend {backend}{model_flag} --fetch` (add --dry-run to list their sizes first)"
    )


def model_requirement(role: str, files: ModelFiles, model_dir: str | Path | None, subdir: str,
                      optional: bool = False) -> ModelRequirement:
    """One role's requirement as `physreel models` reports it: found where (and what the folder is), or
    the command that fetches it."""
    found = locate_model(None if model_dir is None else str(model_dir), subdir, files.repo_id, files.marker)
    target = local_dir(model_dir, subdir)
    return ModelRequirement(
        role=role,
        model_id=files.repo_id,
        found=found is not None,
        location=None if found is None else str(found),
        fetch_command=fetch_command(files, model_dir, subdir),
        optional=optional,
        local_dir=None if target is None else str(target),
        include=files.include,
        identity=None if found is None else folder_identity(found, files.marker),
    )

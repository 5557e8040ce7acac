"""A stand-in for the Hugging Face hub's `snapshot_download`, backed by local folders (tests only).

Each repository is a folder; its files are selected with huggingface_hub's own
`filter_repo_objects`, the function the real `snapshot_download` filters with, so a pattern selects
here exactly what it would select on the hub. `dry_run=True` answers as the real one does
(`DryRunFileInfo` per file, sizes from the files); otherwise the files are copied into `local_dir`,
or into a Hugging Face cache layout (`models--ORG--NAME/snapshots/COMMIT`) under `cache_dir`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, Path], cache_dir: Path):
        self.repos = repos
        self.cache_dir = cache_dir
        self.calls: list[dict] = []

    def files(self, repo_id: str) -> list[str]:
        root = self.repos[repo_id]
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    def snapshot_download(self, repo_id, allow_patterns=None, ignore_patterns=None, local_dir=None, dry_run=False,
                          repo_type="model", revision=None, **unused):
        from huggingface_hub.errors import RepositoryNotFoundError
        from huggingface_hub.file_download import DryRunFileInfo
        from huggingface_hub.utils import filter_repo_objects

        self.calls.append({"repo_id": repo_id, "allow_patterns": allow_patterns, "ignore_patterns": ignore_patterns,
                           "local_dir": local_dir, "dry_run": dry_run, "repo_type": repo_type, "revision": revision})
        if repo_id not in self.repos:
            from huggingface_hub import errors

            # built on the HTTP response class huggingface_hub's own errors take (httpx or its fork)
            url = f"https://huggingface.co/api/models/{repo_id}"
            raise RepositoryNotFoundError(f"404 Client Error: repository {repo_id} not found",
                                          response=errors.Response(404, request=_request(errors.Response, url)))
        root = self.repos[repo_id]
        chosen = list(filter_repo_objects(self.files(repo_id), allow_patterns=allow_patterns, ignore_patterns=ignore_patterns))
        target = Path(local_dir) if local_dir is not None else (
            self.cache_dir / f"models--{repo_id.replace('/', '--')}" / "snapshots" / COMMIT)
        if dry_run:
            return [DryRunFileInfo(commit_hash=COMMIT, file_size=(root / name).stat().st_size, filename=name,
                                   local_path=str(target / name), is_cached=False, will_download=True)
                    for name in chosen]
        for name in chosen:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target / name)
        if local_dir is None:
            (self.cache_dir / f"models--{repo_id.replace('/', '--')}" / "refs").mkdir(parents=True, exist_ok=True)
            (self.cache_dir / f"models--{repo_id.replace('/', '--')}" / "refs" / "main").write_text(COMMIT)
        return str(target)


def _request(response_class, url: str):
    """A GET request of the HTTP library `response_class` comes from."""
    import importlib

    library = importlib.import_module(response_class.__module__.split(".")[0])
    return library.Request("GET", url)

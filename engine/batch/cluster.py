"""The Ray a batch runs on: a local instance started for the batch, or an existing cluster.

Local (the default, nothing to set up): `ray.init(num_cpus=WORKERS, include_dashboard=False)`,
GPUs as Ray detects them, logs kept in Ray's session folder (`temp_dir`, default Ray's own),
shut down when the batch ends. It is a local-only Ray: `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`
while Ray is imported and running, the mode Ray itself uses on macOS and Windows, so every Ray
process listens on 127.0.0.1 only and nothing outside the machine can join it.

Existing (`address`): `ray.init(address=...)` joins it (`auto`: the cluster this machine's
`ray start` joined; `ray://HOST:10001`: through Ray Client, which needs `ray[client]`), and leaves
it running. A process already connected to Ray (a notebook, a test) is used as it is.

The local-only mode is read when a process first imports Ray: physreel imports it only here,
after setting it; a process that imported Ray before (a notebook) starts a Ray that listens on
all interfaces, as plain `ray.init()` does.

Ray sets a few environment variables in the driver (its auth mode, usage stats); they are put
back as they were when the batch ends, so the process is left as it was found.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
SOCKET_PATH_LIMIT = 107
"""AF_UNIX's limit on a socket's path; Ray's sockets lie in TEMP/session_<time>_<pid>/sockets/."""
SESSION_SOCKET = "/session_2000-01-01_00-00-00_000000_4194304/sockets/plasma_store"


class ClusterError(RuntimeError):
    """Ray cannot be started or joined; the message says why and what to do."""


@dataclass(frozen=True)
class Cluster:
    """What the batch runs on."""

    address: str
    """'local' for an instance started for the batch, else the address joined."""
    resources: dict[str, float] = field(default_factory=dict)
    """ray.cluster_resources() when connected: CPU, GPU, memory, ..."""

    @property
    def gpus(self) -> float:
        return float(self.resources.get("GPU", 0.0))

    def describe(self) -> dict[str, Any]:
        return {"address": self.address, "CPU": self.resources.get("CPU", 0.0), "GPU": self.gpus}


def check_temp_dir(temp_dir: Path | str) -> None:
    """ClusterError if Ray's socket paths under `temp_dir` would be too long (found before any work)."""
    resolved = str(Path(temp_dir).resolve())
    if len(resolved) + len(SESSION_SOCKET) > SOCKET_PATH_LIMIT:
        raise ClusterError(f"--temp-dir {temp_dir}: Ray's socket paths under it would exceed {SOCKET_PATH_LIMIT} bytes; "
                           f"give a folder of at most {SOCKET_PATH_LIMIT - len(SESSION_SOCKET)} characters (absolute)")


@contextlib.contextmanager
def ray_cluster(workers: int | None = None, address: str | None = None, temp_dir: Path | None = None) -> Iterator[Cluster]:
    """Connect to Ray for the block (module docstring); ClusterError if that fails."""
    with _environ_restored():
        if address is None:
            os.environ.update(LOCAL_ONLY)
        import ray  # imported here: a local-only Ray reads LOCAL_ONLY when it is first imported

        if ray.is_initialized():
            yield Cluster("connected", ray.cluster_resources())
            return
        try:
            if address is None:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR, _temp_dir=None if temp_dir is None else str(Path(temp_dir).resolve()))
            else:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except ModuleNotFoundError as exc:
            raise ClusterError(f"--address {address}: Ray Client needs {exc.name}; pip install \"ray[client]\" "
                               f"in the version installed here") from None
        except (ConnectionError, RuntimeError, ValueError, OSError) as exc:
            ray.shutdown()  # whatever of it had started
            where = "start a local Ray instance" if address is None else f"join the Ray cluster at {address}"
            hint = ("; Ray's socket paths under --temp-dir must stay within 107 bytes: give a shorter folder"
                    if "AF_UNIX path length" in str(exc) else "")
            raise ClusterError(f"cannot {where}: {exc}{hint}") from None
        try:
            yield Cluster("local" if address is None else address, ray.cluster_resources())
        finally:
            ray.shutdown()


@contextlib.contextmanager
def _environ_restored() -> Iterator[None]:
    before = dict(os.environ)
    try:
        yield
    finally:
        for name in [name for name in os.environ if name not in before]:
            del os.environ[name]
        os.environ.update(before)

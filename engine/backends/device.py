"""The torch device and dtype a run asks for, resolved and checked (no model is loaded).

Its own module because `Backend.check_settings` (base.py) checks the device before any simulation
and runtime.py imports base.py."""

from __future__ import annotations

from physreel.sim.spec.types import DEVICES, DTYPES

from ..errors import BackendError


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' if available, else 'mps' if available, else 'cpu'; a named device is checked."""
    import torch

    if device not in DEVICES:
        raise BackendError(f"device {device!r} is not one of {', '.join(DEVICES)}", "device")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if device == "cuda" and not cuda:
        raise BackendError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto", "device")
    if device == "mps" and not mps:
        raise BackendError("device 'mps' was asked for but torch sees no Apple GPU; use --device cpu or auto", "device")
    return device


def resolve_dtype(dtype: str, device: str):
    """'auto' -> float16 on cuda, float32 elsewhere (half precision on CPU is slow and lossy). A torch.dtype."""
    import torch

    if dtype not in DTYPES:
        raise BackendError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}", "dtype")
    if dtype == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, dtype)

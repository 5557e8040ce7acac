"""The errors of the generation stage; every engine module may raise them."""

from __future__ import annotations


class BackendError(Exception):
    """A backend cannot run as asked: a missing model, an unsupported control, a bad shape.

    The message says what is wrong and how to fix it (e.g. the command that fetches a model).
    The CLI reports it on one line with exit status 2.
    """


class ModelNotFoundError(BackendError):
    """A model a backend needs is neither in the given directory nor in the local HF cache."""

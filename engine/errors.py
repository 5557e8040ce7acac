"""The errors of the generation stage; every engine module may raise them."""

from __future__ import annotations


class BackendError(Exception):
    """A backend cannot run as asked: a missing model, an unsupported control, a bad shape.

    The message says what is wrong and how to fix it (e.g. the command that fetches a model).
    The CLI reports it on one line with exit status 2. `field` names the `generate:` field the
    problem is about (e.g. "controls"), so an error about a value the scene file set points at
    its line (engine.settings.located_backend_error).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ModelNotFoundError(BackendError):
    """A model a backend needs is neither in the given directory nor in the local HF cache."""

    def __init__(self, message: str, field: str | None = "model"):
        super().__init__(message, field)

"""Stage lines on stderr for long runs ('[3/8] render passes ...'); silent when quiet."""

from __future__ import annotations

import sys


class Progress:
    """Numbered stage lines out of `total`, and indented detail lines under them."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.index = total, quiet, 0

    def stage(self, text: str) -> None:
        self.index += 1
        if not self.quiet:
            print(f"[{self.index}/{self.total}] {text} ...", file=sys.stderr, flush=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(f"      {text}", file=sys.stderr, flush=True)

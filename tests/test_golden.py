"""Output bytes are unchanged by refactoring: simulate, passes, render and compare on the golden
scene give the files recorded in tests/golden/golden.json (recorded before issue 11's engine/
refactor, see tests/golden/capture.py for what is normalised and why).

The digests hold for the library versions recorded beside them: another numpy, torch, ffmpeg or
pybullet may legitimately change bytes, so a run with other versions is skipped, naming them
(re-record with `python tests/golden/capture.py OUT --record` after checking why they changed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
import capture  # noqa: E402

GOLDEN = json.loads((capture.HERE / "golden.json").read_text())


@pytest.fixture(scope="module")
def same_libraries():
    now = capture.library_versions()
    changed = {name: (GOLDEN["versions"].get(name), v) for name, v in now.items() if GOLDEN["versions"].get(name) != v}
    if changed:
        pytest.skip(f"golden digests were recorded with other library versions: {changed}")


@pytest.mark.parametrize("command", sorted(capture.COMMANDS))
def test_outputs_are_byte_identical_to_the_golden_run(command, tmp_path, same_libraries):
    got = capture.capture(tmp_path, (command,))[command]
    want = GOLDEN["digests"][command]
    assert sorted(got) == sorted(want), "the same files are written"
    changed = sorted(name for name in want if got[name] != want[name])
    assert not changed, f"{command}: these files differ from the golden run: {changed}"

"""A shot's scene.yaml is the same text, and reads back as the same data, with libyaml's C emitter
and parser (which `physreel batch` uses when PyYAML has them, for speed) as with PyYAML's Python ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from physreel.engine.batch import load_sweep
from physreel.engine.batch import run
from physreel.engine.batch.expand import expand_sweep

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(run._SAFE_DUMPER is yaml.SafeDumper, reason="PyYAML without libyaml: the Python emitter is the one used")


class _PythonShotDumper(yaml.SafeDumper):
    """run._ShotDumper's style on PyYAML's pure-Python emitter."""


_PythonShotDumper.add_representer(list, lambda dumper, items: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", items, flow_style=all(not isinstance(item, (dict, list)) for item in items)))


def _documents() -> list[dict]:
    """Every shot of every example sweep, every example scene, and values that stress an emitter."""
    documents = [plan.data for path in sorted((REPO / "sweeps").glob("*.yaml")) for plan in expand_sweep(load_sweep(path))[0]]
    documents += [yaml.safe_load(path.read_text()) for path in sorted((REPO / "scenes").glob("*.yaml"))]
    documents.append({"shot": {"prompt": "ünïcödé “quoted” 'single' " + "a long prompt wraps " * 12, "gravity": [0, 0, -9.81],
                               "seed": 2**31 - 1, "tiny": 1e-7, "huge": 1.5e300, "empty": "", "yes": "yes", "none": None}})
    return documents


def test_a_shots_yaml_is_the_same_text_with_the_c_and_the_python_emitter():
    documents = _documents()
    assert len(documents) > 15
    for data in documents:
        fast = yaml.dump(data, Dumper=run._ShotDumper, sort_keys=False, allow_unicode=True, width=100)
        assert fast == yaml.dump(data, Dumper=_PythonShotDumper, sort_keys=False, allow_unicode=True, width=100)


def test_a_shots_yaml_reads_back_the_same_with_the_c_and_the_python_parser():
    for data in _documents():
        text = yaml.dump(data, Dumper=run._ShotDumper, sort_keys=False, allow_unicode=True, width=100)
        assert yaml.load(text, Loader=run._SAFE_LOADER) == yaml.safe_load(text) == data

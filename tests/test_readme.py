"""README.md stays true: its example scene validates and every command it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from physreel.engine.cli import COMMANDS
from physreel.sim.spec import scene_from_data

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_readme_example_scene_validates(tmp_path):
    block = re.search(r"```yaml\n(.*?)```", README, re.S)
    assert block, "README has a yaml example"
    scene = scene_from_data(yaml.safe_load(block.group(1)), tmp_path / "readme.yaml")
    assert scene.spec.shot.name == "bouncing_ball"


def test_every_command_the_readme_names_exists():
    named = set(re.findall(r"(?:`|^)physreel ([a-z][a-z-]+)", README, re.M))
    assert named, "README names commands"
    assert named <= set(COMMANDS), named - set(COMMANDS)


def test_readme_main_job_scene_exists():
    main_job = re.search(r"physreel compare (\S+) -o", README)
    assert main_job and (REPO / main_job.group(1)).is_file()


def test_readme_links_to_files_that_exist():
    for link in re.findall(r"\]\(((?:docs|engine|scenes)/[^)#]+)\)", README) + ["ARCHITECTURE.md"]:
        assert (REPO / link).exists(), link

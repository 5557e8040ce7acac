"""The fuzzer: scene specs drawn by Hypothesis (valid scenes, then broken: type swaps, extreme
numbers, deleted, renamed and duplicated keys, wrong nesting, random unicode, random asset files)
run through the CLI in this process. For every one: exit status 0, 2 or 3; no traceback; one
located line per problem; within a time and memory budget; nothing written on failure; no file
opened outside the scene and output folders (fuzz_harness.py says how each is checked).

Two profiles. The fast one runs in the default suite: a fixed set of examples (derandomized, no
example database), so CI is deterministic. The long one (`pytest -m slow tests/test_fuzz.py`)
draws fresh examples; PHYSREEL_FUZZ_EXAMPLES sets how many and PHYSREEL_FUZZ_LOG names a file that
gets one line per case. A failure Hypothesis shrinks becomes a regular test in
tests/test_hardening.py.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_harness import case_folder, install_audit_hook, problems, run_command, scene_files, write_case
from fuzz_mutations import mutated_cases
from fuzz_scenes import cases
from physreel.sim.spec import SpecError, load_scene
from physreel.sim.spec.model import expanded_names

FAST = settings(max_examples=150, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=int(os.environ.get("PHYSREEL_FUZZ_EXAMPLES", "2000")), database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
BUDGET_S = {"validate": 30.0, "simulate": 90.0, "passes": 120.0, "render": 180.0}


def _cost(path) -> tuple[int, int, int]:
    """(frames, bodies, particles) of a scene that validated."""
    spec = load_scene(path).spec
    particles = sum(e.particle_count(spec.shot.duration) for e in spec.emitters) + sum(b.particle_count() for b in spec.fluid_blocks)
    return spec.shot.num_frames, len(expanded_names(spec)), particles


def check(case, stages: tuple[str, ...], max_frames: int) -> list[str]:
    """Run validate, then (when it passes and the scene is cheap enough) the other `stages`; the problems found."""
    install_audit_hook()
    with case_folder() as root:
        folders = write_case(case, root)
        before = scene_files(folders.scene)
        outcomes = [run_command("validate", folders, BUDGET_S["validate"])]
        if outcomes[0].code == 0 and stages:
            try:
                frames, bodies, particles = _cost(folders.scene / "scene.yaml")
            except SpecError:  # validate said 0: a problem in itself
                return ["load_scene refused a scene that validate accepted"]
            if frames <= max_frames and bodies <= 40 and particles <= 5000:
                for stage in stages:
                    extra = {"passes": ("--resolution", "16x16", "--no-previews"), "render": ("--steps", "1")}.get(stage, ())
                    outcomes.append(run_command(stage, folders, BUDGET_S[stage], extra))
                    if outcomes[-1].code != 0:
                        break
        found = [p for outcome in outcomes for p in problems(outcome)]
        if scene_files(folders.scene) != before:
            found.append("the scene's folder changed")
        _log(case, outcomes, found)
        if found:
            files = {name: content[:300] for name, content in case.files.items()}
            found.append(f"--- scene.yaml:\n{(case.text or '')[:3000]}\n--- files: {files}")
        return found


def _log(case, outcomes, found) -> None:
    log = os.environ.get("PHYSREEL_FUZZ_LOG")
    if log:
        with open(log, "a") as handle:
            codes = " ".join(f"{o.command}={o.code}" for o in outcomes)
            handle.write(f"{time.time():.0f} {codes} {'FINDING' if found else 'ok'}\n")


@FAST
@given(case=mutated_cases(cases()), stages=st.sampled_from([(), ("simulate",)]))
def test_fast_fuzz_finds_nothing(case, stages):
    found = check(case, stages, max_frames=12)
    assert not found, "\n".join(found)


@pytest.mark.slow
@LONG
@given(case=mutated_cases(cases()), stages=st.sampled_from([(), ("simulate",), ("simulate",), ("passes",), ("render",)]))
def test_long_fuzz_finds_nothing(case, stages):
    found = check(case, stages, max_frames=2400)
    assert not found, "\n".join(found)

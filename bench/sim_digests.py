"""sha256 of every trajectory and contact array `simulate` records, for the example scenes and the bench scenes.

Run it before and after a change to the simulation loop or the contact tracker: identical lines
mean bit-identical outputs. Particles are left out (they are computed from the trajectory).

Run: python bench/sim_digests.py [--seconds 4] > digests.txt
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import fields
from pathlib import Path

from physreel.sim.quiet import c_output_silenced

with c_output_silenced():  # pybullet prints its build time on import
    import pybullet  # noqa: F401

from physreel.sim.simulate import simulate  # noqa: E402
from physreel.sim.spec import load_scene, scene_from_data  # noqa: E402

from sim import SOURCE, humanoid, twenty_bodies  # noqa: E402  (bench/sim.py, run from bench/)

SCENES = Path(__file__).resolve().parent.parent / "scenes"


def digests(name: str, scene) -> list[str]:
    """One line per array: scene, record.field, dtype, shape, sha256 of the bytes."""
    shot = simulate(scene, particles=False)
    lines = []
    for record_name, record in (("trajectory", shot.trajectory), ("contacts", shot.contacts)):
        for f in fields(record):
            value = getattr(record, f.name)
            if hasattr(value, "tobytes"):
                digest = hashlib.sha256(value.tobytes()).hexdigest()
                lines.append(f"{name} {record_name}.{f.name} {value.dtype} {value.shape} {digest}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="shot duration of the bench scenes")
    args = parser.parse_args()
    for path in sorted(SCENES.glob("*.yaml")):
        print("\n".join(digests(path.name, load_scene(path))), flush=True)
    for name, build in (("bench 20 bodies", twenty_bodies), ("bench humanoid", humanoid)):
        print("\n".join(digests(name, scene_from_data(build(args.seconds), SOURCE))), flush=True)


if __name__ == "__main__":
    main()

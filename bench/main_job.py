"""The README's main job, stage by stage: `physreel compare scenes/bouncing_ball.yaml -o OUT --profile`.

Each run is the command a user types, in a fresh process, so start-up (interpreter and imports)
counts. The table is that of `--profile` (sim/timing.py, docs/conventions.md): each stage's own
wall and CPU seconds and its share of the run's wall time, here the median over --repeats runs per
stage, with the spread (min - max) of the total. The reference run beside it is the same command
without --profile, interleaved with the profiled ones: the ratio of their median wall times is
what recording the profile costs (expected 1.00 within the run-to-run spread).

Run: python bench/main_job.py [--repeats 5] [--scene scenes/bouncing_ball.yaml] [-- extra compare flags]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(scene: Path, out: Path, extra: list[str], profile: bool) -> tuple[float, dict | None]:
    """(wall seconds of the whole process, meta.json's profile or None)."""
    command = ["physreel", "--quiet", "compare", str(scene), "-o", str(out), *extra] + (["--profile"] if profile else [])
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return wall, json.loads((out / "meta.json").read_text())["profile"] if profile else None


def median_table(profiles: list[dict]) -> list[tuple[str, float, float, float]]:
    """(stage, median wall s, median CPU s, median share) per stage, in the first run's order."""
    order = [row["stage"] for row in profiles[0]["stages"]]
    for profile in profiles[1:]:
        order += [row["stage"] for row in profile["stages"] if row["stage"] not in order]
    rows = []
    for stage in order:
        found = [next((r for r in p["stages"] if r["stage"] == stage), None) for p in profiles]
        found = [r or {"wall_s": 0.0, "cpu_s": 0.0, "share": 0.0} for r in found]
        rows.append((stage, *(statistics.median(r[k] for r in found) for k in ("wall_s", "cpu_s", "share"))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="profiled runs, each followed by a reference run")
    parser.add_argument("--scene", type=Path, default=REPO / "scenes" / "bouncing_ball.yaml")
    parser.add_argument("extra", nargs="*", help="flags passed on to physreel compare (after --)")
    args = parser.parse_args()
    profiles, profiled_walls, plain_walls = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # interleaved, so load changes hit both alike
            wall, profile = run_once(args.scene, Path(tmp) / f"profiled{i}", args.extra, True)
            profiles.append(profile)
            profiled_walls.append(wall)
            plain_walls.append(run_once(args.scene, Path(tmp) / f"plain{i}", args.extra, False)[0])
    totals = [p["total"]["wall_s"] for p in profiles]
    cpus = [p["total"]["cpu_s"] for p in profiles]
    load = os.getloadavg()
    print(f"physreel compare {args.scene.relative_to(REPO) if args.scene.is_relative_to(REPO) else args.scene} "
          f"{' '.join(args.extra)}: median of {args.repeats} runs, {os.cpu_count()} cores, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the end")
    rows = median_table(profiles)
    width = max(len("total"), *(len(r[0]) for r in rows))
    print(f"{'stage':<{width}}  {'wall s':>8}  {'cpu s':>8}  {'share':>6}")
    for stage, wall, cpu, share in rows:
        print(f"{stage:<{width}}  {wall:8.2f}  {cpu:8.2f}  {100 * share:5.1f}%")
    print(f"{'total':<{width}}  {statistics.median(totals):8.2f}  {statistics.median(cpus):8.2f}  100.0%   "
          f"(wall {min(totals):.1f} - {max(totals):.1f} s over the runs)")
    ratio = statistics.median(profiled_walls) / statistics.median(plain_walls)
    print(f"process wall: profiled {statistics.median(profiled_walls):.1f} s ({min(profiled_walls):.1f} - "
          f"{max(profiled_walls):.1f}) | reference without --profile {statistics.median(plain_walls):.1f} s "
          f"({min(plain_walls):.1f} - {max(plain_walls):.1f}) | ratio {ratio:.3f}")


if __name__ == "__main__":
    main()

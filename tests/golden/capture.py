"""Run simulate, passes, render and compare on the golden scene and print each output file's digest.

`python tests/golden/capture.py OUT` writes OUT/<command>/... and prints JSON: the determining libraries'
versions and {command: {file: sha256}}.
The digests of JSON and HTML files are taken after `normalise` (the output folder's and the
checkout's paths and the measured seconds are all that legitimately differ between two runs); every other file
is hashed byte for byte. tests/test_golden.py compares a fresh run against golden.json, recorded
before the engine/ refactor of issue 11, to prove that refactor changed no output byte.
Re-recorded since by changes that were meant to change outputs, each checked file by file: the
compare digests by the verdict work (issue 12); the passes, render and compare digests by the albedo
pass and builtin v2 (issue 13), where simulate and every pass and control image other than albedo's
kept their bytes (only passes.npz and meta.json, which now hold albedo, changed among the passes' files);
the passes and compare digests by the controls in their models' conventions (issue 14, part 2): the
depth (min-max per frame), seg (ADE20K classes) and edges (exact lines) control images and their
previews changed, every other control image, passes.npz and the rendered video kept their bytes;
every meta.json (the resolved spec's `semantic` and controls' `scope`, the id table's class, each
control's convention), and compare's metrics.json and report.html (those settings and the spec hash);
the render and compare digests by the pixel-level noise warp (issue 15), where only the guided video, its
frames, meta.json (the noise method's name), metrics.json and report.html changed (simulate, passes and
the unguided video kept their bytes); and all four after those two and the start image merged, checked
against each branch's digests: against the controls' only the guided video, its frames and the files
that hold them changed, against the noise warp's only the control images and their previews, and every
meta.json (the resolved spec's `generate.image`); and render and compare once more when the builtin went
back to the per-cell warp (measured better for it): the guided video's bytes are again those of the
controls branch, only meta.json (the method's name), metrics.json and report.html differ from it.
The passes and compare digests once more by the float64 ray casters that replaced Embree (issue 18):
only passes.npz (depth, normals and flows move by float32 rounding, the float32 caster's error gone)
and compare's metrics.json (measured against those passes) changed; every control image, preview,
video and meta.json kept its bytes. And compare's once more when its control/ folder began drawing each kind
the backend read in that backend's convention: only the builtin's depth, seg and edges images, their previews,
the overview and meta.json (each control's options) changed; the videos, passes.npz and metrics kept their bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCENE = HERE / "scene.yaml"
COMMANDS = {
    "simulate": ["simulate"],
    "passes": ["passes"],
    "render": ["render"],
    "compare": ["compare", "--seeds", "0,1"],
}
# The libraries whose versions decide output bytes; a different version may legitimately change them.
DETERMINING = ("numpy", "scipy", "pybullet", "trimesh", "embreex", "numba", "opencv-python", "imageio-ffmpeg",
               "matplotlib", "torch", "diffusers", "transformers", "safetensors", "pillow")
_SECONDS = re.compile(rb'"seconds": \{[^{}]*\}')


def normalise(data: bytes, out: Path) -> bytes:
    """The file's bytes with the output folder's path and the measured stage seconds blanked."""
    data = data.replace(str(out.resolve()).encode(), b"<out>").replace(str(out).encode(), b"<out>")
    data = data.replace(str(REPO).encode(), b"<repo>")  # the scene's and the builtin weights' paths
    return _SECONDS.sub(b'"seconds": "<measured>"', data)


def digests(out: Path) -> dict[str, str]:
    result = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix in (".json", ".html"):
            data = normalise(data, out)
        result[path.relative_to(out).as_posix()] = hashlib.sha256(data).hexdigest()
    return result


def capture(root: Path, commands=tuple(COMMANDS)) -> dict[str, dict[str, str]]:
    result = {}
    for name in commands:
        out = root / name
        subprocess.run(["physreel", "--quiet", *COMMANDS[name][:1], str(SCENE), "-o", str(out), *COMMANDS[name][1:]],
                       check=True)
        result[name] = digests(out)
    return result


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in DETERMINING}


if __name__ == "__main__":
    # python tests/golden/capture.py OUT [--record]: --record rewrites golden.json from this run.
    root = Path(sys.argv[1])
    record = {"versions": library_versions(), "digests": capture(root)}
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    if "--record" in sys.argv[2:]:
        (HERE / "golden.json").write_text(text)
    print(text, end="")

"""The README's picture: a few frames of a compare run's preview | guided | unguided video, stacked.

    physreel compare scenes/bouncing_ball.yaml -o out/bouncing_ball
    python -m physreel.engine.builtin.frame_strip out/bouncing_ball -o docs/media/main_job_strip.png

Reads OUT/video/compare.mp4 (the labelled side-by-side `physreel compare` writes: the simulated
preview, then each generated video, at the size they were scored) and writes a PNG of the frames
picked by --frames stacked top to bottom, each row labelled with its frame index and time. Nothing is
redrawn or retouched: the pixels are the video's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from physreel.conditioning.video import read_video
from physreel.sim.files import atomic_path

LABEL_WIDTH = 110


def frame_strip(frames: np.ndarray, fps: float, picked: list[int]) -> np.ndarray:
    """uint8 [len(picked) * H, LABEL_WIDTH + W, 3]: rows of `frames` (uint8 [T, H, W, 3]) with a label column."""
    if not picked or min(picked) < 0 or max(picked) >= len(frames):
        raise ValueError(f"frames to pick must lie in 0..{len(frames) - 1}, got {picked}")
    rows = []
    for index in picked:
        label = np.full((frames.shape[1], LABEL_WIDTH, 3), 255, np.uint8)
        cv2.putText(label, f"frame {index}", (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(label, f"{index / fps:.2f} s", (6, 48), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.concatenate([label, frames[index]], axis=1))
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("compare_dir", help="an output folder of `physreel compare`")
    parser.add_argument("--frames", default="0,6,12,18", help="frame indices, comma-separated (default 0,6,12,18)")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    frames, fps = read_video(Path(args.compare_dir) / "video" / "compare.mp4")
    strip = frame_strip(frames, fps, [int(v) for v in args.frames.split(",")])
    with atomic_path(Path(args.output)) as tmp:
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError("OpenCV could not encode the strip as PNG")
        tmp.write_bytes(encoded.tobytes())
    print(f"{args.output}: frames {args.frames} of {args.compare_dir}/video/compare.mp4 ({strip.shape[1]}x{strip.shape[0]})")


if __name__ == "__main__":
    main()

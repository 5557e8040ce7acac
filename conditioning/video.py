"""MP4 and PNG-sequence I/O shared by every stage that writes or reads video.

MP4s are H.264 (libx264), yuv420p, +faststart: the format browsers play. The encoder is run
single-threaded with a fixed preset so the same frames give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physreel.sim.files import atomic_path


def write_mp4(path: str | Path, frames: np.ndarray, fps: float, quality: int = 18) -> Path:
    """Encode `frames` (uint8 [T, H, W, 3], sRGB) as an H.264 MP4 at `fps`; returns the path.

    yuv420p needs even sizes, so an odd width or height is padded by one edge pixel (repeated).
    `quality` is x264's CRF (0 lossless .. 51 worst; 18 is visually lossless).
    """
    import imageio_ffmpeg

    frames = _check_frames(frames)
    frames = _pad_to_even(frames)
    t, h, w, _ = frames.shape
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (w, h),
            fps=float(fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-crf", str(int(quality)), "-preset", "medium", "-threads", "1",
                           "-movflags", "+faststart", "-f", "mp4"],
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return Path(path)


def read_video(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode an MP4 (or any ffmpeg-readable video) to (uint8 [T, H, W, 3], fps)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3) for buf in reader]
    if not frames:
        raise ValueError(f"{path}: no frames could be decoded")
    return np.stack(frames), float(meta.get("fps") or 0.0)


def write_png_sequence(directory: str | Path, frames: np.ndarray) -> list[Path]:
    """Write frames (uint8 [T, H, W, 3] or [T, H, W]) as directory/00000.png ...; the folder appears whole."""
    import cv2

    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"PNG frames must be uint8, got {frames.dtype}")
    directory = Path(directory)
    with atomic_path(directory) as tmp:
        tmp.mkdir(parents=True)
        for index, frame in enumerate(frames):
            image = frame[..., ::-1] if frame.ndim == 3 else frame  # OpenCV writes BGR
            if not cv2.imwrite(str(tmp / f"{index:05d}.png"), np.ascontiguousarray(image)):
                raise OSError(f"could not write {tmp / f'{index:05d}.png'}")
    return [directory / f"{i:05d}.png" for i in range(len(frames))]


def read_png_sequence(directory: str | Path) -> np.ndarray:
    """Read directory/*.png in name order as uint8 [T, H, W, 3] (RGB)."""
    import cv2

    files = sorted(Path(directory).glob("*.png"))
    if not files:
        raise ValueError(f"{directory}: no PNG frames found")
    frames = []
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{file}: not a readable PNG")
        frames.append(image[..., ::-1])
    return np.ascontiguousarray(np.stack(frames))


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if len(frames) == 0:
        raise ValueError("no frames to write")
    return frames


def _pad_to_even(frames: np.ndarray) -> np.ndarray:
    _, h, w, _ = frames.shape
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames

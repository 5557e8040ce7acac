"""The start image (`generate.image`) read and fitted to the generation size, once per request.

The rule (docs/engine.md, "Start image"): keep the largest centred region of the picture that has
the camera's aspect ratio (a centre crop, as a photo is framed for a screen of another shape; never
a stretch, which would make round things oval), then resize it to the video's width x height the way
control frames are resized (engine.resample.resize_frames: area averaging when shrinking, bilinear
when enlarging). The control frames show the camera's view at the video's size (stretched, with a
note, when the video's aspect ratio is not the camera's), so a picture rendered or painted from the
scene's camera lines up with them pixel for pixel.

The file was checked when the scene loaded (sim/spec/image_file.py); it is read here with the same
reader, and its bytes hashed, so meta.json records exactly which picture a video started from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from physreel.sim.spec.image_file import read_start_image

from .errors import BackendError
from .records import StartImage
from .resample import resize_frames


def centre_crop_box(source_size: tuple[int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) in source pixels: the largest centred region of a `source_size` (width, height)
    picture whose aspect ratio is width / height (each side at least 1 pixel)."""
    source_w, source_h = source_size
    if source_w * height > source_h * width:  # wider than the video: cut the sides
        crop_w, crop_h = max(1, min(source_w, round(source_h * width / height))), source_h
    else:  # taller (or the same): cut the top and bottom
        crop_w, crop_h = source_w, max(1, min(source_h, round(source_w * height / width)))
    return (source_w - crop_w) // 2, (source_h - crop_h) // 2, crop_w, crop_h


def fit_start_image(picture: np.ndarray, width: int, height: int,
                    camera_size: tuple[int, int] | None = None) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """(uint8 [height, width, 3] frame, crop box) of a uint8 [H, W, 3] picture by the module's rule:
    cropped to the aspect ratio of `camera_size` (width, height; default the video's own)."""
    aspect_w, aspect_h = camera_size or (width, height)
    x, y, crop_w, crop_h = centre_crop_box((picture.shape[1], picture.shape[0]), aspect_w, aspect_h)
    region = np.ascontiguousarray(picture[y:y + crop_h, x:x + crop_w])
    return resize_frames(region[None], width, height, "image")[0], (x, y, crop_w, crop_h)


def load_start_image(path: str | Path, width: int, height: int, camera_size: tuple[int, int] | None = None) -> StartImage:
    """The picture at `path` fitted to width x height (cropped to `camera_size`'s aspect ratio,
    default the video's), with its file's sha256.

    BackendError (about `generate.image`) when the file is gone or changed into something that is
    not a taken image since the scene was loaded."""
    path = Path(path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        picture = read_start_image(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BackendError(f"the start image {str(path)!r} cannot be read now ({reason}); check the file", "image") from None
    frame, crop = fit_start_image(picture, width, height, camera_size)
    return StartImage(frame=frame, file=str(path), sha256=digest, source_size=(picture.shape[1], picture.shape[0]), crop=crop)

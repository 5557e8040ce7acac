"""The start image (`generate.image`): a file beside the scene, checked when the scene loads.

It follows the rule of every file a scene names (sim/spec/assets.py): a relative path to a file
inside the scene's folder. Then it must be one 8-bit still image that Pillow decodes completely
(PNG, JPEG, WebP or BMP, told by its content, not its name), within the size limits below, with no
transparent pixel (a video frame has none, and what shows through would be a guess). A JPEG's
EXIF orientation is applied, so the frame is the picture as image viewers show it.

`read_start_image` is the one reader: the loader checks the file with it and the engine
(engine/start_image.py) reads the frame with it, so what passed the check is what is generated from.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .assets import resolve_asset_path
from .errors import SpecIssue
from .messages import nearest_mark
from .yaml_marks import Marks

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
"""Pillow's names of the formats taken: the still-image formats users export frames in."""
MAX_IMAGE_BYTES = 50_000_000
"""A 8192 x 8192 PNG of a photograph is about 100 MB at worst; 50 MB covers any frame worth resizing."""
MAX_IMAGE_SIDE = 8192
"""As `camera.resolution` and `generate.resolution`: the frame is resized to the video's size, at most this."""
_EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr")
ASSET_KEY = "generate:image"
"""The start image's key in `Scene.assets`."""


def read_start_image(path: Path) -> np.ndarray:
    """The picture at `path` as uint8 [H, W, 3] sRGB, EXIF orientation applied.

    Raises ValueError ("problem; fix") for a file that is not one 8-bit still image of a taken
    format within the limits, or that has a transparent pixel.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{name!r} is an empty file (0 bytes); export the image again")
    if size > MAX_IMAGE_BYTES:
        raise ValueError(f"{name!r} is {size / 1e6:.0f} MB, over the limit of {MAX_IMAGE_BYTES / 1e6:g} MB; save it smaller or as JPEG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's chatter on odd metadata; the checks below decide
            with Image.open(path) as image:
                if image.format not in IMAGE_FORMATS:
                    raise ValueError(f"{name!r} is a {image.format} image; save it as PNG or JPEG")
                if getattr(image, "n_frames", 1) > 1:
                    raise ValueError(f"{name!r} holds {image.n_frames} frames; give one still image (PNG or JPEG)")
                width, height = image.size
                if max(width, height) > MAX_IMAGE_SIDE or min(width, height) < 1:
                    raise ValueError(f"{name!r} is {width}x{height} pixels, over the limit of {MAX_IMAGE_SIDE} per side; resize it")
                if image.mode not in _EIGHT_BIT_MODES:
                    raise ValueError(f"{name!r} has {image.mode} pixels (16-bit or floating point); save it as 8-bit RGB")
                image.load()  # decode it all now: a truncated file fails here, at the spec's line
                image = ImageOps.exif_transpose(image)
                rgba = np.asarray(image.convert("RGBA"))
    except PermissionError as exc:
        raise ValueError(f"{name!r} cannot be read ({exc.strerror}); check its permissions") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name!r} is not an image Pillow can read; save it as PNG or JPEG") from None
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:  # truncated or corrupt data
        reason = str(exc).replace("; ", ", ")[:120]  # "; " would split the message from its hint
        raise ValueError(f"{name!r} could not be decoded ({reason}); export the image again") from None
    if int(rgba[..., 3].min()) < 255:
        raise ValueError(f"{name!r} has transparent pixels; a video frame has none: flatten it onto a background")
    return np.ascontiguousarray(rgba[..., :3])


def resolve_start_image(file: str, scene_dir: Path) -> Path:
    """The absolute path of `generate.image` = `file`, inside `scene_dir`, checked by `read_start_image`.

    Raises ValueError with the fix in its message."""
    path = resolve_asset_path(file, scene_dir)
    read_start_image(path)
    return path


def start_image_issues(image: str | None, directory: Path, shown: str, marks: Marks) -> tuple[dict[str, Path], list[SpecIssue]]:
    """({ASSET_KEY: path}, []) for a good `generate.image`, ({}, [issue at its line]) for a bad one,
    ({}, []) when none is set."""
    if image is None:
        return {}, []
    try:
        return {ASSET_KEY: resolve_start_image(image, directory)}, []
    except ValueError as exc:
        where = ("generate", "image")
        line, column = marks.get(where, nearest_mark(where, marks))
        return {}, [SpecIssue(shown, line, column, "generate.image", str(exc))]

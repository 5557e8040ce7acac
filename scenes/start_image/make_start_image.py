"""Write start.png beside ball_push.yaml: the scene's own preview of frame 0 (physreel's renderer).

    python scenes/start_image/make_start_image.py

A stand-in for the picture a user brings (a photo, a painting, a frame from an image model): it
shows the scene from its camera, so the start image and the depth control line up exactly.
"""

from pathlib import Path

from PIL import Image

from physreel import render_passes, simulate

HERE = Path(__file__).resolve().parent


def main() -> None:
    scene = load_scene_without_image(HERE / "ball_push.yaml")
    passes = render_passes(simulate(scene), passes=("rgb",))
    Image.fromarray(passes.rgb[0]).save(HERE / "start.png", optimize=True)


def load_scene_without_image(path: Path):
    """The scene as its file reads, but without generate.image (start.png may not exist yet)."""
    import yaml

    from physreel.sim.spec import scene_from_data

    data = yaml.safe_load(path.read_text())
    data["generate"].pop("image")
    return scene_from_data(data, path)


if __name__ == "__main__":
    main()

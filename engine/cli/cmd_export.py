"""`physreel export SCENE -o OUT --format comfyui`: the control video and a ComfyUI workflow that generates from it."""

from __future__ import annotations

from physreel.sim.spec import load_scene

from ..comfyui.export import WORKFLOW_FILE, export_comfyui
from ..errors import BackendError
from ..settings import OverrideError
from . import UsageError
from .args import add_profile_flag, add_scene_and_out, generate_overrides, out_folder, profiled

FORMATS = ("comfyui",)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "export",
        help="write the shot's control video and a ComfyUI workflow (Wan 2.1 VACE) that generates from it",
        description="Simulate SCENE and render its control video as ComfyUI's native Wan VACE nodes take it (4k+1 "
        "frames at multiples of 16 px; one control: depth, flow or pose, from generate.controls, default depth), "
        "then write OUT/comfyui/control/<kind>/%05d.png (VideoHelperSuite's Load Images (Path)), "
        "OUT/comfyui/control/<kind>.mp4, OUT/comfyui/workflow_api.json (ComfyUI's API format: UNETLoader, "
        "CLIPLoader, VAELoader, CLIPTextEncode with the shot's prompt, WanVaceToVideo, KSampler, TrimVideoLatent, "
        "VAEDecode, VHS_VideoCombine), OUT/trajectory.npz and OUT/meta.json. The workflow's node inputs are "
        "checked against ComfyUI's published node definitions; it has not been run inside ComfyUI by physreel's "
        "tests. Load it in ComfyUI with the Wan 2.1 VACE 1.3B files named in docs/engine.md.",
    )
    add_scene_and_out(p)
    p.add_argument("--format", required=True, choices=FORMATS, help="what to export for (comfyui)")
    p.add_argument("--steps", type=int, help="KSampler steps (default: generate.steps)")
    p.add_argument("--seed", type=int, help="KSampler seed (default: generate.seed, else shot.seed)")
    p.add_argument("--guidance-scale", type=float, help="KSampler cfg (default: generate.guidance_scale, else 7.5)")
    p.add_argument("--control-scale", type=float, help="WanVaceToVideo strength (default: the control's scale)")
    p.add_argument("--resolution", metavar="WxH", help="WIDTHxHEIGHT of the video (default: generate.resolution, else "
                   "Wan's 480 px on the shorter side); rounded down to multiples of 16")
    add_profile_flag(p)
    return p


def run(args) -> int:
    out = out_folder(args.out)
    overrides = generate_overrides(args)
    with profiled(args, out):
        scene = load_scene(args.scene)
        try:
            done = export_comfyui(scene, out, overrides, bars=not args.quiet)
        except (BackendError, OverrideError) as exc:
            raise UsageError(str(exc)) from None
    if not args.quiet:
        for note in done.notes:
            print(f"note: {note}")
        t, h, w = done.frames.shape[:3]
        print(f"{out / WORKFLOW_FILE}: Wan 2.1 VACE workflow for ComfyUI ({done.kind} control, {t} frames {w}x{h}); "
              f"control frames in {out / 'comfyui' / 'control' / done.kind}")
    return 0

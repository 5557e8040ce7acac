"""Which files of which Hugging Face repository each pretrained backend loads, and the `hf download`
command that fetches exactly those into the folder physreel reads.

A repository holds more than a backend loads: stable-diffusion-v1-5/stable-diffusion-v1-5 also has
the single-file checkpoints (`v1-5-pruned*.ckpt/.safetensors`), fp32 and fp16 copies of every
component in .bin and .safetensors, and the safety checker; each ControlNet v1.1 repository has
its weights as fp32 and fp16, .bin and .safetensors. A `ModelFiles` names the files diffusers reads
for one role (configs, tokenizer, one copy of the weights: the fp16 safetensors where the
repository has them) and the `variant` that copy is loaded as (`from_pretrained(variant="fp16")`;
`weights_variant` reads it back from a folder, so a folder fetched whole still loads).

Where each file list comes from (docs/engine.md, "Fetching models", says the same):
- stable-diffusion-v1-5: diffusers' component layout (`model_index.json` and one folder per
  component, each with its config); fp16 files `unet/diffusion_pytorch_model.fp16.safetensors`,
  `vae/diffusion_pytorch_model.fp16.safetensors`, `text_encoder/model.fp16.safetensors` as
  referenced by URL in imaginAIry's weight tooling (runwayml/stable-diffusion-v1-5, of which this
  repository is the maintained copy). `feature_extractor/` is listed in its model_index.json and
  read by the AnimateDiff pipelines; `safety_checker/` is not read by them.
- ControlNet v1.1 (lllyasviel/control_v11*): `config.json` + `diffusion_pytorch_model.fp16.safetensors`,
  referenced by URL for the canny, depth and openpose repositories in public download scripts;
  normalbae and seg follow the same conversion but were not seen listed here.
- guoyww/animatediff-motion-adapter-v1-5-2: `config.json` + `diffusion_pytorch_model.safetensors`
  (referenced by URL in public download scripts); its fp16 file is reported to be as large as the
  fp32 one (diffusers PR #6195), so the plain file is fetched.
- Wan-AI/Wan2.1-VACE-1.3B-diffusers: the WanVACEPipeline components (model_index.json, scheduler/,
  tokenizer/, text_encoder/, transformer/, vae/); the weight shard names were not confirmed here,
  so each component's `*.json` and `*.safetensors` are fetched (a sharded component's index is a
  .json); the repository's other files (README, assets) are not.
- THUDM/CogVideoX-5b: the CogVideoXPipeline components (model_index.json, scheduler/, tokenizer/,
  text_encoder/, transformer/, vae/). Public download scripts reference its weights by URL as
  plain safetensors: `transformer/diffusion_pytorch_model-0000{1,2}-of-00002.safetensors` with its
  `.index.json`, `text_encoder/model-0000{1,2}-of-00002.safetensors` with its index, and
  `vae/diffusion_pytorch_model.safetensors`; no fp16 variant file was seen referenced (its model
  card: the 5B model was trained in BF16, which these files hold; that the repository has no
  fp16 copy is not confirmed). So, as for Wan, each component's `*.json` and `*.safetensors` are
  fetched, and its README and licence are not.
- Eyeline-Research/Go-with-the-Flow: GWTF's LoRA files side by side at the repository root
  (GWTF's `cut_and_drag_inference.py` downloads each from `.../resolve/main/NAME.safetensors`);
  the one file physreel defaults to is fetched, not the others (DIR/lora must hold one LoRA).
- THUDM/CogVideoX-5b-I2V and GWTF's I2V LoRA (for a start image): CogVideoX-5b's patterns; the LoRA
  by its name in GWTF's inference script. Named in the refusal of a start image with a
  text-to-video base, not in `physreel models` (DIR/base holds one base).
File sizes are not recorded: `hf download ... --dry-run` and `physreel models --fetch --dry-run`
ask the hub for them.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

HF_COMMAND = "hf"
"""The huggingface_hub command line (the huggingface_hub physreel installs ships `hf`, no `huggingface-cli`)."""


@dataclass(frozen=True)
class ModelFiles:
    """The files one backend role reads from one Hugging Face model repository."""

    repo_id: str
    include: tuple[str, ...]
    """Glob patterns relative to the repository root (fnmatch, as `hf download --include` and
    `snapshot_download(allow_patterns=...)` read them; `*` also matches `/`)."""
    marker: str
    """The file whose presence makes a folder this model's layout ('model_index.json', 'config.json')."""

    def download_argv(self, local_dir: str | Path | None) -> list[str]:
        """`hf download` arguments fetching exactly `include` into `local_dir` (None: the HF cache)."""
        argv = [HF_COMMAND, "download", self.repo_id]
        for pattern in self.include:
            argv += ["--include", pattern]
        if local_dir is not None:
            argv += ["--local-dir", str(local_dir)]
        return argv

    def download_command(self, local_dir: str | Path | None) -> str:
        """`download_argv` as one shell line (patterns quoted, so the shell does not expand them)."""
        return shlex.join(self.download_argv(local_dir))


SD15_BASE = ModelFiles(
    "stable-diffusion-v1-5/stable-diffusion-v1-5",
    (
        "model_index.json",
        "scheduler/scheduler_config.json",
        "tokenizer/*",
        "feature_extractor/preprocessor_config.json",
        "text_encoder/config.json",
        "text_encoder/model.fp16.safetensors",
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    ),
    "model_index.json",
)
MOTION_ADAPTER = ModelFiles(
    "guoyww/animatediff-motion-adapter-v1-5-2",
    ("config.json", "diffusion_pytorch_model.safetensors"),
    "config.json",
)


def controlnet_v11(repo_id: str) -> ModelFiles:
    """A ControlNet v1.1 repository: its config and fp16 safetensors weights."""
    return ModelFiles(repo_id, ("config.json", "diffusion_pytorch_model.fp16.safetensors"), "config.json")


WAN_VACE_13B = ModelFiles(
    "Wan-AI/Wan2.1-VACE-1.3B-diffusers",
    (
        "model_index.json",
        "scheduler/*",
        "tokenizer/*",
        *(f"{component}/*.{suffix}" for component in ("text_encoder", "transformer", "vae") for suffix in ("json", "safetensors")),
    ),
    "model_index.json",
)

COGVIDEOX_5B = ModelFiles(
    "THUDM/CogVideoX-5b",
    (
        "model_index.json",
        "scheduler/*",
        "tokenizer/*",
        *(f"{component}/*.{suffix}" for component in ("text_encoder", "transformer", "vae") for suffix in ("json", "safetensors")),
    ),
    "model_index.json",
)
COGVIDEOX_5B_I2V = ModelFiles("THUDM/CogVideoX-5b-I2V", COGVIDEOX_5B.include, "model_index.json")
"""CogVideoX-5b's image-to-video model (CogVideoXImageToVideoPipeline): the same components, so the
same patterns (its weight file names were not confirmed either). For `generate.image` only; not a
default requirement, since DIR/base holds one base (docs/engine.md, "cogvideox-flow")."""
GWTF_DEFAULT_LORA_FILE = "T2V5B_blendnorm_i25000_DATASET_nearest_lora_weights.safetensors"
"""GWTF's latest text-to-video LoRA for CogVideoX-5b (cut_and_drag_inference.py line 30), trained
last with the 'nearest' reduction its inference script defaults to (line 398)."""
GWTF_LORA = ModelFiles("Eyeline-Research/Go-with-the-Flow", (GWTF_DEFAULT_LORA_FILE,), GWTF_DEFAULT_LORA_FILE)
"""One LoRA file of the repository (its marker is the file itself: a LoRA has no config)."""
GWTF_I2V_LORA_FILE = "I2V5B_final_i38800_nearest_lora_weights.safetensors"
"""GWTF's latest image-to-video LoRA for CogVideoX-5b-I2V, its inference script's default model
(cut_and_drag_inference.py: `model_name='I2V5B_final_i38800_nearest_lora_weights'` in `main`)."""
GWTF_I2V_LORA = ModelFiles(GWTF_LORA.repo_id, (GWTF_I2V_LORA_FILE,), GWTF_I2V_LORA_FILE)


def weights_variant(folder: str | Path) -> str | None:
    """'fp16' if the folder (a model or a pipeline folder) holds fp16 safetensors, else None.

    diffusers loads a component's variant file where it has one and its plain file otherwise, so a
    folder holding both (a whole repository) loads the fp16 copy, and one holding only plain files
    (the tests' tiny models, a motion adapter) loads those. A pipeline folder (model_index.json) is
    searched in its components' subfolders only, so other models kept inside it (another backend's
    --model layout sharing the folder) do not count.
    """
    folder = Path(folder)
    index = folder / "model_index.json"
    if index.is_file():
        components = [name for name in json.loads(index.read_text()) if not name.startswith("_")]
        places = [folder / name for name in components if (folder / name).is_dir()]
    else:
        places = [folder]
    return "fp16" if any(any(place.rglob("*.fp16.safetensors")) for place in places) else None

"""SparseCtrl RGB on the start image together with the physics ControlNets, for the animatediff backend.

diffusers' `AnimateDiffSparseControlNetPipeline` takes exactly one `SparseControlNetModel`: its
`check_inputs` ends in `assert False` for any other `controlnet` (diffusers 0.42.1,
pipelines/animatediff/pipeline_animatediff_sparsectrl.py, the two "check" branches of
`check_inputs`), so neither a `MultiControlNetModel` nor a list can join the start image's SparseCtrl
with the depth, edges, ... ControlNets. `SparseCtrlWithControlNets` is that one model: the SparseCtrl
net loaded from its own folder (a `SparseControlNetModel` subclass, so the pipeline takes it), holding
the physics `ControlNetModel`s as submodules. Each step it returns the SparseCtrl residuals plus each
ControlNet's, summed as `MultiControlNetModel` sums them, each ControlNet called as
`AnimateDiffControlNetPipeline` calls it: latents flattened to [B*F, C, h, w] (frames inside the
batch), control frames in [0, 1] repeated once per batch entry (the classifier-free guidance pair),
its scale times 0 outside its start/end window, decided per step exactly as that pipeline's
`controlnet_keep` (pipeline_animatediff_controlnet.py, "7.1 Create tensor stating which controlnets
to keep"). With no ControlNets it is the SparseCtrl net unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import ControlNetModel, SparseControlNetModel


@dataclass(frozen=True)
class DenseControl:
    """One physics control as the ControlNets read it, for one generation."""

    frames: torch.Tensor
    """float [F, 3, H, W] in [0, 1] on the model's device and dtype (as AnimateDiffControlNetPipeline's prepare_video)."""
    scale: float
    start: float
    """Fraction of the denoising steps at which it starts acting."""
    end: float


class SparseCtrlWithControlNets(SparseControlNetModel):
    """A SparseCtrl net (load it with `from_pretrained` from the SparseCtrl folder) that adds the
    residuals of the physics ControlNets given to `attach`; see the module's docstring."""

    def attach(self, controlnets: list[ControlNetModel]) -> None:
        """Hold `controlnets` (one per physics control, in the order of the request's controls)."""
        self.physics_controlnets = torch.nn.ModuleList(controlnets)
        self._controls: tuple[DenseControl, ...] = ()
        self._timesteps: list[float] = []

    def set_controls(self, controls: tuple[DenseControl, ...], timesteps: torch.Tensor) -> None:
        """The control frames, scales and windows of the next generation, and its scheduler's
        timesteps (each step is found by its timestep, so a window acts on the same steps as in
        AnimateDiffControlNetPipeline)."""
        if len(controls) != len(self.physics_controlnets):
            raise ValueError(f"{len(controls)} controls for {len(self.physics_controlnets)} ControlNets")
        self._controls = controls
        self._timesteps = [float(t) for t in timesteps]

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor, controlnet_cond: torch.Tensor,
                conditioning_scale: float = 1.0, guess_mode: bool = False, return_dict: bool = True, **kwargs):
        """SparseCtrl's residuals (sample [B, C, F, h, w]) plus each physics ControlNet's; a tuple
        (down residuals [B*F, ...] per block, mid residual) as the pipeline asks (return_dict=False)."""
        down, mid = super().forward(sample, timestep, encoder_hidden_states, controlnet_cond, conditioning_scale=conditioning_scale,
                                    guess_mode=guess_mode, return_dict=False, **kwargs)
        controls = getattr(self, "_controls", ())  # none before `attach`: the SparseCtrl net alone
        if not controls:
            return (down, mid) if not return_dict else self._output(down, mid)
        batch, channels, frames, height, width = sample.shape
        flat = sample.transpose(1, 2).reshape(batch * frames, channels, height, width)
        step, steps = self._timesteps.index(float(timestep)), len(self._timesteps)
        for net, control in zip(self.physics_controlnets, controls):
            keep = 1.0 - float(step / steps < control.start or (step + 1) / steps > control.end)
            dense_down, dense_mid = net(flat, timestep, encoder_hidden_states=encoder_hidden_states,
                                        controlnet_cond=control.frames.repeat(batch, 1, 1, 1),
                                        conditioning_scale=control.scale * keep, guess_mode=guess_mode, return_dict=False)
            down = [a + b for a, b in zip(down, dense_down)]
            mid = mid + dense_mid
        return (down, mid) if not return_dict else self._output(down, mid)

    @staticmethod
    def _output(down, mid):
        from diffusers.models.controlnets.controlnet_sparsectrl import SparseControlNetOutput

        return SparseControlNetOutput(down_block_res_samples=down, mid_block_res_sample=mid)

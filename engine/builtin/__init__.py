"""The builtin model: a small control-conditioned diffusion model trained on physreel's own renders.

`model.py` the network (diffusers UNet2DConditionModel + a fixed-vocabulary text encoder),
`kinds.py` the control kinds it reads, `controls.py` the control channels made from passes, `sample.py` per-frame DDIM sampling,
`dataset.py` random scenes rendered into shards, `train.py` the training loop,
`evaluate.py` guided vs unguided flow error. Weights ship in `weights/`.
"""

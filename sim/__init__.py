"""physreel's simulation stage: scene spec -> pybullet (and particles) -> Shot record."""

from .quiet import c_output_silenced

# pybullet prints its build time from C when first imported; every sim module imports it after
# this package, so silencing the one import here keeps --quiet runs and piped stdout clean.
with c_output_silenced():
    import pybullet  # noqa: F401

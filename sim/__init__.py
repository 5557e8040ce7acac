"""physreel's simulation stage: scene spec -> pybullet (and particles) -> Shot record.

Importing it changes nothing in the process. pybullet prints its build time from C when first
imported; the CLI, which owns its process's output, imports it silenced (physreel.engine.cli).
"""

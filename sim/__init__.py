"""physreel's simulation stage: scene spec -> pybullet (and particles) -> Shot record."""

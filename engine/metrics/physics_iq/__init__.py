"""Physics-IQ (google-deepmind/physics-IQ-benchmark) against the simulation: its motion masks
(masks.py), its four metrics (one file each) and its score (score.py), with the simulation's RGB
preview as the real video and a perturbed second simulation as the second real take."""

from .score import METRICS, PhysicsIQReference, physics_iq_metrics, physics_iq_reference

__all__ = ["METRICS", "PhysicsIQReference", "physics_iq_metrics", "physics_iq_reference"]

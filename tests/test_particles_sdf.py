"""Grid signed distances of meshes hold true distances as far as the liquid's wall density looks."""

import numpy as np
import trimesh

from physreel.sim.particles.sdf import GridSDF


def _box_grid(band: float) -> GridSDF:
    box = trimesh.creation.box(extents=[0.1, 0.1, 0.1])
    # cell 2.5 mm: the default band is 4 cells = 10 mm; the margin holds points 30 mm out.
    return GridSDF(box.vertices, box.faces, cell=0.0025, margin=0.04, band=band)


def test_grid_sdf_band_reaches_the_liquid_reach():
    # Points 5 to 25 mm outside the +x face of a 10 cm box, on the face's centre line, where
    # the exact signed distance is the offset itself. With a 30 mm band every one reads its
    # offset within half a cell (the samples are half a cell apart).
    offsets = np.linspace(0.005, 0.025, 9)
    points = np.stack([0.05 + offsets, np.zeros(9), np.zeros(9)], 1)
    np.testing.assert_allclose(_box_grid(band=0.03).distance(points), offsets, atol=0.00125)


def test_grid_sdf_default_band_clamps_beyond_four_cells():
    # Without a wider band, distances beyond 4 cells (10 mm) read the band's width: why a
    # liquid needs the wider band (its walls add density out to 5 particle radii).
    points = np.array([[0.05 + 0.02, 0.0, 0.0]])
    grid = _box_grid(band=0.0)
    assert grid.band == 0.01
    np.testing.assert_allclose(grid.distance(points), [0.01], atol=1e-12)

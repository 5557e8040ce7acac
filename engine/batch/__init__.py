"""`physreel batch`: sweeps of shots run on Ray, resumable, with best-of-N takes and an index.

- `sweep.py` the sweep file: a strict record read with line and column (`load_sweep`);
- `expand.py` its shots: scenes x values, each validated as a scene before any work;
- `tasks.py` one stage of one shot, the function Ray runs (`run_stage`);
- `best_of.py` N generation seeds, ranked by physics score; `dataset.py` the Kubric-like export;
- `resume.py` each shot's record and whether a stage is complete;
- `cluster.py` a local Ray instance or an existing cluster; `run.py` the procedure (`run_batch`);
- `index.py` OUT/index.html.

docs/batch.md describes the sweep file, the files written, resuming, and running on a cluster.
"""

from .run import BatchOptions, BatchResult, run_batch
from .sweep import Sweep, load_sweep

__all__ = ["BatchOptions", "BatchResult", "Sweep", "load_sweep", "run_batch"]

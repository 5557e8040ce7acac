"""The package's shape: one installed name, a public API, and an import graph that flows one way.

Every import statement of the project's own code is read from the source (module level and
inside functions) and resolved to a module of `physreel`, so these tests see what Python would
import without running anything.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"physreel": REPO / "physreel", "physreel.sim": REPO / "sim",
           "physreel.conditioning": REPO / "conditioning", "physreel.engine": REPO / "engine"}
HEAVY = {"torch", "diffusers", "transformers", "controlnet_aux", "huggingface_hub", "safetensors", "tokenizers",
         "accelerate"}
"""Optional-in-spirit dependencies that take seconds to import: the only reason for an import inside a function."""

# engine/ from the bottom up: a module imports its own layer or lower ones, never a higher one.
ENGINE_LAYERS = (
    ("errors", "records", "resample", "progress", "start_image"),
    ("noise_warp", "noise_warp_cells", "noise_field", "noise_kernels", "noise_stats", "builtin", "builtin.kinds", "builtin.text", "builtin.controls", "builtin.model", "builtin.sample"),
    ("backends",),
    ("settings", "request", "metrics", "physical_variance"),
    ("pipeline", "stage_files", "builtin.dataset", "builtin.train", "builtin.evaluate", "builtin.report",
     "builtin.scorecard", "builtin.frame_strip", "testing",
     "report", "side_by_side", "comfyui"),
    ("compare",),
    ("batch",),
    ("cli", "__main__"),
)


@cache
def modules() -> dict[str, Path]:
    """Every module of the project: dotted name -> file."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


@cache
def imports() -> dict[str, list[tuple[str, bool]]]:
    """module -> [(imported name, at module level)], relative imports resolved to absolute names."""
    graph = {}
    for name, path in modules().items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        top_level = {id(node) for node in tree.body} | {id(n) for node in tree.body if isinstance(node, ast.If)
                                                         for n in ast.walk(node)}
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(alias.name, id(node) in top_level) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import name` imports pkg.name when that is a module, else pkg itself
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in modules() else base, id(node) in top_level))
        graph[name] = found
    return graph


def own(graph_entries) -> list[tuple[str, bool]]:
    return [(target, top) for target, top in graph_entries if target.split(".")[0] == "physreel"]


def engine_layer(module: str) -> int | None:
    """The layer of an engine module: that of the longest ENGINE_LAYERS entry naming it or its package."""
    rest = module.removeprefix("physreel.engine.")
    if rest == module:
        return None
    matches = [(len(entry), index) for index, layer in enumerate(ENGINE_LAYERS) for entry in layer
               if rest == entry or rest.startswith(entry + ".")]
    assert matches, f"{module} has no layer in ENGINE_LAYERS; add it where it belongs"
    return max(matches)[1]


def test_the_project_installs_one_top_level_name():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {p.split(".")[0] for p in config["packages"]} == {"physreel"}
    assert config["package-dir"] == {name: str(folder.relative_to(REPO)) for name, folder in FOLDERS.items()}
    assert config["package-dir"]["physreel.engine"] == "engine"  # the stage folders stay at the top level


def test_every_folder_with_an_init_is_a_listed_package():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert packages == listed, f"add to pyproject: {packages - listed}; remove: {listed - packages}"


def test_no_module_imports_the_stages_by_their_bare_folder_names():
    # `import engine` would load a second copy of a module (or a user's own `engine/`)
    bare = [(m, t) for m, entries in imports().items() for t, _ in entries if t.split(".")[0] in ("sim", "conditioning", "engine")]
    assert not bare


def test_sim_imports_neither_conditioning_nor_engine_and_conditioning_not_engine():
    upward = [(m, t) for m, entries in imports().items() for t, _ in own(entries)
              if (m.startswith("physreel.sim") and t.startswith(("physreel.conditioning", "physreel.engine")))
              or (m.startswith("physreel.conditioning") and t.startswith("physreel.engine"))]
    assert not upward


def test_no_engine_module_imports_a_higher_layer():
    upward = []
    for module, entries in imports().items():
        here = engine_layer(module)
        for target, _ in own(entries):
            there = engine_layer(target)
            if here is not None and there is not None and there > here:
                upward.append(f"{module} (layer {here}) imports {target} (layer {there})")
    assert not upward, "\n".join(upward)


def test_the_import_graph_has_no_cycles():
    graph = {m: {t for t, _ in own(entries) if t in modules() and t != m} for m, entries in imports().items()}
    # a package's __init__ is imported before any of its modules: that edge is implied, not a cycle
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = path[path.index(nxt):] + [nxt]
                if not all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in zip(cycle, cycle[1:])):
                    cycles.append(" -> ".join(cycle))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def loads_heavy(module: str) -> bool:
    """Whether importing `module` imports a heavy dependency (at module level, transitively)."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        seen.add(current)
        for target, top in imports().get(current, []):
            if top and target.split(".")[0] in HEAVY:
                return True
            if top and target in modules() and target not in seen:
                todo.append(target)
    return False


def test_imports_inside_functions_are_only_for_heavy_dependencies():
    # A project module imported inside a function must be one that pulls torch & co. in;
    # everything else belongs at the top of the file, where the import graph shows it.
    local = [f"{m} imports {t} inside a function" for m, entries in imports().items()
             for t, top in own(entries) if not top and t in modules() and not loads_heavy(t)]
    assert not local, "\n".join(local)


def test_the_backend_registry_is_the_specs_backend_names_and_read_only():
    from physreel.engine.backends import BACKENDS
    from physreel.sim.spec.types import BACKEND_NAMES

    assert tuple(BACKENDS) == BACKEND_NAMES
    with pytest.raises(TypeError):
        BACKENDS["mine"] = "my.module:Backend"  # type: ignore[index]


def test_every_control_table_covers_exactly_the_control_kinds():
    from physreel.conditioning.output import CONTROL_NEEDS
    from physreel.engine.backends import backend_class
    from physreel.sim.spec.types import CONTROL_KINDS

    assert set(CONTROL_NEEDS) == set(CONTROL_KINDS)
    for name in ("builtin", "animatediff", "wan-vace", "cogvideox-flow"):
        assert set(backend_class(name).controls) <= set(CONTROL_KINDS), name


def test_import_physreel_is_cheap_and_changes_nothing_then_names_the_public_api():
    probe = (
        "import os, sys, json; before = (dict(os.environ), os.fstat(1).st_ino, os.fstat(2).st_ino)\n"
        "import physreel\n"
        "after = (dict(os.environ), os.fstat(1).st_ino, os.fstat(2).st_ino)\n"
        "heavy = sorted(m for m in ('pybullet', 'torch', 'diffusers', 'cv2') if m in sys.modules)\n"
        "api = [callable(getattr(physreel, n)) for n in ('load_scene', 'simulate', 'render_passes', 'Pipeline')]\n"
        "print(json.dumps([before == after, heavy, api]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    unchanged, heavy, api = json.loads(lines[-1])
    assert unchanged and heavy == [] and api == [True, True, True, True]


def test_the_readme_python_example_runs(tmp_path):
    block = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block, "README has a python example"
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 12
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]

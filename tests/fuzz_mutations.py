"""Hypothesis strategies that break a valid `Case`: its YAML data, its text, and its asset files.

Data mutations pick a path in the scene and swap the value's type, put an extreme number there,
delete or rename a key, or nest the value wrongly; text mutations duplicate lines, insert random
characters, deep brackets, huge numbers or anchors and merge keys; asset mutations write files
with bad numbers, random bytes or references outside the scene's folder (to the bait files of
fuzz_scenes.BAIT_FILES, which must never be opened).
"""

from __future__ import annotations

import copy
import math

import yaml
from hypothesis import strategies as st

from fuzz_scenes import BAIT, BAIT_ABSOLUTE, Case, gltf_text, obj_text, urdf_text

EXTREME_NUMBERS = (0, 0.0, -0.0, 5e-324, 1e-300, 1e-7, 1e-6, 1e-5, -1, 3, 1e5, 999999.0, 1e6, -1e6, 1e7, 1e300, 1e308, -1e308,
                   math.nan, math.inf, -math.inf, 2**31, 2**63, 10**30, 10**400)
"""Each side of every bound the spec has (1e-6 and 1e6 are in, 1e-7 and 1e7 out), and far beyond."""
WEIRD_TEXT = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", " ", "\x00", "a\nb", "\u2028", "é", "../x", "/etc/passwd", "~", "*", "&a", "<<", "- a", "{", "1e308", "null", "yes",
     "../outside/secret.obj", "../outside/secret.urdf", "@BAIT@/secret.obj", "domino/domino.urdf", "m.obj", "arm.urdf"])


def paths(node, prefix=()) -> list[tuple]:
    """Every path into `node` (dict keys and list indices), the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, prefix + (index,))
    return found


def _get(node, path):
    for key in path:
        node = node[key]
    return node


def _set(root, path, value):
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def other_values(draw) -> object:
    return draw(st.one_of(
        st.sampled_from(EXTREME_NUMBERS),
        WEIRD_TEXT,
        st.booleans(),
        st.none(),
        st.lists(st.sampled_from(EXTREME_NUMBERS), max_size=4),
        st.sampled_from(EXTREME_NUMBERS).map(lambda v: [v, v, v]),
        st.dictionaries(WEIRD_TEXT, st.sampled_from(EXTREME_NUMBERS), max_size=2),
        st.integers(),
        st.floats(),
    ))


@st.composite
def data_mutation(draw, data: dict) -> dict:
    data = copy.deepcopy(data)
    path = draw(st.sampled_from(paths(data)))
    kind = draw(st.sampled_from(["swap", "extreme", "delete", "rename", "nest", "move", "unicode"]))
    value = _get(data, path) if path else data
    if kind == "swap" or (kind == "delete" and not path):
        return _set(data, path, other_values(draw)) if path else data
    if kind == "extreme":
        return _set(data, path, draw(st.sampled_from(EXTREME_NUMBERS))) if path else data
    if kind == "delete":
        parent = _get(data, path[:-1])
        del parent[path[-1]]
        return data
    if kind == "rename" and path and isinstance(path[-1], str):
        parent = _get(data, path[:-1])
        parent[draw(WEIRD_TEXT)] = parent.pop(path[-1])
        return data
    if kind == "nest":
        return _set(data, path, draw(st.sampled_from([[value], {"x": value}, [[value]]])))
    if kind == "move" and path:
        target = draw(st.sampled_from(paths(data)))
        if target and target[: len(path)] != path:
            return _set(data, target, copy.deepcopy(value))
    if kind == "unicode":
        return _set(data, path, draw(WEIRD_TEXT)) if path else data
    return data


def dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


@st.composite
def text_mutation(draw, text: str) -> str:
    lines = text.split("\n")
    kind = draw(st.sampled_from(["dup_line", "insert", "cut", "brackets", "big_int", "merge", "alias", "tab", "bom", "doc", "flow_dup"]))
    where = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == "dup_line":  # usually a duplicate key
        lines.insert(where, lines[where])
    elif kind == "insert":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=5)) + text[at:]
    elif kind == "cut":
        return text[: draw(st.integers(0, len(text)))]
    elif kind == "brackets":
        depth = draw(st.sampled_from([10, 70, 1000, 30000]))
        return text + "\nextra: " + "[" * depth + "1" + "]" * depth + "\n"
    elif kind == "big_int":
        return text.replace("0.5", "9" * draw(st.sampled_from([20, 400, 5000])), 1)
    elif kind == "merge":  # an anchored mapping merging another, merged again
        return ("base: &base {shape: sphere, radius: 0.1}\n" + text.replace(
            "objects:\n", "objects:\n- &crate {<<: *base, name: crate_1, position: [5, 5, 1]}\n"
                          "- {<<: [*crate, *base], name: crate_2, position: [5, 6, 1]}\n", 1))
    elif kind == "alias":
        return "a: &a [1, 2]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n" + text
    elif kind == "tab":
        lines[where] = "\t" + lines[where]
    elif kind == "bom":
        return "\ufeff" + text
    elif kind == "doc":
        return text + "---\nshot: {}\n"
    elif kind == "flow_dup":
        return text + "\nshot: {fps: 24, fps: 25}\n"
    return "\n".join(lines)


ASSET_NAMES = ("m.obj", "assets/m.obj", "arm.urdf", "m.mtl", "assets/m.mtl", "g.gltf")
OUTSIDE = (BAIT + ".obj", BAIT + ".mtl", BAIT + ".png", BAIT + ".bin", BAIT + ".urdf")


@st.composite
def asset_mutation(draw, case: Case) -> None:
    """Replace or add one asset file of `case` (in place)."""
    name = draw(st.sampled_from(sorted(set(case.files) | set(ASSET_NAMES))))
    outside = draw(st.sampled_from(OUTSIDE))
    kind = draw(st.sampled_from(["bytes", "bad_number", "outside", "missing", "absolute", "suffix", "structure"]))
    bad = str(draw(st.sampled_from(["nan", "inf", "-inf", "-1", "1e400", "abc", "1 2", ""])))
    if kind == "bytes":
        content = draw(st.binary(max_size=200))
    elif name.endswith(".urdf"):
        content = {
            "bad_number": urdf_text(mass=bad) if draw(st.booleans()) else urdf_text(inertia=bad),
            "outside": urdf_text(mesh=outside.replace("secret.urdf", "secret.obj")),
            "missing": urdf_text(mesh="nowhere.obj"),
            "absolute": urdf_text(mesh=BAIT_ABSOLUTE + ".obj"),
            "suffix": urdf_text(mesh="m.dae"),
            "structure": draw(st.sampled_from([urdf_text(child_link="ghost"), urdf_text(axis="0 0 0"),
                                               urdf_text(extra_link='<link name="floating"/>'), b"<robot/>", b"<notrobot/>"])),
        }[kind]
    elif name.endswith(".obj"):
        content = {
            "bad_number": obj_text().replace(b"0.1000", bad.encode() or b"x", 1),
            "outside": obj_text(mtllib=outside.replace(".obj", ".mtl")),
            "missing": obj_text(mtllib="nowhere.mtl"),
            "absolute": obj_text(mtllib=BAIT_ABSOLUTE + ".mtl"),
            "suffix": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",  # flat
            "structure": b"f 1 2 3\n",
        }[kind]
    elif name.endswith(".mtl"):
        target = {"outside": outside.replace(".obj", ".png"), "absolute": BAIT_ABSOLUTE + ".png"}.get(kind, "nowhere.png")
        content = f"newmtl m\nKd 1 0 0\nmap_Kd {target}\n".encode()
    else:
        uri = {"outside": outside.replace(".obj", ".bin"), "absolute": BAIT_ABSOLUTE + ".bin"}.get(kind, "nowhere.bin")
        content = gltf_text(uri)
    case.files[name] = content


@st.composite
def mutated_cases(draw, base) -> Case:
    """A case from `base` (a strategy of valid cases) with 0 to 3 mutations of its data, text and files."""
    case = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(["data", "data", "data", "text", "asset"]))
        if target == "data":
            case.data = draw(data_mutation(case.data))
        elif target == "asset":
            draw(asset_mutation(case))
        else:
            case.text = draw(text_mutation(case.text if case.text is not None else dump(case.data)))
    if case.text is None:
        case.text = dump(case.data)
    return case

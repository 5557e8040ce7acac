"""Names a spec takes from its URDF files: joints, links and the base link, checked against the file.

The one place these are checked: `load_scene` and `scene_from_data` run `urdf_name_issues`, so
`physreel validate` reports them at their YAML line and the simulator can trust every name
(sim/urdf.py and sim/events.py only look them up). Spec-only event rules (links on a primitive,
pushes on static bodies, ...) are model validators in sim/spec/model.py.
"""

from __future__ import annotations

from pathlib import Path

from .assets import ONE_DOF_URDF_JOINTS, urdf_names
from .errors import SpecIssue
from .messages import field_path, nearest_mark
from .model import MAX_BODIES, SceneSpec, UrdfObject, copy_count, copy_suffixes
from .yaml_marks import Marks


def urdf_name_issues(spec: SceneSpec, assets: dict[str, Path], shown: str, marks: Marks, key_marks: Marks) -> list[SpecIssue]:
    """Issues for joint_positions, events' joint_targets and links naming what a URDF lacks,
    joints that do not take one value, and pushes on the base of a fixed-base URDF."""
    names: dict[int, tuple[dict[str, str], list[str]]] = {}  # object index -> (joint -> type, links with the base first)
    issues: list[SpecIssue] = []

    def issue(path: tuple, problem: str, hint: str, at_key: bool = False) -> None:
        where = key_marks[path] if at_key and path in key_marks else nearest_mark(path, marks)
        issues.append(SpecIssue(shown, *where, field_path(path), problem, hint))

    def joint_problem(index: int, joint: str, path: tuple) -> None:
        joints, _ = names[index]
        movable = sorted(n for n, kind in joints.items() if kind in ONE_DOF_URDF_JOINTS)
        listed = ", ".join(movable) if movable else "none (this URDF has no revolute or prismatic joint)"
        if joint not in joints:
            issue(path, f"{spec.objects[index].name!r} has no joint {joint!r}", f"revolute/prismatic joints: {listed}", at_key=True)
        elif joints[joint] not in ONE_DOF_URDF_JOINTS:
            issue(path, f"joint {joint!r} is {joints[joint]}", f"only revolute/prismatic joints take one value here: {listed}", at_key=True)

    # 1. Each URDF's names, and its initial joint positions.
    for index, obj in enumerate(spec.objects):
        if isinstance(obj, UrdfObject) and obj.name in assets:
            try:
                names[index] = urdf_names(assets[obj.name])
            except ValueError as exc:
                issue(("objects", index, "file"), str(exc), "")
                continue
            for joint in obj.joint_positions:
                joint_problem(index, joint, ("objects", index, "joint_positions", joint))
    # 2. Every link is a rigid part: the scene's limit on bodies counts them (sim/spec/model.py counted one per URDF).
    total = 0
    for index, obj in enumerate(spec.objects):
        total += copy_count(obj) * (len(names[index][1]) if index in names else 1)
        if total > MAX_BODIES:
            issue(("objects", index, "file"), f"with the links of its URDF the objects up to this one make {total:,} rigid parts, "
                  f"over the limit of {MAX_BODIES:,}", "use fewer copies or a URDF with fewer links")
            break
    # 3. Events on URDF bodies: the link pushed, the joints driven.
    owner = {o.name + suffix: i for i, o in enumerate(spec.objects) for suffix in copy_suffixes(o)}
    for e, event in enumerate(spec.events):
        index = owner.get(event.object)
        if index not in names:
            continue  # not a URDF (the model checks those events), or an unreadable file
        obj = spec.objects[index]
        _, links = names[index]
        if event.link is not None and event.link not in links:
            issue(("events", e, "link"), f"{event.object!r} has no link {event.link!r}", f"links: {', '.join(links)}")
        for joint in event.joint_targets or {}:
            joint_problem(index, joint, ("events", e, "joint_targets", joint))
        pushes_base = event.joint_targets is None and event.link in (None, links[0])
        if pushes_base and obj.fixed_base and not obj.static:
            issue(("events", e, "link"), f"the base of {event.object!r} is fixed, so a push on it cannot move it", f"push one of its links: {', '.join(links[1:])}")
    return issues

"""DESIGN.md's map of the harness names every module, and nothing that is gone."""

import re

from harness.tools import REPO_ROOT


def test_the_harness_tree_names_every_module():
    design = (REPO_ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    tree = design[design.index("```\nharness/\n") + 4:]
    tree = tree[: tree.index("```")]
    named, folders = set(), []
    for line in tree.splitlines()[1:]:
        found = re.match(r"^( +)(\S+)", line)
        depth = (len(found.group(1)) - 2) // 2
        folders[depth:] = []
        entry = found.group(2)
        if entry.endswith("/"):
            folders.append(entry)
        else:
            named.add("harness/" + "".join(folders) + entry)
    harness = REPO_ROOT / "harness"
    present = {str(path.relative_to(REPO_ROOT)) for path in harness.rglob("*")
               if path.is_file() and path.suffix in (".py", ".json", ".rego") and "__pycache__" not in path.parts
               and path.name != "__init__.py" or path.relative_to(harness).as_posix() == "cli/__init__.py"}
    assert named == present

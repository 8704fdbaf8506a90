"""Declare the points of each auto-graded exercise in chapter notebooks (issue #21, item 1).

    python tools/declare_points.py book/ch01_taylor.ipynb ...

The book's rule: an exercise is worth one point per hidden test case. For each check cell
(``result = ob.check("ex-label", fn)``) the script counts the cases of the exercise's
hidden-test cell (``hidden_tests("ex-label", fn, {...})``: a dict literal, or a dict
comprehension over a literal list) and writes ``{"optbook": {"points": N}}`` into the check
cell's metadata. Nothing else in the notebook changes. It stops, writing nothing, where it
cannot count. From then on the metadata is the declaration; the count is not looked at again.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from optbook.coursework.markers import BEGIN_HIDDEN, CHECK_CALL  # noqa: E402
from optbook.coursework.points import METADATA  # noqa: E402


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def count_cases(source: str, label: str) -> int:
    """The number of hidden cases of ``label`` in a hidden-test cell's source."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "hidden_tests" \
                and node.args and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value == label:
            cases = node.args[2]
            if isinstance(cases, ast.Dict):
                return len(cases.keys)
            if isinstance(cases, ast.DictComp) and len(cases.generators) == 1 \
                    and isinstance(cases.generators[0].iter, ast.List | ast.Tuple) \
                    and not cases.generators[0].ifs:
                return len(cases.generators[0].iter.elts)
            raise ValueError(f"{label}: cannot count the hidden cases; declare by hand")
    raise ValueError(f"{label}: no hidden_tests({label!r}, ...) call found")


def declare(path: Path) -> dict[str, int]:
    """Write the points into ``path``'s check cells; return label -> points."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    hidden = [_source(c) for c in nb["cells"] if c["cell_type"] == "code"
              and BEGIN_HIDDEN in _source(c)]
    declared = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        labels = [label for label, _ in CHECK_CALL.findall(_source(cell))]
        if len(labels) != 1:
            if labels:
                raise ValueError(f"{path}: several checks in one cell: {labels}")
            continue
        label = labels[0]
        cells = [s for s in hidden if f'"{label}"' in s or f"'{label}'" in s]
        if len(cells) != 1:
            raise ValueError(f"{path}: {label}: {len(cells)} hidden-test cells, expected 1")
        declared[label] = count_cases(cells[0], label)
        cell.setdefault("metadata", {})[METADATA] = {"points": declared[label]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return declared


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        points = declare(Path(name))
        total = sum(points.values())
        print(f"{name}: {', '.join(f'{k} {v}' for k, v in points.items())}; total {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

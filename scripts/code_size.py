"""Print the largest modules and the longest functions of src/ionflow (lines, via ast).

Usage: ``python scripts/code_size.py [N]``; the figures quoted in notes on code shape.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "ionflow"


def main(n: int = 5) -> None:
    """Print the ``n`` largest modules and the ``n`` longest functions."""
    modules, functions = [], []
    for path in sorted(ROOT.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(ROOT.parent)
        modules.append((len(text.splitlines()), str(rel)))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                functions.append((length, f"{rel}:{node.lineno} {node.name}"))
    print("largest modules (lines):")
    for lines, name in sorted(modules, reverse=True)[:n]:
        print(f"  {lines:5d}  {name}")
    print("longest functions (lines):")
    for lines, name in sorted(functions, reverse=True)[:n]:
        print(f"  {lines:5d}  {name}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

"""`monitoring/clinical/` is the pure engine alone: no command line, files, processes or
framework; the CSV command, the benchmarks and the reference's translation live elsewhere."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "monitoring" / "clinical"
# Standard-library modules that reach outside a computation: the engine takes plain values
# and returns plain values.
OUTSIDE = {"argparse", "csv", "gc", "io", "os", "pathlib", "resource", "subprocess", "sys"}
OUTSIDE |= {"tempfile", "time"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_engine_modules_import_only_the_standard_library_and_the_engine() -> None:
    found = {}
    for path in sorted(ENGINE.glob("*.py")):
        outside = {
            name
            for name in _imports(path)
            if not name.startswith("monitoring.clinical")
            and name != "__future__"
            and (name.split(".")[0] not in sys.stdlib_module_names or name.split(".")[0] in OUTSIDE)
        }
        if outside:
            found[path.name] = sorted(outside)
    assert found == {}

"""No lower layer imports a higher one (docs/ARCHITECTURE.md, "Layers").

    clock, paths  <  domain  <  rules  <  adapters  <  services  <  recorder  <  entrypoints

Read from the source with `ast`, so an import inside a function counts as much as one at the
top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import custodes

ROOT = Path(custodes.__file__).parent
RANK = {
    "clock": 0,
    "paths": 0,
    "domain": 1,
    "rules": 2,
    "adapters": 3,
    "services": 4,
    "recorder": 5,
    "entrypoints": 6,
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "custodes" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def test_no_module_imports_a_higher_layer() -> None:
    wrong: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        own = _layer(".".join(rel.parts))
        if own is None:
            continue
        for target in _imports(path):
            layer = _layer(target)
            if layer is not None and RANK[layer] > RANK[own]:
                wrong.append(f"{rel}: {own} imports {target} ({layer})")
    assert wrong == []


def test_the_check_sees_a_violation() -> None:
    """The test above must be able to fail: the walk finds a higher import where one is."""
    sample = ROOT / "services" / "sealing.py"
    assert any(_layer(t) == "adapters" for t in _imports(sample))
    assert RANK["recorder"] > RANK["services"]


def test_the_command_line_starts_without_the_web_framework() -> None:
    """`custodes ledger verify` and the other commands load no FastAPI (half a second of a
    command's start); only `serve` imports the web server, when it starts it."""
    import subprocess
    import sys

    probe = (
        "import sys, custodes.entrypoints.cli; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr

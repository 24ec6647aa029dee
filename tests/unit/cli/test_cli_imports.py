"""The CLI is a client of the public API: it imports only names in ``lm_eval_mtl.__all__``."""

from __future__ import annotations

import ast
from pathlib import Path

import lm_eval_mtl

CLI = Path(lm_eval_mtl.__file__).resolve().parent / "cli"


def _violations(path: Path) -> list[str]:
    bad: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                bad.append(f"{where}: relative import")
            elif module == "lm_eval_mtl":
                bad += [
                    f"{where}: {a.name} is not public"
                    for a in node.names
                    if a.name not in lm_eval_mtl.__all__
                ]
            elif module.startswith("lm_eval_mtl.") and not module.startswith("lm_eval_mtl.cli"):
                bad.append(f"{where}: from {module} import ...")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("lm_eval_mtl.") and not a.name.startswith("lm_eval_mtl.cli"):
                    bad.append(f"{where}: import {a.name}")
    return bad


def test_cli_imports_only_public_names() -> None:
    files = sorted(CLI.glob("*.py"))
    assert len(files) >= 8
    bad = [v for f in files for v in _violations(f)]
    assert bad == []


def test_the_checker_catches_private_imports(tmp_path: Path) -> None:
    f = tmp_path / "x.py"
    f.write_text(
        "import lm_eval_mtl.io\n"
        "from lm_eval_mtl.scoring.composite import score_run\n"
        "from lm_eval_mtl import _API, score_run\n"
        "from lm_eval_mtl.cli.options import add_seed\n"
        "def f():\n    from lm_eval_mtl.errors import MTLError\n",
        encoding="utf-8",
    )
    assert [v.split(": ", 1)[1] for v in _violations(f)] == [
        "import lm_eval_mtl.io",
        "from lm_eval_mtl.scoring.composite import ...",
        "_API is not public",
        "from lm_eval_mtl.errors import ...",
    ]

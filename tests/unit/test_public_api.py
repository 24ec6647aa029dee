"""The public API of ``lm_eval_mtl``: lazy at run time, fully typed for type checkers.

* every name in ``__all__`` resolves, and ``__all__`` is exactly ``_API`` plus ``__version__``;
* the ``if TYPE_CHECKING:`` imports and the ``_API`` map name the same objects (AST);
* importing the package loads neither numpy nor scipy nor any submodule;
* every lm_eval_mtl class that a public function takes or returns, or that a public
  class nests, is public too;
* mypy (strict) accepts correct calls with real types and rejects wrong ones.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

import lm_eval_mtl

REPO = Path(__file__).resolve().parents[2]
INIT = REPO / "lm_eval_mtl" / "__init__.py"


def _split(target: str, name: str) -> tuple[str, str]:
    module, _, attr = target.partition(":")
    return module, attr or name


def test_every_public_name_resolves() -> None:
    assert lm_eval_mtl.__all__[0] == "__version__"
    assert len(set(lm_eval_mtl.__all__)) == len(lm_eval_mtl.__all__)
    assert set(lm_eval_mtl.__all__) == {"__version__", *lm_eval_mtl._API}
    assert lm_eval_mtl.__all__[1:] == sorted(lm_eval_mtl.__all__[1:])
    for name in lm_eval_mtl.__all__:
        assert getattr(lm_eval_mtl, name) is not None, name
    assert set(dir(lm_eval_mtl)) >= set(lm_eval_mtl.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        lm_eval_mtl.no_such_name  # noqa: B018


def test_public_names_are_the_objects_their_modules_export() -> None:
    for name, target in lm_eval_mtl._API.items():
        module_name, attr = _split(target, name)
        module = importlib.import_module(module_name)
        assert getattr(lm_eval_mtl, name) is getattr(module, attr), name
        # mypy (no_implicit_reexport) sees a name of `module` only if it is defined there or in its __all__
        obj = getattr(module, attr)
        defined_here = getattr(obj, "__module__", None) == module_name and not isinstance(obj, (list, tuple))
        assert defined_here or attr in getattr(module, "__all__", ()), f"{module_name} does not export {attr}"


def test_every_error_class_is_public() -> None:
    from lm_eval_mtl import errors

    classes = {
        n
        for n, o in vars(errors).items()
        if isinstance(o, type) and issubclass(o, (Exception, Warning)) and o.__module__ == errors.__name__
    }
    assert classes <= set(lm_eval_mtl.__all__), sorted(classes - set(lm_eval_mtl.__all__))
    assert set(errors.__all__) <= set(lm_eval_mtl.__all__)


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected one module-level `if TYPE_CHECKING:` block"
    found: dict[str, str] = {}
    for stmt in blocks[0].body:
        assert isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0, ast.unparse(stmt)
        for alias in stmt.names:
            # `X as X` (or `X as PUBLIC`): an explicit re-export for type checkers
            assert alias.asname is not None, f"{ast.unparse(stmt)}: write `{alias.name} as {alias.name}`"
            assert alias.asname not in found, f"{alias.asname} imported twice"
            found[alias.asname] = stmt.module + ("" if alias.asname == alias.name else f":{alias.name}")
    return found


def test_type_checking_block_agrees_with_the_api_map() -> None:
    found = _type_checking_imports()
    api = lm_eval_mtl._API
    assert sorted(set(api) - set(found)) == [], "in _API but not imported under TYPE_CHECKING"
    assert sorted(set(found) - set(api)) == [], "imported under TYPE_CHECKING but not in _API"
    assert {n: found[n] for n in api if found[n] != api[n]} == {}


def test_the_literal_all_matches_the_api_map_in_the_source() -> None:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    (node,) = [
        n
        for n in tree.body
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
    ]
    names = ast.literal_eval(node.value)  # static, so that type checkers can read it
    assert names == lm_eval_mtl.__all__


def test_import_is_lazy_and_cheap() -> None:
    code = (
        "import sys, lm_eval_mtl\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy', 'lm_eval') "
        "or (m.startswith('lm_eval_mtl.')))\n"
        "print(heavy)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"


def _type_checking_names(module: Any) -> dict[str, Any]:
    """The names ``module`` imports under ``if TYPE_CHECKING:`` (annotations may refer to them)."""
    out: dict[str, Any] = {}
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    source = importlib.import_module(stmt.module)
                    for alias in stmt.names:
                        out[alias.asname or alias.name] = getattr(source, alias.name)
    return out


def _hints(obj: Any) -> dict[str, Any]:
    module = sys.modules[obj.__module__]
    namespace = {**_type_checking_names(module), **vars(module)}
    return typing.get_type_hints(obj, globalns=namespace)


def test_types_reachable_from_the_public_api_are_public() -> None:
    public = {id(getattr(lm_eval_mtl, n)) for n in lm_eval_mtl._API}
    seen: set[type] = set()
    missing: dict[str, str] = {}

    def walk_type(t: Any, where: str) -> None:
        for arg in typing.get_args(t):
            walk_type(arg, where)
        if isinstance(t, type) and t.__module__.startswith("lm_eval_mtl") and t not in seen:
            seen.add(t)
            if id(t) not in public:
                missing.setdefault(f"{t.__module__}.{t.__qualname__}", where)
            walk_class(t)

    def walk_callable(f: Any, where: str) -> None:
        for key, hint in _hints(f).items():
            walk_type(hint, f"{where}:{key}")

    def walk_class(c: type) -> None:
        if dataclasses.is_dataclass(c):
            for key, hint in _hints(c).items():
                walk_type(hint, f"{c.__name__}.{key}")
        for key, member in vars(c).items():
            if key.startswith("_"):
                continue
            if isinstance(member, property) and member.fget is not None:
                walk_callable(member.fget, f"{c.__name__}.{key}")
            elif inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod)):
                walk_callable(getattr(member, "__func__", member), f"{c.__name__}.{key}")

    for name in lm_eval_mtl._API:
        obj = getattr(lm_eval_mtl, name)
        if isinstance(obj, type):
            seen.add(obj)
            walk_class(obj)
        elif inspect.isfunction(obj):
            walk_callable(obj, name)
    assert missing == {}, "not in the public API (type <- where it is used)"


# ---- mypy sees real types ---------------------------------------------------------------

_MYPY_CONFIG = """\
[mypy]
strict = True
python_version = 3.11
warn_unused_ignores = False

[mypy-lm_eval.*,sacrebleu.*,matplotlib.*,scipy.*,transformers.*,datasets.*,torch.*,tokenizers.*,yaml.*]
ignore_missing_imports = True
"""

_GOOD = """\
from __future__ import annotations

import lm_eval_mtl
from lm_eval_mtl import (
    CompositeScore,
    ConfidenceInterval,
    ModelComparison,
    RunResult,
    SuiteSpec,
    TaskScore,
    WeightsFile,
    compare_runs,
    load_run,
    load_suite,
    render_composite,
    score_run,
)


def composite(path: str) -> tuple[float, ConfidenceInterval, str]:
    run: RunResult = load_run(path)
    spec: SuiteSpec = load_suite("mtl_demo")
    score: CompositeScore = score_run(run, spec, n_resamples=100, rng=0, confidence_level=0.9)
    first: TaskScore = score.tasks[0]
    reveal_type(score)
    return score.value + first.weight, score.ci, render_composite(score, "md")


def pairs(a: str, b: str) -> ModelComparison:
    return compare_runs([a, b], n_resamples=200, rng=1)


def weights(name: str) -> WeightsFile:
    return lm_eval_mtl.load_weights(name)


try:
    composite("runs/x")
except lm_eval_mtl.MTLError as err:
    print(err)
"""

_BAD = """\
import lm_eval_mtl

lm_eval_mtl.score_run("not a run", 3)
spec: int = lm_eval_mtl.load_suite("mtl_demo")
lm_eval_mtl.no_such_name
"""


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("mypy")
    tmp = tmp_path_factory.mktemp("mypy")
    (tmp / "mypy.ini").write_text(_MYPY_CONFIG, encoding="utf-8")
    (tmp / "good_snippet.py").write_text(_GOOD, encoding="utf-8")
    (tmp / "bad_snippet.py").write_text(_BAD, encoding="utf-8")
    env = dict(os.environ, MYPYPATH=str(REPO))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(tmp / "cache"),
            "--no-error-summary",
            "--show-error-codes",
            "good_snippet.py",
            "bad_snippet.py",
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    return proc.stdout


def _lines(output: str, file: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{file}:")]


def test_mypy_accepts_correct_calls_and_sees_real_types(mypy_output: str) -> None:
    lines = _lines(mypy_output, "good_snippet.py")
    errors = [line for line in lines if ": error:" in line]
    assert errors == [], "\n".join(errors)
    (reveal,) = [line for line in lines if "Revealed type" in line]
    assert '"lm_eval_mtl.scoring.types.CompositeScore"' in reveal


def test_mypy_rejects_wrong_argument_types(mypy_output: str) -> None:
    text = "\n".join(_lines(mypy_output, "bad_snippet.py"))
    assert (
        'bad_snippet.py:3: error: Argument 1 to "score_run" has incompatible type "str"; '
        'expected "RunResult"  [arg-type]'
    ) in text
    assert 'bad_snippet.py:3: error: Argument 2 to "score_run" has incompatible type "int"' in text
    assert "bad_snippet.py:4: error: Incompatible types in assignment" in text and "[assignment]" in text
    assert 'bad_snippet.py:5: error: Module has no attribute "no_such_name"' in text

"""lm-eval's own test suite with the plugin active, disabled and absent: the outcomes must be identical.

The tests come from lm-eval's sdist (``pip download --no-binary :all: --no-deps
lm-eval==0.4.13``, which ships ``tests/``); they run offline (Hugging Face Hub
switched off) against the *installed* lm-eval in fresh environments:

* ``active``: ``lm-eval[hf,dev]==V`` plus this checkout's wheel (the start-up hook on);
* ``disabled``: the same environment with ``LM_EVAL_MTL_DISABLE=1``;
* ``absent``: a second fresh environment without lm-eval-mtl.

Test modules the sdist cannot import (it lacks ``tests/utils.py`` and the
``requests_caching`` helper) are collection errors in every mode; the rest run
(``--continue-on-collection-errors``). Each run writes a JUnit XML; the per-test outcomes (passed / failed / error /
skipped) are compared test by test. Tests that need the network fail the same way
in every mode; the point is that the plugin changes none of them.

Usage::

    python bench/compat_lm_eval_tests.py --root /tmp/lm-eval-tests [--version 0.4.13] [--json out.json]

Exit status 0 when the three outcome sets are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "compat"))
from compat_check import OFFLINE, Installer, _env_python, _must, _run  # noqa: E402

MODES = ("active", "disabled", "absent")


def _sdist_tests(root: Path, version: str) -> Path:
    """lm-eval's ``tests/`` from its sdist, unpacked under ``root/src`` (the sdist is kept)."""
    dl = root / "sdist"
    dl.mkdir(parents=True, exist_ok=True)
    if not list(dl.glob(f"lm_eval-{version}.tar.gz")):
        _must(_run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                    f"lm-eval=={version}", "-d", str(dl)]), "pip download the sdist")  # fmt: skip
    (sdist,) = dl.glob(f"lm_eval-{version}.tar.gz")
    src = root / "src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.split("/")[1:2] == ["tests"]]
        tar.extractall(src, members=members, filter="data")
    # Only tests/: the installed lm-eval is the one under test, not the sdist's source.
    return src / f"lm_eval-{version}"


def _outcomes(xml: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("error", "failure", "skipped") if k in kinds), "passed")
        out[name] = {"failure": "failed"}.get(outcome, outcome)
    return out


def _run_tests(venv: Path, rootdir: Path, xml: Path, disabled: bool) -> tuple[dict[str, str], float]:
    env = {**os.environ, **OFFLINE, "HF_HOME": str(xml.parent / f"hf-{xml.stem}")}
    env.pop("LM_EVAL_MTL_DISABLE", None)
    if disabled:
        env["LM_EVAL_MTL_DISABLE"] = "1"
    start = time.perf_counter()
    _run([str(venv / "bin" / "python"), "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
          f"--junitxml={xml}", "-o", "junit_family=xunit2"], env, cwd=rootdir, timeout=3600)  # fmt: skip
    return _outcomes(xml), time.perf_counter() - start


def main() -> int:
    """Run lm-eval's tests in the three modes; print counts and differences."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--version", default="0.4.13")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    root: Path = args.root.resolve()
    shutil.rmtree(root / "envs", ignore_errors=True)
    rootdir = _sdist_tests(root, args.version)
    installer = Installer(root)
    wheel = installer.prepare()
    base = [f"lm-eval[hf,dev]=={args.version}"]
    installer.create(root / "envs" / "with", [*base, str(wheel)])
    installer.create(root / "envs" / "without", base)
    if (
        _env_python(
            root / "envs" / "without", "import importlib.util as u; print(u.find_spec('lm_eval_mtl'))"
        )
        != "None"
    ):
        raise SystemExit("the `absent` environment has lm_eval_mtl importable; the comparison would be void.")
    venvs = {
        "active": root / "envs" / "with",
        "disabled": root / "envs" / "with",
        "absent": root / "envs" / "without",
    }
    results: dict[str, dict[str, str]] = {}
    seconds: dict[str, float] = {}
    for mode in MODES:
        results[mode], seconds[mode] = _run_tests(
            venvs[mode], rootdir, root / f"{mode}.xml", mode == "disabled"
        )
        counts = Counter(results[mode].values())
        print(f"{mode:9s} {sum(counts.values())} tests: {dict(sorted(counts.items()))} ({seconds[mode]:.0f} s)",
              flush=True)  # fmt: skip
    diffs = sorted(
        f"{t}: " + ", ".join(f"{m}={results[m].get(t, 'missing')}" for m in MODES)
        for t in set().union(*results.values())
        if len({results[m].get(t) for m in MODES}) > 1
    )
    for d in diffs:
        print("differs:", d)
    figures = {
        "lm_eval": args.version,
        "counts": {m: dict(Counter(results[m].values())) for m in MODES},
        "seconds": {m: round(s) for m, s in seconds.items()},
        "differences": diffs,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"identical outcomes in all three modes: {not diffs}")
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())

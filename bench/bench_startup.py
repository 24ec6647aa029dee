"""Start-up cost of lm-eval-mtl's .pth hook, measured side by side.

Measures, interleaved (A B C A B C ...) so that machine load hits every variant alike:

1. ``python -c pass`` in two throwaway virtual environments that differ only by
   our two installed files (``lm_eval_mtl_startup.pth`` + ``_lm_eval_mtl_startup.py``):
   ``bare`` (neither), ``plugin`` (both), ``plugin+disabled`` (both,
   ``LM_EVAL_MTL_DISABLE=1``), ``plugin+broken`` (the module raises on import,
   i.e. the .pth's guarded import fails) and ``plugin+no-pyc`` (no cached bytecode
   and ``PYTHONDONTWRITEBYTECODE=1``: compiled at every start). The other variants
   hold a ``.pyc`` as ``pip install`` leaves one, and run with bytecode writing off,
   so every run sees the same files.
2. The hook module's own import time from ``python -X importtime`` (microseconds).
3. ``lm_eval ls tasks`` in this environment with the plugin on and with
   ``LM_EVAL_MTL_DISABLE=1`` (the only difference: indexing our ~100 YAML files
   on top of lm-eval's ~15k).

Usage::

    python bench/bench_startup.py                 # 60 start-ups per variant, 3 `ls` runs each
    python bench/bench_startup.py --runs 200 --ls-runs 5 --json out.json

Medians are the headline; p10/p90 show the noise. Targets (DESIGN.md section 2):
< 2 ms median start-up overhead, < 2% on ``lm_eval ls tasks``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

HOOK_FILES = ("lm_eval_mtl_startup.pth", "_lm_eval_mtl_startup.py")


def _purelib(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


def _installed_hook_files() -> dict[str, Path]:
    site = _purelib(Path(sys.executable))
    files = {name: site / name for name in HOOK_FILES}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"hook files not installed (run `pip install -e .`): {', '.join(missing)}")
    return files


def _make_venv(
    root: Path, files: dict[str, Path] | None, broken: bool = False, compiled: bool = True
) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    if files:
        site = _purelib(python)
        for name, src in files.items():
            shutil.copy2(src, site / name)
        if broken:
            (site / "_lm_eval_mtl_startup.py").write_text("raise ImportError('simulated broken hook')\n")
        if compiled:  # as `pip install` leaves it (it byte-compiles by default)
            import py_compile

            py_compile.compile(str(site / "_lm_eval_mtl_startup.py"), doraise=True)
    return python


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def _summary(xs: list[float], scale: float = 1e3) -> dict[str, float]:
    qs = statistics.quantiles(xs, n=10) if len(xs) >= 2 else [xs[0]] * 9
    return {
        "median": statistics.median(xs) * scale,
        "p10": qs[0] * scale,
        "p90": qs[-1] * scale,
        "n": float(len(xs)),
    }


def _hook_import_us(python: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    samples: list[float] = []
    for _ in range(runs):
        proc = subprocess.run(
            [str(python), "-X", "importtime", "-c", "pass"], env=env, capture_output=True, text=True
        )
        for line in proc.stderr.splitlines():
            if line.split("|")[-1].strip() == "_lm_eval_mtl_startup":
                samples.append(float(line.split("|")[1]))  # cumulative microseconds
    return (
        _summary(samples, scale=1.0)
        if samples
        else {"median": float("nan"), "p10": float("nan"), "p90": float("nan"), "n": 0.0}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="start-ups per variant (default 60)")
    parser.add_argument(
        "--ls-runs", type=int, default=3, help="`lm_eval ls tasks` runs per variant (0 skips)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    files = _installed_hook_files()
    base_env = {k: v for k, v in os.environ.items() if k not in ("LM_EVAL_MTL_DISABLE", "PYTHONPATH")}
    base_env["PYTHONDONTWRITEBYTECODE"] = "1"
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        bare = _make_venv(Path(tmp) / "bare", None)
        plugin = _make_venv(Path(tmp) / "plugin", files)
        broken = _make_venv(Path(tmp) / "broken", files, broken=True)
        source_only = _make_venv(Path(tmp) / "source_only", files, compiled=False)
        variants = {
            "bare": ([str(bare), "-c", "pass"], base_env),
            "plugin": ([str(plugin), "-c", "pass"], base_env),
            "plugin+disabled": ([str(plugin), "-c", "pass"], {**base_env, "LM_EVAL_MTL_DISABLE": "1"}),
            "plugin+broken": ([str(broken), "-c", "pass"], base_env),
            # No .pyc and PYTHONDONTWRITEBYTECODE=1: the module is compiled at every start.
            "plugin+no-pyc": ([str(source_only), "-c", "pass"], {**base_env, "PYTHONDONTWRITEBYTECODE": "1"}),
        }
        for cmd, env in variants.values():  # warm the page cache
            _time_once(cmd, env)
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.runs):
            for key, (cmd, env) in variants.items():
                times[key].append(_time_once(cmd, env))
        startup = {k: _summary(v) for k, v in times.items()}
        base = startup["bare"]["median"]
        for _k, v in startup.items():
            v["overhead_ms_vs_bare"] = v["median"] - base
        report["python_c_pass_ms"] = startup
        report["hook_import_us"] = _hook_import_us(plugin, base_env, min(args.runs, 40))

    if args.ls_runs > 0:
        lm_eval = Path(sys.executable).parent / "lm_eval"
        env_on = {**base_env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        env_off = {**env_on, "LM_EVAL_MTL_DISABLE": "1"}
        ls: dict[str, list[float]] = {"plugin": [], "disabled": []}
        for _ in range(args.ls_runs):
            ls["plugin"].append(_time_once([str(lm_eval), "ls", "tasks"], env_on))
            ls["disabled"].append(_time_once([str(lm_eval), "ls", "tasks"], env_off))
        ls_summary = {k: _summary(v, scale=1.0) for k, v in ls.items()}
        on, off = ls_summary["plugin"]["median"], ls_summary["disabled"]["median"]
        report["lm_eval_ls_tasks_s"] = {**ls_summary, "relative_difference_pct": 100.0 * (on - off) / off}
    report["loadavg_end"] = os.getloadavg()

    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

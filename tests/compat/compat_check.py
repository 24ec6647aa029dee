"""The lm-eval compatibility check: every supported lm-eval release, a fresh environment each.

For each version: a new virtual environment with that lm-eval (``lm-eval[hf]==V``,
the CPU torch wheel, the project's wheel built once from this checkout), then, in
that environment, through the installed console scripts and offline:

1. ``lm_eval ls tasks`` (``lm_eval --tasks list`` where the CLI has no subcommands)
   lists every shipped suite from the environment's own ``lm_eval_mtl/task_configs``;
2. ``lm-eval-mtl demo --quick --limit 4`` runs the demo's tiny model (built once,
   shared by all versions) and lm-eval writes the ``mtl_demo`` composite row;
3. ``lm_eval --model mtl-sim ... --tasks mtl_demo --limit 8`` (the simulated backend)
   writes its composite row;
4. no process logs a line of the start-up hook (every adapter applied; none stood aside).

The composites (value and stderr) must agree across versions to 1e-9. A JSON
summary and a table go to the output folder and stdout.

Usage (``.ci/compat`` runs it)::

    python tests/compat/compat_check.py --root DIR [--versions 0.4.9.2,0.4.11,0.4.13] [--jobs 2]

Environments are made with ``uv`` when it is on PATH (seconds each, from its cache),
else with ``python -m venv`` and pip (minutes each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SUPPORTED: dict[str, tuple[str, ...]] = {
    # lm-eval 0.4.9.2 imports transformers.AutoModelForVision2Seq at start-up (hf_vlms.py),
    # which transformers 5 removed: that release needs transformers < 5 with or without us.
    "0.4.9.2": ("transformers<5",),
    "0.4.10": (),
    "0.4.11": (),
    "0.4.12": (),
    "0.4.13": (),
}
"""Every lm-eval release the package supports (pyproject.toml), with what its environment also needs."""
SUITES = ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_demo")
TORCH = "torch==2.13.0"
TOLERANCE = 1e-9
HOOK_LINE = "lm-eval-mtl start-up hook"
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DISABLE": "1",
}


@dataclass
class VersionResult:
    """What one lm-eval version's environment did."""

    version: str
    installed: str = ""
    """lm-eval's version as installed (importlib.metadata)."""
    install_s: float = 0.0
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Check name -> {ok, seconds, detail, composite, stderr, hook_lines}."""

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(c.get("ok") for c in self.checks.values())


def _run(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
         timeout: float = 900) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        list(argv), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def _must(proc: subprocess.CompletedProcess[str], what: str) -> str:
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc.stdout


# ----------------------------------------------------------------------------- environments


class Installer:
    """Makes fresh environments with uv (when on PATH) or venv + pip."""

    def __init__(self, root: Path) -> None:
        self.uv = shutil.which("uv")
        self.wheels = root / "wheels"
        self.env = {**os.environ, "UV_CACHE_DIR": str(root / "uv-cache")}
        self.env.pop("VIRTUAL_ENV", None)

    def prepare(self) -> Path:
        """The torch wheel (through pip's own configuration) and this checkout's wheel, once."""
        self.wheels.mkdir(parents=True, exist_ok=True)
        if not list(self.wheels.glob("torch-*.whl")):
            _must(_run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", TORCH, "-d",
                        str(self.wheels)]), "pip download torch")  # fmt: skip
        for old in self.wheels.glob("lm_eval_mtl-*.whl"):
            old.unlink()
        _must(_run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(self.wheels),
                    str(REPO)]), "building the lm-eval-mtl wheel")  # fmt: skip
        (wheel,) = self.wheels.glob("lm_eval_mtl-*.whl")
        return wheel

    def create(self, venv: Path, requirements: Sequence[str]) -> None:
        """A new environment at ``venv`` with torch first, then ``requirements``."""
        if venv.exists():
            shutil.rmtree(venv)
        links = ["--find-links", str(self.wheels)]
        if self.uv:
            uv = [self.uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), *links]
            _must(_run([self.uv, "venv", "-q", "-p", sys.executable, str(venv)], self.env), "uv venv")
            _must(_run([*uv, TORCH], self.env), "installing torch")
            _must(_run([*uv, *requirements], self.env), f"installing {requirements}")
            return
        _must(_run([sys.executable, "-m", "venv", str(venv)]), "venv")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *links]
        _must(_run([*pip, TORCH], self.env), "installing torch")
        _must(_run([*pip, *requirements], self.env), f"installing {requirements}")


# ----------------------------------------------------------------------------- checks


def _env_python(venv: Path, code: str) -> str:
    """Run ``code`` with the environment's interpreter, outside the checkout (whose package would shadow)."""
    proc = _run([str(venv / "bin" / "python"), "-c", code], {**os.environ, **OFFLINE}, cwd=venv)
    return _must(proc, code).strip()


def _hook_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if HOOK_LINE in line]


def _composite(out: Path, group: str = "mtl_demo") -> tuple[float, Any]:
    found = sorted(out.rglob("results_*.json"))
    if not found:
        raise RuntimeError(f"no results_*.json under {out}")
    row = json.loads(found[-1].read_text(encoding="utf-8")).get("groups", {}).get(group, {})
    if "mtl_composite,none" not in row:
        raise RuntimeError(f"{found[-1]}: group {group!r} has no mtl_composite row; it has {sorted(row)}")
    return float(row["mtl_composite,none"]), row.get("mtl_composite_stderr,none")


def check_listing(venv: Path, work: Path) -> dict[str, Any]:
    """Every suite listed, from the environment's own task folder."""
    args = json.loads(_env_python(venv, "import json; from lm_eval_mtl.plugin.cli import list_tasks_args as a; "
                                        "print(json.dumps(a()))"))  # fmt: skip
    folder = _env_python(venv, "from lm_eval_mtl.suites import task_config_dir; print(task_config_dir())")
    proc = _run([str(venv / "bin" / "lm_eval"), *args], {**os.environ, **OFFLINE, "HF_HOME": str(work / "hf")},
                cwd=work)  # fmt: skip
    listed: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2:
            listed[cells[0]] = cells[1]
    missing = [s for s in SUITES if not listed.get(s, "").startswith(folder)]
    return {
        "ok": proc.returncode == 0 and not missing and not _hook_lines(proc.stderr),
        "detail": f"`lm_eval {' '.join(args)}`: "
        + (f"missing or elsewhere: {missing}" if missing else "all suites"),
        "rc": proc.returncode,
        "hook_lines": _hook_lines(proc.stderr),
        "tail": "" if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:],
    }


def check_demo(venv: Path, work: Path, model_cache: Path) -> dict[str, Any]:
    """``lm-eval-mtl demo --quick``: the tiny model's lm_eval run writes the composite row."""
    out = work / "demo-out"
    proc = _run([str(venv / "bin" / "lm-eval-mtl"), "demo", "--quick", "--limit", "4", "--cache-dir",
                 str(model_cache), "--output-dir", str(out)], {**os.environ, **OFFLINE, "HF_HOME": str(work / "hf")},
                cwd=work)  # fmt: skip
    log = (
        (out / "lm_eval.log").read_text(encoding="utf-8", errors="replace")
        if (out / "lm_eval.log").is_file()
        else ""
    )
    result: dict[str, Any] = {"rc": proc.returncode, "hook_lines": _hook_lines(proc.stderr + log)}
    try:
        result["composite"], result["stderr"] = _composite(out)
    except RuntimeError as exc:
        result.update(ok=False, detail=str(exc), tail=(proc.stdout + proc.stderr)[-2000:])
        return result
    shown = "mtl_composite" in proc.stdout
    result["ok"] = proc.returncode == 0 and shown and not result["hook_lines"]
    result["detail"] = (
        "composite row in lm-eval's table and results" if shown else "no composite in the table"
    )
    return result


def check_sim(venv: Path, work: Path) -> dict[str, Any]:
    """``lm_eval --model mtl-sim``: the simulated backend answers and the composite row is written."""
    out = work / "sim-out"
    proc = _run([str(venv / "bin" / "lm_eval"), "--model", "mtl-sim", "--model_args",
                 "model=sim-base,checkpoint=base,seed=0", "--tasks", "mtl_demo", "--limit", "8", "--seed", "0",
                 "--output_path", str(out)], {**os.environ, **OFFLINE, "HF_HOME": str(work / "hf")},
                cwd=work)  # fmt: skip
    result: dict[str, Any] = {"rc": proc.returncode, "hook_lines": _hook_lines(proc.stderr)}
    try:
        result["composite"], result["stderr"] = _composite(out)
    except RuntimeError as exc:
        result.update(ok=False, detail=str(exc), tail=(proc.stdout + proc.stderr)[-2000:])
        return result
    result["ok"] = proc.returncode == 0 and not result["hook_lines"]
    result["detail"] = "mtl-sim ran; composite row written"
    return result


# ----------------------------------------------------------------------------- driver


def _timed(func: Any, *args: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result: dict[str, Any] = func(*args)
    except Exception as exc:  # noqa: BLE001 - one failing check is reported, the others still run
        result = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[-2000:]}
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def compare(results: Sequence[VersionResult], tolerance: float = TOLERANCE) -> list[str]:
    """Disagreements of the composites across versions (empty: all agree to ``tolerance``)."""
    problems: list[str] = []
    for check in ("demo", "sim"):
        rows = [(r.version, r.checks.get(check, {})) for r in results]
        rows = [(v, c) for v, c in rows if "composite" in c]
        if not rows:
            continue
        ref_v, ref = rows[0]
        for v, c in rows[1:]:
            for key in ("composite", "stderr"):
                a, b = ref.get(key), c.get(key)
                same = a == b if not all(isinstance(x, float) for x in (a, b)) else abs(a - b) <= tolerance
                if not same:
                    problems.append(f"{check} {key}: {v} gives {b!r}, {ref_v} gives {a!r}")
    return problems


def _table(results: Sequence[VersionResult]) -> str:
    lines = ["| lm-eval | env (s) | listing | demo composite | mtl-sim composite | checks (s) |",
             "|---|---:|---|---|---|---|"]  # fmt: skip
    for r in results:
        c = r.checks

        def cell(name: str, c: dict[str, dict[str, Any]] = c) -> str:
            item = c.get(name, {})
            mark = "ok" if item.get("ok") else "FAIL"
            value = f" {item['composite']:.12f}" if isinstance(item.get("composite"), float) else ""
            return mark + value

        secs = ", ".join(f"{k} {v.get('seconds', 0)}" for k, v in c.items())
        lines.append(f"| {r.installed or r.version} | {r.install_s:.0f} | {cell('listing')} | {cell('demo')} | "
                     f"{cell('sim')} | {secs} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; exit status 0 when every version passes and the composites agree."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="work folder (uv cache and model kept)")
    parser.add_argument("--versions", default=",".join(SUPPORTED), help="comma-separated lm-eval versions")
    parser.add_argument("--jobs", type=int, default=2, help="checks run side by side")
    args = parser.parse_args(argv)
    versions = sorted(
        {v.strip() for v in args.versions.split(",") if v.strip()},
        key=lambda v: list(SUPPORTED).index(v) if v in SUPPORTED else -1,
    )
    unknown = [v for v in versions if v not in SUPPORTED]
    if unknown:
        parser.error(f"`--versions` must be among {', '.join(SUPPORTED)}; got {', '.join(unknown)}.")
    root: Path = args.root.resolve()
    for sub in ("envs", "out"):
        shutil.rmtree(root / sub, ignore_errors=True)
    started = time.perf_counter()
    installer = Installer(root)
    wheel = installer.prepare()
    print(f"== lm-eval-mtl wheel {wheel.name}; installer: {'uv' if installer.uv else 'pip'}", flush=True)
    results = [VersionResult(v) for v in versions]

    def install(r: VersionResult) -> None:
        start = time.perf_counter()
        venv = root / "envs" / r.version
        installer.create(venv, [f"lm-eval[hf]=={r.version}", *SUPPORTED[r.version], str(wheel)])
        r.installed = _env_python(venv, "import importlib.metadata as m; print(m.version('lm-eval'))")
        r.install_s = time.perf_counter() - start
        print(f"== {r.version}: environment ready in {r.install_s:.0f} s", flush=True)

    for r in sorted(results, key=lambda r: list(SUPPORTED).index(r.version)):  # sequential: one cache
        install(r)
    # One tiny model for every version, built by the oldest environment (its transformers writes a
    # tokenizer every later transformers reads; the reverse does not hold for transformers 4 and 5).
    # Kept between runs, under the builder's transformers version (a cached model written by
    # transformers 5 would not load in an environment with transformers 4).
    builder = root / "envs" / versions[0]
    maker = _env_python(builder, "import transformers; print(transformers.__version__)")
    model_cache = root / "model" / f"transformers-{maker}"
    _env_python(builder, "from pathlib import Path; from lm_eval_mtl.demo.tiny_model import "
                f"ensure_tiny_model; ensure_tiny_model(Path({str(model_cache)!r}))")  # fmt: skip
    jobs = []
    for r in results:
        venv, work = root / "envs" / r.version, root / "out" / r.version
        for name, func, extra in (("listing", check_listing, ()), ("demo", check_demo, (model_cache,)),
                                  ("sim", check_sim, ())):  # fmt: skip
            (work / name).mkdir(parents=True, exist_ok=True)
            jobs.append((r, name, func, (venv, work / name, *extra)))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(r, name, pool.submit(_timed, func, *fargs)) for r, name, func, fargs in jobs]
        for r, name, future in futures:
            r.checks[name] = future.result()
            print(f"== {r.version} {name}: {'ok' if r.checks[name]['ok'] else 'FAIL'} "
                  f"({r.checks[name]['seconds']} s) {r.checks[name].get('detail', '')}", flush=True)  # fmt: skip
    problems = compare(results)
    elapsed = time.perf_counter() - started
    summary = {"versions": [asdict(r) | {"ok": r.ok} for r in results], "disagreements": problems,
               "tolerance": TOLERANCE, "minutes": round(elapsed / 60, 2), "jobs": args.jobs}  # fmt: skip
    (root / "out" / "compat.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(_table(results))
    for r in results:
        for name, c in r.checks.items():
            if not c.get("ok"):
                print(
                    f"-- {r.version} {name}: {c.get('detail')}\n{c.get('tail', '')}\n{c.get('hook_lines', '')}"
                )
    for p in problems:
        print(f"-- composites disagree: {p}")
    ok = all(r.ok for r in results) and not problems
    n_ok = sum(r.ok for r in results)
    print(f"compat: {elapsed / 60:.1f} min; composites {'agree' if not problems else 'DISAGREE'} "
          f"across versions to {TOLERANCE:g}")  # fmt: skip
    print(f"compat: {n_ok} passed, {len(results) - n_ok} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

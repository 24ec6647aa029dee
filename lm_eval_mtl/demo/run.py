"""The steps of ``lm-eval-mtl demo``: offline, on a fresh machine, in about a minute.

1. Build (or reuse from the cache) a tiny random-weight HF causal LM.
2. Run the real ``lm_eval`` console script in a subprocess on the bundled
   ``mtl_demo`` suite (no ``--include_path``: the plugin finds the suite), with
   ``--log_samples`` and ``--output_path``.
3. Print lm-eval's table (with the composite rows) and where the output went.

The steps are a list of :class:`DemoStep`; each reads and fills a shared
:class:`DemoContext`, so later steps (report, compare, transfer on the same
output) are appended to :data:`STEPS` without touching the earlier ones.
Progress lines go to the ``echo`` callable of the context (the CLI passes
``print``); while a step runs, a live status line (elapsed time, and what the step
reports in :attr:`DemoContext.detail`, e.g. lm-eval's requests done) goes to its
``status`` callable (the CLI passes :meth:`lm_eval_mtl.demo.progress.LiveLine.update`,
on stderr). Library code itself never prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lm_eval_mtl.errors import DemoError

if TYPE_CHECKING:
    from lm_eval_mtl.sim.runner import SimRuns

__all__ = [
    "DEMO_SUITE",
    "STEPS",
    "DemoContext",
    "DemoError",
    "DemoStep",
    "display_path",
    "explain",
    "lm_eval_command",
    "offline_env",
    "run_demo",
]

DEMO_SUITE = "mtl_demo"
"""The bundled suite the demo evaluates."""

Echo = Callable[[str], None]


@dataclass
class DemoContext:
    """State shared by the demo's steps."""

    output_dir: Path
    """Where lm-eval writes its output (``--output_path``)."""
    cache_dir: Path | None = None
    """Cache root for the tiny model (None: the default cache)."""
    limit: int | None = None
    """``--limit`` passed to lm-eval (None: every item)."""
    batch_size: int = 8
    """``--batch_size`` passed to lm-eval."""
    device: str = "cpu"
    """``--device`` passed to lm-eval."""
    rebuild_model: bool = False
    """Rebuild the tiny model even when cached."""
    echo: Echo = field(default=lambda _line: None, repr=False)
    """Progress sink."""
    model_dir: Path | None = None
    """Filled by the model step."""
    run_dir: Path | None = None
    """Folder holding the results JSON (filled by the lm-eval step)."""
    results_file: Path | None = None
    """The results JSON (filled by the lm-eval step)."""
    table: str = ""
    """lm-eval's printed tables (filled by the lm-eval step)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per step name."""
    seed: int = 0
    """Seed of lm-eval, the simulated checkpoints and every bootstrap."""
    n_resamples: int = 2000
    """Bootstrap resamples for report, compare and transfer."""
    sim_runs: SimRuns | None = None
    """Simulated checkpoints' run folders (filled by the simulation step)."""
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rendered tables, plots and JSON per analysis step (filled by the story steps)."""
    report_path: Path | None = None
    """The Markdown report (filled by the last step)."""
    status: Callable[[str], None] | None = field(default=None, repr=False)
    """Live status sink, called about every half second while a step runs (``""``: clear
    the line); None: no status line."""
    detail: str = ""
    """What the running step is doing now, shown in the status line (set by the steps)."""
    probe: Callable[[], str] | None = field(default=None, repr=False)
    """Asked for the status line's detail instead of :attr:`detail` while set (e.g. counts
    files as they appear); cleared after each step."""
    explained: set[str] = field(default_factory=set)
    """Terms already explained in the output (see :func:`explain`)."""


@dataclass(frozen=True)
class DemoStep:
    """One step of the demo."""

    name: str
    """Short name, shown in progress lines."""
    run: Callable[[DemoContext], None]
    """Does the work; raises :class:`DemoError` on failure."""


def offline_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment for lm-eval subprocesses that never contacts the Hugging Face Hub."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    env.pop("LM_EVAL_MTL_DISABLE", None)
    return env


def display_path(path: Path | str) -> str:
    """Return ``path`` as a person reads it: relative to the current folder when inside it, else ``~/...``."""
    p = Path(path)
    try:
        rel = p.resolve().relative_to(Path.cwd().resolve())
        return str(rel) if str(rel) != "." else "."
    except (OSError, ValueError):
        pass
    try:
        return "~/" + str(p.resolve().relative_to(Path.home().resolve()))
    except (OSError, RuntimeError, ValueError):
        return str(p)


def explain(ctx: DemoContext, term: str, text: str) -> None:
    """Echo a one-line explanation of ``term`` the first time it appears in the demo's output."""
    if term in ctx.explained:
        return
    ctx.explained.add(term)
    ctx.echo(f"      ({text})")


def lm_eval_command() -> list[str]:
    """Return the installed ``lm_eval`` console script (next to this interpreter first)."""
    for candidate in (Path(sys.executable).parent / "lm_eval", shutil.which("lm_eval")):
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "lm_eval"]


# --------------------------------------------------------------------------- steps


def _step_model(ctx: DemoContext) -> None:
    from lm_eval_mtl.demo.tiny_model import cache_root, demo_owned_folders, ensure_tiny_model

    root = ctx.cache_dir or cache_root()
    if ctx.rebuild_model:
        # only folders the demo created (they carry its marker); never by a name pattern
        for old in demo_owned_folders(root):
            ctx.echo(f"      removing {old} (created by the demo)")
            shutil.rmtree(old, ignore_errors=True)
    ctx.detail = "building a 2-layer GPT-2 and training its tokenizer (once; then cached)"
    path, built = ensure_tiny_model(root)
    ctx.model_dir = path
    ctx.echo(
        f"      {'built' if built else 'reused'} tiny GPT-2 (random weights, local tokenizer) "
        f"at {display_path(path)}"
    )
    explain(
        ctx,
        "cache",
        "cache: --cache-dir, else $LM_EVAL_MTL_CACHE, else ~/.cache/lm-eval-mtl; --rebuild-model rebuilds",
    )


def _step_lm_eval(ctx: DemoContext) -> None:
    from lm_eval_mtl.demo.progress import LmEvalLogProgress
    from lm_eval_mtl.demo.tiny_model import write_demo_marker
    from lm_eval_mtl.io.atomic import atomic_output

    if ctx.model_dir is None:
        raise DemoError("the lm-eval step needs the model step to run first.")
    if not ctx.output_dir.exists():
        ctx.output_dir.mkdir(parents=True)
        write_demo_marker(ctx.output_dir, "demo output (lm-eval --output_path)")
    before = set(ctx.output_dir.rglob("results_*.json"))
    # lm-eval names the run (its output folder and the model in its results) after
    # `pretrained=`; running it inside the cache root with the folder's bare name keeps
    # that a short name (tiny-gpt2-<hash>), not the cache's full path.
    from lm_eval_mtl.plugin.cli import run_args

    cmd = [
        *lm_eval_command(),
        *run_args(),  # `run` where the CLI has subcommands (lm-eval 0.4.10 on), else the legacy form
        "--model",
        "hf",
        "--model_args",
        f"pretrained={ctx.model_dir.name},dtype=float32",
        "--tasks",
        DEMO_SUITE,
        "--device",
        ctx.device,
        "--batch_size",
        str(ctx.batch_size),
        "--output_path",
        str(ctx.output_dir.resolve()),  # lm-eval runs in the cache root: an absolute path
        "--log_samples",
        "--seed",
        str(ctx.seed),
    ]
    if ctx.limit is not None:
        cmd += ["--limit", str(ctx.limit)]
    log = ctx.output_dir / "lm_eval.log"
    shown = ["lm_eval", *cmd[len(lm_eval_command()) :]]
    shown[shown.index("--output_path") + 1] = display_path(ctx.output_dir)
    ctx.echo(f"      $ cd {display_path(ctx.model_dir.parent)} && {' '.join(shown)}")
    ctx.echo(f"      (lm-eval's own log and progress bars: {display_path(log)})")
    progress = LmEvalLogProgress()
    with (
        atomic_output(log) as tmp_log,
        tmp_log.open("w", encoding="utf-8") as err,
        tempfile.TemporaryFile("w+", encoding="utf-8") as out,
    ):
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, text=True, env=offline_env(), cwd=ctx.model_dir.resolve().parent
        )
        with tmp_log.open("r", encoding="utf-8", errors="replace") as reader:
            while True:
                try:
                    returncode = proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    returncode = None
                progress.feed(reader.read())
                ctx.detail = progress.summary()
                if returncode is not None:
                    break
        out.seek(0)
        stdout = out.read()
    ctx.detail = ""
    if returncode != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        raise DemoError(f"lm_eval exited with code {returncode}; full log: {log}\n{tail}")
    new = sorted(set(ctx.output_dir.rglob("results_*.json")) - before, key=lambda p: p.stat().st_mtime)
    if not new:
        raise DemoError(f"lm_eval finished but wrote no results_*.json under {ctx.output_dir}; log: {log}")
    ctx.results_file = new[-1]
    ctx.run_dir = new[-1].parent
    ctx.table = stdout.strip()


def _step_show(ctx: DemoContext) -> None:
    if ctx.results_file is None or ctx.run_dir is None:
        raise DemoError("the summary step needs the lm-eval step to run first.")
    ctx.echo("")
    for line in ctx.table.splitlines():
        if line.startswith("|") or not line.strip():
            ctx.echo(line)
    data = json.loads(ctx.results_file.read_text(encoding="utf-8"))
    group = data.get("groups", {}).get(DEMO_SUITE, {})
    value, se = group.get("mtl_composite,none"), group.get("mtl_composite_stderr,none")
    ctx.echo("")
    if isinstance(value, float):
        se_text = f" ± {se:.4f}" if isinstance(se, float) else ""
        ctx.echo(f"      {DEMO_SUITE} composite (chance-normalized, family weights): {value:.4f}{se_text}")
        explain(
            ctx,
            "composite",
            "composite: weighted mean of the tasks' z = (x - chance)/(ceiling - chance): 0 = chance, 1 = ceiling",
        )
        explain(
            ctx,
            "family weights",
            "family weights: each task family weighs the same, shared equally by its tasks; ± is the stderr",
        )
        ctx.echo("      (a random-weight model should land near 0: chance level)")
    else:
        ctx.echo(
            f"      warning: no composite for {DEMO_SUITE} in {ctx.results_file} (is the plugin disabled?)"
        )
    samples = sorted(p.name for p in ctx.run_dir.glob("samples_*.jsonl"))
    ctx.echo(f"      results: {display_path(ctx.results_file)}")
    ctx.echo(f"      samples: {len(samples)} files in {display_path(ctx.run_dir)}")


STEPS: list[DemoStep] = [
    DemoStep("build or reuse a tiny local model", _step_model),
    DemoStep(f"run lm_eval on {DEMO_SUITE}", _step_lm_eval),
    DemoStep("show lm-eval's table and the output", _step_show),
]
"""The demo's steps, in order; append to extend the demo."""


def run_demo(ctx: DemoContext, steps: Sequence[DemoStep] | None = None) -> DemoContext:
    """Run the demo's steps in order.

    Args:
        ctx: Settings; filled in by the steps.
        steps: Steps to run (default :data:`STEPS`).

    Returns:
        ``ctx``, filled in.

    Raises:
        DemoError: A step failed (the message names it).
    """
    from lm_eval_mtl.demo.progress import Ticker

    todo = list(STEPS if steps is None else steps)
    for i, step in enumerate(todo, 1):
        ctx.echo(f"[{i}/{len(todo)}] {step.name} ...")
        ctx.detail, ctx.probe = "", None
        start = time.perf_counter()
        if ctx.status is None:
            step.run(ctx)
        else:
            with Ticker(ctx.status, lambda: ctx.probe() if ctx.probe is not None else ctx.detail):
                step.run(ctx)
        ctx.detail, ctx.probe = "", None
        ctx.timings[step.name] = time.perf_counter() - start
        ctx.echo(f"      done in {ctx.timings[step.name]:.1f} s")
    return ctx

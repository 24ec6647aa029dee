"""Run the real ``lm_eval`` CLI on simulated checkpoints: a base, single-task checkpoints, a multi-task one.

:func:`write_sim_runs` is what ``lm-eval-mtl demo`` and the end-to-end tests use to
produce run folders whose truth is known: each checkpoint is one ``lm_eval
--model mtl-sim --log_samples`` subprocess, and the truth of every answered item
is written beside the results (``sim_truth.jsonl``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lm_eval_mtl.errors import SimRunError

__all__ = ["DEFAULT_CHECKPOINTS", "SimRunError", "SimRuns", "write_sim_runs"]

DEFAULT_CHECKPOINTS: tuple[str, ...] = ("base", "ft_mtl_demo_sentiment", "ft_mtl_demo_arithmetic", "mtl")
"""Checkpoints run by default: the base, two single-task checkpoints and the multi-task one."""

LEDGER_NAME = "sim_truth.jsonl"
"""File (in each checkpoint's output folder) holding the truth of every answered item."""


@dataclass(frozen=True)
class SimRuns:
    """Output folders of the simulated runs."""

    runs: Mapping[str, Path]
    """Checkpoint -> the model folder holding ``results_*.json`` and ``samples_*.jsonl``."""
    base: Path | None
    """The ``base`` checkpoint's folder, if it was run."""
    sources: Mapping[str, Path]
    """Source task -> folder of its ``ft_<task>`` checkpoint (named after the task, for transfer)."""
    mtl: Path | None
    """The ``mtl`` checkpoint's folder, if it was run."""
    ledgers: Mapping[str, Path]
    """Checkpoint -> its ``sim_truth.jsonl``."""
    seed: int
    """Seed of the item parameters (shared by every checkpoint)."""
    commands: Mapping[str, tuple[str, ...]]
    """Checkpoint -> the command line that produced it."""

    def to_dict(self) -> dict[str, Any]:
        """Paths as strings."""
        return {
            "runs": {k: str(v) for k, v in self.runs.items()},
            "base": None if self.base is None else str(self.base),
            "sources": {k: str(v) for k, v in self.sources.items()},
            "mtl": None if self.mtl is None else str(self.mtl),
            "ledgers": {k: str(v) for k, v in self.ledgers.items()},
            "seed": self.seed,
            "commands": {k: list(v) for k, v in self.commands.items()},
        }


def _lm_eval_command() -> list[str]:
    exe = Path(sys.executable).parent / "lm_eval"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("lm_eval")
    if found:
        return [found]
    return [sys.executable, "-m", "lm_eval"]


def _write_sim_runs_iv(
    tasks: Sequence[str],
    checkpoints: Sequence[str],
    seed: int,
    limit: int | float | None,
    profile: str | None,
) -> None:
    if (
        isinstance(tasks, str)
        or not tasks
        or not all(isinstance(t, str) and t and "," not in t for t in tasks)
    ):
        raise ValueError(
            f"`tasks` must be a non-empty sequence of task or group names without commas; got {tasks!r}."
        )
    if isinstance(checkpoints, str) or not checkpoints:
        raise ValueError(
            f"`checkpoints` must be a non-empty sequence of checkpoint names; got {checkpoints!r}."
        )
    for c in checkpoints:
        if not isinstance(c, str) or not c or any(ch in c for ch in ",=/\\ "):
            raise ValueError(f"`checkpoints` entries must be names without ',', '=', '/', spaces; got {c!r}.")
    if len(set(checkpoints)) != len(checkpoints):
        raise ValueError(f"`checkpoints` must be distinct; got {list(checkpoints)}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int; got {seed!r}.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0):
        raise ValueError(
            f"`limit` must be a positive number (count, or fraction < 1) or None; got {limit!r}."
        )
    if profile is not None and ("," in profile or "=" in profile):
        raise ValueError(f"`profile` must be 'demo' or a path without ',' or '='; got {profile!r}.")


def write_sim_runs(
    output_dir: str | Path,
    tasks: Sequence[str] = ("mtl_demo",),
    checkpoints: Sequence[str] = DEFAULT_CHECKPOINTS,
    *,
    seed: int = 0,
    limit: int | float | None = None,
    profile: str | None = None,
    include_path: str | Path | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    timeout: float | None = 600.0,
    max_workers: int | None = None,
) -> SimRuns:
    """Run ``lm_eval --model mtl-sim`` once per checkpoint, with ``--log_samples``.

    Each checkpoint writes to ``<output_dir>/<checkpoint>/`` (lm-eval adds the model
    folder ``sim-<checkpoint>`` inside it) and its item truth to
    ``<output_dir>/<checkpoint>/sim_truth.jsonl``. Requires the start-up hook that
    registers ``mtl-sim`` (``pip install lm-eval-mtl``).

    Args:
        output_dir: Destination folder.
        tasks: Task or group names for ``--tasks``.
        checkpoints: Checkpoints of the profile (``base``, ``ft_<task>``, ``mtl``, explicit rows).
        seed: Seed of the item parameters (shared) and of the draws.
        limit: ``--limit`` (items per task, or a fraction), or None for all.
        profile: ``demo`` (default) or a profile file path.
        include_path: ``--include_path`` for task folders lm-eval does not know.
        extra_args: More ``lm_eval`` arguments (``--batch_size 4`` ...).
        env: Environment for the subprocesses (default: this one).
        progress: Called as ``progress(i, n, checkpoint)`` before each run (i from 0),
            and ``progress(n, n, "done")`` at the end.
        timeout: Seconds allowed per run.
        max_workers: Runs side by side (default: the number of CPUs, at most the number of
            checkpoints). ``progress`` may then be called from worker threads.

    Returns:
        The run folders.

    Raises:
        ValueError: Bad arguments (named).
        SimRunError: A run failed; the message has its command and the end of its output.
    """
    _write_sim_runs_iv(tasks, checkpoints, seed, limit, profile)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Path] = {}
    ledgers: dict[str, Path] = {}
    commands: dict[str, tuple[str, ...]] = {}
    n = len(checkpoints)
    run_env = dict(os.environ if env is None else env)
    for ckpt in checkpoints:
        folder = out / ckpt
        ledger = folder / LEDGER_NAME
        if ledger.exists():
            ledger.unlink()
        model_args = f"model=sim-{ckpt},checkpoint={ckpt},seed={seed},ledger={ledger}"
        if profile is not None:
            model_args += f",profile={profile}"
        cmd = [
            *_lm_eval_command(),
            "--model",
            "mtl-sim",
            "--model_args",
            model_args,
            "--tasks",
            ",".join(tasks),
            "--output_path",
            str(folder),
            "--log_samples",
            "--seed",
            str(seed),
        ]
        if limit is not None:
            cmd += ["--limit", str(limit)]
        if include_path is not None:
            cmd += ["--include_path", str(include_path)]
        cmd += list(extra_args)
        commands[ckpt] = tuple(cmd)
        ledgers[ckpt] = ledger

    def run_one(i: int, ckpt: str) -> Path:
        if progress is not None:
            progress(i, n, ckpt)
        cmd = list(commands[ckpt])
        try:
            proc = subprocess.run(
                cmd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SimRunError(f"`{' '.join(cmd)}` ran past {timeout} s.") from exc
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            hint = ""
            if "mtl-sim" in tail and ("not found" in tail.lower() or "supported model names" in tail.lower()):
                hint = (
                    " lm_eval does not know `mtl-sim`: install lm-eval-mtl (its start-up hook registers it)."
                )
            raise SimRunError(f"`{' '.join(cmd)}` exited with {proc.returncode}.{hint}\n{tail}")
        found = sorted((out / ckpt).rglob("results_*.json"))
        if not found:
            raise SimRunError(f"`{' '.join(cmd)}` wrote no results_*.json under {out / ckpt}.")
        return found[-1].parent

    # Each run is a separate process that mostly waits on lm-eval's start-up (indexing its
    # built-in tasks), so a few run side by side; results do not depend on the order.
    workers = max(1, min(max_workers or (os.cpu_count() or 1), n))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {ckpt: pool.submit(run_one, i, ckpt) for i, ckpt in enumerate(checkpoints)}
        for ckpt in checkpoints:
            runs[ckpt] = futures[ckpt].result()
    if progress is not None:
        progress(n, n, "done")
    sources = {c[3:]: p for c, p in runs.items() if c.startswith("ft_") and len(c) > 3}
    return SimRuns(
        runs=runs,
        base=runs.get("base"),
        sources=sources,
        mtl=runs.get("mtl"),
        ledgers=ledgers,
        seed=seed,
        commands=commands,
    )

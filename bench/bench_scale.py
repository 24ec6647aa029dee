"""Side-by-side scale benchmark of report / compare / transfer / leaderboard against a plain typed decode.

Run:  python bench/bench_scale.py [--out DIR] [--reuse] [--quick] [--n-resamples 10000] [--step-timeout 900]
      [--before SRC]  (SRC: a checkout of an earlier version, run side by side)

One script, one run, every figure measured in the same run. It writes (or, with ``--reuse``, reuses)
``mtl_suite`` runs with ``bench/make_suite_run.py``:

* ``DIR/full``: two models at scale 1.0 (the real item counts); the first is the report's run;
* ``DIR/transfer``: base + 10 checkpoints named ``ft-<task>`` at scale 0.1 (``--source <task>=...``);
* ``DIR/lb<N>``: leaderboard folders of N model runs at scale 0.05 (the largest is written, the smaller
  ones hold symlinks to its first N model folders);

(``--quick``: every scale divided by 10, for a smoke run), then measures each step in a fresh subprocess:
wall time (around the child) and peak RSS of that child alone (``/usr/bin/time -v``, else a small fork+wait4
launcher; see ``measure``):

* ``decode``: a standalone minimal msgspec decode of the same samples files (only ``doc_id``, ``filter``
  and the members' metric fields, typed; orjson when msgspec is missing), summing each metric; run three
  times, the fastest is the baseline (so the files are in the page cache for it as for the steps after);
* ``report`` with an empty cache (``LM_EVAL_MTL_CACHE`` = a fresh folder), then the same report again
  (cache warm); ``compare`` of the two full runs; ``transfer`` with 10 sources + base; ``report`` over the
  leaderboard folders (skipped, with the CLI's message, where the CLI refuses a folder of many runs).

Prints a Markdown table (step, wall, peak RSS, ratios to the decode baseline, target, PASS/FAIL) and writes
it with every figure to ``DIR/bench_scale.json`` and ``DIR/bench_scale.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
SUITE = "mtl_suite"
SOURCES = (
    "sst2",
    "rte",
    "mtl_ag_news",
    "boolq",
    "arc_easy",
    "arc_challenge",
    "triviaqa",
    "hellaswag",
    "winogrande",
    "piqa",
)
MB = 1_000_000
MIB = 2**20


# --------------------------------------------------------------------------- decode baseline (child)


def _decode_main(folders: list[str]) -> int:
    """The baseline: decode every samples file of the folders, typed, only the fields scoring needs."""
    t0 = time.perf_counter()
    files: list[Path] = []
    for f in folders:
        files.extend(sorted(Path(f).glob("samples_*.jsonl")))
    n_records = 0
    n_bytes = 0
    sums: dict[tuple[str, str, str], list[float]] = {}
    try:
        import msgspec

        class Rec(msgspec.Struct):
            doc_id: int
            filter: str = "none"
            acc: float | None = None
            acc_norm: float | None = None
            exact_match: float | None = None
            chrf: list[str] | None = None

        dec = msgspec.json.Decoder(Rec)
        how = f"msgspec {msgspec.__version__}"
        for path in files:
            data = path.read_bytes()
            n_bytes += len(data)
            recs = dec.decode_lines(data)
            del data
            task = path.name[len("samples_") : path.name.rindex("_")]
            for r in recs:
                for name in ("acc", "acc_norm", "exact_match"):
                    v = getattr(r, name)
                    if v is not None:
                        s = sums.setdefault((task, r.filter, name), [0.0, 0.0])
                        s[0] += v
                        s[1] += 1
                if r.chrf is not None:
                    s = sums.setdefault((task, r.filter, "chrf"), [0.0, 0.0])
                    s[0] += len(r.chrf[1])
                    s[1] += 1
            n_records += len(recs)
            del recs
    except ImportError:
        import orjson

        how = f"orjson {orjson.__version__} (msgspec not installed)"
        for path in files:
            task = path.name[len("samples_") : path.name.rindex("_")]
            with path.open("rb") as fh:
                for line in fh:
                    n_bytes += len(line)
                    r = orjson.loads(line)
                    n_records += 1
                    for name in ("acc", "acc_norm", "exact_match"):
                        v = r.get(name)
                        if isinstance(v, (int, float)):
                            s = sums.setdefault((task, r.get("filter", "none"), name), [0.0, 0.0])
                            s[0] += v
                            s[1] += 1
    dt = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "how": how,
                "files": len(files),
                "records": n_records,
                "bytes": n_bytes,
                "metrics": len(sums),
                "seconds_in_child": dt,
            }
        )
    )
    return 0


# --------------------------------------------------------------------------- measuring


@dataclass
class Step:
    name: str
    cmd: list[str]
    rc: int | None = None
    wall_s: float | None = None
    rss_kib: int | None = None
    cpu_s: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    timed_out: bool = False
    skipped: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def rss_mib(self) -> float | None:
        return None if self.rss_kib is None else self.rss_kib * 1024 / MIB

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out and self.skipped is None


def _tail(path: Path, n: int = 1500) -> str:
    data = path.read_bytes()
    return data[-n:].decode("utf-8", errors="replace")


#: Runs argv[1:] as a child of a fresh, small process and writes that child's peak RSS (KiB) to $_BENCH_RSS.
#: Measuring from this (large) benchmark process instead is wrong on Linux: a child's ru_maxrss starts
#: from the RSS it inherits at fork (exec keeps the old mm's high-water mark), and RUSAGE_CHILDREN is the
#: maximum over every child waited for so far.
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "_, status, ru = os.wait4(pid, 0)\n"
    "open(os.environ['_BENCH_RSS'], 'w').write(str(ru.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
TIME_BIN = Path("/usr/bin/time")


def _wrap(cmd: list[str], rss_file: Path) -> tuple[list[str], str]:
    if TIME_BIN.exists():
        return [str(TIME_BIN), "-v", "-o", str(rss_file), *cmd], "/usr/bin/time -v"
    return [sys.executable, "-S", "-c", _LAUNCHER, *cmd], "fork+wait4 launcher"


def _read_rss(rss_file: Path) -> int | None:
    try:
        text = rss_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1].strip())
    text = text.strip()
    return int(text) if text.isdigit() else None


def _read_cpu(rss_file: Path) -> float | None:
    """User + system CPU seconds of the command and its children (``/usr/bin/time -v``), else None."""
    try:
        text = rss_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    got = [
        float(line.rsplit(":", 1)[1])
        for line in text.splitlines()
        if line.strip().startswith(("User time (seconds)", "System time (seconds)"))
    ]
    return sum(got) if len(got) == 2 else None


def measure(name: str, cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 900.0) -> Step:
    """Run ``cmd`` in a fresh process: wall time around it, peak RSS of that process alone.

    The peak RSS comes from ``/usr/bin/time -v`` (or a small fork+wait4 launcher where it is missing),
    which starts the command from a process of a few MiB.
    """
    step = Step(name=name, cmd=cmd)
    with tempfile.TemporaryDirectory(prefix="bench_scale_io_") as tmp:
        out, err, rss_file = Path(tmp) / "out", Path(tmp) / "err", Path(tmp) / "rss"
        wrapped, how = _wrap(cmd, rss_file)
        e = dict(os.environ if env is None else env)
        e["_BENCH_RSS"] = str(rss_file)
        with out.open("wb") as fo, err.open("wb") as fe:
            t0 = time.perf_counter()
            p = subprocess.Popen(wrapped, stdout=fo, stderr=fe, env=e, start_new_session=True)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                step.timed_out = True
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            step.wall_s = time.perf_counter() - t0
        rc = p.returncode
        if how.startswith("/usr/bin/time") and not step.timed_out:
            text = rss_file.read_text(encoding="utf-8", errors="replace") if rss_file.exists() else ""
            for line in text.splitlines():  # time exits with the command's status; a signal is reported here
                if "Exit status:" in line:
                    rc = int(line.rsplit(":", 1)[1].strip())
        step.rc = rc
        step.rss_kib = _read_rss(rss_file)
        step.cpu_s = _read_cpu(rss_file)
        step.info["rss_by"] = how
        step.stdout_tail = _tail(out)
        step.stderr_tail = _tail(err)
    return step


# --------------------------------------------------------------------------- data


def _load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_suite_run", HERE / "make_suite_run.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_suite_run"] = mod
    spec.loader.exec_module(mod)
    return mod


def _ensure(
    mod: ModuleType, out: Path, *, scale: float, names: list[str], seed: int, reuse: bool
) -> dict[str, Any]:
    marker = out / mod.MARKER
    want_names = [n if "/" in n else f"synth/{n}" for n in names]
    if reuse and marker.is_file():
        m = json.loads(marker.read_text(encoding="utf-8"))
        if m.get("scale") == scale and m.get("models") == want_names and m.get("seed") == seed:
            print(
                f"  reuse {out} ({len(names)} model(s), scale {scale}, {m['n_records']} records, "
                f"{m['n_bytes'] / MIB:.0f} MiB)",
                flush=True,
            )
            return {"reused": True, **m}
        print(f"  {out}: marker differs (scale/models/seed); writing again", flush=True)
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    s = mod.make_suite_run(out, scale=scale, model_names=names, seed=seed)
    dt = time.perf_counter() - t0
    print(
        f"  wrote {out}: {len(s.folders)} model(s), scale {scale}, {s.n_records} records, "
        f"{s.n_bytes / MIB:.0f} MiB in {dt:.0f} s",
        flush=True,
    )
    return {"reused": False, "n_records": s.n_records, "n_bytes": s.n_bytes, "seconds": dt}


def _link_subset(big: Path, small: Path, n: int) -> None:
    if small.exists():
        shutil.rmtree(small)
    small.mkdir(parents=True)
    models = sorted(p for p in big.iterdir() if p.is_dir())[:n]
    for m in models:
        (small / m.name).symlink_to(m.resolve(), target_is_directory=True)


# --------------------------------------------------------------------------- main


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "lm-eval-mtl"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("lm-eval-mtl")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from lm_eval_mtl.cli.main import main; sys.exit(main())"]


def _fmt(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--_decode":
        return _decode_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="bench_scale_out", help="where the runs and results go")
    ap.add_argument(
        "--reuse", action="store_true", help="reuse runs already written with the same parameters"
    )
    ap.add_argument("--quick", action="store_true", help="every scale divided by 10 (smoke run)")
    ap.add_argument("--n-resamples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lb-sizes", default="50,200", help="leaderboard sizes N (comma-separated)")
    ap.add_argument("--step-timeout", type=float, default=900.0, help="seconds before a step is killed")
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="a checkout of an earlier version (its folder, put on PYTHONPATH): each report, compare "
        "and transfer step also runs with it, right after the current one (side by side, same load)",
    )
    args = ap.parse_args(argv)

    div = 10.0 if args.quick else 1.0
    s_full, s_transfer, s_lb = 1.0 / div, 0.1 / div, 0.05 / div
    lb_sizes = sorted({int(x) for x in args.lb_sizes.split(",") if x.strip()})
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    outputs = out / "outputs"
    outputs.mkdir(exist_ok=True)
    B = str(args.n_resamples)
    cli = _cli()
    load = os.getloadavg()
    print(
        f"bench_scale: out={out} quick={args.quick} scales full={s_full} transfer={s_transfer} "
        f"leaderboard={s_lb} N={lb_sizes} B={B}; {os.cpu_count()} CPUs, load {load[0]:.1f}",
        flush=True,
    )

    # ---- data
    print("[data]", flush=True)
    mod = _load_maker()
    data: dict[str, Any] = {}
    data["full"] = _ensure(
        mod, out / "full", scale=s_full, names=["model-000", "model-001"], seed=args.seed, reuse=args.reuse
    )
    tnames = ["base"] + [f"ft-{s}" for s in SOURCES]
    data["transfer"] = _ensure(
        mod, out / "transfer", scale=s_transfer, names=tnames, seed=args.seed, reuse=args.reuse
    )
    n_max = max(lb_sizes)
    width = max(3, len(str(n_max - 1)))
    lb_big = out / f"lb{n_max}"
    data[f"lb{n_max}"] = _ensure(
        mod,
        lb_big,
        scale=s_lb,
        names=[f"model-{i:0{width}d}" for i in range(n_max)],
        seed=args.seed,
        reuse=args.reuse,
    )
    for n in lb_sizes:
        if n != n_max:
            _link_subset(lb_big, out / f"lb{n}", n)
    run_a = out / "full" / "synth__model-000"
    run_b = out / "full" / "synth__model-001"
    t_base = out / "transfer" / "synth__base"
    t_sources = {s: out / "transfer" / f"synth__ft-{s}" for s in SOURCES}

    # ---- steps
    def env_with(cache: Path) -> dict[str, str]:
        e = dict(os.environ)
        e["LM_EVAL_MTL_CACHE"] = str(cache)
        return e

    # the caches live beside the data (as a user's ~/.cache does), not in the system's temp folder:
    # creating a file there can cost 50x more on some machines (0.25-0.85 ms against 15-20 us)
    caches = Path(tempfile.mkdtemp(prefix="bench_scale_cache_", dir=out))
    decode = [sys.executable, str(Path(__file__).resolve()), "--_decode"]
    steps: dict[str, Step] = {}
    rows: list[dict[str, Any]] = []

    def run(key: str, label: str, cmd: list[str], env: dict[str, str] | None = None) -> Step:
        print(f"[{key}] {label}: {' '.join(cmd[:3])} ...", flush=True)
        st = measure(label, cmd, env=env, timeout=args.step_timeout)
        steps[key] = st
        if st.rc == 0 and key.startswith("decode"):
            try:
                st.info.update(json.loads(st.stdout_tail.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                pass
        state = "timed out" if st.timed_out else f"rc {st.rc}"
        print(
            f"      {state}, {_fmt(st.wall_s)} s, CPU {_fmt(st.cpu_s)} s, {_fmt(st.rss_mib, 0)} MiB",
            flush=True,
        )
        if st.rc not in (0, None) or st.timed_out:
            print(
                "      stderr: " + st.stderr_tail.strip().replace("\n", "\n              ")[-800:], flush=True
            )
        return st

    def baseline(key: str, label: str, cmd: list[str]) -> None:
        """The decode baseline, run three times; the fastest run is the baseline (files in the page cache)."""
        tries = [run(key, f"{label} (run {i + 1} of 3)", cmd) for i in range(3)]
        ok = [t for t in tries if t.rc == 0 and t.wall_s is not None]
        best = min(ok, key=lambda t: t.wall_s or 0.0) if ok else tries[-1]
        best.name = label
        best.info["walls_s"] = [t.wall_s for t in tries]
        steps[key] = best

    def twice(key: str, label: str, cmd: list[str], cache: Path, out_name: str) -> None:
        """The step with this checkout, then (``--before``) with the earlier one, on its own cache."""
        cache.mkdir(exist_ok=True)
        run(key, label, [*cmd, "--output", str(outputs / f"{out_name}.json")], env_with(cache))
        if args.before:
            e = env_with(cache.with_name(cache.name + "-before"))
            Path(e["LM_EVAL_MTL_CACHE"]).mkdir(exist_ok=True)
            e["PYTHONPATH"] = str(Path(args.before).resolve())
            run(
                f"{key}_before",
                f"{label} [before]",
                [*cmd, "--output", str(outputs / f"{out_name}_before.json")],
                e,
            )

    report_args = ["--suite", SUITE, "--n-resamples", B, "--format", "json"]
    baseline("decode_a", "decode (full run A)", decode + [str(run_a)])
    rcmd = cli + ["report", str(run_a), *report_args]
    twice("report_cold", "report (cache empty)", rcmd, caches / "report", "report_cold")
    twice("report_warm", "report again (cache warm)", rcmd, caches / "report", "report_warm")
    baseline("decode_ab", "decode (full runs A + B)", decode + [str(run_a), str(run_b)])
    ccmd = cli + ["compare", str(run_a), str(run_b), *report_args]
    twice("compare", "compare A B", ccmd, caches / "compare", "compare")
    baseline(
        "decode_11",
        "decode (11 transfer runs)",
        decode + [str(t_base), *(str(p) for p in t_sources.values())],
    )
    tcmd = cli + ["transfer", "--base", str(t_base)]
    for s, p in t_sources.items():
        tcmd += ["--source", f"{s}={p}"]
    twice("transfer", "transfer (10 sources + base)", tcmd + report_args, caches / "transfer", "transfer")
    for n in lb_sizes:
        (caches / f"lb{n}").mkdir()
        st = run(
            f"lb{n}",
            f"report leaderboard N={n}",
            cli + ["report", str(out / f"lb{n}"), *report_args, "--output", str(outputs / f"lb{n}.json")],
            env_with(caches / f"lb{n}"),
        )
        if st.rc == 2 and not st.timed_out:
            msg = st.stderr_tail.strip().splitlines()[-1] if st.stderr_tail.strip() else "exit status 2"
            st.skipped = f"the CLI refuses a folder of {n} runs: {msg[:300]}"
            print(f"      SKIP: {st.skipped}", flush=True)
    shutil.rmtree(caches, ignore_errors=True)

    # ---- table
    def ratio(a: Step, b: Step, what: str) -> float | None:
        if not (a.ok and b.ok):
            return None
        x, y = (a.wall_s, b.wall_s) if what == "wall" else (a.rss_kib, b.rss_kib)
        return None if not x or not y else float(x) / float(y)

    def verdict(st: Step, cond: bool | None) -> str:
        if st.skipped:
            return "SKIP"
        if st.timed_out:
            return "FAIL (timeout)"
        if st.rc != 0:
            return f"FAIL (rc {st.rc})"
        if cond is None:
            return "-"
        return "PASS" if cond else "FAIL"

    def row(key: str, base: str | None, target: str, cond: Any) -> None:
        _row(key, base, target, cond)
        if f"{key}_before" in steps:
            _row(f"{key}_before", base, "(earlier version, same run)", None)

    def _row(key: str, base: str | None, target: str, cond: Any) -> None:
        st = steps[key]
        rw = ratio(st, steps[base], "wall") if base else None
        rr = ratio(st, steps[base], "rss") if base else None
        ok = None
        if st.ok and cond is not None:
            ok = bool(cond(st, rw, rr))
        rows.append(
            {
                "step": st.name,
                "wall_s": st.wall_s,
                "cpu_s": st.cpu_s,
                "rss_mib": st.rss_mib,
                "wall_ratio": rw,
                "rss_ratio": rr,
                "baseline": steps[base].name if base else None,
                "target": target,
                "result": verdict(st, ok),
                "rc": st.rc,
                "skipped": st.skipped,
            }
        )

    row("decode_a", None, "baseline", None)
    row(
        "report_cold",
        "decode_a",
        "<= 2x decode wall, <= 250 MB RSS",
        lambda st, rw, rr: rw is not None and rw <= 2.0 and st.rss_kib * 1024 <= 250 * MB,
    )
    row("report_warm", "decode_a", "<= 0.5x decode wall", lambda st, rw, rr: rw is not None and rw <= 0.5)
    row("decode_ab", None, "baseline", None)
    row("compare", "decode_ab", "<= 2x decode (both) wall", lambda st, rw, rr: rw is not None and rw <= 2.0)
    row("decode_11", None, "baseline", None)
    row(
        "transfer",
        "decode_11",
        "<= 2x decode (11 runs) wall",
        lambda st, rw, rr: rw is not None and rw <= 2.0,
    )
    small = f"lb{min(lb_sizes)}"
    for n in lb_sizes:
        key = f"lb{n}"
        if key == small:
            row(key, None, "RSS reference for N", None)
        else:
            st, ref = steps[key], steps[small]
            rr = ratio(st, ref, "rss")
            ok = None if not (st.ok and ref.ok) else (rr is not None and rr <= 1.25)
            rows.append(
                {
                    "step": st.name,
                    "wall_s": st.wall_s,
                    "cpu_s": st.cpu_s,
                    "rss_mib": st.rss_mib,
                    "wall_ratio": ratio(st, ref, "wall"),
                    "rss_ratio": rr,
                    "baseline": ref.name,
                    "target": f"RSS independent of N (<= 1.25x N={min(lb_sizes)})",
                    "result": "SKIP" if (st.skipped or ref.skipped) else verdict(st, ok),
                    "rc": st.rc,
                    "skipped": st.skipped or ref.skipped,
                }
            )

    lines = [
        "| step | wall s | CPU s | peak RSS MiB | wall ratio | RSS ratio | ratio to | target | result |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['step']} | {_fmt(r['wall_s'])} | {_fmt(r.get('cpu_s'))} | {_fmt(r['rss_mib'], 0)} | "
            f"{_fmt(r['wall_ratio'])}{'x' if r['wall_ratio'] is not None else ''} | "
            f"{_fmt(r['rss_ratio'])}{'x' if r['rss_ratio'] is not None else ''} | {r['baseline'] or '-'} | "
            f"{r['target']} | {r['result']} |"
        )
    notes = []
    for key in ("decode_a", "decode_ab", "decode_11"):
        i = steps[key].info
        if "files" in i:
            notes.append(
                f"{steps[key].name}: {i.get('files')} files, {i.get('records')} records, "
                f"{i.get('bytes', 0) / MIB:.0f} MiB ({i.get('how')})"
            )
    for st in steps.values():
        if st.skipped:
            notes.append(f"{st.name}: skipped; {st.skipped}")
        elif st.timed_out:
            notes.append(f"{st.name}: killed after {args.step_timeout:.0f} s")
        elif st.rc != 0:
            notes.append(
                f"{st.name}: exit {st.rc}: {st.stderr_tail.strip().splitlines()[-1][:300] if st.stderr_tail.strip() else ''}"
            )
    load2 = os.getloadavg()
    rss_by = next((st.info.get("rss_by") for st in steps.values() if st.info.get("rss_by")), "?")
    header = (
        f"mtl_suite scale benchmark (quick={args.quick}; full scale {s_full}, transfer {s_transfer}, "
        f"leaderboard {s_lb}; B={B}; {os.cpu_count()} CPUs, load {load[0]:.1f} -> {load2[0]:.1f}; "
        f"wall around each fresh subprocess, peak RSS by {rss_by})"
    )
    text = header + "\n\n" + "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print()
    print(text)
    (out / "bench_scale.md").write_text(text, encoding="utf-8")
    (out / "bench_scale.json").write_text(
        json.dumps(
            {
                "header": header,
                "rows": rows,
                "data": data,
                "steps": {k: {**asdict(v), "rss_mib": v.rss_mib} for k, v in steps.items()},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

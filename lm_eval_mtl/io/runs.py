"""Run folders: one model's ``results_<timestamp>.json`` files, and the model folders of an output folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lm_eval_mtl.errors import ResultsFormatError, unknown_name
from lm_eval_mtl.io.files import file_kind
from lm_eval_mtl.io.names import RESULTS_NAME as _RESULTS_NAME
from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.io.results_file import read_results_file

__all__ = ["ModelFolder", "find_model_runs", "find_runs", "load_run"]


_RUN_WHAT = "a results_*.json file or a run folder"


def _list_folder(folder: Path) -> list[Path]:
    """List the entries of ``folder``, or an error naming it when it cannot be listed."""
    try:
        return list(folder.iterdir())
    except PermissionError:
        raise ResultsFormatError(
            f"{folder}: permission denied (cannot list the folder); expected {_RUN_WHAT}."
        ) from None
    except OSError as err:
        raise ResultsFormatError(
            f"{folder}: cannot be listed ({err.strerror or err}); expected {_RUN_WHAT}."
        ) from None


def _results_files(folder: Path) -> list[Path]:
    """``results_<ts>.json`` files of a folder, oldest first.

    Raises:
        ResultsFormatError: The folder cannot be listed, or an entry named like a results file is
            not a regular file (a FIFO, a device: reading it would block or never end).
    """
    found = []
    for f in _list_folder(folder):
        if not _RESULTS_NAME.match(f.name) or f.is_dir():
            continue
        kind = file_kind(f)
        if kind is not None:
            raise ResultsFormatError(
                f"{f} is {kind}, not a regular file; expected an lm-eval results JSON file."
            )
        if f.is_file():
            found.append(f)
    return sorted(found, key=lambda f: _RESULTS_NAME.match(f.name).group("ts"))  # type: ignore[union-attr]


def load_run(path: str | Path, *, run: str | None = None) -> RunResult:
    """Read one model's run from a results JSON file or a folder holding them.

    Args:
        path: ``results_*.json`` file, or a folder (``runs/ORG__MODEL``) with one or more.
            An ``--output_path`` folder holding exactly one model folder is accepted too.
        run: With a folder holding several runs, the timestamp (or file name, or a
            unique prefix of either) to use; default: the latest. The chosen file is
            :attr:`RunResult.path`; the others are :attr:`RunResult.other_runs`.

    Raises:
        ResultsFormatError: Unreadable, truncated or not an lm-eval results file.
        FileNotFoundError: ``path`` does not exist or holds no results file.
        UnknownNameError: ``run`` matches none of the folder's runs (close matches listed).
    """
    p = Path(path)
    kind = file_kind(p)
    if kind is not None:
        raise ResultsFormatError(f"{p} is {kind}, not a regular file or a folder; expected {_RUN_WHAT}.")
    if not p.exists():
        raise FileNotFoundError(f"`path` {p} does not exist; expected a results_*.json file or a run folder.")
    if p.is_file():
        if run is not None:
            raise ValueError(f"`run` selects among a folder's runs; got run={run!r} with the file {p}.")
        siblings = tuple(f for f in _results_files(p.parent) if f != p) if _RESULTS_NAME.match(p.name) else ()
        return _with_others(read_results_file(p), siblings)
    files = _results_files(p)
    if not files:
        models = find_runs(p)
        if len(models) == 1:
            return load_run(models[0], run=run)
        if models:
            names = ", ".join(str(m.relative_to(p)) for m in models[:10])
            more = f" and {len(models) - 10} more" if len(models) > 10 else ""
            raise FileNotFoundError(
                f"{p} holds no results_*.json itself but runs of {len(models)} models: {names}{more}. "
                "Pass one model's folder."
            )
        packed = sorted(
            f.name for f in _list_folder(p) if f.name.startswith("results_") and f.name.endswith(".gz")
        )
        if packed:
            raise ResultsFormatError(
                f"{p} holds only gzip-compressed results ({packed[0]}); expected results_<timestamp>.json as "
                "plain JSON: decompress it first (gunzip -k)."
            )
        raise FileNotFoundError(
            f"{p} holds no lm-eval results file (results_<timestamp>.json); run lm_eval with --output_path."
        )
    chosen = files[-1] if run is None else _pick_run(p, files, run)
    return _with_others(read_results_file(chosen), tuple(f for f in files if f != chosen))


def _pick_run(folder: Path, files: list[Path], run: str) -> Path:
    stamps = {_RESULTS_NAME.match(f.name).group("ts"): f for f in files}  # type: ignore[union-attr]
    for ts, f in stamps.items():
        if run in (ts, f.name, f"results_{ts}"):
            return f
    hits = [f for ts, f in stamps.items() if ts.startswith(run) or f.name.startswith(run)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ValueError(
            f"`run` {run!r} matches {len(hits)} runs in {folder}: {', '.join(f.name for f in hits)}; give more of the timestamp."
        )
    raise unknown_name(f"run in {folder}", run, tuple(stamps))


def _with_others(result: RunResult, others: tuple[Path, ...]) -> RunResult:
    if not others:
        return result
    from dataclasses import replace

    return replace(result, other_runs=others, _cache={})


def find_runs(path: str | Path) -> tuple[Path, ...]:
    """Model folders (each holding ``results_*.json``) under an output folder, sorted.

    ``path`` itself is included when it holds results files.

    Raises:
        FileNotFoundError: ``path`` is not a folder.
    """
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"`path` {p} is not a folder.")

    def refuse(err: OSError) -> None:  # os.walk skips unreadable folders silently otherwise
        where = err.filename or p
        why = "permission denied" if isinstance(err, PermissionError) else (err.strerror or str(err))
        raise ResultsFormatError(f"{where}: {why} (cannot list the folder); expected run folders under {p}.")

    found: set[Path] = set()
    for root, _dirs, files in os.walk(p, onerror=refuse, followlinks=True):
        if any(_RESULTS_NAME.match(f) for f in files):
            found.add(Path(root))
    return tuple(sorted(found))


@dataclass(frozen=True)
class ModelFolder:
    """One model's run folder under an output folder, and the results file that is scored."""

    folder: Path
    """The model's folder (``OUT/<model_name_sanitized>``)."""
    name: str
    """The folder relative to the output folder, with ``/`` separators (``org__model``)."""
    results: Path
    """The latest ``results_<timestamp>.json`` of the folder (by the timestamp in its name)."""
    other_runs: tuple[Path, ...] = ()
    """The folder's older results files, oldest first: listed, not scored."""


def find_model_runs(path: str | Path) -> tuple[ModelFolder, ...]:
    """List the model folders of an ``--output_path`` folder, each with the results file to score.

    Every folder under ``path`` that holds ``results_<timestamp>.json`` files is one model
    (:func:`find_runs`); of its results files the latest by timestamp is used and the others
    are listed in :attr:`ModelFolder.other_runs`, the rule :func:`load_run` applies to one
    folder. A ``path`` that is not a folder, or that holds results files itself (a single
    run, read with :func:`load_run`), gives ``()``.

    Args:
        path: An ``lm_eval --output_path`` folder.

    Returns:
        The model folders, sorted by path.

    Raises:
        ResultsFormatError: A folder cannot be listed, or an entry named like a results file is
            not a regular file.
    """
    p = Path(path)
    if file_kind(p) is not None or not p.is_dir() or _results_files(p):
        return ()
    out: list[ModelFolder] = []
    for folder in find_runs(p):
        files = _results_files(folder)
        if files:
            out.append(ModelFolder(folder, folder.relative_to(p).as_posix(), files[-1], tuple(files[:-1])))
    return tuple(out)

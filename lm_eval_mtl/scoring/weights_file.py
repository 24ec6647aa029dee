"""Reading and writing frozen, versioned weights files: shipped ones by id, any other by path.

A weights file is plain JSON (parsed safely, never executed); what it holds is
:mod:`lm_eval_mtl.scoring.weights_model` and how its JSON is checked is
:mod:`lm_eval_mtl.scoring.weights_schema`. Every public name of those modules is
importable from here too.

Shipped files live in the package folder ``lm_eval_mtl/weights/`` and are
addressed by id (``redundancy-openllm_v1``): a shipped id always means the shipped
file, even when the working folder holds a file of that name. Any other file is
given as a path, i.e. an argument that contains a path separator or ends in
``.json`` (or a :class:`~pathlib.Path`); a bare name that is not a shipped id is an
unknown name (close ids listed), never looked up in the working folder.

:func:`save_weights` writes the :attr:`WeightsFile.sha256` of the content into the
file as ``content_sha256``, and :func:`load_weights` recomputes it: a file edited after
it was written (its weights, or anything else its percentile tables and citation
depend on) is refused. A file without the field (written before it existed) is accepted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from lm_eval_mtl.errors import WeightsFormatError, unknown_name
from lm_eval_mtl.scoring.weights_model import (
    FORMAT_VERSION,
    Normalization,
    PercentileTable,
    PopulationProvenance,
    WeightsFile,
    check_compatible,
    percentile,
)
from lm_eval_mtl.scoring.weights_schema import (
    HASH_FIELD,
    _check_hash,
    _from_dict,
    _reject_constant,
    _validate,
)

__all__ = [
    "FORMAT_VERSION",
    "Normalization",
    "PercentileTable",
    "PopulationProvenance",
    "WeightsFile",
    "WeightsFormatError",
    "check_compatible",
    "list_shipped_weights",
    "load_weights",
    "percentile",
    "save_weights",
    "shipped_weights_dir",
]


# ------------------------------------------------------------------ files


def shipped_weights_dir() -> Path:
    """Return the package folder holding the shipped weights files."""
    from importlib.resources import files

    return Path(str(files("lm_eval_mtl"))) / "weights"


def list_shipped_weights() -> tuple[str, ...]:
    """Ids of the shipped weights files, sorted."""
    root = shipped_weights_dir()
    if not root.is_dir():
        return ()
    return tuple(sorted(p.stem for p in root.glob("*.json")))


def save_weights(wf: WeightsFile, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Write ``wf`` as indented JSON (NaN as null), with its ``content_sha256``, and return the path.

    The write is atomic (:func:`lm_eval_mtl.io.atomic.atomic_write_text`): a reader sees
    the old file or the whole new one; a failed write leaves the old file intact.

    Args:
        wf: The weights file.
        path: Where to write it (a missing folder is created).
        inputs: Files the fit read (the panel); ``path`` may not be one of them.

    Raises:
        WeightsFormatError: ``wf`` fails the checks :func:`load_weights` applies.
        OutputPathError: ``path`` is one of ``inputs`` or a folder, or the write failed.
    """
    from lm_eval_mtl.io.atomic import atomic_write_text

    data = wf.to_dict()
    _validate(data, where=str(path))  # never write a file we would refuse to read
    data[HASH_FIELD] = wf.sha256
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(path, text, inputs=inputs)


def load_weights(name_or_path: str | Path) -> WeightsFile:
    """Load a shipped weights file by id, or any weights file by path.

    A string that is a shipped id always loads the shipped file (a file of that name in
    the working folder is not consulted); a path is a :class:`~pathlib.Path`, or a string
    that contains a path separator or ends in ``.json`` (write ``./name`` for a file
    without the suffix); any other string is an unknown name.

    Args:
        name_or_path: A shipped id (``redundancy-openllm_v1``) or a path to a JSON file.

    Returns:
        The weights file.

    Raises:
        UnknownNameError: Not a shipped id and not a path, or a path to no file (close
            ids listed).
        WeightsFormatError: Not valid JSON (truncated or malformed; position given),
            missing or mistyped fields, weights negative, non-finite or not summing to 1;
            or a ``content_sha256`` that does not match the content (an edited file).
    """
    text_name = str(name_or_path)
    shipped = list_shipped_weights()
    is_path = (
        isinstance(name_or_path, Path)
        or text_name.endswith(".json")
        or "/" in text_name
        or "\\" in text_name
        or (os.sep in text_name)
        or (os.altsep is not None and os.altsep in text_name)
    )
    if not isinstance(name_or_path, Path) and text_name in shipped:
        path = shipped_weights_dir() / f"{text_name}.json"
    elif is_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise unknown_name("weights file or shipped weights id", text_name, shipped)
    else:
        raise unknown_name("weights id", text_name, shipped)
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise WeightsFormatError(f"weights file {path} is not UTF-8 text: {err}.") from None
    except json.JSONDecodeError as err:
        raise WeightsFormatError(
            f"weights file {path} is not valid JSON (truncated or malformed?): {err.msg} at line "
            f"{err.lineno}, column {err.colno}."
        ) from None
    wf = _from_dict(data, where=str(path))
    _check_hash(data, wf, str(path))
    return wf

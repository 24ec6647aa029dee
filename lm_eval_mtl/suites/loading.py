"""Finding and loading the suite specs shipped in (or next to) the package's task configs."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lm_eval_mtl.errors import unknown_name
from lm_eval_mtl.suites.spec import SuiteSpec

__all__ = ["list_suites", "load_suite", "load_suites", "task_config_dir"]


def task_config_dir() -> Path:
    """Return the folder holding the shipped lm-eval task configs.

    In a built wheel the configs live at ``lm_eval_mtl/task_configs``; in a
    source checkout (editable install) they live at ``<repo>/task_configs``.
    """
    from importlib.resources import files

    packaged = Path(str(files("lm_eval_mtl"))) / "task_configs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "task_configs"


def _iter_group_yaml(root: Path) -> Iterator[tuple[str, Mapping[str, Any], Path]]:
    import yaml

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[valid-type,misc]
        """Safe loader that tolerates lm-eval's ``!function`` tags."""

    def _ignore(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
        return None

    _Loader.add_multi_constructor("!", _ignore)
    for path in sorted(root.rglob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            head = fh.read(4096)
            if "group:" not in head and "group :" not in head:
                continue
            fh.seek(0)
            data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
        if isinstance(data, Mapping) and isinstance(data.get("group"), str):
            meta = data.get("metadata")
            if isinstance(meta, Mapping) and "mtl" in meta:
                yield data["group"], meta, path


@functools.lru_cache(maxsize=16)
def _index(root: Path) -> dict[str, tuple[Mapping[str, Any], Path]]:
    """Group name -> (metadata, file) for every spec-carrying group under ``root`` (cached).

    Parsed once per set of files: the parsed index is kept in the samples cache, keyed by
    every YAML file's path, size and modification time (a changed or added file re-parses).
    """
    from lm_eval_mtl.io.memo import cached_object

    files = sorted(root.rglob("*.yaml"))
    ident: list[str] = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return {g: (meta, path) for g, meta, path in _iter_group_yaml(root)}
        ident.append(f"{f}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}")

    def parse() -> list[list[Any]]:
        return [[g, meta, str(path)] for g, meta, path in _iter_group_yaml(root)]

    rows = cached_object("suite-index", [str(root), *ident], parse)
    return {g: (meta, Path(path)) for g, meta, path in rows}


def list_suites(root: Path | None = None) -> tuple[str, ...]:
    """Names of every group under ``root`` (default: the shipped configs) that carries a spec."""
    return tuple(sorted(_index((root or task_config_dir()).resolve())))


def load_suites(root: Path | None = None) -> tuple[SuiteSpec, ...]:
    """Every suite and family spec under ``root`` (default: the shipped configs), sorted by name.

    Raises:
        SuiteSpecError: A group's spec is malformed.
    """
    found = _index((root or task_config_dir()).resolve())
    return tuple(
        SuiteSpec.from_metadata(name, meta, source=path) for name, (meta, path) in sorted(found.items())
    )


def load_suite(name: str, root: Path | None = None) -> SuiteSpec:
    """Load a suite (or family) spec by group name from the shipped configs.

    Args:
        name: Group name, e.g. ``mtl_suite``.
        root: Folder to search instead of the shipped configs.

    Returns:
        The parsed spec.

    Raises:
        UnknownNameError: No group of that name carries a spec (close matches listed).
        SuiteSpecError: The group's spec is malformed.

    The folder's index is cached per path for the life of the process.
    """
    found = _index((root or task_config_dir()).resolve())
    if name not in found:
        raise unknown_name("suite", name, tuple(found))
    meta, path = found[name]
    return SuiteSpec.from_metadata(name, meta, source=path)

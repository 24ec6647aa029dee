"""Simulation profiles: the planted truth of a family of simulated checkpoints.

A profile says, per task, the base model's ability and how its items are made
(difficulty, discrimination, guessing floor), how abilities co-vary across a
population of models (factor loadings), and how each checkpoint moves the
abilities (the planted transfer matrix). Profiles are read from YAML or JSON
with a safe parser and validated once; errors name the field.

File format (every field optional unless marked)::

    schema: 1
    name: my_profile
    coupling: 0.5            # in [0, 1]: correlation of the item draws of two
                             # checkpoints of one seed (0: independent, 1: same uniform)
    default:                 # parameters of any task not listed under `tasks`
      ability: 0.0           # theta of the base checkpoint
      difficulty_mean: 0.0   # items' b ~ Normal(difficulty_mean, difficulty_sd)
      difficulty_sd: 1.0
      discrimination: 1.0    # items' a = discrimination * exp(discrimination_sd * N(0, 1))
      discrimination_sd: 0.25
      guess: null            # floor of P(correct); null: 1/k for k-way multiple choice, 0 otherwise
      loading: 0.6           # loading on the common factor of a model population
      family: null           # family used by the transfer rules (null: the task's own name)
      answer_format: "{target}"   # what a correct generation returns
    tasks:
      sst2: {ability: 1.0, family: classification}
    population:
      unique_sd: 0.5         # sd of a population member's task-specific deviation
    transfer_rules:          # rows for checkpoints not listed under `transfer`
      in_task: 1.0           # ft_<task>: gain on <task>
      same_family: 0.4       # ft_<task>: gain on the other tasks of its family
      multitask: 0.7         # `mtl` checkpoint: gain on every task
    transfer:                # explicit rows: checkpoint -> task -> change of theta
      ft_sst2: {sst2: 1.2, rte: -0.3}

The checkpoint ``base`` never moves (its row is zero unless given).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lm_eval_mtl.errors import SimProfileError, unknown_name

__all__ = [
    "PRESETS",
    "SimProfile",
    "SimProfileError",
    "TaskTruth",
    "TransferRules",
    "builtin_profile",
    "load_profile",
    "parse_profile",
]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TaskTruth:
    """Planted parameters of one task."""

    ability: float = 0.0
    """theta of the base checkpoint on the task."""
    difficulty_mean: float = 0.0
    """Mean of the items' difficulties b."""
    difficulty_sd: float = 1.0
    """Standard deviation of the items' difficulties (>= 0)."""
    discrimination: float = 1.0
    """Median of the items' discriminations a (> 0)."""
    discrimination_sd: float = 0.25
    """Standard deviation of log a (>= 0)."""
    guess: float | None = None
    """Floor of P(correct) in [0, 1); None: 1/k for k-way multiple choice, 0 otherwise."""
    loading: float = 0.6
    """Loading on the common factor when a population member is drawn."""
    family: str | None = None
    """Family for the transfer rules; None: the task's own name."""
    answer_format: str = "{target}"
    """Template of a correct generation; ``{target}`` is the gold answer."""


@dataclass(frozen=True)
class TransferRules:
    """Rows of the transfer matrix for checkpoints not listed explicitly."""

    in_task: float = 1.0
    """``ft_<task>``: change of theta on ``<task>``."""
    same_family: float = 0.4
    """``ft_<task>``: change on every other task of the same family."""
    multitask: float = 0.7
    """``mtl``: change on every task."""


@dataclass(frozen=True)
class SimProfile:
    """A validated simulation profile."""

    name: str = "custom"
    """Name, for provenance."""
    default: TaskTruth = field(default_factory=TaskTruth)
    """Parameters of tasks not listed."""
    tasks: Mapping[str, TaskTruth] = field(default_factory=dict)
    """Per-task parameters."""
    coupling: float = 0.5
    """Correlation in [0, 1] of the latent item draws of two checkpoints of one seed."""
    unique_sd: float = 0.5
    """Sd of a population member's task-specific deviation."""
    rules: TransferRules = field(default_factory=TransferRules)
    """Transfer rows for unlisted checkpoints."""
    transfer: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Explicit transfer rows: checkpoint -> task -> change of theta."""

    def task(self, name: str) -> TaskTruth:
        """Return the task's parameters (the default for an unlisted task)."""
        return self.tasks.get(name, self.default)

    def family(self, name: str) -> str:
        """Return the task's family for the transfer rules."""
        fam = self.task(name).family
        return fam if fam is not None else name

    def delta(self, checkpoint: str, task: str) -> float:
        """Planted change of theta on ``task`` for ``checkpoint`` (0 for ``base``).

        Explicit rows win; otherwise ``mtl`` gets ``rules.multitask`` on every task and
        ``ft_<source>`` gets ``rules.in_task`` on the source, ``rules.same_family`` on
        the source's family and 0 elsewhere; any other name gets 0.
        """
        row = self.transfer.get(checkpoint)
        if row is not None:
            return float(row.get(task, 0.0))
        if checkpoint == "mtl":
            return self.rules.multitask
        if checkpoint.startswith("ft_"):
            source = checkpoint[3:]
            if task == source:
                return self.rules.in_task
            if self.family(task) == self.family(source):
                return self.rules.same_family
        return 0.0

    def checkpoint_is_known(self, checkpoint: str) -> bool:
        """Whether the checkpoint name has a planted row (explicit, rule-based or ``base``)."""
        return (
            checkpoint in self.transfer
            or checkpoint in ("base", "mtl")
            or (checkpoint.startswith("ft_") and len(checkpoint) > 3)
        )


# ----------------------------------------------------------------------------- parsing

_TASK_FIELDS = {f for f in TaskTruth.__dataclass_fields__}
_TOP_FIELDS = {"schema", "name", "coupling", "default", "tasks", "population", "transfer_rules", "transfer"}


def _num(
    where: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise SimProfileError(f"`{where}` must be a finite number; got {value!r}.")
    x = float(value)
    bad_low = low is not None and (x <= low if low_open else x < low)
    bad_high = high is not None and (x >= high if high_open else x > high)
    if bad_low or bad_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = (
            f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        )
        raise SimProfileError(f"`{where}` must be in {interval}; got {value!r}.")
    return x


def _mapping(where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SimProfileError(f"`{where}` must be a mapping; got {type(value).__name__} {value!r}.")
    bad = [k for k in value if not isinstance(k, str) or not k]
    if bad:
        raise SimProfileError(f"`{where}` keys must be non-empty strings; got {bad!r}.")
    return value


def _check_fields(where: str, raw: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        import difflib

        hints = []
        for e in extra:
            close = difflib.get_close_matches(e, sorted(known), n=1, cutoff=0.6)
            hints.append(f"{e!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SimProfileError(
            f"`{where}` has unknown field(s) {', '.join(hints)}; known: {', '.join(sorted(known))}."
        )


def _parse_task(where: str, raw: Any, base: TaskTruth) -> TaskTruth:
    raw = _mapping(where, raw)
    _check_fields(where, raw, _TASK_FIELDS)
    out = base
    for key, value in raw.items():
        w = f"{where}.{key}"
        if key == "ability":
            out = replace(out, ability=_num(w, value))
        elif key == "difficulty_mean":
            out = replace(out, difficulty_mean=_num(w, value))
        elif key == "loading":
            out = replace(out, loading=_num(w, value))
        elif key == "difficulty_sd":
            out = replace(out, difficulty_sd=_num(w, value, low=0.0))
        elif key == "discrimination_sd":
            out = replace(out, discrimination_sd=_num(w, value, low=0.0))
        elif key == "discrimination":
            out = replace(out, discrimination=_num(w, value, low=0.0, low_open=True))
        elif key == "guess":
            out = replace(
                out, guess=None if value is None else _num(w, value, low=0.0, high=1.0, high_open=True)
            )
        elif key == "family":
            if value is not None and (not isinstance(value, str) or not value):
                raise SimProfileError(f"`{w}` must be a non-empty string or null; got {value!r}.")
            out = replace(out, family=value)
        elif key == "answer_format":
            if not isinstance(value, str) or "{target}" not in value:
                raise SimProfileError(f"`{w}` must be a string containing '{{target}}'; got {value!r}.")
            try:
                value.format(target="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise SimProfileError(
                    f"`{w}` must be a format string with only {{target}}; got {value!r} ({exc})."
                ) from None
            out = replace(out, answer_format=value)
    return out


def parse_profile(raw: Any, *, source: str = "profile") -> SimProfile:
    """Validate a profile mapping (as read from YAML/JSON) into a :class:`SimProfile`.

    Args:
        raw: The mapping.
        source: Name used in error messages (a file path).

    Returns:
        The profile.

    Raises:
        SimProfileError: A field is unknown, of the wrong type or out of range; the
            message names the field (``tasks.sst2.discrimination``) and what was found.
    """
    try:
        return _parse_profile(raw)
    except SimProfileError as exc:
        raise SimProfileError(f"{source}: {exc}") from None


def _parse_profile(raw: Any) -> SimProfile:
    raw = _mapping("profile", raw)
    _check_fields("profile", raw, _TOP_FIELDS)
    schema = raw.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise SimProfileError(f"`schema` must be {SCHEMA_VERSION}; got {schema!r}.")
    name = raw.get("name", "custom")
    if not isinstance(name, str) or not name:
        raise SimProfileError(f"`name` must be a non-empty string; got {name!r}.")
    coupling = _num("coupling", raw.get("coupling", 0.5), low=0.0, high=1.0)
    default = _parse_task("default", raw.get("default", {}), TaskTruth())
    tasks = {
        t: _parse_task(f"tasks.{t}", v, default) for t, v in _mapping("tasks", raw.get("tasks", {})).items()
    }
    pop = _mapping("population", raw.get("population", {}))
    _check_fields("population", pop, {"unique_sd"})
    unique_sd = _num("population.unique_sd", pop.get("unique_sd", 0.5), low=0.0)
    rules_raw = _mapping("transfer_rules", raw.get("transfer_rules", {}))
    _check_fields("transfer_rules", rules_raw, {"in_task", "same_family", "multitask"})
    rules = TransferRules(**{k: _num(f"transfer_rules.{k}", v) for k, v in rules_raw.items()})
    transfer: dict[str, dict[str, float]] = {}
    for ckpt, row in _mapping("transfer", raw.get("transfer", {})).items():
        row = _mapping(f"transfer.{ckpt}", row)
        transfer[ckpt] = {t: _num(f"transfer.{ckpt}.{t}", v) for t, v in row.items()}
    return SimProfile(
        name=name,
        default=default,
        tasks=tasks,
        coupling=coupling,
        unique_sd=unique_sd,
        rules=rules,
        transfer=transfer,
    )


def load_profile(path: str | Path) -> SimProfile:
    """Read and validate a profile file (``.yaml``/``.yml`` or ``.json``), safely parsed.

    Raises:
        FileNotFoundError: No such file.
        SimProfileError: Not valid YAML/JSON, or a field is malformed (named in the message).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"`profile` file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml  # type: ignore[import-untyped,unused-ignore]

            raw = yaml.safe_load(text)
    except (ValueError, ImportError) as exc:  # json.JSONDecodeError is a ValueError
        raise SimProfileError(
            f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}"
        ) from None
    except Exception as exc:  # yaml.YAMLError does not derive from ValueError
        if type(exc).__module__.startswith("yaml"):
            raise SimProfileError(f"{p}: not valid YAML: {exc}") from None
        raise
    return parse_profile(raw, source=str(p))


# ----------------------------------------------------------------------------- presets

# The built-in profile `demo`: abilities for the tasks of the bundled `mtl_demo`
# suite and of the fixture suite; any other task gets `default`. Abilities are on
# the logit scale of the item response model (theta - b); with difficulty_mean 0 a
# base ability of 0 gives ~50% above the guessing floor.
_DEMO: dict[str, Any] = {
    "schema": 1,
    "name": "demo",
    "coupling": 0.9,
    "default": {"ability": 0.0, "difficulty_sd": 0.5, "discrimination": 2.0, "loading": 0.6},
    "tasks": {
        # mtl_demo (families: classification, qa, translation, commonsense, math; 24 items each)
        "mtl_demo_sentiment": {"ability": -1.0, "family": "classification"},
        "mtl_demo_topic": {"ability": -0.5, "family": "classification"},
        "mtl_demo_closed_qa": {"ability": 0.0, "family": "qa"},
        "mtl_demo_de_en": {"ability": 0.5, "family": "translation"},
        "mtl_demo_physical": {"ability": -0.5, "family": "commonsense"},
        "mtl_demo_arithmetic": {"ability": -1.0, "family": "math"},
        # fixture suite written by lm_eval_mtl.sim.fixtures
        "simfx_mc4": {"ability": 0.0, "family": "qa"},
        "simfx_binary": {"ability": 0.5, "family": "classification"},
        "simfx_arith": {"ability": -0.5, "family": "math"},
        "simfx_translate": {"ability": -0.3, "family": "translation"},
    },
    "population": {"unique_sd": 0.5},
    "transfer_rules": {"in_task": 3.0, "same_family": 2.0, "multitask": 2.0},
    # one planted interference cell: math fine-tuning hurts translation
    "transfer": {"ft_mtl_demo_arithmetic": {"mtl_demo_arithmetic": 3.0, "mtl_demo_de_en": -2.0}},
}

PRESETS: tuple[str, ...] = ("base", "mtl", "ft_<task>")
"""Checkpoint presets of the built-in ``demo`` profile (``ft_<task>`` for any task name)."""


def builtin_profile(name: str = "demo") -> SimProfile:
    """Return a built-in profile by name (``demo``).

    Raises:
        UnknownNameError: No built-in profile has that name.
    """
    if name != "demo":
        raise unknown_name("built-in simulation profile", name, ("demo",))
    return parse_profile(_DEMO, source="built-in profile 'demo'")

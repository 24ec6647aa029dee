"""Typed suite specifications: which tasks a suite scores, and how.

A suite is an lm-eval group whose YAML carries the composite spec under
``metadata.mtl``. The same parser serves the start-up plugin (which reads the
group's metadata inside lm-eval) and the offline tools (which read the YAML
files shipped in ``task_configs/``).

The schema of ``metadata`` in a suite or family group YAML::

    metadata:
      version: 1.0                  # bump whenever a score could move
      mtl:
        schema: 1
        kind: suite                 # suite | family
        weights: family             # equal | family | size | a shipped weights id
        leaderboard: openllm_v2     # optional: also emit that leaderboard's average
        members:
          - task: sst2              # lm-eval task name (a leaf task)
            metric: acc             # metric name as lm-eval reports it
            filter: none            # filter name ("none", "strict-match", ...)
            chance: 0.5             # chance level c (mean of 1/k over items)
            ceiling: 1.0            # best possible value u (100 for BLEU/chrF)
            family: classification  # capability family
            output_type: multiple_choice   # multiple_choice | generate_until | loglikelihood
            cluster: null           # doc field shared by items of one context, or null
            overlap: null           # members with one key score overlapping items (GPQA subsets)
            chance_items: null      # chance = mean of 1/k over logged items? default: multiple choice + acc/acc_norm
            label: null             # optional; defaults to the task name, must be unique

A member is identified by its ``label`` (the task name unless two members
score the same task with different metrics, as IFEval does on the Open LLM
Leaderboard v2).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lm_eval_mtl.errors import SuiteSpecError, unknown_name

__all__ = ["MemberSpec", "OutputType", "SuiteKind", "SuiteSpec", "SuiteSpecError"]

OutputType = Literal["multiple_choice", "generate_until", "loglikelihood", "loglikelihood_rolling"]
_OUTPUT_TYPES: tuple[str, ...] = (
    "multiple_choice",
    "generate_until",
    "loglikelihood",
    "loglikelihood_rolling",
)
SuiteKind = Literal["suite", "family"]
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class MemberSpec:
    """How one member of a suite enters the composite."""

    task: str
    """lm-eval task name of a leaf task."""
    metric: str
    """Metric name as lm-eval reports it (``acc``, ``exact_match``, ``chrf`` ...)."""
    filter: str
    """lm-eval filter name (``none``, ``strict-match``, ...)."""
    chance: float
    """Chance level c: the expected metric of a random guesser (0 for generation)."""
    ceiling: float
    """Best possible value u (1 for accuracies, 100 for BLEU/chrF)."""
    family: str
    """Capability family (classification, qa, translation, ...)."""
    output_type: OutputType = "multiple_choice"
    """lm-eval output type of the task."""
    cluster: str | None = None
    """Doc field shared by items of one context (passage, subject), or None."""
    label: str = ""
    """Unique key of the member inside its suite; defaults to ``task``."""
    overlap: str | None = None
    """Key shared by members whose item sets overlap (e.g. GPQA diamond inside main), or None.

    Members of one task always overlap. Without per-item samples the covariance of
    overlapping members is unknown, so their errors are added as perfectly correlated
    (an upper bound) instead of as independent."""

    chance_items: bool | None = None
    """Whether the chance level is the mean of 1/k over the logged items (k = the item's number
    of choices). None: yes for a multiple-choice member scored by ``acc``/``acc_norm``, no
    otherwise. False for a multiple-choice metric that is not a 1-of-k pick (TruthfulQA mc2)."""

    chance_metric: str | None = None
    """A metric of the same task and filter that holds each item's chance level (the expected
    metric of a random guesser on that item, e.g. the expected RR@10 of a random ranking of the
    query's candidates): the member's chance is that metric's value in the run, the mean over
    items, on every path (lm-eval's table row included). None: :attr:`chance` (or the items'
    1/k, see :attr:`chance_items`)."""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.task)

    @property
    def chance_per_item(self) -> bool:
        """Whether the chance level comes from the logged items' numbers of choices (see :attr:`chance_items`)."""
        if self.chance_items is not None:
            return self.chance_items
        return self.output_type == "multiple_choice" and self.metric in ("acc", "acc_norm")

    @property
    def overlap_key(self) -> str:
        """Members with equal keys share items: the ``overlap`` key, else the task name."""
        return self.overlap or f"task:{self.task}"

    @property
    def metric_key(self) -> str:
        """lm-eval's results key for this member's metric, e.g. ``acc,none``."""
        return f"{self.metric},{self.filter}"

    @property
    def stderr_key(self) -> str:
        """lm-eval's results key for this member's standard error, e.g. ``acc_stderr,none``."""
        return f"{self.metric}_stderr,{self.filter}"


@dataclass(frozen=True)
class SuiteSpec:
    """A suite (or one family of it) as a composite: members, weights, version."""

    name: str
    """lm-eval group name (``mtl_suite``)."""
    version: str
    """``metadata.version`` of the group; part of the citation signature."""
    kind: SuiteKind
    """``suite`` for a whole suite, ``family`` for one family's subgroup."""
    members: tuple[MemberSpec, ...]
    """Members in a fixed order."""
    weights: str = "family"
    """Default weighting: ``equal``, ``family``, ``size`` or a shipped weights id."""
    leaderboard: str | None = None
    """A leaderboard recipe whose average is also emitted (``openllm_v2``), or None."""
    source: Path | None = field(default=None, compare=False)
    """YAML file the spec was read from, when read from a file."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Member labels, in order."""
        return tuple(m.label for m in self.members)

    @property
    def tasks(self) -> tuple[str, ...]:
        """Distinct lm-eval task names, in order of first appearance."""
        return tuple(dict.fromkeys(m.task for m in self.members))

    @property
    def families(self) -> tuple[str, ...]:
        """Distinct families, in order of first appearance."""
        return tuple(dict.fromkeys(m.family for m in self.members))

    def member(self, label: str) -> MemberSpec:
        """Return the member with this label.

        Raises:
            UnknownNameError: No member has this label (the message lists close matches).
        """
        for m in self.members:
            if m.label == label:
                return m
        raise unknown_name(f"member of suite {self.name!r}", label, self.labels)

    def __iter__(self) -> Iterator[MemberSpec]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def id(self) -> str:
        """``name@version``, as written in citation signatures."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_metadata(
        cls, name: str, metadata: Mapping[str, Any], *, source: Path | None = None
    ) -> SuiteSpec:
        """Parse a group's ``metadata`` mapping (with its ``mtl`` block).

        Args:
            name: The group name.
            metadata: The group's ``metadata`` mapping from its YAML.
            source: The YAML file, for error messages.

        Returns:
            The spec.

        Raises:
            SuiteSpecError: The block is missing or malformed; the message names
                the group, the field and what was found.
        """
        where = f"group {name!r}" + (f" ({source})" if source else "")
        if not isinstance(metadata, Mapping):
            raise SuiteSpecError(f"{where}: `metadata` must be a mapping; got {type(metadata).__name__}.")
        block = metadata.get("mtl")
        if not isinstance(block, Mapping):
            raise SuiteSpecError(f"{where}: `metadata.mtl` must be a mapping; got {block!r}.")
        if "version" not in metadata:
            raise SuiteSpecError(f"{where}: `metadata.version` is required (bump it when scores could move).")
        schema = block.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise SuiteSpecError(
                f"{where}: `metadata.mtl.schema` must be {SCHEMA_VERSION}; got {schema!r}. "
                "Upgrade lm-eval-mtl to read this suite."
            )
        kind = block.get("kind", "suite")
        if kind not in ("suite", "family"):
            raise SuiteSpecError(f"{where}: `metadata.mtl.kind` must be 'suite' or 'family'; got {kind!r}.")
        raw_members = block.get("members")
        if not isinstance(raw_members, Sequence) or isinstance(raw_members, (str, bytes)) or not raw_members:
            raise SuiteSpecError(
                f"{where}: `metadata.mtl.members` must be a non-empty list; got {raw_members!r}."
            )
        members = tuple(_parse_member(where, i, m) for i, m in enumerate(raw_members))
        labels = [m.label for m in members]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise SuiteSpecError(
                f"{where}: member labels must be unique; {', '.join(dupes)} repeat. "
                "Give members that score one task twice a distinct `label`."
            )
        weights = block.get("weights", "family")
        if not isinstance(weights, str) or not weights:
            raise SuiteSpecError(
                f"{where}: `metadata.mtl.weights` must be a non-empty string; got {weights!r}."
            )
        leaderboard = block.get("leaderboard")
        if leaderboard is not None and not isinstance(leaderboard, str):
            raise SuiteSpecError(
                f"{where}: `metadata.mtl.leaderboard` must be a string; got {leaderboard!r}."
            )
        return cls(
            name=name,
            version=str(metadata["version"]),
            kind=kind,
            members=members,
            weights=weights,
            leaderboard=leaderboard,
            source=source,
        )


def _parse_member(where: str, i: int, raw: Any) -> MemberSpec:
    if not isinstance(raw, Mapping):
        raise SuiteSpecError(f"{where}: member {i} must be a mapping; got {raw!r}.")
    known = {
        "task",
        "metric",
        "filter",
        "chance",
        "ceiling",
        "family",
        "output_type",
        "cluster",
        "label",
        "overlap",
        "chance_items",
        "chance_metric",
    }
    extra = sorted(set(raw) - known)
    if extra:
        raise SuiteSpecError(
            f"{where}: member {i} has unknown field(s) {', '.join(extra)}; known: {', '.join(sorted(known))}."
        )
    for req in ("task", "metric", "family"):
        if not isinstance(raw.get(req), str) or not raw.get(req):
            raise SuiteSpecError(
                f"{where}: member {i} needs a non-empty string `{req}`; got {raw.get(req)!r}."
            )
    task = str(raw["task"])
    chance = _number(where, task, "chance", raw.get("chance", 0.0))
    ceiling = _number(where, task, "ceiling", raw.get("ceiling", 1.0))
    if not ceiling > chance:
        raise SuiteSpecError(
            f"{where}: member {task!r} needs `ceiling` > `chance`; got chance={chance}, ceiling={ceiling}."
        )
    output_type = raw.get("output_type", "multiple_choice")
    if output_type not in _OUTPUT_TYPES:
        raise SuiteSpecError(
            f"{where}: member {task!r} `output_type` must be one of {', '.join(_OUTPUT_TYPES)}; got {output_type!r}."
        )
    cluster = raw.get("cluster")
    if cluster is not None and (not isinstance(cluster, str) or not cluster):
        raise SuiteSpecError(
            f"{where}: member {task!r} `cluster` must be a doc field name or null; got {cluster!r}."
        )
    overlap = raw.get("overlap")
    if overlap is not None and (not isinstance(overlap, str) or not overlap):
        raise SuiteSpecError(
            f"{where}: member {task!r} `overlap` must be a non-empty string or null; got {overlap!r}."
        )
    chance_items = raw.get("chance_items")
    if chance_items is not None and not isinstance(chance_items, bool):
        raise SuiteSpecError(
            f"{where}: member {task!r} `chance_items` must be true, false or null; got {chance_items!r}."
        )
    chance_metric = raw.get("chance_metric")
    if chance_metric is not None and (not isinstance(chance_metric, str) or not chance_metric):
        raise SuiteSpecError(
            f"{where}: member {task!r} `chance_metric` must be a metric name or null; got {chance_metric!r}."
        )
    label = raw.get("label") or ""
    if not isinstance(label, str):
        raise SuiteSpecError(f"{where}: member {task!r} `label` must be a string; got {label!r}.")
    return MemberSpec(
        task=task,
        metric=str(raw["metric"]),
        filter=str(raw.get("filter", "none")),
        chance=chance,
        ceiling=ceiling,
        family=str(raw["family"]),
        output_type=output_type,
        cluster=cluster,
        label=label,
        overlap=overlap,
        chance_items=chance_items,
        chance_metric=chance_metric,
    )


def _number(where: str, task: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise SuiteSpecError(f"{where}: member {task!r} `{name}` must be a finite number; got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------- files

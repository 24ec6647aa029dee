"""The item response model behind the simulated backend, and its planted truth.

For a checkpoint ``k`` of a model (population member ``m``, or the profile's base
model when ``m`` is None) and a task ``t``:

    theta_t      = ability_t + loading_t * f_m + unique_sd * e_mt + delta_k,t
    b_i          = difficulty_mean_t + difficulty_sd_t * N_i        (item difficulty)
    a_i          = discrimination_t * exp(discrimination_sd_t * N'_i)  (discrimination)
    g_i          = guess_t, or 1/k_i for a k_i-way multiple-choice item, else 0
    P_i          = g_i + (1 - g_i) * sigmoid(a_i * (theta_t - b_i))
    correct_i    = V_i < P_i,   V_i = Phi(sqrt(rho) Z_common,i + sqrt(1 - rho) Z_checkpoint,i)

``N_i, N'_i`` come from a hash of (seed, task, item key), so every checkpoint and
every member that shares ``seed`` sees the same items. ``f_m, e_mt`` come from a
hash of (seed, member). ``Z_common,i`` comes from a hash of (draw_seed, task,
item); ``Z_checkpoint,i`` from a hash of (draw_seed, checkpoint, member, task,
item). ``V_i`` is uniform whatever ``rho`` (the profile's ``coupling``), so
``P(correct_i) = P_i`` exactly; ``rho`` only sets how strongly two checkpoints of
one draw seed agree item by item. The guessing floor makes a hopeless model score
chance on multiple choice, so chance-corrected scores go to 0, not below.

The item key is a hash of the document's canonical JSON, so an item keeps its
parameters under ``--limit``, reordering and batching.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, ndtr, ndtri

from lm_eval_mtl.sim.profile import SimProfile

__all__ = ["ItemTruth", "PlantedTransfer", "SimTruth", "doc_key", "hash_uniform"]

_TWO64 = float(2**64)


def doc_key(doc: Any) -> str:
    """Return a stable key of a document: sha256 of its canonical JSON (sorted keys), 16 hex digits."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def hash_uniform(*parts: object) -> float:
    """Return a uniform number in (0, 1) from a hash of ``parts`` (deterministic, platform independent)."""
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=8).digest()
    return (int.from_bytes(h, "big") + 0.5) / _TWO64


def _uniforms(prefix: Sequence[object], keys: Sequence[str]) -> npt.NDArray[np.float64]:
    return np.fromiter((hash_uniform(*prefix, k) for k in keys), dtype=np.float64, count=len(keys))


@dataclass(frozen=True)
class ItemTruth:
    """The planted truth of one item for one checkpoint."""

    task: str
    """Task name."""
    key: str
    """Item key (hash of the document)."""
    n_choices: int | None
    """Number of choices for multiple choice, else None."""
    difficulty: float
    """b_i."""
    discrimination: float
    """a_i."""
    guess: float
    """Floor g_i of P(correct)."""
    theta: float
    """The checkpoint's ability on the task."""
    p_correct: float
    """P_i."""
    correct: bool
    """The deterministic draw: V_i < P_i."""
    draw: float
    """V_i, uniform in (0, 1)."""

    def to_dict(self) -> dict[str, Any]:
        """All fields, full precision."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class PlantedTransfer:
    """The planted transfer: change of theta per (checkpoint, task)."""

    checkpoints: tuple[str, ...]
    """Row labels."""
    tasks: tuple[str, ...]
    """Column labels."""
    delta_theta: npt.NDArray[np.float64]
    """(checkpoints x tasks) change of ability relative to ``base``."""

    def nonzero(self) -> npt.NDArray[np.bool_]:
        """Mask of planted non-zero cells."""
        return np.asarray(self.delta_theta != 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Rows as nested mappings, full precision."""
        return {
            c: {t: float(self.delta_theta[i, j]) for j, t in enumerate(self.tasks)}
            for i, c in enumerate(self.checkpoints)
        }


@dataclass(frozen=True)
class SimTruth:
    """A simulated checkpoint: profile, seeds, checkpoint and population member."""

    profile: SimProfile
    """The planted parameters."""
    seed: int = 0
    """Seed of the item parameters and population draws (shared by compared checkpoints)."""
    draw_seed: int | None = None
    """Seed of the correctness draws; None: ``seed``."""
    checkpoint: str = "base"
    """Checkpoint name (row of the transfer matrix)."""
    member: int | None = None
    """Population member index, or None for the profile's base model."""

    @property
    def effective_draw_seed(self) -> int:
        """``draw_seed``, or ``seed`` when it is None."""
        return self.seed if self.draw_seed is None else self.draw_seed

    def with_checkpoint(self, checkpoint: str) -> SimTruth:
        """Return the same model at another checkpoint."""
        return SimTruth(self.profile, self.seed, self.draw_seed, checkpoint, self.member)

    # ------------------------------------------------------------------ abilities

    def base_theta(self, task: str) -> float:
        """Ability of this member (or the base model) before any transfer."""
        tt = self.profile.task(task)
        theta = tt.ability
        if self.member is not None:
            f = float(ndtri(hash_uniform("factor", self.seed, self.member)))
            e = float(ndtri(hash_uniform("unique", self.seed, self.member, task)))
            theta += tt.loading * f + self.profile.unique_sd * e
        return theta

    def theta(self, task: str) -> float:
        """Ability of this checkpoint on ``task``: base ability + planted transfer."""
        return self.base_theta(task) + self.profile.delta(self.checkpoint, task)

    # ------------------------------------------------------------------ items

    def _guess(self, task: str, n_choices: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        g = self.profile.task(task).guess
        if g is not None:
            return np.full(n_choices.shape, g)
        with np.errstate(divide="ignore"):
            return np.where(n_choices > 0, 1.0 / np.maximum(n_choices, 1.0), 0.0)

    def item_arrays(
        self, task: str, keys: Sequence[str], n_choices: Sequence[int | None] | None = None
    ) -> dict[str, npt.NDArray[np.float64]]:
        """Vectorized item truth: difficulty, discrimination, guess, p_correct, draw, correct.

        Args:
            task: Task name.
            keys: Item keys (see :func:`doc_key`).
            n_choices: Choices per item (None or 0 for generation); default: all generation.

        Returns:
            Arrays keyed ``difficulty``, ``discrimination``, ``guess``, ``p_correct``,
            ``draw`` and ``correct`` (0.0/1.0).
        """
        tt = self.profile.task(task)
        n = len(keys)
        k = (
            np.zeros(n)
            if n_choices is None
            else np.array([0 if c is None else c for c in n_choices], dtype=np.float64)
        )
        b = tt.difficulty_mean + tt.difficulty_sd * ndtri(_uniforms(("b", self.seed, task), keys))
        a = tt.discrimination * np.exp(tt.discrimination_sd * ndtri(_uniforms(("a", self.seed, task), keys)))
        g = self._guess(task, k)
        p = g + (1.0 - g) * expit(a * (self.theta(task) - b))
        rho = self.profile.coupling
        ds = self.effective_draw_seed
        zc = ndtri(_uniforms(("zc", ds, task), keys))
        zk = ndtri(_uniforms(("zk", ds, self.checkpoint, self.member, task), keys))
        v = ndtr(math.sqrt(rho) * zc + math.sqrt(1.0 - rho) * zk)
        return {
            "difficulty": b,
            "discrimination": a,
            "guess": g,
            "p_correct": p,
            "draw": v,
            "correct": (v < p).astype(np.float64),
        }

    def item(self, task: str, key: str, n_choices: int | None = None) -> ItemTruth:
        """Return the planted truth of one item."""
        arr = self.item_arrays(task, [key], [n_choices])
        return ItemTruth(
            task=task,
            key=key,
            n_choices=n_choices,
            difficulty=float(arr["difficulty"][0]),
            discrimination=float(arr["discrimination"][0]),
            guess=float(arr["guess"][0]),
            theta=self.theta(task),
            p_correct=float(arr["p_correct"][0]),
            correct=bool(arr["correct"][0] > 0.5),
            draw=float(arr["draw"][0]),
        )

    def expected_accuracy(
        self, task: str, keys: Sequence[str], n_choices: Sequence[int | None] | None = None
    ) -> float:
        """Mean P(correct) over the given items: the expected accuracy conditional on the items.

        Raises:
            ValueError: ``keys`` is empty.
        """
        if len(keys) == 0:
            raise ValueError(f"`keys` must name at least one item of task {task!r}; got none.")
        return float(np.mean(self.item_arrays(task, keys, n_choices)["p_correct"]))

    def planted_transfer(self, checkpoints: Sequence[str], tasks: Sequence[str]) -> PlantedTransfer:
        """Return the planted change of theta for ``checkpoints`` x ``tasks``."""
        m = np.array([[self.profile.delta(c, t) for t in tasks] for c in checkpoints], dtype=np.float64)
        return PlantedTransfer(tuple(checkpoints), tuple(tasks), m)

"""A simulated lm-eval model backend (``mtl-sim``) whose answers follow a planted truth.

* :mod:`lm_eval_mtl.sim.profile`: profiles (abilities, item parameters, transfer) and presets.
* :mod:`lm_eval_mtl.sim.truth`: the item response model and its planted truth.
* :mod:`lm_eval_mtl.sim.backend`: :class:`~lm_eval_mtl.sim.backend.SimulatedLM`, the lm-eval ``LM``.
* :mod:`lm_eval_mtl.sim.fixtures`: a small synthetic task suite on local data.
* :mod:`lm_eval_mtl.sim.harness`: per-item lm-eval scores without the evaluator, for many-seed studies.
* :mod:`lm_eval_mtl.sim.runner`: :func:`~lm_eval_mtl.sim.runner.write_sim_runs` (real ``lm_eval`` CLI runs).

Nothing heavy is imported here; lm-eval is imported only with the backend.
"""

from __future__ import annotations

import importlib
from typing import Any

_API: dict[str, str] = {
    "SimulatedLM": "lm_eval_mtl.sim.backend",
    "SimProfile": "lm_eval_mtl.sim.profile",
    "SimProfileError": "lm_eval_mtl.sim.profile",
    "TaskTruth": "lm_eval_mtl.sim.profile",
    "load_profile": "lm_eval_mtl.sim.profile",
    "parse_profile": "lm_eval_mtl.sim.profile",
    "builtin_profile": "lm_eval_mtl.sim.profile",
    "SimTruth": "lm_eval_mtl.sim.truth",
    "ItemTruth": "lm_eval_mtl.sim.truth",
    "PlantedTransfer": "lm_eval_mtl.sim.truth",
    "doc_key": "lm_eval_mtl.sim.truth",
    "write_fixture_tasks": "lm_eval_mtl.sim.fixtures",
    "FixtureSuite": "lm_eval_mtl.sim.fixtures",
    "score_items": "lm_eval_mtl.sim.harness",
    "ItemScores": "lm_eval_mtl.sim.harness",
    "write_sim_runs": "lm_eval_mtl.sim.runner",
    "SimRuns": "lm_eval_mtl.sim.runner",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'lm_eval_mtl.sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

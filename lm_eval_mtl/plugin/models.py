"""The model-registration adapter: ``mtl-sim`` through whatever registry API this lm-eval has.

* lm-eval 0.4.10 and later: ``lm_eval.api.registry.model_registry`` is a
  ``Registry`` whose ``register(alias, target="module:attr")`` stores a lazy
  placeholder, so ``mtl-sim`` costs nothing until it is used. It is registered
  right after ``lm_eval.models`` has registered lm-eval's own models
  (``get_model`` imports ``lm_eval.models`` only while the registry is empty, so
  registering earlier would hide ``hf``).
* lm-eval 0.4.9.2: ``MODEL_REGISTRY`` is a plain dict filled by the
  ``register_model(*names)`` decorator, which takes classes only; the backend
  class is imported (``lm_eval.models`` has just imported every backend anyway)
  and registered with it.

The API is chosen by what the registry module offers, not by version strings.
"""

from __future__ import annotations

from typing import Any

from lm_eval_mtl.plugin.wrapping import log_once, signature_names

__all__ = ["MODEL_NAME", "MODEL_TARGET", "register_models", "registry_api"]

MODEL_NAME = "mtl-sim"
"""The simulated backend's model name."""
MODEL_TARGET = "lm_eval_mtl.sim.backend:SimulatedLM"
"""Where it lives (a lazy placeholder where the registry takes one)."""


def registry_api(registry: Any) -> str | None:
    """Which registration API the ``lm_eval.api.registry`` module offers.

    Returns:
        ``"lazy"`` (``model_registry.register(alias, target=...)``), ``"decorator"``
        (``register_model`` and the ``MODEL_REGISTRY`` dict), or None (neither).
    """
    model_registry = getattr(registry, "model_registry", None)
    register = getattr(model_registry, "register", None)
    if callable(register) and "target" in (signature_names(register) or ()):
        return "lazy"
    if callable(getattr(registry, "register_model", None)) and isinstance(
        getattr(registry, "MODEL_REGISTRY", None), dict
    ):
        return "decorator"
    return None


def register_models(module: Any = None) -> bool:
    """Register ``mtl-sim`` after lm-eval's own models (idempotent).

    Args:
        module: ``lm_eval.models``, just executed (unused: the registry module is read).

    Returns:
        Whether ``mtl-sim`` is (now) registered.
    """
    from lm_eval.api import registry

    api = registry_api(registry)
    if api == "lazy":
        if MODEL_NAME not in registry.model_registry:
            registry.model_registry.register(MODEL_NAME, target=MODEL_TARGET)
        return True
    if api == "decorator":
        if MODEL_NAME not in registry.MODEL_REGISTRY:
            from lm_eval_mtl.sim.backend import SimulatedLM

            registry.register_model(MODEL_NAME)(SimulatedLM)
        return True
    log_once(
        "models-api",
        "lm_eval.api.registry has neither model_registry.register(target=...) nor register_model; "
        f"`--model {MODEL_NAME}` is unavailable (pass the backend as an object to lm_eval.simple_evaluate).",
    )
    return False

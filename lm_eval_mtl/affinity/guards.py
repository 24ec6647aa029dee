"""Feature detection of every lm-eval internal that ``affinity`` touches.

``affinity`` reuses lm-eval rather than reimplementing it: the model registry and
``create_from_arg_string``, the ``TaskManager`` and the tasks' ``build_all_requests``, the
``Instance`` type, the backend's ``loglikelihood`` / ``_loglikelihood_tokens`` (its tokenizer,
``_encode_pair`` and batching), ``_select_cont_toks``, lm-eval's ``Collator`` and
``pad_and_concat``. Several of these are private. Each is looked up here, once, and a missing
one raises :class:`~lm_eval_mtl.errors.MTLError` with one line naming the internal and the
lm-eval versions this code was written against, instead of an ``AttributeError`` deep inside a
run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from lm_eval_mtl.errors import MTLError

__all__ = [
    "SUPPORTED_LM_EVAL",
    "call_guarded",
    "check_backend",
    "lm_eval_internal",
    "lm_eval_version",
    "require_attribute",
]

SUPPORTED_LM_EVAL = "==0.4.13"
"""lm-eval versions whose internals ``affinity`` was written against (tested: 0.4.13)."""


def lm_eval_version() -> str:
    """Return the installed lm-eval's version, or ``"unknown"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lm_eval")
    except PackageNotFoundError:
        return "unknown"


def _missing(what: str) -> MTLError:
    return MTLError(
        f"lm-eval-mtl affinity needs lm-eval's {what}, which the installed lm-eval "
        f"{lm_eval_version()} lacks; affinity reads lm-eval 0.4.13's internals: install lm-eval{SUPPORTED_LM_EVAL}."
    )


def lm_eval_internal(*candidates: str) -> Any:
    """Return the first importable ``module:attribute`` of ``candidates``.

    Args:
        candidates: ``"package.module:name"`` strings, tried in order (an internal that moved
            between lm-eval versions is listed at each of its homes).

    Returns:
        The object.

    Raises:
        MTLError: None of them exists (one line naming the first and the supported versions).
    """
    for spec in candidates:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, attr):
            return getattr(module, attr)
    raise _missing(f"`{candidates[0].replace(':', '.')}`")


def require_attribute(obj: Any, name: str, what: str) -> Any:
    """Return ``getattr(obj, name)``, or raise the one-line version error.

    Args:
        obj: An lm-eval object (a task, the model wrapper).
        name: The attribute.
        what: How the message names the owner (``"Task"``, ``"HFLM"``).

    Raises:
        MTLError: ``obj`` lacks ``name``.
    """
    if not hasattr(obj, name):
        raise _missing(f"`{what}.{name}`")
    return getattr(obj, name)


def check_backend(lm: Any, model: str) -> Any:
    """Check that ``lm`` is a backend whose gradients can be taken; return its torch module.

    The gradient pass needs a causal language model held in this process as a
    ``torch.nn.Module`` (lm-eval's ``hf`` backend, HFLM, and its subclasses); API models, vLLM
    and seq2seq models cannot give gradients through lm-eval's interface.

    Args:
        lm: The object ``create_from_arg_string`` returned.
        model: The ``--model`` name (for the message).

    Returns:
        ``lm.model``, a ``torch.nn.Module``.

    Raises:
        MTLError: Not such a backend, or a needed internal is missing.
    """
    import torch

    module = getattr(lm, "model", None)
    if not isinstance(module, torch.nn.Module):
        raise MTLError(
            f"--model {model}: affinity needs a backend that holds a torch model in this process "
            f"(lm-eval's `hf`, HFLM or a subclass); got {type(lm).__name__}, whose gradients lm-eval cannot give."
        )
    backend = getattr(lm, "backend", "causal")
    if backend != "causal":
        raise MTLError(
            f"--model {model}: affinity supports causal (decoder-only) models; got backend {backend!r}."
        )
    for name in ("loglikelihood", "_loglikelihood_tokens", "_select_cont_toks", "max_length", "device"):
        require_attribute(lm, name, type(lm).__name__)
    return module


def call_guarded(func: Callable[..., Any], what: str, *args: Any, **kwargs: Any) -> Any:
    """Call an lm-eval function after checking that its signature accepts the arguments.

    Raises:
        MTLError: The signature does not accept them (the internal changed between lm-eval versions).
    """
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: just call it
        return func(*args, **kwargs)
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        raise _missing(f"`{what}` accepting {', '.join(kwargs) or 'these arguments'}") from None
    return func(*args, **kwargs)

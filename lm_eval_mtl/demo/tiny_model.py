"""Build (or reuse) a tiny random-weight Hugging Face causal LM, entirely offline.

The model is a 2-layer GPT-2 with random weights (seeded) and a byte-level BPE
tokenizer trained locally with ``tokenizers`` on a fixed built-in corpus, saved
with ``save_pretrained`` so that ``lm_eval --model hf --model_args
pretrained=<folder>`` loads it like any Hub model. Its answers are noise; it
exists so the whole pipeline (lm-eval, the plugin, the composite) runs on a
fresh machine in seconds without the Hub.

Heavy imports (torch, transformers, tokenizers) happen inside the functions.

Every folder the demo creates carries a marker file, :data:`DEMO_MARKER`, saying what
created it; ``lm-eval-mtl demo --rebuild-model`` removes only folders of the cache root
that carry it (:func:`demo_owned_folders`), never folders chosen by a name pattern, so a
user's own ``tiny-gpt2-mine`` in the same folder survives.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lm_eval_mtl.io.cache import cache_root

__all__ = [
    "DEMO_MARKER",
    "TinyModelConfig",
    "cache_root",
    "demo_owned_folders",
    "ensure_tiny_model",
    "is_demo_folder",
    "write_demo_marker",
]

_MARKER = "lm_eval_mtl_tiny_model.json"
DEMO_MARKER = ".lm-eval-mtl-demo"
"""File the demo writes into every folder it creates (JSON: what created it, and when)."""
_CREATED_BY = "lm-eval-mtl demo"

# A fixed, project-written corpus: enough English, German and digits for a
# byte-level BPE to learn some merges. Byte-level BPE encodes any text anyway.
_CORPUS = """
The cat sat on the mat. The dog ran in the park. A bird sang in the tree.
Paris is the capital of France. Berlin is the capital of Germany. Rome is in Italy.
The film was wonderful and moving. The food was cold and the service was slow.
Question: What is two plus three? Answer: 5. Question: What colour is the sky? Answer: blue.
If you drop a glass on a stone floor, it will most likely break.
To keep ice cream cold, put it in the freezer. Water boils at one hundred degrees.
Der Hund läuft im Park. Die Katze sitzt auf der Matte. Das Wetter ist heute schön.
Ich trinke gern Kaffee am Morgen. Das Buch liegt auf dem Tisch. Wir fahren nach Berlin.
0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 30 40 50 60 70 80 90 100
sports business science world positive negative yes no true false A B C D
"""


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny model; part of the cache key."""

    vocab_size: int = 512
    """Target BPE vocabulary size (the trained tokenizer may be smaller)."""
    n_layer: int = 2
    """Transformer blocks."""
    n_embd: int = 32
    """Hidden size."""
    n_head: int = 2
    """Attention heads."""
    n_positions: int = 1024
    """Maximum sequence length."""
    seed: int = 0
    """Seed of the random weights."""
    layout: int = 1
    """Bumped when the saved layout changes."""

    def key(self) -> str:
        """Return a short hash of the configuration, used as the cache folder name."""
        blob = json.dumps(asdict(self), sort_keys=True) + _CORPUS
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def write_demo_marker(folder: Path, what: str) -> Path:
    """Write :data:`DEMO_MARKER` into ``folder`` (which the demo has just created).

    Args:
        folder: The folder.
        what: What the folder holds (``tiny model``, ``demo output`` ...).

    Returns:
        The marker file.
    """
    import datetime

    from lm_eval_mtl import __version__
    from lm_eval_mtl.io.atomic import atomic_write_text

    record = {
        "created_by": _CREATED_BY,
        "what": what,
        "lm_eval_mtl_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "note": "lm-eval-mtl demo may delete this folder (--rebuild-model); remove this file to keep it.",
    }
    return atomic_write_text(folder / DEMO_MARKER, json.dumps(record, indent=2) + "\n")


def is_demo_folder(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (not a link) that carries the demo's marker."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    marker = folder / DEMO_MARKER
    if marker.is_symlink() or not marker.is_file():
        return False
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(record, dict) and record.get("created_by") == _CREATED_BY


def _legacy_model_folder(base: Path, cfg: TinyModelConfig) -> Path | None:
    """Return the model folder of ``cfg`` built before markers existed, if there is one.

    Identified by content, not by a pattern: the exact folder name of ``cfg`` holding the
    model marker whose configuration is ``cfg``.
    """
    target = base / f"tiny-gpt2-{cfg.key()}"
    if target.is_symlink() or not (target / _MARKER).is_file():
        return None
    try:
        recorded = json.loads((target / _MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return target if recorded == asdict(cfg) else None


def demo_owned_folders(root: Path, config: TinyModelConfig | None = None) -> list[Path]:
    """Folders directly under ``root`` that the demo created (what ``--rebuild-model`` removes).

    A folder qualifies when it carries :data:`DEMO_MARKER` (see :func:`is_demo_folder`), or
    when it is the model folder of ``config`` written by an older lm-eval-mtl (exact name and
    recorded configuration). Links and folders without the marker are never selected,
    whatever their names.

    Args:
        root: The cache root.
        config: The model shape (default :class:`TinyModelConfig`), for older folders.

    Returns:
        The folders, sorted.
    """
    base = root.expanduser()
    if not base.is_dir():
        return []
    found = {child for child in base.iterdir() if is_demo_folder(child)}
    legacy = _legacy_model_folder(base, config or TinyModelConfig())
    if legacy is not None:
        found.add(legacy)
    return sorted(found)


def ensure_tiny_model(root: Path | None = None, config: TinyModelConfig | None = None) -> tuple[Path, bool]:
    """Return the folder of the tiny model, building it if it is not cached.

    Args:
        root: Cache folder (default :func:`cache_root`). The model lands in
            ``root/tiny-gpt2-<key>``.
        config: Model shape (default :class:`TinyModelConfig`).

    Returns:
        The model folder and whether it was built now (False: reused).
    """
    cfg = config or TinyModelConfig()
    base = (root or cache_root()).expanduser()
    target = base / f"tiny-gpt2-{cfg.key()}"
    if (target / _MARKER).is_file():
        return target, False
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=base))
    try:
        write_demo_marker(tmp, "tiny model")  # first: a build cut short is recognisably ours
        _build(tmp, cfg)
        (tmp / _MARKER).write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")
        try:
            tmp.rename(target)
        except OSError:
            # Another process built it concurrently; keep theirs.
            if not (target / _MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target, True


def _build(folder: Path, cfg: TinyModelConfig) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    eos = "<|endoftext|>"
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        special_tokens=[eos],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [line for line in _CORPUS.splitlines() if line.strip()]
    tok.train_from_iterator(lines * 4, trainer=trainer)
    # transformers is only partly typed; treat its objects as Any.
    fast_cls: Any = PreTrainedTokenizerFast
    fast: Any = fast_cls(tokenizer_object=tok, eos_token=eos, bos_token=eos, unk_token=eos)
    fast.model_max_length = cfg.n_positions
    fast.save_pretrained(folder)

    torch.manual_seed(cfg.seed)
    eos_id = int(fast.convert_tokens_to_ids(eos))
    model_cfg = GPT2Config(
        vocab_size=len(fast),
        n_positions=cfg.n_positions,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
    )
    model_cls: Any = GPT2LMHeadModel
    model = model_cls(model_cfg)
    model.eval()
    _save_quietly(model, folder)


def _save_quietly(model: Any, folder: Path) -> None:
    """``model.save_pretrained(folder)`` without transformers' shard-writing progress bar.

    The bar goes to stderr and would break into the demo's step output; it is switched
    off for this call only, and back on afterwards if it was on.
    """
    from transformers.utils import logging as transformers_logging

    hf_logging: Any = transformers_logging  # partly typed; treat as Any
    was_enabled = bool(hf_logging.is_progress_bar_enabled())
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(folder)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()

"""A tiny random-weight vision-language model folder that lm-eval's ``hf-multimodal`` backend loads offline.

``LlavaForConditionalGeneration`` (``AutoModelForImageTextToText`` resolves it from ``config.json``) with
a 2-layer CLIP vision tower on 28x28 images (patch 14: 4 patches + CLS) and a 2-layer Llama text model,
and a ``LlavaProcessor`` (``AutoProcessor``) from a CLIP image processor and the tiny GPT-2 tokenizer
of ``lm_eval_mtl.demo.tiny_model`` with ``<image>`` added as a special token. Seeded; nothing downloads.

Also: :func:`write_vision_rows` writes local rows in the schemas of lm-eval's ``mmmu_val_<subject>``
(``MMMU/MMMU``: id, question, options (a Python-literal list), answer, question_type, image_1..7, ...)
and ``chartqa`` (``HuggingFaceM4/ChartQA``: image, query, label) with project-drawn PIL images.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

IMAGE_SIZE = 28
PATCH = 14


def build_tiny_vlm(folder: Path, tokenizer_dir: Path, seed: int = 0) -> Path:
    """Write the model and its processor under ``folder``; ``tokenizer_dir`` holds a fast tokenizer."""
    import torch
    from transformers import (
        AutoTokenizer,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor  # no torchvision needed
    except ImportError:  # older transformers
        from transformers import CLIPImageProcessor as ImageProcessor

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    image_token_id = tok.convert_tokens_to_ids("<image>")
    n_patches = (IMAGE_SIZE // PATCH) ** 2
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=PATCH,
        projection_dim=32,
    )
    text = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    cfg = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_token_id,
        image_seq_length=n_patches,
        vision_feature_select_strategy="default",  # drops CLS: n_patches features per image
        vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(cfg).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    image_processor = ImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS token, dropped by the "default" strategy
        image_token="<image>",
    )
    processor.save_pretrained(str(folder))
    return folder


def _image(rng: random.Random, bars: int = 3) -> Any:
    """A small bar chart drawn with PIL (deterministic)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (56, 56), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    width = 56 // (bars + 1)
    for b in range(bars):
        h = rng.randint(5, 50)
        colour = (rng.randint(0, 200), rng.randint(0, 200), rng.randint(0, 200))
        draw.rectangle([4 + b * width, 55 - h, 4 + b * width + width - 3, 55], fill=colour)
    return img


def mmmu_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows of ``MMMU/MMMU`` validation: mostly multiple choice (2..5 options), some open questions."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        mc = i % 4 != 3
        k = rng.choice([2, 3, 4, 4, 5]) if mc else 0
        options = [f"option {chr(65 + j)} {rng.randint(1, 99)}" for j in range(k)]
        row: dict[str, Any] = {
            "id": f"validation_Test_{i + 1}",
            "question": f"<image 1> What does bar {rng.randint(1, 3)} show?",
            "options": repr(options) if mc else "[]",
            "explanation": "",
            "image_1": _image(rng),
            "image_2": None,
            "image_3": None,
            "image_4": None,
            "image_5": None,
            "image_6": None,
            "image_7": None,
            "img_type": "['Plots and Charts']",
            "answer": chr(65 + rng.randrange(k)) if mc else str(rng.randint(1, 50)),
            "topic_difficulty": "Easy",
            "question_type": "multiple-choice" if mc else "open",
            "subfield": "Test",
        }
        rows.append(row)
    return rows


def chartqa_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Rows of ``HuggingFaceM4/ChartQA`` test: image, query, label (a list with one answer), human_or_machine."""
    rng = random.Random(seed)
    return [
        {
            "image": _image(rng),
            "query": f"What is the value of bar {rng.randint(1, 3)}?",
            "label": [str(rng.randint(1, 50))],
            "human_or_machine": rng.randint(0, 1),
        }
        for _ in range(n)
    ]


def write_vision_rows(folder: Path, n_mmmu: int = 6, n_chart: int = 4) -> dict[str, Path]:
    """Write ``mmmu.parquet`` (split validation) and ``chartqa.parquet`` (split test) under ``folder``."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    img = datasets.Image()
    mmmu_features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "options": datasets.Value("string"),
            "explanation": datasets.Value("string"),
            **{f"image_{j}": img for j in range(1, 8)},
            "img_type": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "topic_difficulty": datasets.Value("string"),
            "question_type": datasets.Value("string"),
            "subfield": datasets.Value("string"),
        }
    )
    chart_features = datasets.Features(
        {
            "image": img,
            "query": datasets.Value("string"),
            "label": datasets.Sequence(datasets.Value("string")),
            "human_or_machine": datasets.Value("int64"),
        }
    )
    out = {"mmmu": folder / "mmmu.parquet", "chartqa": folder / "chartqa.parquet"}
    datasets.Dataset.from_list(mmmu_rows(n_mmmu), features=mmmu_features).to_parquet(str(out["mmmu"]))
    datasets.Dataset.from_list(chartqa_rows(n_chart), features=chart_features).to_parquet(str(out["chartqa"]))
    return out

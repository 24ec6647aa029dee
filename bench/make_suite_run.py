"""Write full-suite lm-eval runs of realistic shape for ``mtl_suite``, at any scale, for any number of models.

Run:  python bench/make_suite_run.py --out DIR [--scale 1.0] [--models N | --model-names a,b,...] [--seed 0]

What it writes is what ``lm_eval run --tasks mtl_suite --log_samples --output_path DIR`` (lm-eval 0.4.13,
``loggers/evaluation_tracker.py``) writes: one folder per model, ``DIR/<org>__<model>/``, holding
``results_<ts>.json`` and one ``samples_<task>_<ts>.jsonl`` per leaf task. Everything is generated: the texts
are seeded pseudo-words (no dataset is read), the answers come from a per-model ability parameter and
per-item difficulties shared by every model (so two models scored the same items and their per-item
results are correlated, as real models' are).

Shape, as lm-eval writes it:

* samples records: ``doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics, doc_hash,
  prompt_hash, target_hash`` and one key per metric, in that order; ``arguments`` holds one
  ``gen_args_<i>`` per request (per choice for multiple choice: the full prompt repeated for each
  choice; winogrande's partial evaluation: one context per option, one shared continuation);
  ``resps``/``filtered_resps`` stringified by ``sanitize_list``; hashes as lm-eval computes them
  (``doc_hash`` over ``json.dumps(doc, indent=2, ensure_ascii=False)``).
* real split sizes at ``--scale 1.0`` (``n = ceil(N * scale)`` below 1, as ``--limit 0.1`` gives, at least
  ``--min-items``); MMLU as 57 leaf tasks; gsm8k 5-shot with both filters (one record per item and
  filter: ``strict-match`` then ``flexible-extract``, metrics computed from the completions with gsm8k's
  regexes); banking77 with its 77 choices; ARC with a few 3- and 5-choice items; boolq questions sharing a
  ``passage``; mtl_msmarco one query per record with one `` Yes`` loglikelihood per passage (up to 10) and
  its per-query ``rr10``/``ndcg10``/``rr10_chance``/``ndcg10_chance`` computed by the task's own
  ``msmarco_utils.process_results``; wmt16 ``bleu``/``ter``/``chrf`` logged as ``[reference, prediction]`` with the corpus scores
  (sacrebleu, lm-eval's aggregation) in the results file.
* results file: ``results`` (leaf rows and group rows), ``groups``, ``group_subtasks`` (``mtl_suite`` ->
  families -> members; ``mtl_suite_knowledge`` -> ``mmlu`` -> its four categories -> subjects),
  ``configs``, ``versions``, ``n-shot``, ``higher_is_better``, ``n-samples``, ``config``, ``task_hashes``,
  ``lm_eval_version`` and the rest of lm-eval's general config. Each value equals what its samples give
  (item means; corpus scores); stderrs as lm-eval computes them (sample sd / sqrt(n); a 100-resample
  bootstrap for the corpus metrics); the ``mtl_composite`` group rows are the composite's analytic form (a member with a
  ``chance_metric`` takes its chance from that metric's row, as the plugin does).

Prints the output folder, the number of samples records and the total bytes written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SUITE = "mtl_suite"
LM_EVAL_VERSION = "0.4.13"
MARKER = ".make_suite_run.json"

# --------------------------------------------------------------------------- item counts

#: MMLU test split sizes per subject (14,042 in all) and lm-eval's category of each subject.
MMLU: dict[str, tuple[int, str]] = {
    "abstract_algebra": (100, "stem"),
    "anatomy": (135, "stem"),
    "astronomy": (152, "stem"),
    "business_ethics": (100, "other"),
    "clinical_knowledge": (265, "other"),
    "college_biology": (144, "stem"),
    "college_chemistry": (100, "stem"),
    "college_computer_science": (100, "stem"),
    "college_mathematics": (100, "stem"),
    "college_medicine": (173, "other"),
    "college_physics": (102, "stem"),
    "computer_security": (100, "stem"),
    "conceptual_physics": (235, "stem"),
    "econometrics": (114, "social_sciences"),
    "electrical_engineering": (145, "stem"),
    "elementary_mathematics": (378, "stem"),
    "formal_logic": (126, "humanities"),
    "global_facts": (100, "other"),
    "high_school_biology": (310, "stem"),
    "high_school_chemistry": (203, "stem"),
    "high_school_computer_science": (100, "stem"),
    "high_school_european_history": (165, "humanities"),
    "high_school_geography": (198, "social_sciences"),
    "high_school_government_and_politics": (193, "social_sciences"),
    "high_school_macroeconomics": (390, "social_sciences"),
    "high_school_mathematics": (270, "stem"),
    "high_school_microeconomics": (238, "social_sciences"),
    "high_school_physics": (151, "stem"),
    "high_school_psychology": (545, "social_sciences"),
    "high_school_statistics": (216, "stem"),
    "high_school_us_history": (204, "humanities"),
    "high_school_world_history": (237, "humanities"),
    "human_aging": (223, "other"),
    "human_sexuality": (131, "social_sciences"),
    "international_law": (121, "humanities"),
    "jurisprudence": (108, "humanities"),
    "logical_fallacies": (163, "humanities"),
    "machine_learning": (112, "stem"),
    "management": (103, "other"),
    "marketing": (234, "other"),
    "medical_genetics": (100, "other"),
    "miscellaneous": (783, "other"),
    "moral_disputes": (346, "humanities"),
    "moral_scenarios": (895, "humanities"),
    "nutrition": (306, "other"),
    "philosophy": (311, "humanities"),
    "prehistory": (324, "humanities"),
    "professional_accounting": (282, "other"),
    "professional_law": (1534, "humanities"),
    "professional_medicine": (272, "other"),
    "professional_psychology": (612, "social_sciences"),
    "public_relations": (110, "social_sciences"),
    "security_studies": (245, "social_sciences"),
    "sociology": (201, "social_sciences"),
    "us_foreign_policy": (100, "social_sciences"),
    "virology": (166, "other"),
    "world_religions": (171, "humanities"),
}
MMLU_CATEGORIES = ("stem", "other", "social_sciences", "humanities")
#: Subjects whose questions are long passages (source excerpts, cases, vignettes).
MMLU_LONG = {
    "high_school_european_history": (180, 420),
    "high_school_us_history": (160, 380),
    "high_school_world_history": (160, 380),
    "professional_law": (110, 330),
    "professional_medicine": (90, 220),
    "professional_accounting": (40, 120),
    "professional_psychology": (30, 110),
    "security_studies": (40, 150),
    "moral_scenarios": (35, 60),
    "jurisprudence": (25, 90),
}

#: Ease of each task for an average model (added to its ability before the item's difficulty).
EASE = {
    "sst2": 1.6,
    "rte": 0.2,
    "mtl_ag_news": 0.9,
    "boolq": 0.8,
    "arc_easy": 1.0,
    "arc_challenge": -0.2,
    "triviaqa": -0.4,
    "wmt16-de-en": 0.3,
    "wmt16-ro-en": 0.5,
    "hellaswag": 0.4,
    "winogrande": 0.3,
    "piqa": 1.0,
    "gsm8k": -0.7,
    "mtl_banking77": -0.3,
    "mtl_msmarco": 0.2,
}

# --------------------------------------------------------------------------- text

_FUNCTION_WORDS = (
    "the of and to a in is that for it was on with as by at from this are be or an which not have has "
    "one their they were but all can had its more when there would been who into also after than other "
    "some two first most over only new such these many through between under while during about"
).split()
_SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ha he hi ho ka ke ki ko la le "
    "li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu "
    "va ve vi vo wa we wi ya yo za ze zo bar ber bor cal cen con dar den dor fal fen for gar gen har hen "
    "lan len lin lor man men mon nar nen por pen ran ren ron sal sen son tan ten tor val ven ver win ston "
    "ment tion ing ard est ist ous ive ance ence ity"
).split()
_DE_SYLLABLES = (
    "ach ein der die das und ung keit heit lich isch sch ber ger gen ten stein hof haus berg wald feld "
    "mann burg dorf au ei eu ie ma mi mo na ne no ra re ro sa se so ta te to wa we wo zu"
).split()
_RO_SYLLABLES = (
    "ul ea ii lor rea tia ului ele ati esc ita ant ent ici ma mi mo na ne no ra re ro sa se so ta te to "
    "va ve vi ca ce ci da de di pa pe pi la le li"
).split()


class Text:
    """Seeded pseudo-language: Zipf-distributed words built from syllables."""

    def __init__(self, seed: int, syllables: Sequence[str], n_words: int = 6000, function: bool = True):
        rng = np.random.default_rng(seed)
        words: list[str] = list(_FUNCTION_WORDS) if function else []
        seen = set(words)
        while len(words) < n_words:
            k = int(rng.choice([1, 2, 2, 3, 3, 4]))
            w = "".join(syllables[int(i)] for i in rng.integers(0, len(syllables), size=k))
            if w not in seen and len(w) > 1:
                seen.add(w)
                words.append(w)
        self.words = words
        ranks = np.arange(1, len(words) + 1, dtype=np.float64)
        p = 1.0 / (ranks + 2.7)
        self._cdf = np.cumsum(p / p.sum())

    def pick(self, rng: np.random.Generator, n: int) -> list[str]:
        idx = np.searchsorted(self._cdf, rng.random(n), side="right")
        idx = np.minimum(idx, len(self.words) - 1)
        w = self.words
        return [w[int(i)] for i in idx]

    def phrase(self, rng: np.random.Generator, lo: int, hi: int) -> str:
        return " ".join(self.pick(rng, int(rng.integers(lo, hi + 1))))

    def sentence(self, rng: np.random.Generator, lo: int = 8, hi: int = 24, end: str = ".") -> str:
        s = self.phrase(rng, lo, hi)
        return s[:1].upper() + s[1:] + end

    def paragraph(self, rng: np.random.Generator, lo: int, hi: int) -> str:
        """Sentences adding up to lo..hi words."""
        target = int(rng.integers(lo, hi + 1))
        out: list[str] = []
        n = 0
        while n < target:
            k = min(int(rng.integers(7, 26)), max(target - n, 3))
            words = self.pick(rng, k)
            if rng.random() < 0.15:  # a number, a comma here and there
                words[int(rng.integers(0, k))] = str(int(rng.integers(2, 2030)))
            if k > 8 and rng.random() < 0.4:
                j = int(rng.integers(3, k - 2))
                words[j] = words[j] + ","
            s = " ".join(words)
            out.append(s[:1].upper() + s[1:] + ".")
            n += k
        return " ".join(out)

    def name(self, rng: np.random.Generator) -> str:
        skip = len(_FUNCTION_WORDS) if self.words[: len(_FUNCTION_WORDS)] == _FUNCTION_WORDS else 0
        idx = rng.integers(skip, min(len(self.words), skip + 2500), size=int(rng.integers(1, 3)))
        parts = [self.words[int(i)] for i in idx]
        return " ".join(p[:1].upper() + p[1:] for p in parts)


# --------------------------------------------------------------------------- items


@dataclass
class Item:
    """One document as lm-eval sees it: the doc, its requests and what scoring needs."""

    doc: dict[str, Any]
    target: Any
    """``doc_to_target`` (before ``str``)."""
    contexts: list[str]
    """One context per request."""
    continuations: list[Any]
    """Per request: the continuation (multiple choice) or the generation kwargs."""
    gold: int = 0
    """Index of the correct choice (multiple choice)."""
    choices: list[str] = field(default_factory=list)
    """``doc_to_choice`` (for ``acc_norm``'s lengths)."""
    answer: Any = None
    """Generation tasks: what a correct completion contains."""
    difficulty: float = 0.0


@dataclass
class TaskDef:
    """How one leaf task is generated, scored and described."""

    name: str
    n_full: int
    output_type: str
    metrics: tuple[str, ...]
    filters: tuple[str, ...]
    version: float
    num_fewshot: int
    config: dict[str, Any]
    build: Callable[[np.random.Generator, int], Item]
    ease: float
    alias: str | None = None


@dataclass
class Gen:
    """The text generators (one per language), seeded by the run's seed."""

    en: Text
    de: Text
    ro: Text
    gsm_shots: list[tuple[str, str]]


_GEN_UNTIL_NL = {"until": ["\n"], "do_sample": False, "temperature": 0.0}
_GEN_TRIVIA = {"until": ["\n", ".", ","], "do_sample": False, "temperature": 0.0}
_GEN_GSM = {"until": ["Question:", "</s>", "<|im_end|>"], "do_sample": False, "temperature": 0.0}
_MC_METRICS = [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]
_MC2_METRICS = _MC_METRICS + [{"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}]


def _cfg(task: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "task": task,
        "dataset_path": kw.pop("dataset_path", task),
        "description": "",
        "target_delimiter": " ",
        "fewshot_delimiter": "\n\n",
        "num_fewshot": 0,
        "output_type": "multiple_choice",
        "repeats": 1,
        "should_decontaminate": False,
        "metadata": {"version": 1.0},
    }
    base.update(kw)
    return base


def _mc_item(prompt: str, choices: list[str], gold: int, doc: dict[str, Any], diff: float) -> Item:
    return Item(
        doc=doc,
        target=gold,
        contexts=[prompt] * len(choices),
        continuations=[" " + c for c in choices],
        gold=gold,
        choices=choices,
        difficulty=diff,
    )


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return data if isinstance(data, dict) else {}


def _gsm_problem(g: Gen, rng: np.random.Generator) -> tuple[str, str, int]:
    """A word problem, its worked answer (calculator annotations, ``#### N``) and N."""
    a = int(rng.integers(2, 60))
    b = int(rng.integers(8, 60))
    c = int(rng.integers(1, b))
    who = g.en.name(rng)
    thing = g.en.phrase(rng, 1, 2)
    q = (
        f"{who} has {a} {thing}. {g.en.sentence(rng, 10, 22)} Each week {who} buys {b} more {thing} "
        f"and gives {c} of them to a neighbor. {g.en.sentence(rng, 8, 18)} How many {thing} does {who} "
        "have after three weeks?"
    )
    ans = a + 3 * (b - c)
    steps = (
        f"Each week {who} gains {b} - {c} = <<{b}-{c}={b - c}>>{b - c} {thing}.\n"
        f"Over three weeks that is 3 * {b - c} = <<3*{b - c}={3 * (b - c)}>>{3 * (b - c)} {thing}.\n"
        f"So {who} has {a} + {3 * (b - c)} = <<{a}+{3 * (b - c)}={ans}>>{ans} {thing}.\n#### {ans}"
    )
    return q, steps, ans


def task_defs(g: Gen, seed: int) -> dict[str, TaskDef]:
    """Every leaf task of ``mtl_suite``, keyed by name."""
    en = g.en
    defs: dict[str, TaskDef] = {}
    cfg_dir = REPO / "task_configs" / SUITE

    def add(t: TaskDef) -> None:
        defs[t.name] = t

    # ---- classification
    def sst2(rng: np.random.Generator, i: int) -> Item:
        label = int(rng.integers(0, 2))
        doc = {"sentence": en.phrase(rng, 6, 34) + " ", "label": label, "idx": i}
        prompt = f"{doc['sentence']}\nQuestion: Is this sentence positive or negative?\nAnswer:"
        return _mc_item(prompt, ["negative", "positive"], label, doc, float(rng.normal()))

    add(
        TaskDef(
            "sst2",
            872,
            "multiple_choice",
            ("acc",),
            ("none",),
            1.0,
            0,
            _cfg(
                "sst2",
                tag="glue",
                dataset_path="nyu-mll/glue",
                dataset_name="sst2",
                training_split="train",
                validation_split="validation",
                doc_to_text="{{sentence}}\nQuestion: Is this sentence positive or negative?\nAnswer:",
                doc_to_target="label",
                doc_to_choice=["negative", "positive"],
                metric_list=[{"metric": "acc"}],
            ),
            sst2,
            EASE["sst2"],
        )
    )

    def rte(rng: np.random.Generator, i: int) -> Item:
        label = int(rng.integers(0, 2))
        doc = {
            "sentence1": en.paragraph(rng, 18, 90),
            "sentence2": en.sentence(rng, 5, 14),
            "label": label,
            "idx": i,
        }
        prompt = f"{doc['sentence1']}\nQuestion: {doc['sentence2']} True or False?\nAnswer:"
        return _mc_item(prompt, ["True", "False"], label, doc, float(rng.normal()))

    add(
        TaskDef(
            "rte",
            277,
            "multiple_choice",
            ("acc",),
            ("none",),
            1.0,
            0,
            _cfg(
                "rte",
                tag="glue",
                dataset_path="nyu-mll/glue",
                dataset_name="rte",
                training_split="train",
                validation_split="validation",
                doc_to_text="{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:",
                doc_to_target="label",
                doc_to_choice=["True", "False"],
                metric_list=[{"metric": "acc"}],
            ),
            rte,
            EASE["rte"],
        )
    )

    ag = _load_yaml(cfg_dir / "mtl_ag_news.yaml")
    ag_choices = [
        str(c) for c in ag.get("doc_to_choice") or ["World", "Sports", "Business", "Science/Technology"]
    ]

    def ag_news(rng: np.random.Generator, i: int) -> Item:
        label = int(rng.integers(0, len(ag_choices)))
        doc = {"text": f"{en.name(rng)} ({en.name(rng)}) - " + en.paragraph(rng, 22, 60), "label": label}
        prompt = (
            f"{doc['text']}\nQuestion: Is this news article about World, Sports, Business or "
            "Science/Technology?\nAnswer:"
        )
        return _mc_item(prompt, ag_choices, label, doc, float(rng.normal()))

    ag_cfg = {k: v for k, v in ag.items() if k not in ("task",)}
    add(
        TaskDef(
            "mtl_ag_news",
            7600,
            "multiple_choice",
            ("acc", "acc_norm"),
            ("none",),
            1.0,
            0,
            _cfg("mtl_ag_news", **ag_cfg),
            ag_news,
            EASE["mtl_ag_news"],
        )
    )

    # ---- qa
    boolq_state: dict[str, Any] = {"passage": None, "left": 0}

    def boolq(rng: np.random.Generator, i: int) -> Item:
        if boolq_state["left"] <= 0 or boolq_state["passage"] is None:
            title = en.name(rng)
            boolq_state["passage"] = f"{title} -- " + en.paragraph(rng, 60, 170)
            boolq_state["left"] = int(rng.choice([1, 1, 2, 2, 2, 3, 3, 4]))
        boolq_state["left"] -= 1
        label = int(rng.random() < 0.62)
        doc = {"question": en.phrase(rng, 5, 12), "passage": boolq_state["passage"], "idx": i, "label": label}
        prompt = f"{doc['passage']}\nQuestion: {doc['question']}?\nAnswer:"
        return _mc_item(prompt, ["no", "yes"], label, doc, float(rng.normal()))

    add(
        TaskDef(
            "boolq",
            3270,
            "multiple_choice",
            ("acc",),
            ("none",),
            2.0,
            0,
            _cfg(
                "boolq",
                tag=["super-glue-lm-eval-v1"],
                dataset_path="aps/super_glue",
                dataset_name="boolq",
                training_split="train",
                validation_split="validation",
                doc_to_text="{{passage}}\nQuestion: {{question}}?\nAnswer:",
                doc_to_target="label",
                doc_to_choice=["no", "yes"],
                should_decontaminate=True,
                doc_to_decontamination_query="passage",
                metric_list=[{"metric": "acc"}],
                metadata={"version": 2.0},
            ),
            boolq,
            EASE["boolq"],
        )
    )

    def arc(prefix: str) -> Callable[[np.random.Generator, int], Item]:
        def build(rng: np.random.Generator, i: int) -> Item:
            u = rng.random()
            k = 3 if u < 0.006 else 5 if u < 0.008 else 4
            numeric = rng.random() < 0.03
            labels = [str(j + 1) for j in range(k)] if numeric else ["ABCDE"[j] for j in range(k)]
            texts = [en.phrase(rng, 1, 9) for _ in range(k)]
            gold = int(rng.integers(0, k))
            doc = {
                "id": f"{prefix}_{int(rng.integers(1000, 9999999))}",
                "question": en.sentence(rng, 10, 48, end="?" if rng.random() < 0.7 else "."),
                "choices": {"text": texts, "label": labels},
                "answerKey": labels[gold],
            }
            return _mc_item(f"Question: {doc['question']}\nAnswer:", texts, gold, doc, float(rng.normal()))

        return build

    for name, n, prefix, ds in (
        ("arc_easy", 2376, "Mercury", "ARC-Easy"),
        ("arc_challenge", 1172, "MCAS", "ARC-Challenge"),
    ):
        add(
            TaskDef(
                name,
                n,
                "multiple_choice",
                ("acc", "acc_norm"),
                ("none",),
                1.0,
                0,
                _cfg(
                    name,
                    tag=["ai2_arc"],
                    dataset_path="allenai/ai2_arc",
                    dataset_name=ds,
                    training_split="train",
                    validation_split="validation",
                    test_split="test",
                    doc_to_text="Question: {{question}}\nAnswer:",
                    doc_to_target="{{choices.label.index(answerKey)}}",
                    doc_to_choice="{{choices.text}}",
                    should_decontaminate=True,
                    doc_to_decontamination_query="Question: {{question}}\nAnswer:",
                    metric_list=_MC2_METRICS,
                ),
                arc(prefix),
                EASE[name],
            )
        )

    def triviaqa(rng: np.random.Generator, i: int) -> Item:
        value = en.name(rng)
        aliases = sorted({value, value.lower(), "The " + value, value.replace(" ", "-")})
        norm = sorted({a.lower() for a in aliases})
        doc = {
            "question": en.sentence(rng, 7, 26, end=""),
            "question_id": f"tc_{i}",
            "question_source": "http://www.triviacountry.com/",
            "entity_pages": {"doc_source": [], "filename": [], "title": [], "wiki_context": []},
            "search_results": {
                "description": [],
                "filename": [],
                "rank": [],
                "title": [],
                "url": [],
                "search_context": [],
            },
            "answer": {
                "aliases": aliases,
                "normalized_aliases": norm,
                "matched_wiki_entity_name": "",
                "normalized_matched_wiki_entity_name": "",
                "normalized_value": value.lower(),
                "type": "WikipediaEntity",
                "value": value,
            },
        }
        prompt = f"Question: {doc['question']}?\nAnswer:"
        return Item(
            doc=doc,
            target=aliases,
            contexts=[prompt],
            continuations=[dict(_GEN_TRIVIA)],
            answer=value,
            difficulty=float(rng.normal()),
        )

    add(
        TaskDef(
            "triviaqa",
            17944,
            "generate_until",
            ("exact_match",),
            ("remove_whitespace",),
            3.0,
            0,
            _cfg(
                "triviaqa",
                dataset_path="mandarjoshi/trivia_qa",
                dataset_name="rc.nocontext",
                training_split="train",
                validation_split="validation",
                doc_to_text="Question: {{question}}?\nAnswer:",
                doc_to_target="{{answer.aliases}}",
                should_decontaminate=True,
                doc_to_decontamination_query="question",
                generation_kwargs=dict(_GEN_TRIVIA),
                output_type="generate_until",
                filter_list=[
                    {
                        "name": "remove_whitespace",
                        "filter": [{"function": "remove_whitespace"}, {"function": "take_first"}],
                    }
                ],
                metric_list=[
                    {
                        "metric": "exact_match",
                        "aggregation": "mean",
                        "higher_is_better": True,
                        "ignore_case": True,
                        "ignore_punctuation": True,
                    }
                ],
                metadata={"version": 3.0},
            ),
            triviaqa,
            EASE["triviaqa"],
        )
    )

    # ---- translation
    def wmt(src: str, lang: str, text: Text) -> Callable[[np.random.Generator, int], Item]:
        def build(rng: np.random.Generator, i: int) -> Item:
            en_s = en.sentence(rng, 8, 42)
            k = len(en_s.split())
            src_s = text.sentence(rng, max(4, k - 4), k + 5)
            doc = {"translation": {src: src_s, "en": en_s}}
            prompt = f"{lang} phrase: {src_s}\nEnglish phrase:"
            return Item(
                doc=doc,
                target=" " + en_s,
                contexts=[prompt],
                continuations=[dict(_GEN_UNTIL_NL)],
                answer=en_s,
                difficulty=float(rng.normal()),
            )

        return build

    for name, n, src, lang, text in (
        ("wmt16-de-en", 2999, "de", "German", g.de),
        ("wmt16-ro-en", 1999, "ro", "Romanian", g.ro),
    ):
        add(
            TaskDef(
                name,
                n,
                "generate_until",
                ("bleu", "ter", "chrf"),
                ("none",),
                1.0,
                0,
                _cfg(
                    name,
                    tag=["translation", "wmt16", "gpt3_translation_benchmarks"],
                    dataset_path="wmt/wmt16",
                    dataset_name=f"{src}-en",
                    training_split="train",
                    validation_split="validation",
                    fewshot_split="validation",
                    test_split="test",
                    doc_to_text=f'{lang} phrase: {{{{translation["{src}"]}}}}\nEnglish phrase:',
                    doc_to_target=' {{translation["en"]}}',
                    output_type="generate_until",
                    generation_kwargs=dict(_GEN_UNTIL_NL),
                    metric_list=[{"metric": "bleu"}, {"metric": "ter"}, {"metric": "chrf"}],
                ),
                wmt(src, lang, text),
                EASE[name],
            )
        )

    # ---- commonsense
    def hellaswag(rng: np.random.Generator, i: int) -> Item:
        act = en.name(rng)
        ctx_a = en.paragraph(rng, 14, 42)
        ctx_b = en.phrase(rng, 2, 8)
        endings = [en.phrase(rng, 8, 30) + "." for _ in range(4)]
        label = int(rng.integers(0, 4))
        query = f"{act}: {ctx_a} {ctx_b.capitalize()}"
        doc = {
            "ind": int(i * 4 + 24),
            "activity_label": act,
            "ctx_a": ctx_a,
            "ctx_b": ctx_b,
            "ctx": f"{ctx_a} {ctx_b}",
            "endings": endings,
            "source_id": f"activitynet~v_{int(rng.integers(0, 36**8)):011x}",
            "split": "val",
            "split_type": "indomain" if rng.random() < 0.5 else "zeroshot",
            "label": str(label),
            "query": query,
            "choices": endings,
            "gold": label,
        }
        return _mc_item(query, endings, label, doc, float(rng.normal()))

    add(
        TaskDef(
            "hellaswag",
            10042,
            "multiple_choice",
            ("acc", "acc_norm"),
            ("none",),
            1.0,
            0,
            _cfg(
                "hellaswag",
                tag=["multiple_choice"],
                dataset_path="Rowan/hellaswag",
                training_split="train",
                validation_split="validation",
                process_docs="def process_docs(dataset): ...",
                doc_to_text="{{query}}",
                doc_to_target="{{label}}",
                doc_to_choice="choices",
                metric_list=_MC2_METRICS,
            ),
            hellaswag,
            EASE["hellaswag"],
        )
    )

    def winogrande(rng: np.random.Generator, i: int) -> Item:
        before = en.phrase(rng, 6, 16)
        after = en.phrase(rng, 4, 12) + "."
        o1, o2 = en.name(rng), en.name(rng)
        answer = "1" if rng.random() < 0.5 else "2"
        sentence = f"{before[:1].upper()}{before[1:]} _ {after}"
        doc = {"sentence": sentence, "option1": o1, "option2": o2, "answer": answer}
        idx = sentence.index("_")
        contexts = [sentence[:idx] + o for o in (o1, o2)]
        cont = sentence[idx + 1 :].strip()
        gold = int(answer) - 1
        return Item(
            doc=doc,
            target=cont,
            contexts=contexts,
            continuations=[" " + cont] * 2,
            gold=gold,
            choices=contexts,
            difficulty=float(rng.normal()),
        )

    add(
        TaskDef(
            "winogrande",
            1267,
            "multiple_choice",
            ("acc",),
            ("none",),
            1.0,
            0,
            _cfg(
                "winogrande",
                dataset_path="allenai/winogrande",
                dataset_name="winogrande_xl",
                training_split="train",
                validation_split="validation",
                doc_to_text="def doc_to_text(doc): ...",
                doc_to_target="def doc_to_target(doc): ...",
                doc_to_choice="def doc_to_choice(doc): ...",
                should_decontaminate=True,
                doc_to_decontamination_query="sentence",
                metric_list=[{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            ),
            winogrande,
            EASE["winogrande"],
        )
    )

    def piqa(rng: np.random.Generator, i: int) -> Item:
        goal = en.sentence(rng, 4, 16)
        sols = [en.paragraph(rng, 5, 45) for _ in range(2)]
        label = int(rng.integers(0, 2))
        doc = {"goal": goal, "sol1": sols[0], "sol2": sols[1], "label": label}
        return _mc_item(f"Question: {goal}\nAnswer:", sols, label, doc, float(rng.normal()))

    add(
        TaskDef(
            "piqa",
            1838,
            "multiple_choice",
            ("acc", "acc_norm"),
            ("none",),
            1.0,
            0,
            _cfg(
                "piqa",
                dataset_path="baber/piqa",
                training_split="train",
                validation_split="validation",
                doc_to_text="Question: {{goal}}\nAnswer:",
                doc_to_target="label",
                doc_to_choice="{{[sol1, sol2]}}",
                should_decontaminate=True,
                doc_to_decontamination_query="goal",
                metric_list=_MC2_METRICS,
            ),
            piqa,
            EASE["piqa"],
        )
    )

    # ---- knowledge: the 57 MMLU subjects
    subj_rng = np.random.default_rng([seed, 57])
    for subject, (n, cat) in MMLU.items():
        lo, hi = MMLU_LONG.get(subject, (12, 70))
        long_choices = subject in MMLU_LONG
        pretty = subject.replace("_", " ")
        description = f"The following are multiple choice questions (with answers) about {pretty}.\n\n"

        def mmlu(
            rng: np.random.Generator,
            i: int,
            *,
            _s: str = subject,
            _lo: int = lo,
            _hi: int = hi,
            _long: bool = long_choices,
            _d: str = description,
        ) -> Item:
            q = en.paragraph(rng, _lo, _hi)
            if rng.random() < 0.6:
                q += " " + en.sentence(rng, 6, 16, end="?")
            choices = [en.phrase(rng, 4, 28) if _long else en.phrase(rng, 1, 12) for _ in range(4)]
            gold = int(rng.integers(0, 4))
            doc = {"question": q, "subject": _s, "choices": choices, "answer": gold}
            prompt = f"{_d}{q.strip()}\nA. {choices[0]}\nB. {choices[1]}\nC. {choices[2]}\nD. {choices[3]}\nAnswer:"
            return _mc_item(prompt, ["A", "B", "C", "D"], gold, doc, float(rng.normal()))

        name = f"mmlu_{subject}"
        add(
            TaskDef(
                name,
                n,
                "multiple_choice",
                ("acc",),
                ("none",),
                1.0,
                0,
                _cfg(
                    name,
                    task_alias=subject,
                    tag=f"mmlu_{cat}_tasks",
                    dataset_path="cais/mmlu",
                    dataset_name=subject,
                    test_split="test",
                    fewshot_split="dev",
                    fewshot_config={"sampler": "first_n"},
                    doc_to_text="{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}"
                    "\nD. {{choices[3]}}\nAnswer:",
                    doc_to_target="answer",
                    doc_to_choice=["A", "B", "C", "D"],
                    description=description,
                    metric_list=[{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
                ),
                mmlu,
                -0.3 + float(subj_rng.normal(0, 0.4)),
                alias=subject,
            )
        )

    # ---- math
    def gsm8k(rng: np.random.Generator, i: int) -> Item:
        q, steps, ans = _gsm_problem(g, rng)
        shots = rng.choice(len(g.gsm_shots), size=5, replace=False)
        fewshot = "".join(
            f"Question: {g.gsm_shots[int(j)][0]}\nAnswer: {g.gsm_shots[int(j)][1]}\n\n" for j in shots
        )
        doc = {"question": q, "answer": steps}
        prompt = f"{fewshot}Question: {q}\nAnswer:"
        return Item(
            doc=doc,
            target=steps,
            contexts=[prompt],
            continuations=[dict(_GEN_GSM)],
            answer=ans,
            difficulty=float(rng.normal()),
        )

    add(
        TaskDef(
            "gsm8k",
            1319,
            "generate_until",
            ("exact_match",),
            ("strict-match", "flexible-extract"),
            3.0,
            5,
            _cfg(
                "gsm8k",
                tag=["math_word_problems"],
                dataset_path="openai/gsm8k",
                dataset_name="main",
                training_split="train",
                fewshot_split="train",
                test_split="test",
                doc_to_text="Question: {{question}}\nAnswer:",
                doc_to_target="{{answer}}",
                num_fewshot=5,
                output_type="generate_until",
                generation_kwargs=dict(_GEN_GSM),
                metric_list=[
                    {
                        "metric": "exact_match",
                        "aggregation": "mean",
                        "higher_is_better": True,
                        "ignore_case": True,
                        "ignore_punctuation": False,
                        "regexes_to_ignore": [",", "\\$", "(?s).*#### ", "\\.$"],
                    }
                ],
                filter_list=[
                    {
                        "name": "strict-match",
                        "filter": [
                            {"function": "regex", "regex_pattern": "#### (\\-?[0-9\\.\\,]+)"},
                            {"function": "take_first"},
                        ],
                    },
                    {
                        "name": "flexible-extract",
                        "filter": [
                            {
                                "function": "regex",
                                "group_select": -1,
                                "regex_pattern": "(-?[$0-9.,]{2,})|(-?[0-9]+)",
                            },
                            {"function": "take_first"},
                        ],
                    },
                ],
                metadata={"version": 3.0},
            ),
            gsm8k,
            EASE["gsm8k"],
        )
    )

    # ---- intent
    bk = _load_yaml(cfg_dir / "mtl_banking77.yaml")
    bk_choices = [str(c) for c in bk.get("doc_to_choice") or []]
    if len(bk_choices) != 77:
        raise SystemExit(f"{cfg_dir / 'mtl_banking77.yaml'}: expected 77 choices, found {len(bk_choices)}")

    def banking77(rng: np.random.Generator, i: int) -> Item:
        label = i % 77 if rng.random() < 0.5 else int(rng.integers(0, 77))
        text = en.sentence(rng, 4, 26, end="?" if rng.random() < 0.5 else "")
        doc = {"text": text, "label": label}
        prompt = f"Customer message: {text}\nQuestion: What is the customer's intent?\nAnswer:"
        return _mc_item(prompt, bk_choices, label, doc, float(rng.normal()))

    bk_cfg = {k: v for k, v in bk.items() if k not in ("task",)}
    add(
        TaskDef(
            "mtl_banking77",
            3080,
            "multiple_choice",
            ("acc", "acc_norm"),
            ("none",),
            1.0,
            0,
            _cfg("mtl_banking77", **bk_cfg),
            banking77,
            EASE["mtl_banking77"],
        )
    )

    # ---- search: MS MARCO passage ranking, one doc per query, one " Yes" loglikelihood per passage
    ms = _load_yaml(cfg_dir / "mtl_msmarco.yaml")
    ms_utils = _msmarco_utils()

    def msmarco(rng: np.random.Generator, i: int) -> Item:
        n = int(rng.choice([10] * 8 + [9, 8, 7, 6, 4, 3]))
        r = int(rng.choice([1] * 9 + [2, 2, 3]))
        selected = [0] * n
        for j in rng.choice(n, size=min(r, n - 1), replace=False):
            selected[int(j)] = 1
        texts = [en.paragraph(rng, 25, 90) for _ in range(n)]
        query = en.phrase(rng, 2, 9)
        doc = {
            "answers": [en.sentence(rng, 3, 14)],
            "passages": {
                "is_selected": selected,
                "passage_text": texts,
                "url": [
                    f"http://www.{en.pick(rng, 1)[0]}.com/{int(rng.integers(1, 99999))}" for _ in range(n)
                ],
            },
            "query": query,
            "query_id": int(9652 + i),
            "query_type": str(rng.choice(["description", "numeric", "entity", "location", "person"])),
            "wellFormedAnswers": [],
        }
        prompts = ms_utils.doc_to_choice(doc)
        return Item(
            doc=doc,
            target="Yes",
            contexts=prompts,
            continuations=[" Yes"] * n,
            choices=prompts,
            difficulty=float(rng.normal()),
        )

    ms_cfg = {k: v for k, v in ms.items() if k not in ("task",)}
    for key in ("process_docs", "doc_to_text", "doc_to_choice", "process_results"):
        ms_cfg[key] = (
            f"def {key}(doc): ..." if key != "process_results" else "def process_results(doc, results): ..."
        )
    add(
        TaskDef(
            "mtl_msmarco",
            MSMARCO_QUERIES,
            "multiple_choice",
            MSMARCO_METRICS,
            ("none",),
            1.0,
            0,
            _cfg("mtl_msmarco", **ms_cfg),
            msmarco,
            EASE["mtl_msmarco"],
        )
    )
    return defs


#: Queries of microsoft/ms_marco v1.1 validation (the dataset card); the task drops those without a
#: relevant passage, a number not counted offline, so the synthetic run keeps the card's count.
MSMARCO_QUERIES = 10047
MSMARCO_METRICS = ("rr10", "ndcg10", "rr10_chance", "ndcg10_chance")


def _msmarco_utils() -> Any:
    """``task_configs/mtl_suite/msmarco_utils.py``, whose ``process_results`` scores the synthetic queries."""
    import importlib.util

    path = REPO / "task_configs" / SUITE / "msmarco_utils.py"
    spec = importlib.util.spec_from_file_location("_make_suite_run_msmarco_utils", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _msmarco_response(
    rng: np.random.Generator, it: Item, skill: float, utils: Any
) -> tuple[list[list[list[str]]], list[list[str]], dict[str, float]]:
    """Loglikelihoods of " Yes" per passage (relevant ones higher by a margin growing with skill), and the
    task's own per-query metrics of them (``msmarco_utils.process_results``)."""
    labels = np.asarray(it.doc["passages"]["is_selected"], dtype=np.float64)
    margin = 2.5 * _sigmoid(1.4 * skill) - 0.4
    lls = -(1.5 + 3.0 * rng.random(labels.size)) + margin * labels + rng.normal(0.0, 0.6, labels.size)
    pairs = [[str(float(v)), "False"] for v in lls]
    resps = [[pair] for pair in pairs]
    metrics = utils.process_results(it.doc, [(float(v), False) for v in lls])
    return resps, pairs, {k: float(metrics[k]) for k in MSMARCO_METRICS}


# --------------------------------------------------------------------------- scoring helpers


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


_GSM_STRICT = None
_GSM_FLEX = None
_GSM_IGNORE = None


def _gsm_filters(completion: str) -> tuple[str, str]:
    """gsm8k's strict-match and flexible-extract filters (lm-eval ``RegexFilter`` + ``take_first``)."""
    import re

    global _GSM_STRICT, _GSM_FLEX
    if _GSM_STRICT is None:
        _GSM_STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
        _GSM_FLEX = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
    assert _GSM_FLEX is not None

    def pick(rx: Any, select: int) -> str:
        found = rx.findall(completion)
        if not found:
            return "[invalid]"
        m = found[select]
        if isinstance(m, tuple):
            m = [x for x in m if x]
            m = m[0] if m else "[invalid]"
        return str(m).strip()

    return pick(_GSM_STRICT, 0), pick(_GSM_FLEX, -1)


def _gsm_exact(pred: str, target: str) -> float:
    """lm-eval ``exact_match`` with gsm8k's options (regexes_to_ignore, ignore_case)."""
    import re

    global _GSM_IGNORE
    if _GSM_IGNORE is None:
        _GSM_IGNORE = [re.compile(s) for s in (",", r"\$", r"(?s).*#### ", r"\.$")]
    p, t = pred, target
    for rx in _GSM_IGNORE:
        p = rx.sub("", p)
        t = rx.sub("", t)
    return 1.0 if p.lower() == t.lower() else 0.0


def _noisy_translation(en: Text, rng: np.random.Generator, ref: str, quality: float) -> str:
    out = []
    for w in ref.split():
        u = rng.random()
        if u < quality:
            out.append(w)
        elif u < quality + (1 - quality) * 0.6:
            out.append(en.pick(rng, 1)[0])
        elif u < quality + (1 - quality) * 0.8:
            out.append(w)
            out.append(en.pick(rng, 1)[0])
        # else: dropped
    return " " + (" ".join(out) if out else en.pick(rng, 1)[0])


def _corpus(metric: str, refs: list[str], preds: list[str], rng: np.random.Generator) -> tuple[float, float]:
    """Corpus score (sacrebleu, as lm-eval aggregates it) and a 100-resample bootstrap stderr.

    The score is computed from the summed segment statistics (integer counts: the same number as
    ``sacrebleu.corpus_<metric>``, which sums the same statistics); the bootstrap resamples segments.
    """
    import sacrebleu
    from sacrebleu.metrics.bleu import BLEU
    from sacrebleu.metrics.chrf import CHRF
    from sacrebleu.metrics.ter import TER

    m: Any = {"bleu": BLEU(), "chrf": CHRF(), "ter": TER()}[metric]
    try:
        stats = np.asarray(m._extract_corpus_statistics(preds, [refs]))
        value = float(m._compute_score_from_stats(stats.sum(axis=0).tolist()).score)
    except Exception:  # noqa: BLE001 - sacrebleu internals changed: the public corpus function, no stderr
        corpus: dict[str, Any] = {
            "bleu": sacrebleu.corpus_bleu,
            "chrf": sacrebleu.corpus_chrf,
            "ter": sacrebleu.corpus_ter,
        }
        return float(corpus[metric](preds, [refs]).score), math.nan
    n = stats.shape[0]
    boot = []
    for _ in range(100):
        idx = rng.integers(0, n, size=n)
        boot.append(float(m._compute_score_from_stats(stats[idx].sum(axis=0).tolist()).score))
    return value, float(np.std(boot, ddof=1))


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mu = sum(values) / n
    if n < 2:
        return mu, math.nan
    var = sum((v - mu) ** 2 for v in values) / (n - 1)
    return mu, math.sqrt(var) / math.sqrt(n)


# --------------------------------------------------------------------------- models


@dataclass
class Model:
    name: str
    """lm-eval's model name (``org/model``)."""
    folder: Path
    ts: str
    ability: float
    skill: dict[str, float] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    n_records: int = 0
    n_bytes: int = 0


def family_of(name: str) -> str:
    """The model a checkpoint was fine-tuned from: ``org/ft-<task>`` -> ``org/base``; else itself."""
    org, _, short = name.rpartition("/")
    if short.startswith(("ft-", "ft_")):
        return f"{org}/base" if org else "base"
    return name


def _model_ability(seed: int, name: str, tasks: Iterable[str]) -> tuple[float, dict[str, float]]:
    """Ability and per-task skill offsets; a checkpoint ``ft-<task>`` keeps its base model's, plus a gain."""
    family = family_of(name)
    rng = np.random.default_rng([seed, zlib.crc32(family.encode("utf-8")), 7])
    own = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), 8])
    ability = float(rng.normal(0.0, 0.6))
    if family != name:
        ability += float(own.normal(0.0, 0.05))
    skill: dict[str, float] = {}
    short = name.split("/")[-1]
    boosted = None
    for prefix in ("ft-", "ft_"):
        if short.startswith(prefix):
            boosted = short[len(prefix) :]
    for t in tasks:
        s = float(rng.normal(0.0, 0.25)) + (float(own.normal(0.0, 0.05)) if family != name else 0.0)
        if boosted is not None and (t == boosted or (boosted == "mmlu" and t.startswith("mmlu_"))):
            s += 0.8
        skill[t] = s
    return ability, skill


# --------------------------------------------------------------------------- writing


@dataclass
class Summary:
    out: Path
    folders: list[Path]
    n_records: int
    n_bytes: int
    seconds: float
    scale: float
    items: dict[str, int]


def _n_items(n_full: int, scale: float, min_items: int) -> int:
    if scale >= 1.0:
        return n_full
    return min(n_full, max(int(math.ceil(n_full * scale)), min_items))


def _groups(defs: dict[str, TaskDef]) -> tuple[dict[str, list[str]], dict[str, str], dict[str, str]]:
    """group -> children (lm-eval's ``group_subtasks``), group -> alias, group -> version."""
    from lm_eval_mtl.suites import load_suite

    spec = load_suite(SUITE)
    cfg_dir = spec.source.parent if spec.source is not None else REPO / "task_configs" / SUITE
    top = _load_yaml(cfg_dir / f"_{SUITE}.yaml")
    subtasks: dict[str, list[str]] = {}
    alias: dict[str, str] = {}
    version: dict[str, str] = {}
    families = [str(f) for f in top.get("task", [])]
    for fam in families:
        y = _load_yaml(cfg_dir / f"_{fam}.yaml")
        subtasks[fam] = [str(t) for t in y.get("task", [])]
        alias[fam] = str(y.get("group_alias", fam))
        version[fam] = str((y.get("metadata") or {}).get("version", "N/A"))
    if any("mmlu" in c for c in subtasks.values()):
        subtasks["mmlu"] = [f"mmlu_{c}" for c in MMLU_CATEGORIES]
        alias["mmlu"] = "mmlu"
        version["mmlu"] = "2"
        for c in MMLU_CATEGORIES:
            subtasks[f"mmlu_{c}"] = [f"mmlu_{s}" for s, (_, cat) in MMLU.items() if cat == c]
            alias[f"mmlu_{c}"] = c
            version[f"mmlu_{c}"] = "2"
    subtasks[SUITE] = families
    alias[SUITE] = str(top.get("group_alias", SUITE))
    version[SUITE] = str((top.get("metadata") or {}).get("version", "N/A"))
    leaves = {t for c in subtasks.values() for t in c} - set(subtasks)
    unknown = sorted(leaves - set(defs))
    missing = sorted(set(m.task for m in spec.members) - set(defs))
    if unknown or missing:
        raise SystemExit(f"suite {SUITE}: tasks without a generator: {', '.join(unknown + missing)}")
    return subtasks, alias, version


def _leaves(subtasks: dict[str, list[str]], g: str) -> list[str]:
    out: list[str] = []
    for c in subtasks.get(g, []):
        out.extend(_leaves(subtasks, c) if c in subtasks else [c])
    return out


def _mc_response(
    rng: np.random.Generator, it: Item, correct: bool, metric: str
) -> tuple[list[list[list[str]]], list[list[str]], dict[str, float]]:
    k = len(it.continuations)
    lens = np.array([float(len(c)) for c in it.choices], dtype=np.float64)
    per_char = -(0.4 + 2.2 * rng.random(k))
    if metric == "acc_norm":
        score = per_char
    else:
        score = per_char * np.maximum(lens, 1.0) ** 0.35  # keeps acc from tracking length exactly
    best = int(np.argmax(score))
    if correct and best != it.gold:
        score[it.gold] = score[best] + 0.05 + 0.3 * rng.random()
    elif not correct and best == it.gold and k > 1:
        other = int(rng.integers(0, k - 1))
        other += other >= it.gold
        score[other] = score[it.gold] + 0.05 + 0.3 * rng.random()
    lls = score * lens if metric == "acc_norm" else score
    acc = 1.0 if int(np.argmax(lls)) == it.gold else 0.0
    acc_norm = 1.0 if int(np.argmax(lls / lens)) == it.gold else 0.0
    top = int(np.argmax(lls))
    resps: list[list[list[str]]] = []
    filtered: list[list[str]] = []
    for j in range(k):
        pair = [str(float(lls[j])), str(j == top and lens[j] <= 3)]
        resps.append([pair])
        filtered.append(pair)
    return resps, filtered, {"acc": acc, "acc_norm": acc_norm}


class Writer:
    """Writes every model's files, one task at a time (each task's documents are built once)."""

    def __init__(self, out: Path, names: list[str], *, scale: float, seed: int, min_items: int, quiet: bool):
        self.out = out
        self.scale = scale
        self.seed = seed
        self.min_items = min_items
        self.quiet = quiet
        en = Text(seed * 7919 + 1, _SYLLABLES)
        de = Text(seed * 7919 + 2, _DE_SYLLABLES + _SYLLABLES[:20], function=False)
        ro = Text(seed * 7919 + 3, _RO_SYLLABLES + _SYLLABLES[:20], function=False)
        shot_rng = np.random.default_rng([seed, 5])
        gen = Gen(en=en, de=de, ro=ro, gsm_shots=[])
        gen.gsm_shots = [_gsm_problem(gen, shot_rng)[:2] for _ in range(64)]
        self.gen = gen
        self.defs = task_defs(gen, seed)
        self.msmarco_utils = _msmarco_utils()
        self.subtasks, self.alias, self.group_version = _groups(self.defs)
        self.order = _leaves(self.subtasks, SUITE)
        t0 = datetime(2026, 1, 15, 9, 0, 0) + timedelta(seconds=seed % 86400)
        self.models: list[Model] = []
        for i, name in enumerate(names):
            ts = (t0 + timedelta(minutes=41 * i, microseconds=123457 * (i + 1) % 1_000_000)).strftime(
                "%Y-%m-%dT%H-%M-%S.%f"
            )
            ability, skill = _model_ability(seed, name, self.order)
            folder = out / name.replace("/", "__")
            self.models.append(Model(name=name, folder=folder, ts=ts, ability=ability, skill=skill))
        self.items: dict[str, int] = {}

    # -- one task, every model
    def write_task(self, ti: int, t: TaskDef) -> None:
        n = _n_items(t.n_full, self.scale, self.min_items)
        self.items[t.name] = n
        rng = np.random.default_rng([self.seed, 1000 + ti])
        items = [t.build(rng, i) for i in range(n)]
        heads: list[str] = []
        tails: list[str] = []
        hash_join = []
        for i, it in enumerate(items):
            args = {
                f"gen_args_{j}": {"arg_0": c, "arg_1": cont}
                for j, (c, cont) in enumerate(zip(it.contexts, it.continuations, strict=True))
            }
            target = str(it.target)
            doc_hash = _sha(json.dumps(it.doc, indent=2, ensure_ascii=False))
            prompt_hash = _sha(it.contexts[0])
            target_hash = _sha(target)
            heads.append(
                f'{{"doc_id": {i}, "doc": {_dumps(it.doc)}, "target": {_dumps(target)}, '
                f'"arguments": {_dumps(args)}, '
            )
            tails.append(
                f'"doc_hash": "{doc_hash}", "prompt_hash": "{prompt_hash}", "target_hash": "{target_hash}"'
            )
            hash_join.append(doc_hash + prompt_hash + target_hash)
        # lm-eval hashes every logged record of the task, all filters in order
        task_hash = _sha("".join(hash_join * len(t.filters)))
        metric_json = _dumps(list(t.metrics))
        member_metric = "acc_norm" if t.name in ("arc_challenge", "hellaswag") else t.metrics[0]
        for mi, m in enumerate(self.models):
            mrng = np.random.default_rng([self.seed, zlib.crc32(m.name.encode("utf-8")), 1000 + ti])
            # a checkpoint agrees with its base model on most items: share the base's draw 85% of the time
            frng = np.random.default_rng(
                [self.seed, zlib.crc32(family_of(m.name).encode("utf-8")), 1000 + ti, 9]
            )
            shared = family_of(m.name) != m.name or any(family_of(o.name) == m.name for o in self.models)

            def draw(
                mrng: np.random.Generator = mrng, frng: np.random.Generator = frng, shared: bool = shared
            ) -> float:
                uf, uo = frng.random(), mrng.random()
                return uf if shared and mrng.random() < 0.85 else uo

            theta = m.ability + m.skill.get(t.name, 0.0) + t.ease
            lines_by_filter: dict[str, list[str]] = {f: [] for f in t.filters}
            values: dict[tuple[str, str], list[Any]] = {}
            for i, it in enumerate(items):
                if t.name == "mtl_msmarco":
                    resps, filtered, mvals = _msmarco_response(
                        mrng, it, theta - it.difficulty + (draw() - 0.5), self.msmarco_utils
                    )
                    body = (
                        f'"resps": {_dumps(resps)}, "filtered_resps": {_dumps(filtered)}, "filter": "none", '
                        f'"metrics": {metric_json}, '
                    )
                    vals = ", ".join(f'"{mt}": {_dumps(v)}' for mt, v in mvals.items())
                    lines_by_filter["none"].append(heads[i] + body + tails[i] + ", " + vals + "}\n")
                    for mt, v in mvals.items():
                        values.setdefault((mt, "none"), []).append(v)
                elif t.output_type == "multiple_choice":
                    k = len(it.continuations)
                    c = 1.0 / k
                    p = c + (1 - c) * _sigmoid(1.6 * (theta - it.difficulty))
                    resps, filtered, sc = _mc_response(mrng, it, draw() < p, member_metric)
                    f = t.filters[0]
                    mvals = {mt: sc[mt] for mt in t.metrics}
                    body = (
                        f'"resps": {_dumps(resps)}, "filtered_resps": {_dumps(filtered)}, "filter": "{f}", '
                        f'"metrics": {metric_json}, '
                    )
                    vals = ", ".join(f'"{mt}": {_dumps(v)}' for mt, v in mvals.items())
                    lines_by_filter[f].append(heads[i] + body + tails[i] + ", " + vals + "}\n")
                    for mt, v in mvals.items():
                        values.setdefault((mt, f), []).append(v)
                elif t.name == "triviaqa":
                    p = _sigmoid(1.6 * (theta - it.difficulty))
                    ans = (
                        it.answer
                        if draw() < p
                        else self.gen.en.name(mrng) + " " + self.gen.en.pick(mrng, 1)[0]
                    )
                    em = 1.0 if ans.lower() in it.doc["answer"]["normalized_aliases"] else 0.0
                    body = (
                        f'"resps": {_dumps([[" " + ans]])}, "filtered_resps": {_dumps([ans])}, '
                        f'"filter": "remove_whitespace", "metrics": {metric_json}, '
                    )
                    lines_by_filter["remove_whitespace"].append(
                        heads[i] + body + tails[i] + f', "exact_match": {_dumps(em)}}}\n'
                    )
                    values.setdefault(("exact_match", "remove_whitespace"), []).append(em)
                elif t.name.startswith("wmt16"):
                    q = 0.35 + 0.6 * _sigmoid(1.2 * (theta - it.difficulty))
                    pred = _noisy_translation(self.gen.en, mrng, it.answer, q)
                    ref = str(it.target)
                    pair = [ref, pred]
                    body = (
                        f'"resps": {_dumps([[pred]])}, "filtered_resps": {_dumps([pred])}, "filter": "none", '
                        f'"metrics": {metric_json}, '
                    )
                    pj = _dumps(pair)
                    vals = ", ".join(f'"{mt}": {pj}' for mt in t.metrics)
                    lines_by_filter["none"].append(heads[i] + body + tails[i] + ", " + vals + "}\n")
                    for mt in t.metrics:
                        values.setdefault((mt, "none"), []).append(pair)
                else:  # gsm8k
                    p = _sigmoid(1.6 * (theta - it.difficulty))
                    ans = int(it.answer)
                    shown = ans if draw() < p else ans + int(mrng.choice([-12, -3, -1, 1, 2, 5, 10, 40]))
                    reasoning = " ".join(
                        self.gen.en.sentence(mrng, 6, 16) for _ in range(int(mrng.integers(1, 4)))
                    )
                    step = (
                        f" {reasoning} {int(mrng.integers(2, 9))} * {int(mrng.integers(2, 9))} = <<calc>> so"
                    )
                    if mrng.random() < 0.7 + 0.2 * _sigmoid(theta):
                        completion = f"{step} the total is {shown}.\n#### {shown}\n\n"
                    else:
                        completion = f"{step} the answer is ${shown}."
                    strict, flex = _gsm_filters(completion)
                    for f, filt in (("strict-match", strict), ("flexible-extract", flex)):
                        em = _gsm_exact(filt, str(it.target))
                        body = (
                            f'"resps": {_dumps([[completion]])}, "filtered_resps": {_dumps([filt])}, '
                            f'"filter": "{f}", "metrics": {metric_json}, '
                        )
                        lines_by_filter[f].append(
                            heads[i] + body + tails[i] + f', "exact_match": {_dumps(em)}}}\n'
                        )
                        values.setdefault(("exact_match", f), []).append(em)
            m.folder.mkdir(parents=True, exist_ok=True)
            path = m.folder / f"samples_{t.name}_{m.ts}.jsonl"
            data = "".join(line for f in t.filters for line in lines_by_filter[f]).encode("utf-8")
            path.write_bytes(data)
            m.n_bytes += len(data)
            m.n_records += sum(len(v) for v in lines_by_filter.values())
            row: dict[str, Any] = {"name": t.name, "alias": t.alias or t.name, "sample_len": n}
            for mt in t.metrics:
                for f in t.filters:
                    vals_ = values[(mt, f)]
                    if mt in ("bleu", "chrf", "ter"):
                        refs = [str(v[0]) for v in vals_]
                        preds = [str(v[1]) for v in vals_]
                        v, se = _corpus(mt, refs, preds, np.random.default_rng([self.seed, mi, ti, len(mt)]))
                    else:
                        v, se = _mean_se(vals_)
                    row[f"{mt},{f}"] = v
                    row[f"{mt}_stderr,{f}"] = se if math.isfinite(se) else "N/A"
            m.rows[t.name] = row
            m.hashes[t.name] = task_hash

    # -- the results files
    def write_results(self) -> None:
        from lm_eval_mtl.suites import load_suite

        spec = load_suite(SUITE)
        members = {mm.task: mm for mm in spec.members}
        for m in self.models:
            rows: dict[str, Any] = {t: m.rows[t] for t in self.order}
            group_rows: dict[str, Any] = {}
            fam_groups = [g for g in self.subtasks[SUITE]]
            # bottom-up: mmlu categories, mmlu, families, suite
            for g in [f"mmlu_{c}" for c in MMLU_CATEGORIES] + ["mmlu"]:
                if g not in self.subtasks:
                    continue
                leaves = _leaves(self.subtasks, g)
                sizes = [m.rows[t]["sample_len"] for t in leaves]
                accs = [m.rows[t]["acc,none"] for t in leaves]
                ses = [m.rows[t]["acc_stderr,none"] for t in leaves]
                value = sum(a * s for a, s in zip(accs, sizes, strict=True)) / sum(sizes)
                if all(isinstance(s, float) and math.isfinite(s) for s in ses):
                    pooled = sum((s - 1) * e**2 * s for s, e in zip(sizes, ses, strict=True)) / (
                        sum(sizes) - len(sizes)
                    )
                    se: Any = math.sqrt(pooled / sum(sizes))
                else:
                    se = "N/A"
                group_rows[g] = {
                    "alias": self.alias[g],
                    "name": g,
                    "sample_len": sum(sizes),
                    "acc,none": value,
                    "acc_stderr,none": se,
                    "sample_count": {"acc,none": sum(sizes)},
                }

            def composite(tasks: list[str], weights: dict[str, float], m: Model = m) -> tuple[float, Any]:
                tot = 0.0
                var = 0.0
                for t in tasks:
                    mm = members[t]
                    key = f"{mm.metric},{mm.filter}"
                    x = float(m.rows[t][key])
                    e = m.rows[t][f"{mm.metric}_stderr,{mm.filter}"]
                    # a member with a chance metric takes its chance from the run (as the plugin's row does)
                    c = float(m.rows[t][f"{mm.chance_metric},{mm.filter}"]) if mm.chance_metric else mm.chance
                    span = mm.ceiling - c
                    tot += weights[t] * (x - c) / span
                    var += (weights[t] * (float(e) if isinstance(e, float) else math.nan) / span) ** 2
                return tot, (math.sqrt(var) if math.isfinite(var) else "N/A")

            fam_members: dict[str, list[str]] = {}
            for g in fam_groups:
                fam_members[g] = [t for t in _leaves(self.subtasks, g) if t in members]
            for g in fam_groups:
                ts_ = fam_members[g]
                v, se = composite(ts_, {t: 1.0 / len(ts_) for t in ts_})
                group_rows[g] = {
                    "alias": self.alias[g],
                    "name": g,
                    "sample_len": sum(m.rows[t]["sample_len"] for t in ts_),
                    "mtl_composite,none": v,
                    "mtl_composite_stderr,none": se,
                }
            w = {t: 1.0 / len(fam_groups) / len(fam_members[g]) for g in fam_groups for t in fam_members[g]}
            v, se = composite(list(w), w)
            group_rows[SUITE] = {
                "alias": self.alias[SUITE],
                "name": SUITE,
                "sample_len": sum(m.rows[t]["sample_len"] for t in self.order),
                "mtl_composite,none": v,
                "mtl_composite_stderr,none": se,
            }
            ordered_groups = [g for g in [f"mmlu_{c}" for c in MMLU_CATEGORIES] + ["mmlu"] if g in group_rows]
            ordered_groups += fam_groups + [SUITE]
            for g in ordered_groups:
                rows[g] = group_rows[g]
            hib: dict[str, dict[str, bool]] = {
                t: {mt: mt != "ter" for mt in self.defs[t].metrics} for t in self.order
            }
            for g in ordered_groups:
                merged: dict[str, bool] = {}
                for ch in self.subtasks[g]:
                    merged.update(hib.get(ch, {}))
                hib[g] = merged
            nshot: dict[str, int] = {t: self.defs[t].num_fewshot for t in self.order}
            for g in ordered_groups:
                shots = {nshot[ch] for ch in self.subtasks[g] if ch in nshot}
                if len(shots) == 1:
                    nshot[g] = shots.pop()
            versions: dict[str, Any] = {t: self.defs[t].version for t in self.order}
            versions.update({g: self.group_version[g] for g in ordered_groups})
            start = 31000.0 + 17.0 * len(self.models)
            results = {
                "results": rows,
                "groups": {g: group_rows[g] for g in ordered_groups},
                "group_subtasks": {g: list(self.subtasks[g]) for g in reversed(ordered_groups)},
                "configs": {t: self.defs[t].config for t in sorted(self.order)},
                "versions": dict(sorted(versions.items())),
                "n-shot": dict(sorted(nshot.items())),
                "higher_is_better": dict(sorted(hib.items())),
                "n-samples": {
                    t: {"original": self.defs[t].n_full, "effective": self.items[t]} for t in self.order
                },
                "config": {
                    "model": "hf",
                    "model_args": f"pretrained={m.name},dtype=bfloat16",
                    "model_num_parameters": 1_000_000_000 + zlib.crc32(m.name.encode()) % 7_000_000_000,
                    "model_dtype": "torch.bfloat16",
                    "model_revision": "main",
                    "model_sha": _sha(m.name)[:40],
                    "batch_size": "auto",
                    "batch_sizes": [64],
                    "device": "cuda:0",
                    "use_cache": None,
                    "limit": self.scale if self.scale < 1.0 else None,
                    "bootstrap_iters": 100000,
                    "gen_kwargs": {},
                    "random_seed": 0,
                    "numpy_seed": 1234,
                    "torch_seed": 1234,
                    "fewshot_seed": 1234,
                },
                "git_hash": "3b1f7e2",
                "date": 1768467600.0 + 60.0 * len(m.rows),
                "pretty_env_info": "PyTorch version: 2.5.1\nIs debug build: False\nCUDA used to build PyTorch: 12.4\n"
                "OS: Ubuntu 22.04.4 LTS (x86_64)\nPython version: 3.11.9 (64-bit runtime)\nIs CUDA available: True\n"
                "GPU models and configuration: GPU 0: NVIDIA H100 80GB HBM3\n",
                "transformers_version": "4.47.1",
                "lm_eval_version": LM_EVAL_VERSION,
                "upper_git_hash": None,
                "tokenizer_pad_token": ["<|endoftext|>", "0"],
                "tokenizer_eos_token": ["<|endoftext|>", "0"],
                "tokenizer_bos_token": [None, "None"],
                "eot_token_id": 0,
                "max_length": 4096,
                "task_hashes": {t: m.hashes[t] for t in self.order},
                "model_source": "hf",
                "model_name": m.name,
                "model_name_sanitized": m.name.replace("/", "__"),
                "system_instruction": None,
                "system_instruction_sha": None,
                "fewshot_as_multiturn": False,
                "chat_template": None,
                "chat_template_sha": None,
                "start_time": start,
                "end_time": start + 5400.0,
                "total_evaluation_time_seconds": "5400.0",
            }
            text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
            path = m.folder / f"results_{m.ts}.json"
            path.write_text(text, encoding="utf-8")
            m.n_bytes += len(text.encode("utf-8"))

    def run(self) -> None:
        for ti, name in enumerate(self.order):
            t0 = time.perf_counter()
            self.write_task(ti, self.defs[name])
            if not self.quiet:
                print(
                    f"  {name}: {self.items[name]} items x {len(self.models)} model(s) "
                    f"({time.perf_counter() - t0:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
        self.write_results()


def make_suite_run(
    out: str | Path,
    *,
    scale: float = 1.0,
    models: int = 1,
    model_names: Sequence[str] | None = None,
    seed: int = 0,
    org: str = "synth",
    min_items: int = 8,
    quiet: bool = True,
) -> Summary:
    """Write ``mtl_suite`` runs of ``models`` models (or the named ones) under ``out``; see the module doc."""
    if not (0 < scale <= 1.0):
        raise ValueError(f"scale must be in (0, 1]; got {scale}")
    out = Path(out)
    if model_names:
        names = [n if "/" in n else f"{org}/{n}" for n in model_names]
    else:
        if models < 1:
            raise ValueError(f"models must be >= 1; got {models}")
        width = max(3, len(str(models - 1)))
        names = [f"{org}/model-{i:0{width}d}" for i in range(models)]
    if len(set(names)) != len(names):
        raise ValueError("model names repeat")
    t0 = time.perf_counter()
    w = Writer(out, names, scale=scale, seed=seed, min_items=min_items, quiet=quiet)
    w.run()
    summary = Summary(
        out=out,
        folders=[m.folder for m in w.models],
        n_records=sum(m.n_records for m in w.models),
        n_bytes=sum(m.n_bytes for m in w.models),
        seconds=time.perf_counter() - t0,
        scale=scale,
        items=dict(w.items),
    )
    marker = {
        "scale": scale,
        "models": names,
        "seed": seed,
        "min_items": min_items,
        "n_records": summary.n_records,
        "n_bytes": summary.n_bytes,
        "items": summary.items,
    }
    (out / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (lm-eval's --output_path)")
    ap.add_argument(
        "--scale", type=float, default=1.0, help="fraction of each task's items (1.0: real sizes)"
    )
    ap.add_argument("--models", type=int, default=1, help="number of models (folders <org>__model-NNN)")
    ap.add_argument(
        "--model-names",
        default=None,
        help="comma-separated model names instead of --models "
        "(a name ft-<task> gets a planted gain on <task>)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--org", default="synth")
    ap.add_argument("--min-items", type=int, default=8, help="items per task at least (below scale 1)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.model_names.split(",") if n.strip()] if args.model_names else None
    s = make_suite_run(
        args.out,
        scale=args.scale,
        models=args.models,
        model_names=names,
        seed=args.seed,
        org=args.org,
        min_items=args.min_items,
        quiet=args.quiet,
    )
    print(f"folder: {s.out}")
    print(
        f"models: {len(s.folders)} ({', '.join(f.name for f in s.folders[:3])}{', ...' if len(s.folders) > 3 else ''})"
    )
    print(f"tasks: {len(s.items)}, items per model: {sum(s.items.values())} (scale {s.scale})")
    print(f"records: {s.n_records}")
    print(f"bytes: {s.n_bytes} ({s.n_bytes / 2**20:.1f} MiB)")
    print(f"time: {s.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

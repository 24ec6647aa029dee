"""Generate the items of the bundled ``mtl_demo`` suite (project-written, CC0).

Every item is composed here from small hand-written vocabularies with a fixed
seed; no third-party dataset is read or copied. Re-running the script rewrites
``data/*.jsonl`` byte for byte::

    python task_configs/mtl_demo/make_data.py

Any change to the output must bump ``metadata.version`` of the tasks concerned
and of the ``mtl_demo`` groups.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_ITEMS = 24

Item = dict[str, object]


def sentiment(rng: random.Random) -> list[Item]:
    """Two-way review sentiment (0 negative, 1 positive)."""
    things = [
        "film",
        "book",
        "meal",
        "concert",
        "hotel",
        "game",
        "album",
        "play",
        "lecture",
        "trip",
        "show",
        "cafe",
    ]
    good = ["wonderful", "delightful", "excellent", "moving", "charming", "brilliant"]
    bad = ["dull", "awful", "tedious", "disappointing", "boring", "terrible"]
    items: list[Item] = []
    for i in range(N_ITEMS):
        label = i % 2
        thing = things[i % len(things)]
        adj = rng.choice(good if label == 1 else bad)
        extra = rng.choice(["from start to finish", "in every way", "for the whole evening", "overall"])
        items.append({"id": f"sent-{i:02d}", "text": f"The {thing} was {adj} {extra}.", "label": label})
    return items


def topic(rng: random.Random) -> list[Item]:
    """Four-way news-headline topic."""
    heads = {
        0: [
            "The local team won the cup final",
            "A young runner broke the national record",
            "The coach resigned after the defeat",
        ],
        1: [
            "Shares rose after the bank reported profits",
            "The company cut prices to win customers",
            "Oil prices fell for a third week",
        ],
        2: [
            "Astronomers found a new moon around the planet",
            "A new battery charges in five minutes",
            "Researchers mapped the genome of a rare frog",
        ],
        3: [
            "Leaders met to sign a trade treaty",
            "Floods forced thousands from their homes",
            "The election results were announced at midnight",
        ],
    }
    tails = ["on Monday", "this week", "according to reports", "late last night", "in the capital"]
    items: list[Item] = []
    for i in range(N_ITEMS):
        label = i % 4
        head = heads[label][(i // 4) % 3]
        items.append({"id": f"topic-{i:02d}", "text": f"{head} {rng.choice(tails)}.", "label": label})
    return items


def qa(rng: random.Random) -> list[Item]:
    """Closed-book questions with one-word or short answers."""
    facts = [
        ("What is the capital of France?", "Paris"),
        ("What is the capital of Germany?", "Berlin"),
        ("What is the capital of Italy?", "Rome"),
        ("What is the capital of Spain?", "Madrid"),
        ("What is the capital of Japan?", "Tokyo"),
        ("What is the capital of Egypt?", "Cairo"),
        ("What colour is a clear daytime sky?", "blue"),
        ("What colour is fresh grass?", "green"),
        ("How many legs does a spider have?", "eight"),
        ("How many days are in a week?", "seven"),
        ("What do bees make?", "honey"),
        ("What is frozen water called?", "ice"),
        ("Which animal is known for its trunk?", "elephant"),
        ("Which planet do we live on?", "Earth"),
        ("What is the opposite of hot?", "cold"),
        ("What is the opposite of up?", "down"),
        ("Which season comes after winter?", "spring"),
        ("Which month comes after March?", "April"),
        ("What do you call a baby cat?", "kitten"),
        ("What do you call a baby dog?", "puppy"),
        ("Which metal is liquid at room temperature?", "mercury"),
        ("What gas do plants take in from the air?", "carbon dioxide"),
        ("How many hours are in a day?", "24"),
        ("What is the largest ocean on Earth?", "Pacific"),
    ]
    order = list(range(len(facts)))
    rng.shuffle(order)
    return [
        {"id": f"qa-{i:02d}", "question": facts[j][0], "answer": facts[j][1]}
        for i, j in enumerate(order[:N_ITEMS])
    ]


def translation(rng: random.Random) -> list[Item]:
    """German-English sentence pairs composed from phrase tables."""
    subjects = [
        ("Der Hund", "The dog"),
        ("Die Katze", "The cat"),
        ("Das Kind", "The child"),
        ("Der Lehrer", "The teacher"),
    ]
    verbs = [("schläft", "sleeps"), ("spielt", "plays"), ("wartet", "waits"), ("liest", "reads")]
    places = [
        ("im Garten", "in the garden"),
        ("im Haus", "in the house"),
        ("am Fluss", "by the river"),
        ("in der Schule", "at school"),
        ("im Park", "in the park"),
        ("auf dem Sofa", "on the sofa"),
    ]
    times = [("heute", "today"), ("jeden Morgen", "every morning"), ("am Abend", "in the evening")]
    combos = [(s, v, p, t) for s in subjects for v in verbs for p in places for t in times]
    rng.shuffle(combos)
    items: list[Item] = []
    for i, (s, v, p, t) in enumerate(combos[:N_ITEMS]):
        de = f"{s[0]} {v[0]} {t[0]} {p[0]}."
        en = f"{s[1]} {v[1]} {p[1]} {t[1]}."
        items.append({"id": f"deen-{i:02d}", "de": de, "en": en})
    return items


def commonsense(rng: random.Random) -> list[Item]:
    """Two-choice physical goals, gold position randomized."""
    pairs = [
        ("To keep ice cream from melting,", "put it in the freezer.", "put it in the oven."),
        ("To dry wet hands,", "use a towel.", "use a bucket of water."),
        ("To see in a dark room,", "switch on the light.", "close your eyes."),
        ("To cut a sheet of paper,", "use scissors.", "use a spoon."),
        ("To boil an egg,", "put it in hot water.", "put it in the fridge."),
        ("To stay dry in the rain,", "open an umbrella.", "open a window."),
        ("To wake up on time,", "set an alarm.", "turn off the clock."),
        ("To carry water,", "use a bottle.", "use a net."),
        ("To cool a hot drink,", "add an ice cube.", "add boiling water."),
        ("To write a letter,", "use a pen.", "use a fork."),
        ("To open a locked door,", "use the key.", "use a sandwich."),
        ("To make a room warmer,", "turn on the heater.", "open the freezer."),
    ]
    items: list[Item] = []
    for i in range(N_ITEMS):
        goal, right, wrong = pairs[i % len(pairs)]
        label = rng.randrange(2)
        choices = [right, wrong] if label == 0 else [wrong, right]
        items.append({"id": f"cs-{i:02d}", "goal": goal, "choices": choices, "label": label})
    return items


def math(rng: random.Random) -> list[Item]:
    """One-step arithmetic word problems with integer answers."""
    names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana"]
    objects = ["apples", "pencils", "stamps", "marbles", "books", "shells"]
    items: list[Item] = []
    for i in range(N_ITEMS):
        name = names[i % len(names)]
        obj = objects[i % len(objects)]
        a, b = rng.randint(2, 30), rng.randint(2, 20)
        kind = i % 3
        if kind == 0:
            q = f"{name} has {a} {obj} and buys {b} more. How many {obj} does {name} have now?"
            ans = a + b
        elif kind == 1:
            a = a + b
            q = f"{name} has {a} {obj} and gives away {b}. How many {obj} are left?"
            ans = a - b
        else:
            a = a % 9 + 2
            b = b % 9 + 2
            q = f"{name} fills {a} boxes with {b} {obj} each. How many {obj} is that in total?"
            ans = a * b
        items.append({"id": f"math-{i:02d}", "question": q, "answer": str(ans)})
    return items


GENERATORS: dict[str, Callable[[random.Random], list[Item]]] = {
    "sentiment": sentiment,
    "topic": topic,
    "qa": qa,
    "translation_de_en": translation,
    "commonsense": commonsense,
    "math": math,
}


def main() -> None:
    """Write every file under ``data/``."""
    out = HERE / "data"
    out.mkdir(exist_ok=True)
    for seed, (name, make) in enumerate(GENERATORS.items()):
        rows = make(random.Random(1000 + seed))
        with (out / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"wrote {len(rows)} items to {out / (name + '.jsonl')}")


if __name__ == "__main__":
    main()

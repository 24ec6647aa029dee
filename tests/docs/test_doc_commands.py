"""Every shell block of README.md and docs/*.md that can run offline runs, and exits 0.

A shell block is a fenced block tagged ``bash``, ``sh``, ``shell`` or ``console`` (of a
``console`` block only the ``$ `` lines run, with their ``\\`` continuations). Each
block runs as one ``bash -e -o pipefail`` script in a fresh temporary folder that
holds a copy of one shared demo run at ``lm-eval-mtl-demo/`` (where the docs expect
it: the default ``--output-dir`` of ``lm-eval-mtl demo``), offline, with this
interpreter's console scripts first on ``PATH``. So a command that writes files
writes them inside that folder.

A block that cannot run here says so on the line before its fence:

* ``<!-- doc-test: skip (why) -->``: never run (needs the Hub, a GPU, creates a
  virtual environment, runs this test suite itself ...);
* ``<!-- doc-test: slow (why) -->``: run only with ``LM_EVAL_MTL_DOC_TEST_SLOW=1``.

The demo runs once per session (``--limit 4``), and only when a block that runs needs it;
when the blocks use only its simulated runs (``lm-eval-mtl-demo/sim/``), only the step
that writes them runs, unless the session runs the whole demo anyway (the shared
``demo_output`` of tests/conftest.py, which tests/e2e/test_plugin_demo.py checks): then the
blocks read a copy of that one (see :func:`doc_demo_output`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DOC_FILES: tuple[Path, ...] = (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
MARKER = re.compile(r"^<!--\s*doc-test:\s*(?P<kind>skip|slow)\s*\((?P<reason>.+)\)\s*-->$")
MARKER_START = "<!-- doc-test:"
SLOW_ENV = "LM_EVAL_MTL_DOC_TEST_SLOW"
DEMO_FOLDER = "lm-eval-mtl-demo"
MAX_NOT_RUN = 12
"""Skipped plus slow blocks, at most: the list must stay small."""
BLOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    """One fenced shell block of a Markdown file."""

    file: Path
    line: int
    """1-based line of the opening fence."""
    language: str
    body: str
    marker: str | None
    """``skip``, ``slow`` or None (runs)."""
    reason: str

    @property
    def name(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"

    def script(self) -> str:
        """The commands to run (of a console block: the ``$`` lines and their continuations)."""
        if self.language != "console":
            return self.body
        out: list[str] = []
        continuing = False
        for line in self.body.splitlines():
            if continuing or line.startswith("$ "):
                text = line[2:] if line.startswith("$ ") and not continuing else line
                out.append(text)
                continuing = text.rstrip().endswith("\\")
        return "\n".join(out) + ("\n" if out else "")


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")


def parse_blocks(path: Path) -> tuple[list[Block], list[int]]:
    """Return the shell blocks of ``path`` and the lines of markers that precede no shell block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    used_markers: set[int] = set()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, fence, language = len(m.group("indent")), m.group("fence"), m.group("info").lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        if language in SHELL_LANGUAGES:
            body = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : j])
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            mk = MARKER.match(lines[k].strip()) if k >= 0 else None
            if mk is not None:
                used_markers.add(k)
            blocks.append(
                Block(
                    file=path,
                    line=i + 1,
                    language=language,
                    body=body + "\n",
                    marker=mk.group("kind") if mk else None,
                    reason=mk.group("reason").strip() if mk else "",
                )
            )
        i = j + 1
    stray = [
        n + 1
        for n, line in enumerate(lines)
        if line.strip().startswith(MARKER_START) and n not in used_markers
    ]
    return blocks, stray


BLOCKS: list[Block] = [b for f in DOC_FILES for b in parse_blocks(f)[0]]


def test_the_docs_have_shell_blocks_and_markers_are_well_formed() -> None:
    assert any(b.file.name == "README.md" for b in BLOCKS), "README.md has no shell block"
    stray = {str(f.relative_to(REPO)): parse_blocks(f)[1] for f in DOC_FILES}
    stray = {f: lines for f, lines in stray.items() if lines}
    assert not stray, f"doc-test markers not right before a shell block (or malformed): {stray}"


def test_the_list_of_blocks_that_do_not_run_stays_small() -> None:
    not_run = [b for b in BLOCKS if b.marker is not None]
    assert all(b.reason for b in not_run)
    assert len(not_run) <= MAX_NOT_RUN, [f"{b.name}: {b.marker} ({b.reason})" for b in not_run]
    runs = [b for b in BLOCKS if b.marker is None]
    assert runs, "no shell block of the docs runs"


_SIM_ONLY = re.compile(rf"{DEMO_FOLDER}(?!/sim/)")


def _blocks_need_the_full_demo(blocks: list[Block]) -> bool:
    """Whether a block that runs uses more of the demo's output than its simulated runs (``sim/``)."""
    return any(_SIM_ONLY.search(b.script()) for b in blocks if b.marker is None)


_SIM_STEP = """
import sys
from pathlib import Path
from lm_eval_mtl.demo.run import DemoContext, run_demo
from lm_eval_mtl.demo.story import STORY_STEPS
ctx = DemoContext(output_dir=Path(sys.argv[1]), limit=4, seed=0, echo=print)
run_demo(ctx, STORY_STEPS[:1])  # the step that writes OUTPUT_DIR/sim/ (lm_eval --model mtl-sim)
"""


def _session_runs_the_full_demo(request: pytest.FixtureRequest) -> bool:
    """Whether a test of this session uses the shared ``demo_output`` run (tests/conftest.py)."""
    return any("demo_output" in getattr(item, "fixturenames", ()) for item in request.session.items)


@pytest.fixture(scope="session")
def doc_demo_output(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    offline_env: dict[str, str],
) -> Path:
    """One demo run for all blocks, ``--limit 4``: only its simulated runs if that is all they use.

    The blocks of the docs use ``lm-eval-mtl-demo/sim/...`` (four ``lm_eval --model mtl-sim``
    runs, step 4 of the demo); the whole demo (the session's ``demo_output``, on its tiny model)
    is used when a block needs more of its output, or when another test of the session runs it
    anyway (tests/e2e/test_plugin_demo.py): then its ``sim/`` is the one the blocks read, and the
    simulated runs are not made twice.
    """
    if _blocks_need_the_full_demo(BLOCKS) or _session_runs_the_full_demo(request):
        demo = request.getfixturevalue("demo_output")  # built only when needed
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        out: Path = demo.out
    else:
        work = tmp_path_factory.mktemp("doc_demo")
        out = work / DEMO_FOLDER
        argv = [sys.executable, "-c", _SIM_STEP, str(out)]
        proc = subprocess.run(
            argv, cwd=work, env=offline_env, capture_output=True, text=True, timeout=900, check=False
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.name == DEMO_FOLDER
    assert sorted(p.name for p in (out / "sim").iterdir() if p.is_dir()) == [
        "base", "ft_mtl_demo_arithmetic", "ft_mtl_demo_sentiment", "mtl",
    ]  # fmt: skip
    return out


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_doc_block_runs_offline_and_exits_zero(
    block: Block, request: pytest.FixtureRequest, offline_env: dict[str, str], tmp_path: Path
) -> None:
    if block.marker == "skip":
        pytest.skip(f"{block.name}: {block.reason}")
    if block.marker == "slow" and os.environ.get(SLOW_ENV, "") not in ("1", "true", "yes"):
        pytest.skip(f"{block.name}: slow, {block.reason}; {SLOW_ENV}=1 runs it")
    script = block.script()
    if not script.strip():
        pytest.skip(f"{block.name}: no command in the block")
    work = tmp_path / "work"
    work.mkdir()
    if DEMO_FOLDER in script:
        demo: Path = request.getfixturevalue("doc_demo_output")
        shutil.copytree(demo, work / DEMO_FOLDER, symlinks=True)
    env = dict(offline_env)
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, (
        f"{block.name} exited {proc.returncode}\n--- script\n{script}--- stdout (end)\n"
        f"{proc.stdout[-3000:]}\n--- stderr (end)\n{proc.stderr[-3000:]}"
    )


def test_only_blocks_beyond_sim_need_the_full_demo() -> None:
    def block(text: str) -> Block:
        return Block(REPO / "README.md", 1, "bash", text, None, "")

    assert not _blocks_need_the_full_demo([block("lm-eval-mtl report lm-eval-mtl-demo/sim/base\n")])
    assert _blocks_need_the_full_demo([block("cat lm-eval-mtl-demo/report/REPORT.md\n")])


def test_parse_blocks_reads_markers_console_prompts_and_indented_fences(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "intro\n\n"
        "<!-- doc-test: skip (needs the Hub) -->\n"
        "```bash\nlm_eval run --model hf\n```\n\n"
        "```python\nprint(1)\n```\n\n"
        "1. a step:\n\n"
        "   ```sh\n   echo one \\\n     two\n   ```\n\n"
        "```console\n$ echo a \\\n  b\noutput line\n$ true\n```\n\n"
        "<!-- doc-test: slow (nothing follows) -->\n\nplain text\n",
        encoding="utf-8",
    )
    blocks, stray = parse_blocks(doc)
    assert [(b.language, b.marker, b.reason) for b in blocks] == [
        ("bash", "skip", "needs the Hub"),
        ("sh", None, ""),
        ("console", None, ""),
    ]
    assert blocks[1].script() == "echo one \\\n  two\n"
    assert blocks[2].script() == "echo a \\\n  b\ntrue\n"
    assert stray == [26]

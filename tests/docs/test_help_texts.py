"""Every subcommand and option of ``lm-eval-mtl`` has a help text; ``demo --help`` covers every step."""

from __future__ import annotations

import argparse

import pytest

from lm_eval_mtl.cli.main import build_parser


def _walk(parser: argparse.ArgumentParser, path: str) -> list[str]:
    problems: list[str] = []
    if not (parser.description or "").strip():
        problems.append(f"{path}: no description")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                if not (helps.get(name) or "").strip():
                    problems.append(f"{path} {name}: no help in the list of subcommands")
                problems += _walk(child, f"{path} {name}")
        elif action.help is None or (action.help != argparse.SUPPRESS and not action.help.strip()):
            problems.append(f"{path}: option {'/'.join(action.option_strings) or action.dest} has no help")
    return problems


def test_every_subcommand_and_option_has_a_help_text() -> None:
    assert _walk(build_parser(), "lm-eval-mtl") == []


@pytest.mark.parametrize("action", ["fit", "show", "list"])
def test_weights_actions_describe_themselves(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["weights", action, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    body = text.split("\n\n", 2)[1]  # the description, after the usage lines
    assert len(body.split()) >= 15, text


def test_demo_help_lists_every_step_and_the_cache_variable(capsys: pytest.CaptureFixture[str]) -> None:
    from lm_eval_mtl import DEMO_STEPS, DEMO_STORY_STEPS

    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    text = capsys.readouterr().out
    n = len(DEMO_STEPS) + len(DEMO_STORY_STEPS)
    assert (
        f"in {['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][n]} steps"
        in text
    )
    for i in range(1, n + 1):
        assert f"\n  {i}. " in text, f"step {i} missing from demo --help"
    assert "LM_EVAL_MTL_CACHE" in text
    for word in ("report", "compare", "transfer", "correlate", "REPORT.md", "--quick"):
        assert word in text

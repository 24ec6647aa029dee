"""Entry point of the ``lm-eval-mtl`` console script.

Each subcommand lives in its own module ``lm_eval_mtl.cli.<name>`` exposing
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed namespace and returning an exit code). Modules keep heavy
imports inside ``func`` so that ``lm-eval-mtl --help`` is fast.

The error contract (docs/bad-input.md) is kept here, at the boundary:

=====  =====================================================================================
exit   meaning
=====  =====================================================================================
0      done
1      an internal error (a bug): one line on stderr asking for a report with ``--debug``
2      refused: bad arguments or input files, unreadable or unwritable paths, a full disk,
       too little memory; one line on stderr naming what was wrong and how to fix it
130    interrupted (Ctrl-C)
141    stdout was closed early (``lm-eval-mtl report RUN | head -1``); nothing is printed
=====  =====================================================================================

``--debug`` (before or after the subcommand) or ``LM_EVAL_MTL_DEBUG=1`` prints the traceback
instead of the one line (same exit status).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

from lm_eval_mtl import MTLError

SUBCOMMANDS: tuple[str, ...] = (
    "report",
    "compare",
    "transfer",
    "affinity",
    "correlate",
    "weights",
    "suites",
    "demo",
)

DEBUG_ENV = "LM_EVAL_MTL_DEBUG"
"""Set to ``1`` (or ``true``/``yes``/``on``) to print tracebacks instead of one-line errors."""
_DEFAULT_SHOWWARNING = warnings.showwarning
EXIT_OK, EXIT_INTERNAL, EXIT_REFUSED, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (then exit 2)."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse's contract
        text = _one_line(message)
        self.exit(EXIT_REFUSED, f"{self.prog}: error: {text} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every subcommand registered."""
    from lm_eval_mtl import __version__

    parser = _Parser(
        prog="lm-eval-mtl",
        description=(
            "Composite scores with honest intervals, paired comparisons and task-transfer "
            "matrices from lm-evaluation-harness output folders."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lm-eval-mtl {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"print the full traceback of an error instead of one line (or set {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"lm_eval_mtl.cli.{name}")
        module.register(sub)
    _add_debug_everywhere(sub)
    return parser


def _add_debug_everywhere(sub: argparse._SubParsersAction[Any]) -> None:
    """Accept ``--debug`` after the subcommand too (``lm-eval-mtl report RUN --debug``)."""
    for child in set(sub.choices.values()):
        if "--debug" not in child._option_string_actions:
            child.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug_everywhere(action)


def _env_debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _one_line(text: object) -> str:
    """``text`` as one printable line: newlines become spaces, control characters are dropped."""
    s = str(text)
    out = []
    for ch in s:
        if ch in "\n\r\t\v\f":
            out.append(" ")
        elif ch.isprintable():
            out.append(ch)
    return " ".join("".join(out).split())


def _say(stream: IO[str] | None, line: str) -> None:
    """Print ``line`` on ``stream``; a closed or failing stream is ignored."""
    if stream is None:
        return
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def _path_of(err: OSError) -> str:
    name = err.filename if err.filename is not None else err.filename2
    return os.fsdecode(name) if isinstance(name, (str, bytes, os.PathLike)) else "the output"


def _os_message(err: OSError) -> str:
    """One line naming the path, what went wrong, and what to do."""
    if err.errno is None and err.filename is None and str(err):
        return str(err)  # raised by lm-eval-mtl with its own message
    path = _path_of(err)
    code = err.errno
    reason = err.strerror or str(err) or type(err).__name__
    if code == errno.EISDIR or isinstance(err, IsADirectoryError):
        return f"{path} is a folder, not a file; give a file path (for --output, e.g. {path}/out.txt)."
    if code == errno.ENOENT or isinstance(err, FileNotFoundError):
        return f"{path} does not exist; check the path."
    if code == errno.ENOTDIR or isinstance(err, NotADirectoryError):
        return f"a part of {path} is a file, not a folder; check the path."
    if code in (errno.EACCES, errno.EPERM) or isinstance(err, PermissionError):
        return f"permission denied on {path}; check its permissions or choose another path."
    if code == errno.EROFS:
        return f"{path} is on a read-only file system; choose another --output."
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"no space left on the device holding {path}; free some space or choose another --output."
    if code == errno.ENAMETOOLONG:
        return f"the file name {path[:80]}... is too long; choose a shorter path."
    if code in (errno.EMFILE, errno.ENFILE):
        return "too many open files; raise the limit (ulimit -n) or pass fewer runs."
    return f"cannot use {path}: {reason} ({type(err).__name__}); check the path and retry."


def _library_argument_message(err: ValueError, argv: Sequence[str]) -> str | None:
    """Rephrase a library argument check ("`n_components` must be ...") as the CLI option it came from.

    The library names arguments in backquotes; when the subcommand has the matching option
    (``--n-components``) and the user passed it, the check is the user's to fix.
    """
    text = str(err)
    if not text.startswith("`") or "`" not in text[1:]:
        return None
    name = text[1 : text.index("`", 1)]
    option = name if name.startswith("-") else "--" + name.replace("_", "-")
    if not any(a == option or a.startswith(option + "=") for a in argv):
        return None
    return option + text[text.index("`", 1) + 1 :]


def _warning_printer(prefix: str) -> Callable[..., None]:
    """Return a :func:`warnings.showwarning` that prints one line (no source file, no code line)."""

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        _say(sys.stderr, f"{prefix}: warning: {_one_line(message)}")

    return show


def _silence_stdout() -> None:
    """Point stdout at devnull, so that the interpreter's final flush cannot fail (Python docs, SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _stdout_is_broken(err: BaseException) -> bool:
    if isinstance(err, BrokenPipeError):
        return True
    return isinstance(err, OSError) and err.errno == errno.EPIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 refused; see the module docstring).

    Argument errors raise ``SystemExit(2)`` from argparse after printing one line.
    """
    arglist = list(sys.argv[1:] if argv is None else argv)
    debug = _env_debug() or "--debug" in arglist
    prefix = "lm-eval-mtl"
    try:
        parser = build_parser()
        args = parser.parse_args(arglist)
        debug = debug or bool(getattr(args, "debug", False))
        prefix = f"lm-eval-mtl {args.command}"
        try:
            with warnings.catch_warnings():
                if warnings.showwarning is _DEFAULT_SHOWWARNING:  # not inside a caller's recorder
                    warnings.showwarning = _warning_printer(prefix)
                code: int = args.func(args)
        except SystemExit as exit_:
            if exit_.code is None or isinstance(exit_.code, int):
                raise
            # a subcommand refusing with SystemExit("message"): the same one line, exit 2
            message = str(exit_.code)
            for head in (f"{prefix}: error: ", f"{prefix}: "):
                message = message.removeprefix(head)
            _say(sys.stderr, f"{prefix}: error: {_one_line(message)}")
            return EXIT_REFUSED
        sys.stdout.flush()
        return code
    except SystemExit:
        raise
    except KeyboardInterrupt:
        if debug:
            _print_traceback()
        _say(sys.stderr, f"{prefix}: interrupted.")
        return EXIT_INTERRUPTED
    except BaseException as err:  # noqa: BLE001 - the boundary: every failure becomes one line
        if _stdout_is_broken(err):
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        if debug:
            _print_traceback()
        code, message = _classify(err, arglist)
        _say(sys.stderr, f"{prefix}: error: {_one_line(message)}")
        try:  # stdout itself may be what failed (`> /dev/full`): keep the final flush quiet
            sys.stdout.flush()
        except (OSError, ValueError):
            _silence_stdout()
        return code


def _classify(err: BaseException, argv: Sequence[str]) -> tuple[int, str]:
    """Exit status and message for an exception that reached the boundary."""
    if isinstance(err, MTLError):
        return EXIT_REFUSED, str(err)
    if isinstance(err, MemoryError):
        return EXIT_REFUSED, (
            "out of memory; lower --n-resamples, pass fewer or smaller runs, or free memory"
            + (f" ({err})" if str(err) else "")
            + "."
        )
    if isinstance(err, OSError):
        return EXIT_REFUSED, _os_message(err)
    if isinstance(err, RecursionError):
        return EXIT_REFUSED, "an input file is nested too deeply to read; check that it is an lm-eval file."
    if isinstance(err, UnicodeError):
        return (
            EXIT_REFUSED,
            f"an input file is not valid UTF-8 text ({err}); check that it is an lm-eval file.",
        )
    if type(err).__module__.split(".")[0] == "yaml":
        return EXIT_REFUSED, f"a task YAML file is malformed: {err}; fix the file."
    if isinstance(err, ValueError):
        mapped = _library_argument_message(err, argv)
        if mapped is not None:
            return EXIT_REFUSED, mapped
    return EXIT_INTERNAL, (
        f"internal error {type(err).__name__}: {err} - this is a bug in lm-eval-mtl; please report it "
        f"with the output of the same command run with --debug."
    )


def _print_traceback() -> None:
    import traceback

    try:
        traceback.print_exc(file=sys.stderr)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

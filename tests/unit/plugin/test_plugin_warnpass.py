"""Wrapped lm-eval functions keep their warnings' attribution (file, line, module, filters, registry)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.plugin.warnpass import call_passing_warnings

HERE = __file__


def _lm_eval_like(stacklevel: int) -> None:
    warnings.warn("deprecated thing", DeprecationWarning, stacklevel=stacklevel)


def _wrapper(stacklevel: int) -> None:
    call_passing_warnings(2, _lm_eval_like, stacklevel)


def _line_of_next_call() -> int:
    return sys._getframe(1).f_lineno + 1


def test_blame_my_caller_lands_on_the_wrappers_caller_as_without_the_wrapper() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        line = _line_of_next_call()
        _wrapper(2)
        _lm_eval_like(2)  # unwrapped, for comparison
    assert [(w.filename, w.lineno) for w in got] == [(HERE, line), (HERE, line + 1)]


def test_a_warning_inside_the_wrapped_call_keeps_its_frame() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        _wrapper(1)
    assert got[0].filename == HERE
    assert got[0].lineno == _lm_eval_like.__code__.co_firstlineno + 1


def test_deeper_stacklevels_shift_by_exactly_our_frames() -> None:
    def caller() -> None:
        _wrapper(3)

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        line = _line_of_next_call()
        caller()
    assert (got[0].filename, got[0].lineno) == (HERE, line)


def test_module_filters_judge_the_original_module() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=__name__)
        _wrapper(2)
    assert got == []


def test_error_filter_raises_from_the_wrapper_with_the_same_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning, match="deprecated thing"):
            _wrapper(2)


def test_once_per_location_bookkeeping_is_the_callers() -> None:
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("default")
        for _ in range(3):
            _wrapper(2)  # one location: shown once
    assert len(got) == 1


def test_return_value_and_exceptions_pass_through() -> None:
    def boom() -> Any:
        warnings.warn("before", UserWarning, stacklevel=2)
        raise KeyError("x")

    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        assert call_passing_warnings(1, lambda: 42) == 42
        with pytest.raises(KeyError):
            call_passing_warnings(1, boom)
    assert [str(w.message) for w in got] == ["before"]


def test_task_manager_verbosity_warning_is_attributed_to_the_users_line(tmp_path: Path) -> None:
    from lm_eval.tasks import TaskManager

    if not getattr(TaskManager.__init__, "__lm_eval_mtl_wrapped__", False):
        pytest.skip("the start-up hook is not active in this session")
    with pytest.warns(DeprecationWarning, match="verbosity") as got:
        line = _line_of_next_call()
        TaskManager(verbosity="INFO", include_path=str(tmp_path), include_defaults=False)
    assert [(w.filename, w.lineno) for w in got] == [(HERE, line)]


def test_filters_the_wrapped_call_adds_stay_and_ours_is_gone() -> None:
    def adds_a_filter() -> None:
        warnings.filterwarnings("ignore", message="zzz-only-here")

    with warnings.catch_warnings():
        before = len(warnings.filters)
        call_passing_warnings(1, adds_a_filter)
        assert len(warnings.filters) == before + 1
        assert warnings.filters[0][1] is not None and warnings.filters[0][1].pattern == "zzz-only-here"
        assert warnings.showwarning is not None and "record" not in warnings.showwarning.__name__

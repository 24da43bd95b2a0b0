"""helpers.shows_error: the three outcomes (expected error, no error, another error) and its one printed line."""

import subprocess
import sys

import pytest
import torch

import helpers
from helpers.errors import error_line, shows_error


def test_expected_error_prints_one_traceback_like_line(capsys):
    grid = torch.arange(6).reshape(2, 3)
    with shows_error(RuntimeError, match="view size is not compatible"):
        grid.T.view(6)
    out = capsys.readouterr().out
    assert out.startswith("RuntimeError: view size is not compatible")
    assert out.count("\n") == 1, f"one line expected, got {out!r}"


def test_only_the_first_line_of_a_long_message_is_printed(capsys):
    with shows_error(ValueError):
        raise ValueError("first line\n  File /build/torch/something.py, line 3\nmore")
    assert capsys.readouterr().out == "ValueError: first line\n"


def test_a_subclass_of_the_expected_type_counts_and_is_named_by_its_own_type(capsys):
    with shows_error(LookupError):
        {}["missing"]
    assert capsys.readouterr().out == "KeyError: 'missing'\n"


def test_a_tuple_of_types_is_accepted(capsys):
    with shows_error((TypeError, ValueError)):
        int("x")
    assert capsys.readouterr().out.startswith("ValueError: invalid literal")


def test_no_error_fails_loudly(capsys):
    with pytest.raises(AssertionError, match="expected RuntimeError, but no error was raised"):
        with shows_error(RuntimeError):
            torch.arange(6).reshape(2, 3).view(6)
    assert capsys.readouterr().out == ""


def test_another_exception_type_fails_and_keeps_the_original(capsys):
    with pytest.raises(
        AssertionError, match="expected RuntimeError, but the code raised ZeroDivisionError"
    ) as info:
        with shows_error(RuntimeError):
            1 / 0
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert capsys.readouterr().out == ""


def test_a_message_that_does_not_match_fails(capsys):
    with pytest.raises(AssertionError, match="matching 'stride'.*message was: RuntimeError: other") as info:
        with shows_error(RuntimeError, match="stride"):
            raise RuntimeError("other")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_expecting_assertion_error_still_fails_when_nothing_is_raised():
    with pytest.raises(AssertionError, match="but no error was raised"):
        with shows_error(AssertionError):
            pass


def test_keyboard_interrupt_is_not_swallowed():
    with pytest.raises(KeyboardInterrupt):
        with shows_error(RuntimeError):
            raise KeyboardInterrupt


@pytest.mark.parametrize("bad", [RuntimeError("x"), "RuntimeError", (), (RuntimeError, 3)])
def test_bad_expected_argument_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match="expected must be an exception class"):
        with shows_error(bad):
            pass


def test_error_line_of_an_empty_message():
    assert error_line(StopIteration()) == "StopIteration"


def test_exported_and_import_stays_cheap():
    assert helpers.shows_error is shows_error
    code = "import sys, helpers; print(sorted({'matplotlib', 'IPython', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

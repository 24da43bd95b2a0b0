"""The exercise system: every exercise's check passes with its solution, reports "not yet solved" for the
untouched starter, tells a forgotten ``return`` apart from an untouched starter, tells the check's own
comparison failing apart from the learner's code raising, prints one short line and echoes nothing, and
never changes the learner's torch / NumPy / ``random`` state."""

import json
import random
import re

import numpy as np
import pytest
import torch

import helpers.course.exercises as ex
from helpers.course.exercises import CheckResult, check, exercise_ids, format_line, is_untouched_starter
from tools.course import all_exercises, chapter_notebooks

EXERCISES = all_exercises()
PREAMBLE = (  # what the chapters import before their exercises
    "import statistics\nimport time\n"
    "import numpy as np\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
    "import torch.distributed as dist\nfrom torch.utils.data.distributed import DistributedSampler\n"
    "import helpers\nfrom helpers import check\n"
)
LAST_CHECK = re.compile(r"^(?:assert )?check\((?P<id>\"ex-[\d.]+\"), (?P<answer>.+)\)\s*$", re.MULTILINE)


def _number(exercise) -> int:
    return int(exercise.id.split(".")[1])


def run_cell(source: str, exercise=None) -> dict:
    """Run a cell as the notebook would: after the solutions of the same chapter's earlier exercises
    (ex-8.8 builds on the learner's functions of ex-8.1 and ex-8.2), whose checks are skipped here."""
    namespace: dict = {}
    exec(compile(PREAMBLE, "<cell>", "exec"), namespace)
    if exercise is not None:
        namespace["check"] = lambda *args: True
        for earlier in EXERCISES:
            if earlier.notebook == exercise.notebook and _number(earlier) < _number(exercise):
                exec(compile(earlier.solution, "<cell>", "exec"), namespace)
        namespace["check"] = check
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def answer_of(source: str, exercise=None):
    """Run a starter or solution cell up to its check(...) line and return the answer it would check."""
    match = list(LAST_CHECK.finditer(source))[-1]
    body = source[: match.start()] + f"__answer__ = {match['answer']}\n"
    return run_cell(body, exercise)["__answer__"]


def test_every_chapter_has_at_least_six_exercises():
    for path in chapter_notebooks():
        n = sum(1 for e in EXERCISES if e.notebook == path)
        assert n >= 6, f"{path.name} has {n} exercises; every chapter needs at least 6"


def test_notebook_exercises_and_registered_checks_match():
    ids = [e.id for e in EXERCISES]
    assert len(ids) == len(set(ids)), "duplicate exercise ids"
    assert sorted(ids) == sorted(exercise_ids()), (
        "each exercise in a notebook needs exactly one registered check"
    )


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_exercise_is_complete(exercise):
    assert exercise.notebook.name.startswith(f"{exercise.chapter:02d}_"), "exercise id must match its chapter"
    assert 1 <= exercise.difficulty <= 3, "title must start with ★, ★★ or ★★★"
    assert exercise.objective, "the prompt needs a **Practises:** line"
    assert exercise.starter, "no starter cell calling check(...)"
    assert exercise.solution.startswith("# @title "), (
        "the solution cell must start with '# @title' (Colab form)"
    )
    assert exercise.solution_collapsed, (
        "solution: a cellView=form cell inside a tagged ':class: dropdown' solution-start"
    )
    assert LAST_CHECK.search(exercise.starter.strip().splitlines()[-1]), "starter must END with check(...)"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_solution_passes(exercise, capsys):
    run_cell(exercise.solution, exercise)  # solution cells end with `assert check(...)`
    assert ex.RESULTS[exercise.id]["status"] == "passed"
    assert f"{exercise.id} — correct\n" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_starter_reports_not_yet_solved(exercise, capsys):
    assert is_untouched_starter(answer_of(exercise.starter))
    run_cell(exercise.starter)
    assert ex.RESULTS[exercise.id]["status"] == "not solved"
    assert capsys.readouterr().out.startswith(f"{exercise.id} — not yet solved")


# Exercises whose function legitimately returns None (it changes its argument in place).
RETURNS_NOTHING = {"ex-3.5", "ex-10.4", "ex-10.5"}


@pytest.mark.parametrize(
    "exercise",
    [e for e in EXERCISES if e.starter.startswith("def ") and e.id not in RETURNS_NOTHING],
    ids=lambda e: e.id,
)
def test_edited_function_without_return_is_told_so(exercise, capsys):
    """The learner wrote something but forgot `return`: not "not yet solved", but "did you forget return"."""
    edited = exercise.starter.replace("...  # your code here", "_ = 1  # forgot the return")
    answer = answer_of(edited)
    assert not is_untouched_starter(answer)
    result = check(exercise.id, answer)
    assert not result and result.status == "failed"
    assert "returned None" in result.message and "forget `return`" in result.message


def test_untouched_starter_shapes():
    namespace = run_cell(
        "def a(x):\n    ...\n"
        "def b(x):\n    '''A docstring.'''\n    pass\n"
        "def c(x):\n    y = x + 1\n"
        "def d(x):\n    return None\n"
        "class M(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n        ...\n"
        "    def forward(self, x):\n        ...\n"
        "class N(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.fc = nn.Linear(n, n)\n    def forward(self, x):\n        ...\n"
    )
    assert is_untouched_starter(namespace["a"]) and is_untouched_starter(namespace["b"])
    assert is_untouched_starter(namespace["M"]) and is_untouched_starter((namespace["a"], namespace["b"]))
    assert is_untouched_starter(None) and is_untouched_starter(...)
    for edited in ("c", "N"):
        assert not is_untouched_starter(namespace[edited]), edited
    assert not is_untouched_starter((namespace["a"], namespace["c"]))
    assert not is_untouched_starter(torch.nn.Linear) and not is_untouched_starter(torch.zeros(2))


def test_the_checks_own_comparison_failing_is_a_mismatch_not_your_code_raised():
    """ex-2.6 with a float32 result used to say "your code raised RuntimeError: Float did not match Double"."""

    def float32_grad(f, x, eps=1e-6):
        return torch.zeros(x.shape, dtype=torch.float32)

    result = check("ex-2.6", float32_grad)
    assert not result
    assert "your code raised" not in result.message
    assert "dtype" in result.message


def test_learner_exception_keeps_its_message_and_gets_a_hint():
    def broken(*args):
        raise ZeroDivisionError("oops")

    result = check("ex-1.2", broken)
    assert not result and "your code raised ZeroDivisionError: oops" in result.message

    def uses_a_missing_name(*args):
        return train_one_epoch(*args)  # noqa: F821 -- defined in an earlier exercise's cell

    result = check("ex-8.8", uses_a_missing_name)
    assert "NameError" in result.message and "run the cells above" in result.message

    result = check("ex-1.2", lambda x: x @ torch.ones(5, 5))
    assert "your code raised RuntimeError: mat1 and mat2" in result.message
    assert "Hint: a matrix product got shapes" in result.message


def test_one_short_line_and_nothing_echoed(capsys):
    result = check("ex-1.2", lambda x: x[x >= 0])
    out = capsys.readouterr().out
    assert out.startswith("ex-1.2 — not quite: ")
    assert all(len(line) <= 88 for line in out.splitlines())
    assert not any(ord(ch) > 0x2FFF for ch in out), "no emoji: plain text carries the meaning"
    assert isinstance(result, CheckResult) and not result
    assert hasattr(result, "_ipython_display_") and result._ipython_display_() is None
    assert format_line("ex-1.1", "correct") == "ex-1.1 — correct"


def test_nothing_is_echoed_after_the_line_in_ipython(capsys):
    """A starter cell ends with check(...): Jupyter must show the printed line and no `False`/`True`.

    IPython formats a cell's last value with its display formatter; `_ipython_display_` makes that
    format empty, and ipykernel sends no execute_result for empty data (so no `Out[..]` either)."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    for answer in (lambda x: x[x > 0], lambda x: x, None):
        result = check("ex-1.2", answer)
        assert shell.display_formatter.format(result) == ({}, {})
    out = capsys.readouterr().out
    assert "ex-1.2 — correct" in out and "ex-1.2 — not quite" in out and "ex-1.2 — not yet solved" in out
    assert "True" not in out and "False" not in out and "CheckResult" not in out


def test_unknown_id_is_an_error():
    with pytest.raises(KeyError, match="unknown exercise id 'ex-99.9'"):
        check("ex-99.9", 1)


def test_results_file_for_the_grader(tmp_path, monkeypatch):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(results))
    check("ex-1.1", None)
    check("ex-1.2", lambda x: x[x > 0])
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(line["exercise"], line["status"]) for line in lines] == [
        ("ex-1.1", "not solved"),
        ("ex-1.2", "passed"),
    ]


# ---- no check changes the learner's random state -------------------------------------------------


def _rng_snapshot():
    return torch.get_rng_state().clone(), np.random.get_state()[1].copy(), random.getstate()


def _first_wrong_answer(exercise_id):
    from test_wrong_answers import CORPUS

    return next(case.make() for case in CORPUS if case.exercise_id == exercise_id)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_no_check_changes_the_global_random_state(exercise):
    for answer in (answer_of(exercise.solution, exercise), _first_wrong_answer(exercise.id)):
        torch.manual_seed(1234)
        np.random.seed(1234)
        random.seed(1234)
        before = _rng_snapshot()
        check(exercise.id, answer)
        after = _rng_snapshot()
        assert torch.equal(before[0], after[0]), "the check changed torch's global random state"
        assert np.array_equal(before[1], after[1]), "the check changed NumPy's global random state"
        assert before[2] == after[2], "the check changed Python's random state"


@pytest.mark.parametrize(
    "exercise_id, answer",
    [
        ("ex-8.1", "train_one_epoch"),
        ("ex-8.2", "evaluate"),
        ("ex-3.6", "predict"),
        ("ex-3.1", "MLP"),
        ("ex-1.2", "seed_everything"),
    ],
)
def test_helpers_own_functions_are_not_answers(exercise_id, answer):
    """Issue 16: `check("ex-8.2", helpers.evaluate)` used to pass."""
    import helpers

    result = check(exercise_id, getattr(helpers, answer))
    assert not result and "course library's own `helpers`" in result.message


def test_reference_solutions_are_not_importable_under_an_obvious_name():
    import importlib

    for chapter in range(1, 9):
        module = importlib.import_module(f"helpers.course.checks.ch{chapter:02d}")
        obvious = [n for n in vars(module) if "reference" in n.lower() or "solution" in n.lower()]
        assert not obvious, f"{module.__name__} exposes {obvious}"


def test_a_check_leaves_autograd_on_even_when_the_answer_switched_it_off(capsys):

    def evaluate(model, loader, loss_fn):  # a wrong answer that switches autograd off for good
        torch.set_grad_enabled(False)
        return 0.0, 0.0

    assert torch.is_grad_enabled()
    result = check("ex-8.2", evaluate)
    assert not result and torch.is_grad_enabled()


def test_a_forbidden_function_imported_by_name_is_refused_and_restored(capsys):
    from torch.nn.functional import one_hot  # bound in this module's globals, as in a notebook

    def answer(labels, num_classes):
        return one_hot(labels, num_classes).float()

    result = check("ex-1.6", answer)
    assert not result and "F.one_hot, which this exercise asks you not to use" in result.message
    assert one_hot is torch.nn.functional.one_hot  # the learner's name is given back
    assert torch.nn.functional.one_hot(torch.tensor([1]), 2).tolist() == [[0, 1]]


def test_a_forbidden_function_in_the_notebooks_globals_is_refused_and_restored(capsys):
    namespace: dict = {}
    exec(  # a notebook: the import and the answer live in the kernel's globals
        "from torch.nn.functional import one_hot\n"
        "def answer(labels, num_classes):\n"
        "    return one_hot(labels, num_classes).float()\n",
        namespace,
    )
    result = check("ex-1.6", namespace["answer"])
    assert not result and "F.one_hot" in result.message
    assert namespace["one_hot"] is torch.nn.functional.one_hot

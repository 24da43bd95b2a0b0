""" "Check your understanding" questions that work on the static website, in Colab and in JupyterLab.

A quiz cell says only ``quiz("q-1.2")`` (chapter 1, question 2): the question, its options, which one is
right and the feedback for each option live in ``helpers/course/quizzes/ch01.json``, shipped inside the
package, so the answer is not in the notebook a learner reads. ``quiz`` shows

* the interactive quiz of `jupyterquiz <https://pypi.org/project/jupyterquiz/>`_: HTML and JavaScript that
  run without a kernel (a website page, Colab, JupyterLab); clicking an option shows that option's feedback;
* a fallback for front ends that do not run JavaScript: the question, its options and the answer in a
  collapsed ``<details>`` block. A small script hides it once the interactive quiz has rendered.

Question files are jupyterquiz's own format (``{"question", "type": "multiple_choice", "answers": [{"answer",
"correct", "feedback"}]}``), keyed by question id; text may mark code with backticks.
"""

from __future__ import annotations

import functools
import html
import json
import random
import re
from collections import Counter
from importlib import resources
from unittest import mock

from IPython.display import HTML, Javascript, display

_ID = re.compile(r"q-(\d+)\.(\d+)")
# Blue boxes that read well in the site's light and dark modes; jupyterquiz's defaults are purple.
COLORS = {"--jq-multiple-choice-bg": "#1d4f7c", "--jq-many-choice-bg": "#1d4f7c"}
_STYLE = (
    "<style>div.Quiz{font-size:1.05rem;line-height:1.4;max-width:100%}"
    "div.Quiz div.Feedback{font-size:1rem;padding:0 0.5em 0.5em}"
    "div.Quiz .MCButton{font-size:0.95rem}div.Quiz code{font-size:0.95em}</style>"
)


def _html(text: str) -> str:
    """Escape ``text`` for HTML and turn `backticked` spans into <code> elements."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


@functools.cache
def questions(chapter: int) -> dict[str, dict]:
    """All questions of ``chapter`` (an int), keyed by id, as stored in quizzes/chNN.json."""
    path = resources.files(__package__) / "quizzes" / f"ch{chapter:02d}.json"
    if not path.is_file():
        raise ValueError(f"no quiz questions for chapter {chapter}: {path} does not exist")
    return json.loads(path.read_text(encoding="utf-8"))


def question(question_id: str) -> dict:
    """The question ``question_id`` ("q-<chapter>.<number>", e.g. "q-1.2") as a jupyterquiz dict."""
    match = _ID.fullmatch(question_id) if isinstance(question_id, str) else None
    if match is None:
        raise ValueError(f'question_id must look like "q-1.2" (chapter 1, question 2), got {question_id!r}')
    if not (resources.files(__package__) / "quizzes" / f"ch{int(match.group(1)):02d}.json").is_file():
        raise ValueError(f"no question {question_id!r}: chapter {match.group(1)} has no quiz questions")
    found = questions(int(match.group(1)))
    if question_id not in found:
        raise ValueError(f"no question {question_id!r}; chapter {match.group(1)} has {', '.join(found)}")
    return found[question_id]


def _for_jupyterquiz(question_id: str, qa: dict) -> dict:
    """``qa`` with HTML text, a marker the fallback's script looks for, and feedback that says right/wrong."""
    long_options = any(len(a["answer"]) > 32 for a in qa["answers"])
    return {
        "type": qa["type"],
        "question": f'<span data-course-quiz="{question_id}"></span>{_html(qa["question"])}',
        "answer_cols": 1 if long_options else 2,
        "answers": [
            {
                "answer": _html(a["answer"]),
                "correct": a["correct"],
                "feedback": ("Right! " if a["correct"] else "Not this one. ") + _html(a["feedback"]),
            }
            for a in qa["answers"]
        ],
    }


def _fallback(question_id: str, qa: dict) -> str:
    """Question, lettered options and the collapsed answer: what a reader without JavaScript sees."""
    items = "".join(f"<li>{_html(a['answer'])}</li>" for a in qa["answers"])
    right = next(i for i, a in enumerate(qa["answers"]) if a["correct"])
    answer = f"({'abcdefghij'[right]}) {_html(qa['answers'][right]['answer'])}"
    return (
        f'<div class="course-quiz-fallback" data-quiz="{question_id}">'
        f"<p><b>Check your understanding.</b> {_html(qa['question'])}</p><ol type='a'>{items}</ol>"
        f"<details><summary><b>Show answer</b></summary><p><b>{answer}</b> &mdash; "
        f"{_html(qa['answers'][right]['feedback'])}</p></details></div>"
    )


_HIDE_FALLBACK = """
(function () {
  var tries = 0;
  function hide() {
    if (document.querySelector('.Quiz [data-course-quiz="%(id)s"]')) {
      document.querySelectorAll('.course-quiz-fallback[data-quiz="%(id)s"]')
        .forEach(function (e) { e.style.display = "none"; });
    } else if (++tries < 50) {
      setTimeout(hide, 100);
    }
  }
  hide();
})();
"""


_shown: Counter[str] = Counter()
# jupyterquiz's script reads MathJax.version whenever a global MathJax exists; on a page where MathJax is
# still only its configuration object (loading, or offline) that throws. Ask for the version first.
_MATHJAX_CHECKS = ("typeof MathJax != 'undefined'", "typeof MathJax !== 'undefined'")


def _jupyterquiz_outputs(question_id: str, qa: dict) -> list:
    """jupyterquiz's outputs (HTML container, JavaScript) for one question, captured instead of displayed.

    Its container id is random: seeded here from the question id (and how often it was shown), so that two
    quizzes never share an id even after a notebook reseeds ``random``, and the learner's ``random`` stream
    is left exactly as it was."""
    from jupyterquiz.dynamic import display as jq_display  # imported here: `import helpers` stays cheap

    outputs: list = []
    state = random.getstate()
    _shown[question_id] += 1
    random.seed(f"{question_id}#{_shown[question_id]}")
    try:
        with mock.patch.object(jq_display, "display", outputs.append):
            jq_display.display_quiz(
                [_for_jupyterquiz(question_id, qa)], shuffle_answers=False, max_width=760, colors=COLORS
            )
    finally:
        random.setstate(state)
    for output in outputs:
        if isinstance(output, Javascript):
            for check in _MATHJAX_CHECKS:
                output.data = output.data.replace(check, f"({check} && MathJax.version)")
    return outputs


def quiz(question_id: str) -> None:
    """Show the multiple-choice question ``question_id`` (e.g. "q-1.2"). Displays; returns None."""
    qa = question(question_id)
    display(HTML(_STYLE + _fallback(question_id, qa)))
    for output in _jupyterquiz_outputs(question_id, qa):
        display(output)
    display(Javascript(_HIDE_FALLBACK % {"id": question_id}))

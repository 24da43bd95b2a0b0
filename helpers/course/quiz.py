""" "Check your understanding" questions that work in Jupyter, in Colab and on the static website.

``quiz(...)`` shows the question as HTML, an answer selector with a Check button (ipywidgets, live in
Jupyter/Colab; the website cannot run Python, so there the selector does nothing), and the answer with its
explanation inside a collapsed ``<details>`` block that every front end can open. Works with ipywidgets 7 and 8.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from IPython.display import HTML, display


def _answer_block(answer_text: str, explanation: str) -> HTML:
    return HTML(
        f"<details><summary><b>Show answer</b></summary><p><b>{html.escape(answer_text)}</b> "
        f"&mdash; {html.escape(explanation)}</p></details>"
    )


def _selector(options: Sequence[str], is_right, explanation: str):
    """An ipywidgets selector + Check button, or None if ipywidgets is not installed."""
    try:
        import ipywidgets as widgets
    except ImportError:
        return None
    choice = widgets.RadioButtons(options=list(options), value=None, layout={"width": "max-content"})
    button = widgets.Button(description="Check")
    feedback = widgets.Output()

    def on_click(_):
        feedback.clear_output()
        with feedback:
            if choice.value is None:
                print("Pick an answer first.")
            elif is_right(choice.index):
                print("✅ Right! " + explanation)
            else:
                print("❌ Not this one. Think again, or open the answer below.")

    button.on_click(on_click)
    return widgets.VBox([choice, button, feedback])


def quiz(question: str, options: Sequence[str], answer: int, explanation: str) -> None:
    """A multiple-choice question. answer: index of the right option in ``options``."""
    if len(options) < 2:
        raise ValueError(f"a quiz needs at least 2 options, got {len(options)}")
    if not isinstance(answer, int) or not 0 <= answer < len(options):
        raise ValueError(f"answer must be an index into options (0..{len(options) - 1}), got {answer!r}")
    items = "".join(f"<li>{html.escape(o)}</li>" for o in options)
    display(HTML(f"<p><b>Check your understanding.</b> {html.escape(question)}</p><ol type='a'>{items}</ol>"))
    selector = _selector(options, lambda index: index == answer, explanation)
    if selector is not None:
        display(selector)
    display(_answer_block(f"({'abcdefghij'[answer]}) {options[answer]}", explanation))

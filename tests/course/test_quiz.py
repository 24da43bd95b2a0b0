import pytest

from helpers.course.quiz import _selector, quiz


def test_quiz_displays_question_and_collapsed_answer(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("helpers.course.quiz.display", lambda obj: shown.append(obj))
    quiz("What is 1 + 1?", ["1", "2", "3"], answer=1, explanation="Arithmetic.")
    html_parts = [getattr(o, "data", "") for o in shown]
    assert "What is 1 + 1?" in html_parts[0] and "<li>3</li>" in html_parts[0]
    assert "<details>" in html_parts[-1] and "(b) 2" in html_parts[-1]


def test_selector_gives_feedback(capsys):
    box = _selector(["no", "yes"], lambda i: i == 1, "Because.")
    choice, button, _ = box.children
    button.click()
    assert "Pick an answer first" in capsys.readouterr().out
    choice.value = "yes"
    button.click()
    assert "Right! Because." in capsys.readouterr().out
    choice.value = "no"
    button.click()
    assert "Not this one" in capsys.readouterr().out


@pytest.mark.parametrize("options, answer", [(["only"], 0), (["a", "b"], 2), (["a", "b"], "a")])
def test_quiz_bad_input(options, answer):
    with pytest.raises(ValueError):
        quiz("q", options, answer, "e")

import math

import matplotlib.pyplot as plt
import pytest
import torch

from helpers.metrics import confusion_matrix, per_class_accuracy, plot_confusion_matrix


def loop_confusion(preds, labels, n):
    cm = torch.zeros(n, n, dtype=torch.int64)
    for p, t in zip(preds.tolist(), labels.tolist()):
        cm[t, p] += 1
    return cm


def test_rows_are_true_classes_columns_predictions():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    preds = torch.tensor([0, 1, 1, 2, 0, 2])
    cm = confusion_matrix(preds, labels, 3)
    assert cm.dtype == torch.int64 and cm.shape == (3, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm[2, 0] == 1  # one true 2 predicted as 0 (not the other way round)
    assert cm.sum() == 6 and cm.trace() == 4


def test_matches_a_python_loop_on_random_data_with_an_absent_class():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (500,), generator=g)  # class 4 never occurs
    preds = torch.randint(0, 5, (500,), generator=g)
    cm = confusion_matrix(preds, labels, 5)
    assert torch.equal(cm, loop_confusion(preds, labels, 5))
    assert cm[4].sum() == 0 and cm[:, 4].sum() > 0


def test_accepts_other_integer_dtypes_and_empty_input():
    cm = confusion_matrix(torch.tensor([1, 0], dtype=torch.int32), torch.tensor([1, 1], dtype=torch.uint8), 2)
    assert cm.tolist() == [[0, 0], [1, 1]]
    assert (
        confusion_matrix(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), 3).sum() == 0
    )


@pytest.mark.parametrize(
    "preds, labels, n, error, match",
    [
        ("01", torch.tensor([0, 1]), 2, TypeError, "preds must be a torch.Tensor"),
        (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 2, TypeError, "integer class indices"),
        (torch.tensor([True, False]), torch.tensor([0, 1]), 2, TypeError, "integer class indices"),
        (torch.randn(2, 3), torch.tensor([0, 1]), 3, ValueError, "argmax"),
        (torch.tensor([0, 1, 1]), torch.tensor([0, 1]), 2, ValueError, "same length"),
        (torch.tensor([0, 3]), torch.tensor([0, 1]), 3, ValueError, r"preds must lie in \[0, 2\]"),
        (torch.tensor([0, 1]), torch.tensor([-1, 1]), 3, ValueError, "labels must lie"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 0, ValueError, "num_classes must be an integer >= 1"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 2.0, ValueError, "num_classes must be an integer >= 1"),
    ],
)
def test_bad_input_says_what_was_expected(preds, labels, n, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(preds, labels, n)


def test_per_class_accuracy_and_an_empty_class():
    cm = torch.tensor([[3, 1, 0], [0, 0, 0], [2, 0, 2]])
    acc = per_class_accuracy(cm)
    assert acc.dtype == torch.float32
    assert acc[0].item() == pytest.approx(0.75) and acc[2].item() == pytest.approx(0.5)
    assert math.isnan(acc[1].item())


@pytest.mark.parametrize(
    "cm, error",
    [
        ("[[1, 0], [0, 1]]", TypeError),
        (torch.ones(2, 3), ValueError),
        (torch.ones(4), ValueError),
        (torch.tensor([[1, -1], [0, 1]]), ValueError),
    ],
)
def test_per_class_accuracy_bad_input(cm, error):
    with pytest.raises(error):
        per_class_accuracy(cm)


def test_plot_writes_every_nonzero_count_and_labels_the_axes():
    cm = torch.tensor([[5, 0, 1], [0, 7, 0], [2, 0, 3]])
    fig = plot_confusion_matrix(cm, ["cat", "dog", "eel"], title="demo")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["5", "1", "7", "2", "3"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "eel"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert ax.get_title() == "demo"
    plt.close(fig)


def test_plot_into_given_axes_and_bad_names():
    fig, ax = plt.subplots()
    assert plot_confusion_matrix(torch.eye(2, dtype=torch.long), ax=ax) is fig
    plt.close(fig)
    with pytest.raises(ValueError, match="class_names has 1 entries for a 2x2 matrix"):
        plot_confusion_matrix(torch.eye(2, dtype=torch.long), ["only one"])

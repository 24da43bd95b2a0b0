import matplotlib.pyplot as plt
import pytest
import torch

from helpers.plotting import plot_history, show_images

HISTORY = {"train_loss": [1.0, 0.5], "train_acc": [0.5, 0.8], "val_loss": [1.1, 0.6], "val_acc": [0.4, 0.7]}


def test_plot_history_draws_two_panels():
    fig = plot_history(HISTORY, title="demo")
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and len(acc_ax.lines) == 2
    assert list(acc_ax.lines[0].get_ydata()) == [50.0, 80.0]
    plt.close(fig)


@pytest.mark.parametrize(
    "history, error",
    [
        ({"train_loss": [1.0]}, ValueError),
        ({"train_loss": [], "val_loss": []}, ValueError),
        ({"train_loss": [1.0, 0.5], "val_loss": [1.0]}, ValueError),
    ],
)
def test_plot_history_bad_input(history, error):
    with pytest.raises(error):
        plot_history(history)


def test_show_images_marks_mistakes_in_red():
    fig = show_images(
        torch.rand(3, 1, 8, 8), labels=[1, 2, 3], predictions=[1, 0, 3], class_names=list("0123")
    )
    colors = [ax.title.get_color() for ax in fig.axes[:3]]
    assert colors == ["black", "red", "black"]
    assert fig.axes[1].get_title() == "0\n(2)"
    plt.close(fig)


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (torch.rand(2, 3, 8, 8), {}, "1-channel"),
        (torch.rand(0, 8, 8), {}, "non-empty"),
        (torch.rand(2, 8, 8), {"labels": [1]}, "labels has 1 entries for 2 images"),
    ],
)
def test_show_images_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        show_images(images, **kwargs)

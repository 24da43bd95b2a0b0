import sys

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import helpers.demos.activations as act
from helpers.demos.activations import (
    ACTIVATIONS,
    activation_explorer,
    make_activation,
    plot_activation,
    plot_activation_grid,
    value_and_derivative,
)

X = torch.linspace(-3, 3, 61)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_builds_and_is_elementwise(name):
    module = make_activation(name)
    assert isinstance(module, nn.Module)
    y, dy = value_and_derivative(module, X)
    assert y.shape == dy.shape == X.shape and torch.isfinite(dy).all()


def test_make_activation_names_and_parameters():
    assert isinstance(make_activation("relu"), nn.ReLU)  # case-insensitive
    assert make_activation("LeakyReLU").negative_slope == 0.01  # PyTorch's default
    assert make_activation("leakyrelu", 0.2).negative_slope == 0.2
    assert make_activation("ELU", 2).alpha == 2.0  # ints are accepted
    for spec in ACTIVATIONS.values():
        if spec.param:
            assert spec.low <= spec.default <= spec.high and all(
                spec.low <= v <= spec.high for v in spec.showcase
            )


@pytest.mark.parametrize(
    "name, param, error, match",
    [
        ("Swishy", None, ValueError, "unknown activation 'Swishy'"),
        (3, None, TypeError, "must be a str"),
        ("ReLU", 0.1, ValueError, "ReLU has no parameter"),
        ("ELU", float("nan"), ValueError, "finite number"),
        ("ELU", "1.0", ValueError, "finite number"),
        ("LeakyReLU", True, ValueError, "finite number"),
    ],
)
def test_make_activation_bad_input(name, param, error, match):
    with pytest.raises(error, match=match):
        make_activation(name, param)


def test_derivatives_match_closed_forms():
    _, d_relu = value_and_derivative(torch.relu, X)
    assert torch.equal(d_relu, (X > 0).float())
    s, d_sig = value_and_derivative(torch.sigmoid, X)
    assert torch.allclose(d_sig, s * (1 - s))
    t, d_tanh = value_and_derivative(torch.tanh, X)
    assert torch.allclose(d_tanh, 1 - t**2)
    _, d_elu = value_and_derivative(make_activation("ELU", 2.0), X)
    neg = X < 0
    assert torch.allclose(d_elu[neg], 2.0 * torch.exp(X[neg])) and torch.all(d_elu[~neg] == 1)


def test_value_and_derivative_leaves_input_alone_and_accepts_any_shape():
    x = torch.randn(3, 4)
    before = x.clone()
    y, dy = value_and_derivative(lambda t: t**2, x)
    assert torch.equal(x, before) and not x.requires_grad
    assert torch.allclose(dy, 2 * x) and not y.requires_grad


@pytest.mark.parametrize(
    "fn, x, error, match",
    [
        ("relu", X, TypeError, "callable"),
        (torch.relu, [1.0, 2.0], TypeError, "torch.Tensor"),
        (torch.relu, torch.arange(5), ValueError, "floating-point"),
        (torch.sum, X, ValueError, "elementwise"),
        (lambda t: t.tolist(), X, ValueError, "elementwise"),
    ],
)
def test_value_and_derivative_bad_input(fn, x, error, match):
    with pytest.raises(error, match=match):
        value_and_derivative(fn, x)


def test_plot_activation_draws_function_and_derivative():
    ax = plot_activation("LeakyReLU", X, param=0.2)
    f, df = ax.lines[:2]
    assert list(f.get_ydata()[:1]) == pytest.approx([-0.6]) and df.get_ydata()[0] == pytest.approx(0.2)
    assert df.get_linestyle() == "--" and f.get_color() == df.get_color()
    plot_activation(nn.Tanh(), X, ax=ax)  # modules and functions work too
    assert "Tanh" in [line.get_label() for line in ax.lines]
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": torch.tanh, "param": 0.5}, "param only applies"),
        ({"activation": "ReLU", "x": torch.zeros(2, 2)}, "1-D tensor"),
        ({"activation": "ReLU", "x": torch.zeros(1)}, "at least 2 points"),
    ],
)
def test_plot_activation_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_activation(**kwargs)


def test_plot_activation_grid_shows_every_activation_and_parameter_values():
    fig = plot_activation_grid()
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == list(ACTIVATIONS)
    elu = visible[list(ACTIVATIONS).index("ELU")]
    assert [t.get_text() for t in elu.get_legend().get_texts()] == ["alpha=0.5", "alpha=1", "alpha=2"]
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"names": []}, "at least one"), ({"names": ["ReLU", "Nope"]}, "unknown"), ({"ncols": 0}, "ncols")],
)
def test_plot_activation_grid_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_activation_grid(**kwargs)


def test_explorer_reconfigures_slider_and_redraws(monkeypatch):
    pytest.importorskip("ipywidgets")
    calls = []
    real_plot = act.plot_activation
    monkeypatch.setattr(
        act,
        "plot_activation",
        lambda name, x, ax, param: calls.append((name, param)) or real_plot(name, x, ax, param),
    )
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    box = activation_explorer(["ReLU", "elu"])
    dropdown, slider, output = box.children
    assert dropdown.options == ("ReLU", "ELU") and slider.disabled and calls == [("ReLU", None)]
    dropdown.value = "ELU"
    assert not slider.disabled and slider.description == "alpha" and slider.value == 1.0
    assert (slider.min, slider.max) == (0.1, 3.0) and calls[-1] == ("ELU", 1.0) and len(calls) == 2
    slider.value = 2.5
    assert calls[-1] == ("ELU", 2.5)
    dropdown.value = "ReLU"
    assert slider.disabled and calls[-1] == ("ReLU", None)
    plt.close("all")


def test_explorer_can_start_on_a_parameterised_activation(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    dropdown, slider, _ = activation_explorer(initial="leakyrelu").children
    assert dropdown.value == "LeakyReLU" and not slider.disabled and slider.value == 0.01
    plt.close("all")


def test_explorer_bad_input_and_missing_ipywidgets(monkeypatch):
    with pytest.raises(ValueError, match="unknown activation"):
        activation_explorer(["Nope"])
    with pytest.raises(ValueError, match="at least one"):
        activation_explorer([])
    with pytest.raises(ValueError, match="not among names"):
        activation_explorer(["ReLU"], initial="ELU")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match="plot_activation_grid"):
        activation_explorer()

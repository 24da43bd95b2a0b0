"""Activation functions: look them up, draw them with their derivatives, explore them with a slider.

ACTIVATIONS           name -> ActivationSpec (how to build it, its adjustable parameter, where it is used)
make_activation       an ``nn.Module`` from a name and an optional parameter value
value_and_derivative  f(x) and f'(x) of an elementwise function, the derivative computed by autograd
plot_activation       f (solid) and f' (dashed) on one matplotlib axes
plot_activation_grid  a static figure: every activation, several values of its parameter (for the website)
activation_explorer   ipywidgets: pick an activation, move a slider for its parameter, see f and f'.
                      Live in Jupyter and Colab only: a static page cannot run the Python callbacks.
                      Uses only widgets that ipywidgets 7 and 8 share (Dropdown, FloatSlider, Output, VBox).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import nn

ActivationLike = str | Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ActivationSpec:
    """What the book needs to know about one activation function."""

    name: str  # "LeakyReLU"
    build: Callable[..., nn.Module]  # build() or build(param_value) -> nn.Module
    use: str  # one line: where it is used today
    param: str | None = None  # name of its adjustable parameter, e.g. "negative_slope"
    default: float | None = None  # PyTorch's default value of that parameter
    low: float | None = None  # slider range of the explorer
    high: float | None = None
    showcase: tuple[float, ...] = ()  # values drawn by plot_activation_grid


ACTIVATIONS: dict[str, ActivationSpec] = {
    spec.name: spec
    for spec in (
        ActivationSpec("ReLU", nn.ReLU, "the default for hidden layers (CNNs, MLPs, ResNets)"),
        ActivationSpec(
            "LeakyReLU",
            lambda v: nn.LeakyReLU(negative_slope=v),
            "when ReLU units 'die'; GAN discriminators",
            "negative_slope",
            0.01,
            0.0,
            0.5,
            (0.01, 0.1, 0.3),
        ),
        ActivationSpec(
            "ELU",
            lambda v: nn.ELU(alpha=v),
            "smooth ReLU variant whose negative side saturates at -alpha",
            "alpha",
            1.0,
            0.1,
            3.0,
            (0.5, 1.0, 2.0),
        ),
        ActivationSpec("GELU", nn.GELU, "transformers (BERT, GPT, ViT)"),
        ActivationSpec(
            "SiLU", nn.SiLU, "SiLU/Swish: EfficientNet, YOLO; its gated form SwiGLU in LLaMA-style LLMs"
        ),
        ActivationSpec(
            "Sigmoid", nn.Sigmoid, "binary outputs and the gates of LSTMs/GRUs; rarely in hidden layers now"
        ),
        ActivationSpec("Tanh", nn.Tanh, "RNN hidden states; outputs that must lie in (-1, 1)"),
    )
}


def _spec(name: str) -> ActivationSpec:
    if not isinstance(name, str):
        raise TypeError(f"an activation name must be a str such as 'ReLU', got {type(name).__name__}")
    for key, spec in ACTIVATIONS.items():
        if key.lower() == name.lower():
            return spec
    raise ValueError(f"unknown activation {name!r}: expected one of {list(ACTIVATIONS)}")


def make_activation(name: str, param: float | None = None) -> nn.Module:
    """Build the activation called ``name`` (case-insensitive, e.g. "relu", "LeakyReLU").

    param: the value of its parameter (negative_slope for LeakyReLU, alpha for ELU); None uses PyTorch's
    default. Raises ValueError for an unknown name, for a param given to an activation that has none,
    or for a param that is not a finite number.
    """
    spec = _spec(name)
    if spec.param is None:
        if param is not None:
            raise ValueError(f"{spec.name} has no parameter, got param={param!r}")
        return spec.build()
    if param is None:
        param = spec.default
    if isinstance(param, bool) or not isinstance(param, (int, float)) or not math.isfinite(param):
        raise ValueError(f"{spec.name}'s {spec.param} must be a finite number, got {param!r}")
    return spec.build(float(param))


def _as_function(activation: ActivationLike) -> tuple[Callable[[torch.Tensor], torch.Tensor], str]:
    """A callable and a display name for a name string or a callable (an nn.Module, torch.relu, ...)."""
    if isinstance(activation, str):
        module = make_activation(activation)
        return module, _spec(activation).name
    if callable(activation):
        name = (
            type(activation).__name__
            if isinstance(activation, nn.Module)
            else getattr(activation, "__name__", "f")
        )
        return activation, name
    raise TypeError(
        f"activation must be a name such as 'ReLU' or a callable, got {type(activation).__name__}"
    )


def value_and_derivative(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f'(x) for an **elementwise** function ``fn``, the derivative computed by autograd.

    x: a floating-point tensor of any shape (e.g. ``torch.linspace(-4, 4, 401)``); it is not modified.
    Returns (values, derivatives), both detached and shaped like x. Because each output depends only on
    its own input, the gradient of ``fn(x).sum()`` is exactly f' at every point.
    Raises TypeError for a non-callable fn or a non-tensor x, ValueError for a non-float x or an fn
    whose output is not shaped like its input.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable (e.g. torch.relu or nn.ReLU()), got {type(fn).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor (autograd needs floats), got dtype {x.dtype}")
    x = x.detach().clone().requires_grad_(True)
    y = fn(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"fn must be elementwise: output shaped like its input {tuple(x.shape)}, got {got}")
    (grad,) = torch.autograd.grad(y.sum(), x)
    return y.detach(), grad.detach()


def _default_x(x: torch.Tensor | None) -> torch.Tensor:
    if x is None:
        return torch.linspace(-4, 4, 401)
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or x.numel() < 2:
        raise ValueError(
            f"x must be a 1-D tensor of at least 2 points, got "
            f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    return x


def plot_activation(
    activation: ActivationLike,
    x: torch.Tensor | None = None,
    ax: Axes | None = None,
    param: float | None = None,
    color: str | None = None,
    label: str | None = None,
) -> Axes:
    """Draw f (solid) and its autograd derivative f' (dashed) on ``ax`` (a new figure if None).

    activation: a name from ACTIVATIONS (then ``param`` sets its parameter) or any elementwise callable.
    x: 1-D tensor of points (default 401 points on [-4, 4]). Returns the axes.
    """
    fn: Callable[[torch.Tensor], torch.Tensor]
    if isinstance(activation, str):
        fn, name = make_activation(activation, param), _spec(activation).name
    elif param is not None:
        raise ValueError(
            "param only applies to an activation given by name, e.g. plot_activation('ELU', param=2.0)"
        )
    else:
        fn, name = _as_function(activation)
    x = _default_x(x)
    y, dy = value_and_derivative(fn, x)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    label = label or name
    (line,) = ax.plot(x.numpy(), y.numpy(), color=color, label=f"{label}")
    ax.plot(x.numpy(), dy.numpy(), "--", color=line.get_color(), label=f"{label}  (derivative)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.grid(alpha=0.3)
    ax.set_xlabel("x")
    return ax


def plot_activation_grid(
    names: Sequence[str] | None = None, x: torch.Tensor | None = None, ncols: int = 3
) -> Figure:
    """The static version of the explorer: one panel per activation, f solid and f' dashed.

    Sized for the book's text column (about 7.8 inches wide with 3 columns), text at 9 points or more.

    Activations with a parameter are drawn for each value in their ``showcase`` (one colour per value).
    names: which activations (default: all of ACTIVATIONS). Returns the figure.
    """
    names = list(ACTIVATIONS) if names is None else list(names)
    if not names:
        raise ValueError("names must list at least one activation")
    specs = [_spec(n) for n in names]
    x = _default_x(x)
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(specs))
    nrows = (len(specs) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.3 * nrows), squeeze=False)
    for ax in axes.flat[len(specs) :]:
        ax.axis("off")
    for ax, spec in zip(axes.flat, specs):
        values = spec.showcase if spec.param else (None,)
        labels = [spec.name if value is None else f"{spec.param}={value:g}" for value in values]
        for value, label in zip(values, labels):
            plot_activation(spec.name, x, ax=ax, param=value, label=label)
        ax.set_title(spec.name, fontsize=10)
        ax.set_ylim(-2.2, 4.2)
        if spec.param:
            ax.legend(
                handles=[line for line in ax.lines if line.get_label() in labels],
                fontsize=9,
                loc="upper left",
                handlelength=1.2,
                borderaxespad=0.2,
            )
    fig.suptitle("activation f (solid) and its derivative f' (dashed, by autograd)")
    fig.tight_layout()
    return fig


def activation_explorer(
    names: Sequence[str] | None = None, x: torch.Tensor | None = None, initial: str | None = None
):
    """An interactive explorer: a dropdown picks the activation, a slider sets its parameter.

    names: the activations offered (default: all of ACTIVATIONS); initial: the one shown first (default: the
    first name). The figure (f and f') is redrawn on every change. Returns an ``ipywidgets.VBox`` whose children are
    (dropdown, slider, output); display it as the last line of a cell. The slider is disabled for
    activations without a parameter. Needs ipywidgets (7 or 8); raises ImportError with advice if missing.
    """
    try:
        import ipywidgets as widgets
    except ImportError as err:
        raise ImportError(
            "the activation explorer needs ipywidgets: pip install ipywidgets "
            "(or use plot_activation_grid() for a static figure)"
        ) from err
    from IPython.display import display

    names = list(ACTIVATIONS) if names is None else [_spec(n).name for n in names]
    if not names:
        raise ValueError("names must list at least one activation")
    initial = names[0] if initial is None else _spec(initial).name
    if initial not in names:
        raise ValueError(f"initial activation {initial!r} is not among names {names}")
    x = _default_x(x)
    dropdown = widgets.Dropdown(options=names, value=initial, description="activation")
    slider = widgets.FloatSlider(
        value=0.0,
        min=0.0,
        max=1.0,
        step=0.01,
        description="parameter",
        continuous_update=False,
        readout_format=".2f",
    )
    output = widgets.Output()
    state = {"updating": False}

    def configure_slider() -> None:
        spec = _spec(dropdown.value)
        state["updating"] = True  # moving min/max/value would otherwise redraw several times
        try:
            if spec.param is None or spec.low is None or spec.high is None:
                slider.disabled, slider.description = True, "(no parameter)"
            else:
                slider.min, slider.max = -1e9, 1e9  # widen first so the new range is always accepted
                slider.min, slider.max = spec.low, spec.high
                slider.value, slider.step = spec.default, (spec.high - spec.low) / 100
                slider.disabled, slider.description = False, spec.param
        finally:
            state["updating"] = False

    def redraw(*_) -> None:
        if state["updating"]:
            return
        spec = _spec(dropdown.value)
        param = None if spec.param is None else float(slider.value)
        with output:
            output.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(5.5, 3.2))
            plot_activation(spec.name, x, ax=ax, param=param)
            ax.set_title(spec.name if param is None else f"{spec.name}({spec.param}={param:.2f})")
            ax.legend(fontsize=8, loc="upper left")
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    def on_activation(_change) -> None:
        configure_slider()
        redraw()

    dropdown.observe(on_activation, names="value")
    slider.observe(redraw, names="value")
    configure_slider()
    redraw()
    return widgets.VBox([dropdown, slider, output])

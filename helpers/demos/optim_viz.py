"""Watching optimizers work: 2-D loss surfaces, trajectories, learning-rate schedules, a playground (Chapter 5).

A 2-D problem is small enough to draw: every optimizer step is a point on a contour map, so momentum's
overshoot, Adam's per-coordinate scaling and a diverging learning rate can be *seen*.

    surfaces      SURFACES["quadratic"] (an ill-conditioned bowl) and SURFACES["rosenbrock"] (a curved valley)
    optimizers    OPTIMIZERS: name -> factory(params, lr); make_optimizer(name, params, lr)
    trajectories  run_trajectory(optimizer, start, lr, steps, surface) -> (k, 2) tensor; loss_along(...)
    figures       plot_trajectories(...), trajectory_grid(...) (the static stand-in for the playground)
    schedules     record_lrs(make_scheduler, steps) -> learning rate per step; plot_lr_schedules(...)
    playground    playground(): pick an optimizer and a learning rate with ipywidgets, see the path
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import optim

# ---- surfaces -----------------------------------------------------------------------------------

QUADRATIC_CURVATURES: tuple[float, float] = (1.0, 20.0)


def _as_points(xy: torch.Tensor) -> torch.Tensor:
    if not isinstance(xy, torch.Tensor):
        raise TypeError(f"expected a tensor of points with last dimension 2, got {type(xy).__name__}")
    if xy.dim() == 0 or xy.shape[-1] != 2:
        raise ValueError(f"expected points of shape (2,) or (..., 2), got shape {tuple(xy.shape)}")
    return xy


def quadratic(xy: torch.Tensor) -> torch.Tensor:
    """An ill-conditioned bowl f(x, y) = (1 x^2 + 20 y^2) / 2, minimum 0 at (0, 0).

    xy: shape (2,) or (..., 2). Returns f at every point, shape xy.shape[:-1].
    The curvature along y is 20 times that along x (see QUADRATIC_CURVATURES), so plain gradient
    descent is stable only for lr < 2 / 20 and then crawls along x.
    """
    xy = _as_points(xy)
    h = torch.tensor(QUADRATIC_CURVATURES, dtype=xy.dtype, device=xy.device)
    return 0.5 * (h * xy**2).sum(dim=-1)


def quadratic_grad(xy: torch.Tensor) -> torch.Tensor:
    """The gradient of ``quadratic``: (1 x, 20 y), same shape as xy."""
    xy = _as_points(xy)
    return torch.tensor(QUADRATIC_CURVATURES, dtype=xy.dtype, device=xy.device) * xy


def rosenbrock(xy: torch.Tensor) -> torch.Tensor:
    """Rosenbrock's banana valley f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1).

    xy: shape (2,) or (..., 2). Returns f at every point, shape xy.shape[:-1].
    """
    xy = _as_points(xy)
    x, y = xy[..., 0], xy[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(xy: torch.Tensor) -> torch.Tensor:
    """The gradient of ``rosenbrock``: (-2 (1 - x) - 400 x (y - x^2), 200 (y - x^2)), same shape as xy."""
    xy = _as_points(xy)
    x, y = xy[..., 0], xy[..., 1]
    return torch.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], dim=-1)


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: the function, where its minimum is, a default start and a plotting window.

    grad: the closed-form gradient, or None to let autograd compute it. For a 2-parameter problem autograd's
    bookkeeping costs several times more than the arithmetic, so the built-in surfaces supply one
    (the unit tests check it against autograd).
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    minimum: tuple[float, float]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    grad: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        return self.fn(xy)


SURFACES: dict[str, Surface] = {
    "quadratic": Surface(
        "quadratic",
        quadratic,
        minimum=(0.0, 0.0),
        start=(-4.0, 1.5),
        xlim=(-5.0, 5.0),
        ylim=(-2.5, 2.5),
        grad=quadratic_grad,
    ),
    "rosenbrock": Surface(
        "rosenbrock",
        rosenbrock,
        minimum=(1.0, 1.0),
        start=(-1.5, 2.0),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        grad=rosenbrock_grad,
    ),
}

SurfaceLike = str | Surface


def get_surface(surface: SurfaceLike) -> Surface:
    """A Surface from its name ("quadratic", "rosenbrock") or the Surface itself."""
    if isinstance(surface, Surface):
        return surface
    if isinstance(surface, str) and surface.lower() in SURFACES:
        return SURFACES[surface.lower()]
    raise ValueError(f"unknown surface {surface!r}: expected one of {sorted(SURFACES)} or a Surface")


# ---- optimizers ---------------------------------------------------------------------------------

OptimizerFactory = Callable[[Iterable[torch.Tensor], float], optim.Optimizer]

OPTIMIZERS: dict[str, OptimizerFactory] = {
    "SGD": lambda params, lr: optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "Nesterov": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
    "RMSprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "Adam": lambda params, lr: optim.Adam(params, lr=lr),
    "AdamW": lambda params, lr: optim.AdamW(params, lr=lr, weight_decay=0.01),
}
"""Each name maps to ``factory(params, lr)``; momentum and Nesterov use momentum 0.9, AdamW weight decay 0.01."""


def _check_lr(lr: float) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    return float(lr)


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float) -> optim.Optimizer:
    """Build one of the OPTIMIZERS by name (case-insensitive) for ``params`` with learning rate ``lr``."""
    lookup = {key.lower(): key for key in OPTIMIZERS}
    if not isinstance(name, str) or name.lower() not in lookup:
        raise ValueError(f"unknown optimizer {name!r}: expected one of {list(OPTIMIZERS)}")
    return OPTIMIZERS[lookup[name.lower()]](params, _check_lr(lr))


# ---- trajectories -------------------------------------------------------------------------------


def run_trajectory(
    optimizer: str | OptimizerFactory,
    start: Sequence[float] | None = None,
    lr: float = 0.01,
    steps: int = 100,
    surface: SurfaceLike = "quadratic",
) -> torch.Tensor:
    """Minimise a 2-D surface with a torch optimizer and return every point it visits.

    optimizer: a name from OPTIMIZERS, or a factory ``factory(params, lr) -> torch.optim.Optimizer``.
    start: the first point (x, y); None uses the surface's default start.
    lr: learning rate (> 0); steps: number of optimizer steps (>= 0); surface: a name or a Surface.
    Returns a float64 tensor of shape (k, 2): the start and the point after each step, k = steps + 1.
    If the iterate diverges to inf/nan the run stops early and only the finite points are returned
    (so k < steps + 1 means the run blew up).
    """
    surf = get_surface(surface)
    lr = _check_lr(lr)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    start_t = torch.as_tensor(surf.start if start is None else start, dtype=torch.float64)
    if start_t.shape != (2,) or not torch.isfinite(start_t).all():
        raise ValueError(f"start must be two finite numbers (x, y), got {start!r}")
    point = start_t.clone().requires_grad_(True)
    if isinstance(optimizer, str):
        opt = make_optimizer(optimizer, [point], lr)
    elif callable(optimizer):
        opt = optimizer([point], lr)
        if not isinstance(opt, optim.Optimizer):
            raise TypeError(
                f"the optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}"
            )
    else:
        raise TypeError(
            f"optimizer must be a name from {list(OPTIMIZERS)} or a factory(params, lr), "
            f"got {type(optimizer).__name__}"
        )
    points = [point.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        if surf.grad is None:
            surf(point).backward()
        else:
            point.grad = surf.grad(point.detach())
        opt.step()
        if not torch.isfinite(point).all():
            break
        points.append(point.detach().clone())
    return torch.stack(points)


def _as_trajectory(trajectory: torch.Tensor) -> torch.Tensor:
    if (
        not isinstance(trajectory, torch.Tensor)
        or trajectory.dim() != 2
        or trajectory.shape[1] != 2
        or len(trajectory) == 0
    ):
        shape = tuple(trajectory.shape) if isinstance(trajectory, torch.Tensor) else type(trajectory).__name__
        raise ValueError(
            f"a trajectory is a tensor of shape (k, 2) with k >= 1 (from run_trajectory), got {shape}"
        )
    return trajectory.detach().cpu()


def loss_along(trajectory: torch.Tensor, surface: SurfaceLike = "quadratic") -> torch.Tensor:
    """The surface's value at every point of a trajectory: shape (k,) for a (k, 2) trajectory."""
    return get_surface(surface)(_as_trajectory(trajectory).double())


# ---- figures ------------------------------------------------------------------------------------

_CONTOURS: dict[Surface, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _contour_data(surf: Surface) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grid x, grid y, f on the grid and log-spaced contour levels (computed once per surface)."""
    if surf not in _CONTOURS:
        xs = torch.linspace(*surf.xlim, 120, dtype=torch.float64)
        ys = torch.linspace(*surf.ylim, 120, dtype=torch.float64)
        grid_x, grid_y = torch.meshgrid(xs, ys, indexing="xy")
        z = surf(torch.stack([grid_x, grid_y], dim=-1)).numpy()
        low = max(float(z.min()), 1e-2)
        levels = np.logspace(np.log10(low), np.log10(float(z.max())), 16)
        _CONTOURS[surf] = (grid_x.numpy(), grid_y.numpy(), z, levels)
    return _CONTOURS[surf]


def _draw_surface(ax: Axes, surf: Surface) -> None:
    grid_x, grid_y, z, levels = _contour_data(surf)
    ax.contour(grid_x, grid_y, z, levels=levels, colors="0.75", linewidths=0.7)
    ax.plot(*surf.minimum, marker="*", color="black", markersize=12, linestyle="none")
    ax.set(xlim=surf.xlim, ylim=surf.ylim, xlabel="x", ylabel="y")


def plot_trajectories(
    trajectories: Mapping[str, torch.Tensor],
    surface: SurfaceLike = "quadratic",
    ax: Axes | None = None,
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Draw trajectories (name -> (k, 2) tensor) over the contour lines of ``surface``.

    The black star is the minimum; each path starts at a large dot. Points outside the window are clipped,
    so a diverging run leaves the picture. ax: draw into this Axes (None makes a new figure);
    legend: label each path with its name.
    Returns the Figure.
    """
    if not isinstance(trajectories, Mapping) or not trajectories:
        raise ValueError("trajectories must be a non-empty dict {name: (k, 2) tensor}")
    surf = get_surface(surface)
    paths = {str(name): _as_trajectory(t) for name, t in trajectories.items()}
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    _draw_surface(ax, surf)
    for name, path in paths.items():
        (line,) = ax.plot(path[:, 0], path[:, 1], "-", marker=".", markersize=3, linewidth=1.2, label=name)
        ax.plot(path[0, 0], path[0, 1], "o", color=line.get_color(), markersize=6)
    if legend:
        ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title or surf.name, fontsize=10)
    return ax.figure.figure  # the root Figure, also when ax lies in a SubFigure


def trajectory_grid(
    optimizers: Sequence[str],
    lrs: Sequence[float],
    surface: SurfaceLike = "quadratic",
    steps: int = 100,
    start: Sequence[float] | None = None,
) -> Figure:
    """A grid of trajectories: one row per optimizer name, one column per learning rate.

    Each panel's title gives the learning rate and the final loss ("diverged" if the run blew up).
    This is the static stand-in for ``playground()`` on the website. Returns the Figure.
    """
    if not optimizers or not lrs:
        raise ValueError(f"need at least one optimizer and one lr, got {list(optimizers)} and {list(lrs)}")
    surf = get_surface(surface)
    fig, axes = plt.subplots(
        len(optimizers),
        len(lrs),
        figsize=(min(8.6, 2.3 * len(lrs)), 2.3 * len(optimizers)),  # at most the text column's width
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    for row, name in enumerate(optimizers):
        for col, lr in enumerate(lrs):
            ax = axes[row, col]
            path = run_trajectory(name, start, lr, steps, surf)
            _draw_surface(ax, surf)
            ax.plot(path[:, 0], path[:, 1], "-", marker=".", markersize=2, linewidth=1, color="C3")
            ax.plot(path[0, 0], path[0, 1], "o", color="C3", markersize=4)
            final = float(loss_along(path[-1:], surf)[0])
            blew_up = len(path) < steps + 1 or final > float(loss_along(path[:1], surf)[0])
            ax.set_title(
                f"{name}, lr={lr:g}\n" + ("diverged" if blew_up else f"final loss {final:.2g}"), fontsize=9
            )
            ax.set(xlabel="x" if row == len(optimizers) - 1 else "", ylabel="y" if col == 0 else "")
    fig.tight_layout()
    return fig


# ---- learning-rate schedules --------------------------------------------------------------------


def record_lrs(
    make_scheduler: Callable[[optim.Optimizer], object],
    steps: int,
    lr: float = 0.1,
    metrics: Sequence[float] | None = None,
) -> list[float]:
    """The learning rate a scheduler sets at each of ``steps`` steps, starting from ``lr``.

    make_scheduler: ``optimizer -> scheduler`` (e.g. ``lambda opt: StepLR(opt, step_size=10)``); it is given a
    plain SGD optimizer over one dummy parameter. Each step records the current lr, calls
    ``optimizer.step()`` and then ``scheduler.step()`` (in that order, as in a real loop).
    metrics: one value per step, passed to ``scheduler.step(metric)`` of a ReduceLROnPlateau (which needs
    them); other schedulers step without a metric.
    Returns a list of ``steps`` floats (the lr used at step 0, 1, ...).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    opt = optim.SGD([torch.zeros(1, requires_grad=True)], lr=_check_lr(lr))
    scheduler = make_scheduler(opt)
    if not isinstance(scheduler, (optim.lr_scheduler.ReduceLROnPlateau, optim.lr_scheduler.LRScheduler)):
        raise TypeError(
            f"make_scheduler must return a torch.optim.lr_scheduler scheduler, got {type(scheduler).__name__}"
        )
    if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau) and metrics is None:
        raise ValueError("ReduceLROnPlateau needs metrics: pass one loss value per step")
    if metrics is not None and len(metrics) < steps:
        raise ValueError(f"metrics has {len(metrics)} values for {steps} steps")
    lrs = []
    for step in range(steps):
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if isinstance(scheduler, optim.lr_scheduler.ReduceLROnPlateau) and metrics is not None:
            scheduler.step(metrics[step])
        else:
            scheduler.step()  # a scheduler that does not watch a metric takes none
    return lrs


def plot_lr_schedules(schedules: Mapping[str, Sequence[float]], ncols: int = 3) -> Figure:
    """Small multiples of learning-rate schedules: name -> list of lr per step. Returns the Figure.

    Sized for the book's text column: 3 panels per row (about 7.8 inches), text at 9 points or more."""
    if not isinstance(schedules, Mapping) or not schedules:
        raise ValueError("schedules must be a non-empty dict {name: list of learning rates}")
    if any(len(values) == 0 for values in schedules.values()):
        raise ValueError("every schedule needs at least one learning rate")
    ncols = max(1, min(ncols, len(schedules)))
    nrows = (len(schedules) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.2 * nrows), squeeze=False)
    for ax in axes.flat[len(schedules) :]:
        ax.axis("off")
    for ax, (name, values) in zip(axes.flat, schedules.items()):
        ax.plot(range(len(values)), list(values), color="C0")
        ax.set_title(name, fontsize=10)
        ax.set(xlabel="step", ylabel="lr")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---- playground ---------------------------------------------------------------------------------


def playground(
    surface: SurfaceLike = "rosenbrock",
    optimizers: Sequence[str] | None = None,
    lr: float = 1e-3,
    steps: int = 200,
):
    """An ipywidgets playground: choose an optimizer, a learning rate (log slider) and a number of steps.

    Uses only widgets that ipywidgets 7 and 8 share (Dropdown, FloatLogSlider, IntSlider, interactive).
    Returns the widget (display it, or make it the last line of a cell). It needs a running Python kernel:
    on the static website it only shows the first picture; ``trajectory_grid`` makes the same point there.
    """
    try:
        import ipywidgets as widgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "playground() needs ipywidgets (pip install ipywidgets); trajectory_grid() draws a static version"
        ) from err
    surf = get_surface(surface)
    names = list(OPTIMIZERS) if optimizers is None else list(optimizers)
    for name in names:
        make_optimizer(name, [torch.zeros(1, requires_grad=True)], 1.0)  # raises for unknown names
    if not names:
        raise ValueError("optimizers must name at least one optimizer")
    _check_lr(lr)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 2000:
        raise ValueError(f"steps must be an int between 1 and 2000, got {steps!r}")

    def draw(optimizer: str, lr: float, steps: int) -> None:
        path = run_trajectory(optimizer, None, lr, steps, surf)
        final = float(loss_along(path[-1:], surf)[0])
        status = "diverged" if len(path) < steps + 1 else f"final loss {final:.3g}"
        fig = plot_trajectories(
            {f"{optimizer}, lr={lr:.2g}": path},
            surf,
            title=f"{surf.name}: {optimizer}, lr={lr:.2g}, {steps} steps, {status}",
        )
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        draw,
        optimizer=widgets.Dropdown(options=names, value=names[0], description="optimizer"),
        lr=widgets.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.25, description="lr", continuous_update=False
        ),
        steps=widgets.IntSlider(
            value=steps,
            min=min(10, steps),
            max=max(500, steps),
            step=10,
            description="steps",
            continuous_update=False,
        ),
    )

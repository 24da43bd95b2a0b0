import matplotlib.pyplot as plt
import pytest
import torch
from torch import optim
from torch.optim import lr_scheduler

from helpers.demos import optim_viz as ov

# ---- surfaces -----------------------------------------------------------------------------------


def test_surfaces_values_and_minima():
    assert ov.quadratic(torch.tensor([2.0, 1.0])).item() == pytest.approx(0.5 * (4 + 20))
    assert ov.rosenbrock(torch.tensor([0.0, 0.0])).item() == pytest.approx(1.0)
    for surface in ov.SURFACES.values():
        assert surface(torch.tensor(surface.minimum)).item() == 0.0
    batch = torch.randn(4, 5, 2)
    assert ov.quadratic(batch).shape == (4, 5) and ov.rosenbrock(batch).shape == (4, 5)


@pytest.mark.parametrize("name", sorted(ov.SURFACES))
def test_closed_form_gradients_match_autograd(name):
    surface = ov.SURFACES[name]
    points = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    surface(points).sum().backward()
    assert torch.allclose(surface.grad(points.detach()), points.grad)


@pytest.mark.parametrize(
    "bad, error", [(torch.zeros(3), ValueError), (torch.tensor(1.0), ValueError), ([1.0, 2.0], TypeError)]
)
def test_surfaces_bad_input(bad, error):
    with pytest.raises(error):
        ov.rosenbrock(bad)
    with pytest.raises(error):
        ov.quadratic(bad)


def test_get_surface():
    assert ov.get_surface("Rosenbrock") is ov.SURFACES["rosenbrock"]
    assert ov.get_surface(ov.SURFACES["quadratic"]) is ov.SURFACES["quadratic"]
    with pytest.raises(ValueError, match="unknown surface 'himmelblau'"):
        ov.get_surface("himmelblau")


# ---- optimizers and trajectories ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls",
    [
        ("SGD", optim.SGD),
        ("momentum", optim.SGD),
        ("nesterov", optim.SGD),
        ("Adagrad", optim.Adagrad),
        ("rmsprop", optim.RMSprop),
        ("Adam", optim.Adam),
        ("AdamW", optim.AdamW),
    ],
)
def test_make_optimizer(name, cls):
    opt = ov.make_optimizer(name, [torch.zeros(2, requires_grad=True)], 0.05)
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.05


@pytest.mark.parametrize(
    "name, lr, match",
    [
        ("LBFGS", 0.1, "unknown optimizer"),
        ("SGD", 0.0, "positive"),
        ("SGD", -1.0, "positive"),
        ("SGD", float("nan"), "positive"),
        ("SGD", "0.1", "positive"),
    ],
)
def test_make_optimizer_bad_input(name, lr, match):
    with pytest.raises(ValueError, match=match):
        ov.make_optimizer(name, [torch.zeros(2, requires_grad=True)], lr)


def test_run_trajectory_matches_gradient_descent_on_paper():
    lr, steps = 0.05, 20
    path = ov.run_trajectory("SGD", start=(3.0, -1.0), lr=lr, steps=steps, surface="quadratic")
    assert path.shape == (steps + 1, 2) and path.dtype == torch.float64
    t = torch.arange(steps + 1, dtype=torch.float64).unsqueeze(1)
    h = torch.tensor(ov.QUADRATIC_CURVATURES, dtype=torch.float64)
    assert torch.allclose(path, (1 - lr * h) ** t * torch.tensor([3.0, -1.0], dtype=torch.float64))


def test_run_trajectory_defaults_factory_and_autograd_path():
    default = ov.run_trajectory("Adam", lr=0.1, steps=30, surface="rosenbrock")
    assert default[0].tolist() == list(ov.SURFACES["rosenbrock"].start)
    via_factory = ov.run_trajectory(
        lambda params, lr: optim.Adam(params, lr=lr), lr=0.1, steps=30, surface="rosenbrock"
    )
    assert torch.equal(default, via_factory)
    no_closed_form = ov.Surface(
        "rosenbrock (autograd)", ov.rosenbrock, (1.0, 1.0), (-1.5, 2.0), (-2, 2), (-1, 3)
    )
    assert torch.allclose(ov.run_trajectory("Adam", lr=0.1, steps=30, surface=no_closed_form), default)
    assert ov.run_trajectory("SGD", steps=0).shape == (1, 2)


def test_run_trajectory_stops_when_it_diverges():
    path = ov.run_trajectory("SGD", lr=0.1, steps=200, surface="rosenbrock")
    assert len(path) < 201 and torch.isfinite(path).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(optimizer="SGD", start=(1.0, 2.0, 3.0)), ValueError, "start must be two finite numbers"),
        (dict(optimizer="SGD", start=(float("inf"), 0.0)), ValueError, "start must be two finite numbers"),
        (dict(optimizer="SGD", steps=-1), ValueError, "steps must be a non-negative int"),
        (dict(optimizer="SGD", steps=2.5), ValueError, "steps must be a non-negative int"),
        (dict(optimizer="SGD", lr=0), ValueError, "lr must be a positive"),
        (dict(optimizer="SGD", surface="bowl"), ValueError, "unknown surface"),
        (dict(optimizer="Lion"), ValueError, "unknown optimizer"),
        (dict(optimizer=42), TypeError, "optimizer must be a name"),
        (
            dict(optimizer=lambda params, lr: "not an optimizer"),
            TypeError,
            "must return a torch.optim.Optimizer",
        ),
    ],
)
def test_run_trajectory_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        ov.run_trajectory(**kwargs)


def test_loss_along():
    path = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    assert ov.loss_along(path, "rosenbrock").tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        ov.loss_along(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        ov.loss_along(torch.zeros(0, 2))


# ---- figures ------------------------------------------------------------------------------------


def test_plot_trajectories_draws_paths_over_contours():
    paths = {
        "SGD": ov.run_trajectory("SGD", lr=0.05, steps=5),
        "Adam": ov.run_trajectory("Adam", lr=0.1, steps=5),
    }
    fig = ov.plot_trajectories(paths, "quadratic", title="demo")
    ax = fig.axes[0]
    assert ax.get_title() == "demo"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    assert len(ax.collections) >= 1  # the contour lines
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    assert ov.plot_trajectories(paths, "rosenbrock", ax=axes[1], legend=False) is fig
    assert axes[1].get_legend() is None and axes[1].get_title() == "rosenbrock"
    plt.close(fig)


@pytest.mark.parametrize("bad", [{}, {"x": torch.zeros(4)}, [torch.zeros(2, 2)]])
def test_plot_trajectories_bad_input(bad):
    with pytest.raises(ValueError):
        ov.plot_trajectories(bad)


def test_trajectory_grid_layout_and_divergence_label():
    fig = ov.trajectory_grid(["SGD", "Adam"], [1e-3, 0.1], "rosenbrock", steps=20)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("SGD, lr=0.001") and "diverged" in titles[1] and "final loss" in titles[3]
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one optimizer and one lr"):
        ov.trajectory_grid([], [0.1])


# ---- schedules ----------------------------------------------------------------------------------


def test_record_lrs():
    lrs = ov.record_lrs(lambda opt: lr_scheduler.StepLR(opt, step_size=2, gamma=0.5), 5, lr=1.0)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25]
    plateau = ov.record_lrs(
        lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=1),
        5,
        lr=1.0,
        metrics=[1.0, 1.0, 1.0, 1.0, 1.0],
    )
    assert plateau[0] == 1.0 and plateau[-1] < 1.0


@pytest.mark.parametrize(
    "make, steps, kwargs, error, match",
    [
        (lambda opt: lr_scheduler.StepLR(opt, 1), 0, {}, ValueError, "steps must be a positive int"),
        (lambda opt: opt, 3, {}, TypeError, "must return a torch.optim.lr_scheduler"),
        (lambda opt: lr_scheduler.ReduceLROnPlateau(opt), 3, {}, ValueError, "needs metrics"),
        (
            lambda opt: lr_scheduler.ReduceLROnPlateau(opt),
            3,
            {"metrics": [1.0]},
            ValueError,
            "1 values for 3 steps",
        ),
        (lambda opt: lr_scheduler.StepLR(opt, 1), 3, {"lr": -0.1}, ValueError, "lr must be a positive"),
    ],
)
def test_record_lrs_bad_input(make, steps, kwargs, error, match):
    with pytest.raises(error, match=match):
        ov.record_lrs(make, steps, **kwargs)


def test_plot_lr_schedules():
    fig = ov.plot_lr_schedules({"a": [0.1, 0.05], "b": [0.1, 0.1], "c": [1.0]}, ncols=2)
    assert len(fig.axes) == 4 and [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    assert not fig.axes[3].axison
    plt.close(fig)
    for bad in ({}, {"a": []}):
        with pytest.raises(ValueError):
            ov.plot_lr_schedules(bad)


# ---- playground ---------------------------------------------------------------------------------


def test_playground_builds_and_redraws():
    widgets = pytest.importorskip("ipywidgets")
    pg = ov.playground("quadratic", optimizers=["SGD", "Adam"], lr=0.01, steps=20)
    assert isinstance(pg, widgets.interactive)
    controls = {c.description: c for c in pg.children if hasattr(c, "description")}
    assert isinstance(controls["lr"], widgets.FloatLogSlider) and controls["lr"].value == pytest.approx(0.01)
    assert list(controls["optimizer"].options) == ["SGD", "Adam"]
    controls["optimizer"].value = "Adam"  # triggers a redraw; must not raise
    controls["lr"].value = 1.0
    assert plt.get_fignums() == []  # every drawn figure was closed again


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizers": ["SGD", "Shampoo"]}, "unknown optimizer"),
        ({"optimizers": []}, "at least one"),
        ({"steps": 0}, "steps must be"),
        ({"lr": 0}, "lr must be"),
        ({"surface": "saddle"}, "unknown surface"),
    ],
)
def test_playground_bad_input(kwargs, match):
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match=match):
        ov.playground(**kwargs)

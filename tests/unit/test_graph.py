import matplotlib.pyplot as plt
import pytest
import torch

from helpers.demos.graph import GraphNode, build_graph, draw_graph, function_names


def classic():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    return x, y, z, out


def test_build_graph_lists_each_node_once_output_first():
    x, y, z, out = classic()
    nodes = build_graph(out)
    assert [n.name for n in nodes] == [
        "MeanBackward0",
        "MulBackward0",
        "MulBackward0",
        "AddBackward0",
        "AccumulateGrad",
    ]
    assert [n.key for n in nodes] == list(range(5))
    assert nodes[2].inputs == (3, 3)  # y * y: the same node reached twice, listed once
    assert nodes[1].inputs == (2,)  # the constant 3 does not require grad: not part of the graph
    assert nodes[-1].is_leaf and not any(n.is_leaf for n in nodes[:-1])
    assert all(isinstance(n, GraphNode) for n in nodes)


def test_names_label_leaves_and_computed_tensors():
    x, y, z, out = classic()
    nodes = build_graph(out, {"x": x, "y": y, "out": out})
    labels = {n.name + str(n.key): n.label for n in nodes}
    assert labels["AccumulateGrad4"] == "x (2, 2)"
    assert labels["AddBackward03"] == "AddBackward0\n= y (2, 2)"
    assert labels["MeanBackward00"] == "MeanBackward0\n= out ()"
    assert build_graph(out)[-1].label == "leaf (2, 2)"


def test_two_leaves_and_a_one_dimensional_shape():
    w = torch.randn(3, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    loss = ((torch.randn(5, 3) @ w + b) ** 2).sum()
    nodes = build_graph(loss, {"w": w, "b": b})
    leaves = sorted(n.label for n in nodes if n.is_leaf)
    assert leaves == ["b (1,)", "w (3,)"]
    assert function_names(loss)[0] == "SumBackward0"


def test_a_leaf_that_requires_grad_is_a_one_node_graph():
    w = torch.zeros(4, requires_grad=True)
    assert build_graph(w, {"w": w}) == [GraphNode(0, "AccumulateGrad", "w (4,)", True, ())]


def test_custom_function_nodes_are_named_after_the_class():
    class Twice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad

    x = torch.ones(3, requires_grad=True)
    assert function_names(Twice.apply(x)) == ["TwiceBackward", "AccumulateGrad"]


def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    x, y, z, out = classic()
    fig = draw_graph(out, {"x": x, "out": out}, title="classic")
    ax = fig.axes[0]
    from matplotlib.text import Annotation

    boxes = [t for t in ax.texts if not isinstance(t, Annotation)]
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    texts = [t.get_text() for t in boxes]
    assert len(texts) == 5 and "x (2, 2)" in texts and "MeanBackward0\n= out ()" in texts
    assert len(arrows) == 5  # 1 + 1 + 2 (y used twice) + 1
    assert ax.get_title() == "classic"
    # the output is drawn below the leaf
    y_pos = {t.get_text(): t.get_position()[1] for t in boxes}
    assert y_pos["MeanBackward0\n= out ()"] < y_pos["x (2, 2)"]
    fig.canvas.draw()  # renders without error (arrows clip to the boxes)
    plt.close(fig)


def test_draw_graph_of_a_leaf():
    fig = draw_graph(torch.zeros(2, requires_grad=True))
    assert [t.get_text() for t in fig.axes[0].texts] == ["leaf (2,)"]
    plt.close(fig)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: [1.0, 2.0], TypeError, "expects a torch.Tensor, got list"),
        (lambda: torch.ones(3), ValueError, "not part of an autograd graph"),
        (
            lambda: (torch.ones(3, requires_grad=True) * 2).detach(),
            ValueError,
            "not part of an autograd graph",
        ),
    ],
)
def test_bad_tensors(make, error, match):
    with pytest.raises(error, match=match):
        build_graph(make())
    with pytest.raises(error, match=match):
        draw_graph(make())


def test_no_grad_result_is_rejected():
    x = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    with pytest.raises(ValueError, match="torch.no_grad"):
        draw_graph(y)


@pytest.mark.parametrize(
    "names, match",
    [
        (["x"], "names must be a dict"),
        ({"x": 1.0}, "names must map str -> torch.Tensor"),
        ({1: torch.ones(1)}, "names must map str -> torch.Tensor"),
    ],
)
def test_bad_names(names, match):
    _, _, _, out = classic()
    with pytest.raises(TypeError, match=match):
        build_graph(out, names)


def test_max_nodes_refuses_big_graphs():
    x = torch.ones(1, requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.1
    assert len(build_graph(y, max_nodes=51)) == 51
    with pytest.raises(ValueError, match="more than max_nodes=40"):
        draw_graph(y)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_nodes must be an int"):
            build_graph(y, max_nodes=bad)

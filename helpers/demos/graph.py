"""Looking at autograd's graph: list its nodes, or draw it with matplotlib (no graphviz needed).

Every tensor computed from tensors that require gradients has a ``grad_fn``: the ``Function`` node that
made it. Each node's ``next_functions`` point at the nodes that made *its* inputs, down to the leaves, which
appear as ``AccumulateGrad`` nodes (their ``.variable`` is the leaf tensor). ``build_graph`` walks those links;
``draw_graph`` draws the result, leaves towards the top and the output at the bottom, arrows in the direction the
data flowed forward (``backward()`` walks them the other way).
Inputs that do not require gradients (constants, data) are not part of the graph and are not drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

__all__ = ["GraphNode", "build_graph", "draw_graph", "function_names"]


@dataclass(frozen=True)
class GraphNode:
    """One node of autograd's graph.

    key:    an id unique within one ``build_graph`` result
    name:   the node's class name, e.g. "MulBackward0", or "AccumulateGrad" for a leaf
    label:  the text ``draw_graph`` writes in the box (name, or a leaf's name and shape)
    is_leaf: True for a leaf tensor (an ``AccumulateGrad`` node)
    inputs: keys of the nodes this one's ``next_functions`` point at (one per input, repeats kept)
    """

    key: int
    name: str
    label: str
    is_leaf: bool
    inputs: tuple[int, ...]


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + (",)" if t.dim() == 1 else ")")


def _check_names(names: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    if names is None:
        return {}
    if not isinstance(names, Mapping):
        raise TypeError(
            f"names must be a dict mapping a name to a tensor, e.g. {{'x': x}}, got {type(names).__name__}"
        )
    for name, value in names.items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise TypeError(f"names must map str -> torch.Tensor, got {name!r} -> {type(value).__name__}")
    return dict(names)


def build_graph(
    tensor: torch.Tensor, names: Mapping[str, torch.Tensor] | None = None, max_nodes: int = 200
) -> list[GraphNode]:
    """The autograd graph behind ``tensor`` as a list of GraphNode, the output's node first.

    tensor: a tensor with a ``grad_fn``, or a leaf with ``requires_grad=True`` (a one-node graph).
    names:  optional {"x": x, "out": out, ...}. A named leaf is labelled "x (2, 2)"; a named computed tensor
            adds "= out (2, 2)" under the name of the Function that made it. Unnamed leaves read "leaf (2, 2)".
    max_nodes: raise ValueError rather than walk a graph bigger than this (a whole network is unreadable drawn).
    Every node is listed once, even when several paths reach it (e.g. ``y * y``).
    Raises TypeError for a non-tensor and ValueError for a tensor that is not part of any graph.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"build_graph expects a torch.Tensor, got {type(tensor).__name__}")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"max_nodes must be an int >= 1, got {max_nodes!r}")
    names = _check_names(names)
    if tensor.grad_fn is None and not tensor.requires_grad:
        raise ValueError(
            "this tensor is not part of an autograd graph: it has no grad_fn and requires_grad=False. "
            "Create its inputs with requires_grad=True, and do not compute it under torch.no_grad(), "
            "torch.inference_mode() or from a .detach()-ed tensor."
        )

    leaf_names = {id(t): n for n, t in names.items() if t.grad_fn is None}
    made_by = {id(t.grad_fn): (n, t) for n, t in names.items() if t.grad_fn is not None}

    def describe(node, leaf_tensor: torch.Tensor | None) -> tuple[str, str, bool]:
        if leaf_tensor is not None:
            return "AccumulateGrad", f"{leaf_names.get(id(leaf_tensor), 'leaf')} {_shape(leaf_tensor)}", True
        name = type(node).__name__
        if name == "AccumulateGrad":
            var = node.variable
            return name, f"{leaf_names.get(id(var), 'leaf')} {_shape(var)}", True
        if id(node) in made_by:
            tensor_name, t = made_by[id(node)]
            return name, f"{name}\n= {tensor_name} {_shape(t)}", False
        return name, name, False

    if tensor.grad_fn is None:  # a leaf that requires grad: the graph is just that leaf
        name, label, is_leaf = describe(None, tensor)
        return [GraphNode(0, name, label, is_leaf, ())]

    keys: dict[int, int] = {}  # id(autograd node) -> key
    order: list = []  # autograd nodes in discovery order (depth-first from the output)
    stack = [tensor.grad_fn]
    keys[id(tensor.grad_fn)] = 0
    while stack:
        node = stack.pop()
        order.append(node)
        for child, _ in reversed(node.next_functions):
            if child is not None and id(child) not in keys:
                if len(keys) >= max_nodes:
                    raise ValueError(
                        f"the graph has more than max_nodes={max_nodes} nodes; draw a smaller "
                        f"expression or pass a larger max_nodes"
                    )
                keys[id(child)] = len(keys)
                stack.append(child)
    result = []
    for node in sorted(order, key=lambda n: keys[id(n)]):
        name, label, is_leaf = describe(node, None)
        inputs = tuple(keys[id(c)] for c, _ in node.next_functions if c is not None)
        result.append(GraphNode(keys[id(node)], name, label, is_leaf, inputs))
    return result


def function_names(tensor: torch.Tensor) -> list[str]:
    """The class names of the nodes behind ``tensor``, output first, e.g. ['MeanBackward0', ..., 'AccumulateGrad']."""
    return [node.name for node in build_graph(tensor)]


def _layers(nodes: list[GraphNode]) -> dict[int, int]:
    """Row of each node: its longest distance from the output (so every arrow points down the page)."""
    depth = {0: 0}
    by_key = {n.key: n for n in nodes}
    # nodes are few; relax until stable (a DAG needs at most len(nodes) rounds)
    for _ in range(len(nodes)):
        changed = False
        for node in nodes:
            if node.key not in depth:
                continue
            for child in node.inputs:
                if depth.get(child, -1) < depth[node.key] + 1:
                    depth[child] = depth[node.key] + 1
                    changed = True
        if not changed:
            break
    return {k: depth.get(k, 0) for k in by_key}


def draw_graph(
    tensor: torch.Tensor,
    names: Mapping[str, torch.Tensor] | None = None,
    *,
    title: str | None = None,
    max_nodes: int = 40,
) -> Figure:
    """Draw the autograd graph behind ``tensor`` and return the matplotlib Figure.

    The node that made ``tensor`` is at the bottom; every node sits above the nodes that used its result, so
    the leaves (blue boxes) top their branches and the Function nodes (orange) lie in between.
    An arrow a -> b means "b used a's result"; two arrows between the same boxes mean the value was used twice
    (as in ``y * y``). names: as in ``build_graph``. max_nodes: refuse bigger graphs (ValueError).
    """
    nodes = build_graph(tensor, names, max_nodes=max_nodes)
    depth = _layers(nodes)
    n_rows = max(depth.values()) + 1
    rows: dict[int, list[int]] = {}
    for node in nodes:
        rows.setdefault(depth[node.key], []).append(node.key)
    users: dict[int, list[int]] = {n.key: [] for n in nodes}
    for node in nodes:
        for child in node.inputs:
            users[child].append(node.key)
    x_pos: dict[int, float] = {}
    for d in range(n_rows):
        row = rows.get(d, [])
        if d == 0:
            wanted = {key: i - (len(row) - 1) / 2 for i, key in enumerate(row)}
        else:  # above the nodes that use it, then pushed apart to keep one unit between boxes
            wanted = {k: sum(x_pos[u] for u in users[k]) / max(1, len(users[k])) for k in row}
        row.sort(key=lambda k: wanted[k])
        placed: list[float] = []
        for key in row:
            placed.append(wanted[key] if not placed else max(wanted[key], placed[-1] + 1.0))
        shift = sum(wanted[k] - p for k, p in zip(row, placed)) / max(1, len(row))
        for key, p in zip(row, placed):
            x_pos[key] = p + shift
    left, right = min(x_pos.values()), max(x_pos.values())
    fig, ax = plt.subplots(figsize=(max(3.0, 2.3 * (right - left + 1)), 0.9 + 1.05 * n_rows))
    y_of = {k: float(depth[k]) for k in x_pos}  # the output at the bottom, leaves (deepest) at the top
    boxes = {}
    for node in nodes:
        style = dict(
            boxstyle="round,pad=0.4",
            fc="#cfe2f3" if node.is_leaf else "#fde4c8",
            ec="#2b5d8a" if node.is_leaf else "#b35c00",
        )
        boxes[node.key] = ax.text(
            x_pos[node.key],
            y_of[node.key],
            node.label,
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
            bbox=style,
            zorder=3,
        )
    for node in nodes:
        seen: dict[int, int] = {}
        for child in node.inputs:
            repeat = seen.get(child, 0)
            seen[child] = repeat + 1
            if node.inputs.count(child) > 1:  # the same value used twice: two arcs
                rad = -0.25 + 0.5 * repeat
            elif depth[child] - depth[node.key] > 1:  # skips a row: bend it around the boxes in between
                rad = 0.3 if x_pos[child] >= x_pos[node.key] else -0.3
            else:
                rad = 0.0
            ax.annotate(
                "",
                xy=(x_pos[node.key], y_of[node.key]),
                xytext=(x_pos[child], y_of[child]),
                arrowprops=dict(
                    arrowstyle="-|>",
                    color="#555555",
                    lw=1.2,
                    shrinkA=0,
                    shrinkB=0,
                    patchA=boxes[child].get_bbox_patch(),
                    patchB=boxes[node.key].get_bbox_patch(),
                    connectionstyle=f"arc3,rad={rad}",
                ),
                zorder=2,
            )
    ax.set_xlim(left - 0.9, right + 0.9)
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig

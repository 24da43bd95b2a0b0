"""Draw the course map on the landing page (one SVG for light mode, one for dark mode).

The map is a static figure, so it shows without JavaScript or a network connection (a mermaid diagram
needs a script from a CDN and shows its source code offline). Re-run after changing the chapter plan:

    python -m tools.make_course_map          # writes _static/course_map_light.svg and _static/course_map_dark.svg

The output is deterministic for a given matplotlib version (fixed SVG ids, no date).
"""

from __future__ import annotations

import sys

import matplotlib

from tools.course import ROOT

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUTPUTS = {
    "light": ROOT / "_static" / "course_map_light.svg",
    "dark": ROOT / "_static" / "course_map_dark.svg",
}

# colours per theme: text, arrows, box fills (one per chapter), box edges
THEMES = {
    "light": dict(
        text="#1d2430",
        muted="#4a5566",
        arrow="#3b4556",
        badge_text="#ffffff",
        fill={
            1: "#eef1f5",
            2: "#fde8d7",
            3: "#dcecfb",
            4: "#fbe0e3",
            5: "#dff3e4",
            6: "#ece3f8",
            7: "#fff4cc",
        },
        edge={
            1: "#8a96a8",
            2: "#d9822b",
            3: "#2f74c0",
            4: "#c23b4b",
            5: "#2e8b57",
            6: "#7a4fc0",
            7: "#b38f00",
        },
        frame="#7a8699",
    ),
    "dark": dict(
        text="#e8edf3",
        muted="#b4bfcc",
        arrow="#c5ced9",
        badge_text="#10151c",
        fill={
            1: "#262d36",
            2: "#3a2a1c",
            3: "#1b2c40",
            4: "#3b2026",
            5: "#1c3326",
            6: "#2c2340",
            7: "#38311a",
        },
        edge={
            1: "#9aa6b8",
            2: "#f0a35e",
            3: "#6aa8ec",
            4: "#ec7a88",
            5: "#6cc895",
            6: "#b393ec",
            7: "#e6c34d",
        },
        frame="#8c98aa",
    ),
}

# chapter number -> (title, module, centre x, centre y) on a 12 x 6.2 canvas
BOXES = {
    6: ("Data", "Dataset, DataLoader", 1.65, 4.35),
    3: ("Model", "torch.nn.Module", 6.0, 4.35),
    4: ("Loss & activations", "nn losses, ReLU", 10.35, 4.35),
    2: ("Gradients", "torch.autograd", 10.35, 2.05),
    5: ("Optimizer", "torch.optim", 6.0, 2.05),
    7: ("Checkpoint", "torch.save / load", 1.65, 2.05),
}
BOX_W, BOX_H = 2.9, 1.15


def _box(ax, theme, number, title, module, x, y, w=BOX_W, h=BOX_H):
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.18",
            facecolor=theme["fill"][number],
            edgecolor=theme["edge"][number],
            linewidth=1.8,
        )
    )
    bx = x - w / 2 + 0.38
    ax.add_patch(plt.Circle((bx, y), 0.25, facecolor=theme["edge"][number], edgecolor="none"))
    ax.text(
        bx,
        y - 0.01,
        str(number),
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
        color=theme["badge_text"],
    )
    tx = bx + 0.4
    ax.text(
        tx, y + 0.17, title, ha="left", va="center", fontsize=12.5, fontweight="bold", color=theme["text"]
    )
    ax.text(
        tx, y - 0.24, module, ha="left", va="center", fontsize=11.5, family="monospace", color=theme["muted"]
    )


def _arrow(ax, theme, start, end, label, label_xy, dashed=False, ha="center"):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=16,
            linewidth=1.8,
            color=theme["arrow"],
            linestyle=(0, (4, 3)) if dashed else "-",
            shrinkA=0,
            shrinkB=0,
        )
    )
    ax.text(*label_xy, label, ha=ha, va="center", fontsize=11.5, family="monospace", color=theme["muted"])


def draw(mode: str):
    theme = THEMES[mode]
    fig = plt.figure(figsize=(12, 6.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 6.2)
    ax.axis("off")
    fig.patch.set_alpha(0)  # transparent: the page's own background shows through in both modes

    # chapter 8: a frame around the loop
    ax.add_patch(
        FancyBboxPatch(
            (0.1, 1.2),
            11.8,
            4.65,
            boxstyle="round,pad=0,rounding_size=0.25",
            facecolor="none",
            edgecolor=theme["frame"],
            linewidth=1.4,
            linestyle=(0, (6, 4)),
        )
    )
    ax.add_patch(plt.Circle((0.58, 5.45), 0.25, facecolor=theme["frame"], edgecolor="none"))
    ax.text(
        0.58, 5.44, "8", ha="center", va="center", fontsize=12, fontweight="bold", color=theme["badge_text"]
    )
    ax.text(
        0.98,
        5.45,
        "The complete training loop: all of it, validated and checkpointed",
        ha="left",
        va="center",
        fontsize=12.5,
        fontweight="bold",
        color=theme["text"],
    )

    for number, (title, module, x, y) in BOXES.items():
        _box(ax, theme, number, title, module, x, y)

    half_w, half_h = BOX_W / 2, BOX_H / 2
    (_, _, dx, dy), (_, _, mx, my), (_, _, lx, ly) = BOXES[6], BOXES[3], BOXES[4]
    (_, _, gx, gy), (_, _, ox, oy), (_, _, cx, cy) = BOXES[2], BOXES[5], BOXES[7]
    _arrow(ax, theme, (dx + half_w, dy), (mx - half_w, my), "batch x, y", ((dx + mx) / 2, dy + 0.28))
    _arrow(ax, theme, (mx + half_w, my), (lx - half_w, ly), "logits", ((mx + lx) / 2, my + 0.28))
    _arrow(
        ax,
        theme,
        (lx, ly - half_h),
        (gx, gy + half_h),
        "loss.backward()",
        (lx - 0.15, (ly + gy) / 2),
        ha="right",
    )
    _arrow(ax, theme, (gx - half_w, gy), (ox + half_w, oy), "p.grad", ((gx + ox) / 2, gy + 0.28))
    _arrow(
        ax,
        theme,
        (ox, oy + half_h),
        (mx, my - half_h),
        "optimizer.step()",
        (ox + 0.15, (oy + my) / 2),
        ha="left",
    )
    _arrow(
        ax,
        theme,
        (ox - half_w, oy),
        (cx + half_w, cy),
        "state_dict()",
        ((ox + cx) / 2, oy + 0.28),
        dashed=True,
    )

    # chapter 1: the foundation under everything
    _box(
        ax,
        theme,
        1,
        "Tensors",
        "torch.Tensor: shape, dtype, device -- what every arrow above carries",
        6.0,
        0.55,
        w=11.8,
        h=0.9,
    )
    return fig


def main() -> int:
    plt.rcParams["svg.hashsalt"] = "course-map"  # stable ids, so regenerating gives the same file
    for mode, path in OUTPUTS.items():
        fig = draw(mode)
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

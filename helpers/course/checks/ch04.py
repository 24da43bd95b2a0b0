"""Checks for Chapter 4 (Losses & Activations)."""

import torch
import torch.nn.functional as F
from torch import nn

from ..exercises import ExerciseFailed, call, exercise, expect, expect_tensor
from ._common import BATCH, CLASSES, FEATURES, close, diagnose, generator, matches, seeded, shape_of
from ._common import randn as _randn


@exercise("ex-4.1", forbid=("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_"))
def check_ex_4_1(leaky_relu):
    x = torch.tensor([-3.0, -0.5, 0.0, 0.5, 2.0])
    for slope in (0.01, 0.2, 0.5):
        result = call(leaky_relu, x.clone()) if slope == 0.01 else call(leaky_relu, x.clone(), slope)
        constant = (
            isinstance(result, torch.Tensor)
            and result.shape == x.shape
            and torch.allclose(result[:2].double(), torch.full((2,), slope, dtype=torch.float64))
        )
        expect(
            not constant,
            f"leaky_relu(x, {slope}) returns the slope itself for negative inputs: "
            "the output there should be proportional to the input.",
        )
        what = "leaky_relu(x) with the default slope" if slope == 0.01 else f"leaky_relu(x, {slope})"
        expect_tensor(result, F.leaky_relu(x, slope), what)
    grid = _randn(3, 4, dtype=torch.float64)
    result = call(leaky_relu, grid.clone(), 0.1)
    expect_tensor(
        result, F.leaky_relu(grid, 0.1), "leaky_relu(x, 0.1) for a (3, 4) float64 x (shape and dtype kept)"
    )
    leaf = x.clone().requires_grad_(True)
    call(leaky_relu, leaf, 0.2).sum().backward()
    expect(
        leaf.grad is not None and torch.allclose(leaf.grad[:2], torch.tensor([0.2, 0.2])),
        "the derivative for negative inputs should be the slope: keep the computation differentiable "
        "with torch operations (no .item(), no Python floats).",
    )


@exercise(
    "ex-4.2",
    forbid=(
        "torch.softmax",
        "torch.log_softmax",
        "torch.Tensor.softmax",
        "torch.Tensor.log_softmax",
        "torch.special.softmax",
    ),
)
def check_ex_4_2(stable_softmax):
    z = _randn(4, 5)
    first = call(stable_softmax, z.clone())
    expected = torch.softmax(z, dim=-1)
    if not matches(first, expected):
        diagnose(
            first,
            [
                (
                    torch.softmax(z, dim=0),
                    "your probabilities sum to 1 down the columns: normalise along `dim`.",
                ),
                (z.exp(), "the exps are not normalised: divide by their sum along `dim`."),
            ],
        )
    if isinstance(first, torch.Tensor) and first.shape == z.shape:
        expect(
            torch.allclose(first.sum(dim=-1).double(), torch.ones(4, dtype=torch.float64), atol=1e-5),
            "your probabilities do not sum to 1 along `dim`: divide each exp by their sum along dim "
            "(keepdim=True), not by the sum of the whole tensor.",
        )
    expect_tensor(first, expected, "stable_softmax(z) for a (4, 5) z")
    close(
        call(stable_softmax, z.clone(), 0),
        torch.softmax(z, dim=0),
        "stable_softmax(z, dim=0)",
        mistakes=[(torch.softmax(z, dim=-1), "stable_softmax(z, dim=0) normalised the last dim: use `dim`.")],
    )
    big = torch.tensor([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0], [-1000.0, -1001.0, -999.0]])
    result = call(stable_softmax, big.clone())
    if (
        isinstance(result, torch.Tensor)
        and result.shape == big.shape
        and bool(torch.isfinite(result[:2]).all())
    ):
        expect(
            bool(torch.isfinite(result[2]).all()),
            "for a row of logits far below the others' (around -1000) the result is nan: you subtracted "
            "the max of the WHOLE tensor, so that row's exps all underflow to 0 and 0/0 = nan. Subtract "
            "each row's own max (along dim, keepdim=True).",
        )
    expect(
        isinstance(result, torch.Tensor) and bool(torch.isfinite(result).all()),
        "for logits like [1000, 1001, 1002] the result contains inf or nan: exp overflows in float32. "
        "Softmax does not change when you subtract the same number from every logit -- which number helps?",
    )
    expect_tensor(result, torch.softmax(big, dim=-1), "stable_softmax for logits around ±1000", atol=1e-6)
    ones = call(stable_softmax, _randn(2, 3, 4, seed=1), 1).sum(dim=1)
    expect(
        torch.allclose(ones, torch.ones(2, 4), atol=1e-5),
        "for a (2, 3, 4) input and dim=1 the probabilities should sum to 1 along dim 1: reduce with keepdim=True "
        "so the max and the sum broadcast back.",
    )


@exercise("ex-4.3")
def check_ex_4_3(predict_from_logits):
    reg = _randn(6, 1)
    result = call(predict_from_logits, reg.clone(), "regression")
    expect_tensor(result, reg, "predict_from_logits(outputs, 'regression')")
    binary = torch.tensor([-2.0, -0.1, 0.3, 4.0, 0.0])
    result = call(predict_from_logits, binary.clone(), "binary")
    expect_tensor(
        result,
        torch.tensor([0, 0, 1, 1, 0]),
        "the binary predictions for logits [-2, -0.1, 0.3, 4, 0] "
        "(int64 0/1 labels, 1 where the probability is above 0.5)",
    )
    multi = torch.tensor(
        [[2.0, 1.0, 0.1], [0.0, 0.0, 3.0], [-1.0, 5.0, -2.0], [0.5, -1.0, 0.2], [4.0, 0.5, 1.0]]
    )
    result = call(predict_from_logits, multi.clone(), "multiclass")
    expect(
        not (isinstance(result, torch.Tensor) and result.shape == (3,)),
        "for logits of shape (5, 3) your multiclass predictions have shape (3,): you took the argmax over "
        "the samples (dim=0); each sample's class is the argmax over its row (dim=1).",
    )
    expect_tensor(
        result, torch.tensor([0, 2, 1, 0, 0]), "the multiclass predictions (int64 class indices, shape (N,))"
    )
    multilabel = torch.tensor([[2.0, 1.0, -1.0], [0.5, 0.2, 0.1], [-3.0, -1.0, -0.5]])
    result = call(predict_from_logits, multilabel.clone(), "multilabel")
    expected = torch.tensor([[1, 1, 0], [1, 1, 1], [0, 0, 0]])
    if (
        isinstance(result, torch.Tensor)
        and result.shape == expected.shape
        and not torch.equal(result.long(), expected)
    ):
        expect(
            False,
            "the multilabel predictions are wrong: each label is an independent yes/no decision, so a "
            "sample can have several labels or none (softmax makes the labels compete).",
        )
    expect_tensor(result, expected, "the multilabel predictions (int64 0/1 matrix, shape (N, C))")
    try:
        predict_from_logits(multi, "clustering")
    except ValueError:
        pass
    else:
        expect(
            False, "predict_from_logits(logits, 'clustering') should raise ValueError for an unknown task."
        )


@exercise(
    "ex-4.4",
    forbid=(
        "torch.nn.functional.binary_cross_entropy",
        "torch.nn.functional.binary_cross_entropy_with_logits",
        "torch.binary_cross_entropy_with_logits",
    ),
)
def check_ex_4_4(bce_with_logits):
    logits, targets = _randn(8) * 3, torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    result = call(bce_with_logits, logits.clone(), targets.clone())
    per_sample = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    close(
        result,
        per_sample.mean(),
        "bce_with_logits for moderate logits (a scalar tensor, the mean over samples)",
        atol=1e-5,
        mistakes=[
            (per_sample.sum(), "you summed the losses over the samples: the text asks for the mean."),
            (-per_sample.mean(), "the sign is flipped: the loss is MINUS the log-likelihood."),
            (per_sample, "return the mean over the samples (a scalar), not one loss per sample."),
        ],
    )
    soft = torch.tensor([0.1, 0.5, 0.9, 0.3])
    result = call(bce_with_logits, torch.tensor([1.0, -2.0, 0.5, 3.0]), soft)
    expect_tensor(
        result,
        F.binary_cross_entropy_with_logits(torch.tensor([1.0, -2.0, 0.5, 3.0]), soft),
        "bce_with_logits with soft targets in (0, 1)",
        atol=1e-5,
    )
    extreme, extreme_targets = (
        torch.tensor([-1000.0, -60.0, 60.0, 1000.0]),
        torch.tensor([1.0, 1.0, 0.0, 1.0]),
    )
    result = call(bce_with_logits, extreme.clone(), extreme_targets.clone())
    expect(
        isinstance(result, torch.Tensor) and bool(torch.isfinite(result).all()),
        "for logits like -1000 and 1000 the result is inf or nan: sigmoid rounds to exactly 0 or 1 in float32 and "
        "log(0) = -inf. Rewrite log(sigmoid(x)) without computing sigmoid first.",
    )
    expect_tensor(
        result,
        F.binary_cross_entropy_with_logits(extreme, extreme_targets),
        "bce_with_logits for logits [-1000, -60, 60, 1000] (a clamped log, as in BCELoss, gives 100 "
        "instead of 1000: compute log σ(z) with F.logsigmoid)",
        atol=1e-3,
    )


@exercise("ex-4.5", forbid=("torch.nn.functional.huber_loss", "torch.nn.functional.smooth_l1_loss"))
def check_ex_4_5(huber):
    pred = torch.tensor([0.0, 0.4, 1.0, 3.0, -5.0, 2.5])
    target = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 2.0])
    for delta in (1.0, 0.5, 2.0):
        r = (pred - target).abs()
        per = F.huber_loss(pred, target, delta=delta, reduction="none")
        if delta == 1.0:  # the default
            result = call(huber, pred.clone(), target.clone())
        else:
            result = call(huber, pred.clone(), target.clone(), delta)
        close(
            result,
            per.mean(),
            f"huber(pred, target, delta={delta})",
            atol=1e-5,
            mistakes=[
                (per.sum(), "you summed over the elements: the text asks for the mean."),
                (
                    torch.where(r <= delta, r**2, delta * (r - 0.5 * delta)).mean(),
                    "the quadratic part is missing its ½: ½ r² where |r| ≤ delta.",
                ),
                (
                    torch.where(r <= delta, 0.5 * r**2, delta * r).mean(),
                    "the linear part should be delta * (|r| - ½ delta), so that both parts meet at |r| = delta.",
                ),
                (
                    F.smooth_l1_loss(pred, target, beta=delta),
                    "that is SmoothL1, which is Huber divided by delta.",
                ),
            ],
        )


@exercise("ex-4.6")
def check_ex_4_6(smoothed_targets):
    targets = torch.tensor([0, 2, 1, 2])
    for num_classes, eps in ((3, 0.1), (3, 0.0), (5, 0.3)):
        expected = F.one_hot(targets, num_classes).float() * (1 - eps) + eps / num_classes
        result = call(smoothed_targets, targets.clone(), num_classes, eps)
        expect_tensor(
            result,
            expected,
            f"smoothed_targets(targets, num_classes={num_classes}, smoothing={eps}) "
            "(each row: 1 - smoothing on the target plus smoothing spread over ALL classes)",
            atol=1e-6,
        )
    logits = _randn(4, 5)
    result = call(smoothed_targets, targets.clone(), 5, 0.2)
    expect(
        torch.allclose(
            F.cross_entropy(logits, result), F.cross_entropy(logits, targets, label_smoothing=0.2), atol=1e-6
        ),
        "cross_entropy with your targets differs from label_smoothing=0.2.",
    )


def _sequence_ce_mistakes(logits, targets, weight, ignore_index):
    """What the frequent mistakes return, each with the message that names it."""
    counted = targets != ignore_index
    safe = torch.where(counted, targets, torch.zeros_like(targets))
    picked = torch.log_softmax(logits, dim=1).gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight[safe] * counted
    wrong_dim = torch.log_softmax(logits, dim=-1).gather(1, safe.unsqueeze(1)).squeeze(1)
    classes = logits.shape[1]
    per_sequence = (w * picked).sum(dim=1) / w.sum(dim=1)
    return [
        (
            -(w * picked).sum() / counted.sum(),
            "you divided by the number of counted positions: with class weights, the mean divides by the "
            "sum of the weights of the counted positions' targets.",
        ),
        (
            -(w * picked).sum() / weight[safe].sum(),
            "the padding positions still count in the denominator: leave their weights out of the sum you "
            "divide by.",
        ),
        (
            F.cross_entropy(logits, safe, weight=weight),
            "the padding positions (targets == ignore_index) are counted as if they were labels: leave them "
            "out of both sums.",
        ),
        (
            F.cross_entropy(logits, targets, ignore_index=ignore_index),
            "the class weights are not used: each position's loss is multiplied by the weight of its target "
            "class, and the division is by the total weight.",
        ),
        (
            -per_sequence.mean(),
            "you averaged each sequence, then the sequences: that weights a short sequence as much as a long "
            "one. Divide the total once, by the total weight.",
        ),
        (
            -(w * wrong_dim).sum() / w.sum(),
            "the log-softmax normalises over the wrong dimension: for (N, C, L) logits the classes are dim 1.",
        ),
        (
            F.cross_entropy(
                logits.reshape(-1, classes), targets.reshape(-1), weight=weight, ignore_index=ignore_index
            ),
            "reshaping (N, C, L) logits straight to (N * L, C) mixes classes and positions: move the class "
            "dimension last before flattening.",
        ),
        (
            -(w * picked).sum(),
            "you returned the weighted sum: divide it by the total weight of the counted positions.",
        ),
    ]


@exercise("ex-4.7", forbid=("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss"))
def check_ex_4_7(sequence_cross_entropy):
    weight = torch.tensor([0.2, 3.0, 1.5, 0.7, 1.0])
    # N, C, L = 3, 5, 7: padding (-100) at the end of two of the three sequences
    targets = torch.randint(0, 5, (3, 7), generator=generator(7))
    targets[1, 4:] = -100
    targets[2, 2:] = -100
    # padding id 0, a sequence that is all padding, and logits made (N, L, C) then moved: non-contiguous
    padded = torch.randint(1, 5, (3, 7), generator=generator(8))
    padded[0, 5:] = 0
    padded[2] = 0
    cases = [
        (
            "logits of shape (3, 5, 7), padding -100 (the default ignore_index)",
            2 * _randn(3, 5, 7, seed=4),
            targets,
            None,
        ),
        (
            "ignore_index=0, non-contiguous logits and a sequence that is all padding",
            _randn(3, 7, 5, seed=5).movedim(2, 1),
            padded,
            0,
        ),
    ]
    for text, logits, labels, ignore in cases:
        ignore_index = -100 if ignore is None else ignore
        inputs = (logits.clone(), labels.clone(), weight.clone())
        if ignore is None:
            result = call(sequence_cross_entropy, logits, labels, weight)
        else:
            result = call(sequence_cross_entropy, logits, labels, weight, ignore)
        expect(
            torch.equal(labels, inputs[1])
            and torch.equal(logits, inputs[0])
            and torch.equal(weight, inputs[2]),
            f"for {text} your function changed the caller's logits, targets or weight: compute new tensors "
            "instead of writing into these.",
        )
        expect(
            not (isinstance(result, torch.Tensor) and result.dim() > 0),
            f"for {text} you returned a tensor of shape {shape_of(result)}: return one number, a scalar "
            "(0-dim) tensor, the weighted mean over the counted positions.",
        )
        expected = F.cross_entropy(logits, labels, weight=weight, ignore_index=ignore_index)
        expect(
            not (isinstance(result, torch.Tensor) and bool(result.isnan())),
            f"for {text} the result is nan although most positions count: a sequence that is all padding "
            "gives 0 / 0 if you divide sequence by sequence. Divide once, by the total weight.",
        )
        close(
            result,
            expected,
            f"sequence_cross_entropy for {text}",
            atol=1e-5,
            mistakes=[
                (v, f"for {text}: {m}")
                for v, m in _sequence_ce_mistakes(logits, labels, weight, ignore_index)
            ],
        )
    big = 1000 * _randn(2, 5, 4, seed=6)
    big_targets = torch.tensor([[3, 0, 4, -100], [1, 2, -100, -100]])
    result = call(sequence_cross_entropy, big.clone(), big_targets.clone(), weight)
    expect(
        isinstance(result, torch.Tensor) and bool(torch.isfinite(result).all()),
        "for logits around ±1000 the result is inf or nan: use log_softmax (or logsumexp), not log(softmax).",
    )
    close(
        result,
        F.cross_entropy(big, big_targets, weight=weight),
        "sequence_cross_entropy for logits around ±1000",
        atol=1e-2,
    )


def _gradient_flow(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, loss_fn) -> dict[str, list[float]]:
    """The expected norms and what the frequent mistakes return, computed layer by layer."""
    pre: list[torch.Tensor] = []  # the Linear layers' outputs
    post: list[torch.Tensor] = []  # the activation modules' outputs
    h = x
    for layer in model:
        h = layer(h)
        (pre if isinstance(layer, nn.Linear) else post).append(h)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    grads = torch.autograd.grad(loss_fn(h, y), post + pre + weights)
    at_post, at_pre, at_weights = grads[: len(post)], grads[len(post) : -len(weights)], grads[-len(weights) :]
    return {
        "expected": [g.norm().item() for g in at_post],
        "values": [t.norm().item() for t in post],
        "pre": [g.norm().item() for g in at_pre],
        "weights": [g.norm().item() for g in at_weights],
        "squared": [(g.norm() ** 2).item() for g in at_post],
        "reversed": [g.norm().item() for g in reversed(at_post)],
        "per-example": [g.flatten(1).norm(dim=1).mean().item() for g in at_post],
    }


_FLOW_MISTAKES = {
    "values": "those are the norms of the activations themselves: the exercise asks for the norms of the "
    "gradients of the loss with respect to them.",
    "pre": "those are the gradients at the Linear layers' outputs (before the activations): take them at each "
    "activation module's output.",
    "weights": "those are the norms of the weights' gradients, as in the chapter: the exercise asks for the "
    "gradients with respect to each activation module's output.",
    "squared": "those are squared norms (sums of squares): the L2 norm is their square root.",
    "reversed": "the norms are in reverse order: list them from the input to the output.",
    "per-example": "that is an average of per-example norms: take one norm of the whole batch's gradient.",
}


def _same_floats(values: list, expected: list) -> bool:
    return len(values) == len(expected) and all(
        abs(a - e) <= 1e-4 * abs(e) + 1e-8 for a, e in zip(values, expected, strict=True)
    )


def _flow_nets() -> list[tuple[str, nn.Sequential, torch.Tensor, torch.Tensor, nn.Module]]:
    classifier = seeded(
        0,
        lambda: nn.Sequential(
            nn.Linear(FEATURES, 6), nn.Tanh(), nn.Linear(6, 4, bias=False), nn.ReLU(), nn.Linear(4, CLASSES)
        ),
    )
    regressor = seeded(
        1,
        lambda: nn.Sequential(
            nn.Linear(FEATURES, 6),
            nn.Sigmoid(),
            nn.Linear(6, 6),
            nn.LeakyReLU(0.1),
            nn.Linear(6, 2),
            nn.Sigmoid(),
        ),
    )
    return [
        (
            "Linear-Tanh-Linear(bias=False)-ReLU-Linear with CrossEntropyLoss",
            classifier,
            _randn(BATCH, FEATURES, seed=2),
            torch.arange(BATCH) % CLASSES,
            nn.CrossEntropyLoss(),
        ),
        (
            "Linear-Sigmoid-Linear-LeakyReLU-Linear-Sigmoid (an activation at the end) with MSELoss",
            regressor,
            _randn(4, FEATURES, seed=3),
            _randn(4, 2, seed=4),
            nn.MSELoss(),
        ),
    ]


@exercise("ex-4.8")
def check_ex_4_8(activation_gradient_norms):
    for text, model, x, y, loss_fn in _flow_nets():
        flow = _gradient_flow(model, x, y, loss_fn)
        expected = flow["expected"]
        params = [p.detach().clone() for p in model.parameters()]
        inputs = x.clone()
        result = call(activation_gradient_norms, model, x, y, loss_fn)
        expect(
            isinstance(result, list) and all(isinstance(v, float) for v in result),
            f"return a list of Python floats (use .item()), got {type(result).__name__}"
            + (f" of {type(result[0]).__name__}" if isinstance(result, (list, tuple)) and result else "")
            + ".",
        )
        expect(
            torch.equal(x, inputs) and all(torch.equal(p, q) for p, q in zip(model.parameters(), params)),
            f"for the model {text} your function changed x or the model's parameters: only measure.",
        )
        if not _same_floats(result, expected):
            for key, message in _FLOW_MISTAKES.items():
                if _same_floats(result, flow[key]):
                    raise ExerciseFailed(f"for the model {text}: {message}")
        activations = [type(m).__name__ for m in model if not isinstance(m, nn.Linear)]
        expect(
            len(result) == len(expected),
            f"the model {text} has {len(expected)} activation modules ({', '.join(activations)}) but you returned "
            f"{len(result)} norm(s): one per module that is not an nn.Linear, in order, the last one included.",
        )
        expect(
            _same_floats(result, expected),
            f"for the model {text} your norms {[f'{v:.3g}' for v in result]} should be "
            f"{[f'{v:.3g}' for v in expected]}: the gradient of the loss with respect to each activation "
            "module's output, over the whole batch.",
        )
        # the same model again, on a smaller batch: nothing may be left over from the first call
        again = call(activation_gradient_norms, model, x[:3], y[:3], loss_fn)
        expected_again = _gradient_flow(model, x[:3], y[:3], loss_fn)["expected"]
        expect(
            isinstance(again, list) and _same_floats(again, expected_again),
            f"a second call on the same model {text}, with a batch of 3, returned "
            f"{[f'{v:.3g}' for v in again] if isinstance(again, list) else type(again).__name__} instead of "
            f"{[f'{v:.3g}' for v in expected_again]}: does the first call leave something behind, such as a "
            "hook that is never removed?",
        )

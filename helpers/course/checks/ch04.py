"""Checks for Chapter 4 (Losses & Activations)."""

import torch
import torch.nn.functional as F
from torch import nn

from ..exercises import call, exercise, expect, expect_tensor
from ._common import close, diagnose, matches
from ._common import randn as _randn


@exercise("ex-4.1")
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


@exercise("ex-4.2")
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


@exercise("ex-4.4")
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


@exercise("ex-4.5")
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


@exercise("ex-4.7")
def check_ex_4_7(weighted_cross_entropy):
    logits, targets = _randn(6, 3), torch.tensor([0, 0, 0, 0, 1, 2])
    uniform = torch.ones(3)
    expect_tensor(
        call(weighted_cross_entropy, logits.clone(), targets.clone(), uniform),
        F.cross_entropy(logits, targets),
        "weighted_cross_entropy with all weights 1 (plain cross-entropy)",
        atol=1e-5,
    )
    weight = torch.tensor([0.2, 3.0, 1.5])
    result = call(weighted_cross_entropy, logits.clone(), targets.clone(), weight)
    expected = F.cross_entropy(logits, targets, weight=weight)
    naive = (F.cross_entropy(logits, targets, reduction="none") * weight[targets]).mean()
    if (
        isinstance(result, torch.Tensor)
        and result.shape == expected.shape
        and torch.allclose(result, naive, atol=1e-5)
    ):
        expect(
            False,
            "with weights, the mean divides by the sum of the weights of the samples' targets, "
            "not by the number of samples.",
        )
    expect_tensor(result, expected, "weighted_cross_entropy with weights [0.2, 3.0, 1.5]", atol=1e-5)
    big = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]])
    result = call(weighted_cross_entropy, big, torch.tensor([2, 1]), weight)
    expect(
        isinstance(result, torch.Tensor) and bool(torch.isfinite(result)),
        "for logits around ±1000 the result is inf or nan: use log_softmax (or logsumexp), not log(softmax).",
    )
    expect_tensor(
        result,
        F.cross_entropy(big, torch.tensor([2, 1]), weight=weight),
        "weighted_cross_entropy for logits around ±1000",
        atol=1e-2,
    )


def _deep_net(activation, seed):
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the learner's random state
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(4, 8),
            activation(),
            nn.Linear(8, 8),
            activation(),
            nn.Linear(8, 8),
            activation(),
            nn.Linear(8, 2),
        )


def _all_close(values: list, expected: list) -> bool:
    return all(abs(a - e) <= 1e-4 * max(1.0, e) for a, e in zip(values, expected, strict=True))


@exercise("ex-4.8")
def check_ex_4_8(layer_gradient_norms):
    for activation, seed in ((nn.Sigmoid, 0), (nn.ReLU, 1)):
        model = _deep_net(activation, seed)
        x, y = _randn(16, 4, seed=seed), torch.arange(16) % 2
        weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
        grads = torch.autograd.grad(F.cross_entropy(model(x), y), weights)
        expected = [g.norm().item() for g in grads]
        accumulated = [(g + 1).norm().item() for g in grads]
        for p in model.parameters():  # stale gradients, as left by an earlier backward()
            p.grad = torch.ones_like(p)
        result = call(layer_gradient_norms, model, x, y, nn.CrossEntropyLoss())
        expect(
            isinstance(result, list) and all(isinstance(v, float) for v in result),
            f"return a list of Python floats (use .item()), got {type(result).__name__}"
            + (f" of {type(result[0]).__name__}" if isinstance(result, (list, tuple)) and result else "")
            + ".",
        )
        expect(
            len(result) == len(expected),
            f"the model has {len(expected)} Linear layers but you returned {len(result)} norms: one per Linear "
            "layer's weight (biases are not included).",
        )

        expect(
            not _all_close(result, accumulated),
            "your norms include stale gradients: the model already had .grad from an "
            "earlier backward(), and backward() adds to it. Clear the gradients first.",
        )
        expect(
            _all_close(result, expected),
            f"the {activation.__name__} network's gradient norms are wrong "
            f"(you returned {[round(v, 6) for v in result]}); they should be in the order the "
            "Linear layers appear in the model.",
        )

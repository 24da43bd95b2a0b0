"""Plausible wrong answers for Chapter 4, each with the words its check's feedback must contain."""

import torch
import torch.nn.functional as F
from torch import nn


def _norms(model, x, y, loss_fn, *, zero_grad=True, bias=False, as_tensor=False, only_first=False):
    if zero_grad:
        model.zero_grad()
    loss_fn(model(x), y).backward()
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    params = [p for m in layers for p in ((m.weight, m.bias) if bias else (m.weight,))]
    norms = [p.grad.norm() if as_tensor else p.grad.norm().item() for p in params]
    return norms[:1] if only_first else norms


def _predict(logits, task, *, multiclass_dim=1, multilabel="sigmoid", binary_threshold=0.0, check=True):
    if task == "regression":
        return logits
    if task == "binary":
        return (logits > binary_threshold).long()
    if task == "multiclass":
        return logits.argmax(dim=multiclass_dim)
    if task == "multilabel":
        probs = logits.softmax(dim=1) if multilabel == "softmax" else torch.sigmoid(logits)
        return probs > 0.5 if multilabel == "bool" else (probs > 0.5).long()
    if check:
        raise ValueError(task)
    return logits


def _softmax(z, dim=-1, *, shift="row", normalise="row"):
    if shift == "row":
        z = z - z.max(dim=dim, keepdim=True).values
    elif shift == "global":
        z = z - z.max()
    e = z.exp()
    return e / (e.sum(dim=dim, keepdim=True) if normalise == "row" else e.sum())


def _max_tuple_softmax(z, dim=-1):
    e = (z - z.max(dim=dim, keepdim=True)).exp()  # max with a dim returns (values, indices)
    return e / e.sum(dim=dim, keepdim=True)


def _bce(logits, targets, *, reduce="mean", sign=1.0, naive=False):
    if naive:
        p = torch.sigmoid(logits)
        per = -(targets * p.log() + (1 - targets) * (1 - p).log())
    else:
        per = -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits))
    per = sign * per
    return per.mean() if reduce == "mean" else per.sum() if reduce == "sum" else per


def _bce_clamped(logits, targets):
    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
    return -(targets * p.log() + (1 - targets) * (1 - p).log()).mean()


def _huber(pred, target, delta=1.0, *, half=True, reduce="mean", linear="ok"):
    r = (pred - target).abs()
    quad = 0.5 * r**2 if half else r**2
    lin = delta * (r - 0.5 * delta) if linear == "ok" else delta * r
    per = torch.where(r <= delta, quad, lin)
    return per.mean() if reduce == "mean" else per.sum()


def _smoothed(targets, num_classes, smoothing, *, spread="all", dtype=torch.float32):
    one_hot = F.one_hot(targets, num_classes).to(dtype)
    if spread == "all":
        return one_hot * (1 - smoothing) + smoothing / num_classes
    if spread == "others":
        return one_hot * (1 - smoothing) + (1 - one_hot) * smoothing / (num_classes - 1)
    if spread == "no-subtract":
        return one_hot + smoothing / num_classes
    return one_hot * (1 - smoothing)  # "none": nothing spread


def _weighted_ce(logits, targets, weight, *, divide="weights", stable=True, use_weight=True):
    log_p = F.log_softmax(logits, dim=1) if stable else torch.softmax(logits, dim=1).log()
    picked = -log_p[torch.arange(len(targets)), targets]
    w = weight[targets] if use_weight else torch.ones(len(targets))
    if divide == "weights":
        return (picked * w).sum() / w.sum()
    if divide == "n":
        return (picked * w).mean()
    return (picked * w).sum()


def _leaky(x, negative_slope=0.01, *, variant="ok"):
    if variant == "slope":
        return torch.where(x > 0, x, negative_slope)
    if variant == "item":
        return torch.tensor([v if v > 0 else negative_slope * v for v in x.flatten().tolist()]).view_as(x)
    if variant == "default":
        return torch.where(x > 0, x, 0.01 * x)
    if variant == "relu":
        return x.clamp(min=0)
    if variant == "float":
        return torch.where(x > 0, x, negative_slope * x).float()
    return torch.where(x > 0, x, negative_slope * x)


WRONG = {
    "ex-4.1": [
        (lambda: lambda x, s=0.01: _leaky(x, s, variant="slope"), "proportional to the input"),
        (lambda: lambda x, s=0.01: _leaky(x, s, variant="default"), "leaky_relu(x, 0.2)"),
        (lambda: lambda x, s=0.01: _leaky(x, s, variant="relu"), "values differ"),
        (
            lambda: lambda x, s=0.01: _leaky(x, s, variant="float"),
            "dtype torch.float32, expected torch.float64",
        ),
        (lambda: lambda x, s=0.01: _leaky(x, s, variant="item"), "has dtype torch.float32"),
    ],
    "ex-4.2": [
        (lambda: lambda z, dim=-1: _softmax(z, dim, shift="none"), "exp overflows"),
        (lambda: lambda z, dim=-1: _softmax(z, dim, shift="global"), "WHOLE tensor"),
        (lambda: _max_tuple_softmax, "take .values"),
        (lambda: lambda z, dim=-1: _softmax(z, -1), "normalised the last dim"),
        (lambda: lambda z, dim=-1: _softmax(z, dim, normalise="all"), "sum to 1 along"),
        (lambda: lambda z, dim=-1: (z - z.max(dim=dim, keepdim=True).values).exp(), "sum to 1 along"),
    ],
    "ex-4.3": [
        (lambda: lambda logits, task: _predict(logits, task, multiclass_dim=0), "over the samples (dim=0)"),
        (lambda: lambda logits, task: _predict(logits, task, multilabel="softmax"), "compete"),
        (lambda: lambda logits, task: _predict(logits, task, binary_threshold=0.5), "binary predictions"),
        (lambda: lambda logits, task: _predict(logits, task, multilabel="bool"), "dtype torch.bool"),
        (lambda: lambda logits, task: _predict(logits, task, check=False), "should raise ValueError"),
        (lambda: lambda logits, task: _predict(logits, task, binary_threshold=-1e9), "binary predictions"),
    ],
    "ex-4.4": [
        (lambda: lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y), "clamped log"),
        (lambda: lambda z, y: _bce(z, y, naive=True), "log(0)"),
        (lambda: lambda z, y: _bce(z, y, reduce="sum"), "summed the losses"),
        (lambda: lambda z, y: _bce(z, y, sign=-1.0), "sign is flipped"),
        (lambda: lambda z, y: _bce(z, y, reduce="none"), "not one loss per sample"),
        (lambda: _bce_clamped, "clamped log"),
    ],
    "ex-4.5": [
        (lambda: lambda p, t, delta=1.0: F.smooth_l1_loss(p, t, beta=delta), "SmoothL1"),
        (lambda: lambda p, t, delta=1.0: _huber(p, t, delta, half=False), "missing its ½"),
        (lambda: lambda p, t, delta=1.0: _huber(p, t, delta, reduce="sum"), "summed"),
        (lambda: lambda p, t, delta=1.0: _huber(p, t, delta, linear="no-offset"), "both parts meet"),
        (lambda: lambda p, t, delta=1.0: _huber(p, t, 1.0), "delta=0.5"),
        (lambda: lambda p, t, delta=1.0: F.mse_loss(p, t) / 2, "values differ"),
    ],
    "ex-4.6": [
        (lambda: lambda t, c, s: _smoothed(t, c, s, spread="others"), "over ALL classes"),
        (lambda: lambda t, c, s: _smoothed(t, c, s, spread="no-subtract"), "over ALL classes"),
        (lambda: lambda t, c, s: _smoothed(t, c, s, spread="none"), "over ALL classes"),
        (lambda: lambda t, c, s: _smoothed(t, c, s, dtype=torch.float64), "dtype torch.float64"),
        (lambda: lambda t, c, s: F.one_hot(t).float() * (1 - s) + s / c, "has shape (4, 3), expected (4, 5)"),
        (lambda: lambda t, c, s: _smoothed(t, c, s).T, "shape (3, 4)"),
    ],
    "ex-4.7": [
        (lambda: lambda z, t, w: _weighted_ce(z, t, w, divide="n"), "sum of the weights"),
        (lambda: lambda z, t, w: _weighted_ce(z, t, w, stable=False), "log_softmax"),
        (lambda: lambda z, t, w: _weighted_ce(z, t, w, use_weight=False), "weights [0.2, 3.0, 1.5]"),
        (lambda: lambda z, t, w: _weighted_ce(z, t, w, divide="none"), "plain cross-entropy"),
        (lambda: lambda z, t, w: _weighted_ce(z, t, w.flip(0)), "weights [0.2, 3.0, 1.5]"),
    ],
    "ex-4.8": [
        (lambda: lambda *a: _norms(*a, zero_grad=False), "stale gradients"),
        (lambda: lambda *a: _norms(*a, bias=True), "biases are not included"),
        (lambda: lambda *a: _norms(*a, as_tensor=True), "Python floats"),
        (lambda: lambda *a: _norms(*a, only_first=True), "you returned 1 norms"),
        (lambda: lambda *a: _norms(*a)[::-1], "in the order"),
    ],
}

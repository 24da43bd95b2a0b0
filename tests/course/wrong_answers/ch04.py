"""Plausible wrong answers for Chapter 4, each with the words its check's feedback must contain."""

import warnings

import torch
import torch.nn.functional as F
from torch import nn


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


def _activation_norms(
    model, x, y, loss_fn, *, at="activations", what="grad", order=1, keep=True, as_tensor=False
):
    """Gradient norms at the activations, with one mistake chosen by the keywords."""
    kept, h = [], x
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.Linear) == (at == "linear"):
            if keep:
                h.retain_grad()
            kept.append(h)
    loss_fn(h, y).backward()
    if what == "values":
        norms = [t.norm() for t in kept]
    elif what == "weights":
        norms = [m.weight.grad.norm() for m in model if isinstance(m, nn.Linear)]
    elif what == "squared":
        norms = [(t.grad**2).sum() for t in kept]
    elif what == "per-example":
        norms = [t.grad.norm(dim=1).mean() for t in kept]
    else:
        with warnings.catch_warnings():  # the slip PyTorch warns about: .grad of a non-leaf
            warnings.simplefilter("ignore")
            norms = [t.grad.norm() for t in kept]
    return [v if as_tensor else v.item() for v in norms][::order]


def _activation_norms_with_hooks():
    kept = []

    def activation_gradient_norms(model, x, y, loss_fn):
        kept.clear()
        for module in model:  # hooks that are never removed: the second call runs two per module
            if not isinstance(module, nn.Linear):
                module.register_forward_hook(lambda m, inputs, out: kept.append(out) or out.retain_grad())
        loss_fn(model(x), y).backward()
        return [t.grad.norm().item() for t in kept]

    return activation_gradient_norms


def _sequence_ce(logits, targets, weight, ignore_index=-100, *, mistake=None):
    """Weighted cross-entropy over (N, C, L) logits, with one mistake."""
    counted = targets != ignore_index
    if mistake == "in-place":
        targets[~counted] = 0  # writes into the caller's targets
        safe = targets
    elif mistake == "no-mask":
        safe, counted = targets.clamp(min=0), torch.ones_like(counted)
    else:
        safe = torch.where(counted, targets, 0)
    dim = -1 if mistake == "dim" else 1
    log_p = (
        torch.softmax(logits, dim=1).log() if mistake == "unstable" else torch.log_softmax(logits, dim=dim)
    )
    picked = log_p.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = (weight[safe] if mistake != "no-weight" else torch.ones_like(picked)) * counted
    loss = -(w * picked)
    if mistake == "per-position":
        return loss
    if mistake == "count":
        return loss.sum() / counted.sum()
    if mistake == "denominator":
        return loss.sum() / weight[safe].sum()
    if mistake == "per-sequence":
        return (loss.sum(dim=1) / w.sum(dim=1)).mean()
    if mistake == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def _sequence_ce_raw_index(logits, targets, weight, ignore_index=-100):
    log_p = torch.log_softmax(logits, dim=1)
    w = weight[targets] * (targets != ignore_index)  # weight[-100] does not exist
    picked = log_p.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -(w * picked).sum() / w.sum()


def _sequence_ce_flat(logits, targets, weight, ignore_index=-100, *, move=True):
    classes = logits.shape[1]
    flat = logits.movedim(1, -1).reshape(-1, classes) if move else logits.reshape(-1, classes)
    labels = targets.reshape(-1)
    counted = labels != ignore_index
    log_p = torch.log_softmax(flat[counted], dim=1)
    picked = log_p[torch.arange(int(counted.sum())), labels[counted]]
    w = weight[labels[counted]]
    return -(w * picked).sum() / w.sum()


WRONG = {
    "ex-4.1": [
        (lambda: lambda x, negative_slope=0.01: F.leaky_relu(x, negative_slope), "F.leaky_relu, which"),
        (lambda: lambda x, negative_slope=0.01: nn.LeakyReLU(negative_slope)(x), "asks you not to use"),
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
        (lambda: lambda z, dim=-1: z.softmax(dim), "Tensor.softmax, which"),
        (lambda: lambda z, dim=-1: F.softmax(z, dim=dim), "asks you not to use"),
        (lambda: lambda z, dim=-1: torch.log_softmax(z, dim).exp(), "torch.log_softmax, which"),
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
        (lambda: lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y), "F.binary_cross_entropy, which"),
        (lambda: lambda z, y: nn.BCEWithLogitsLoss()(z, y), "asks you not to use"),
        (lambda: lambda z, y: _bce(z, y, naive=True), "log(0)"),
        (lambda: lambda z, y: _bce(z, y, reduce="sum"), "summed the losses"),
        (lambda: lambda z, y: _bce(z, y, sign=-1.0), "sign is flipped"),
        (lambda: lambda z, y: _bce(z, y, reduce="none"), "not one loss per sample"),
        (lambda: _bce_clamped, "clamped log"),
    ],
    "ex-4.5": [
        (lambda: lambda p, t, delta=1.0: F.smooth_l1_loss(p, t, beta=delta), "F.smooth_l1_loss, which"),
        (lambda: lambda p, t, delta=1.0: nn.HuberLoss(delta=delta)(p, t), "F.huber_loss, which"),
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
        (
            lambda: (
                lambda z, t, w, ignore_index=-100: F.cross_entropy(z, t, weight=w, ignore_index=ignore_index)
            ),
            "F.cross_entropy, which",
        ),
        (
            lambda: (
                lambda z, t, w, ignore_index=-100: nn.NLLLoss(weight=w, ignore_index=ignore_index)(
                    F.log_softmax(z, 1), t
                )
            ),
            "F.nll_loss, which",
        ),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="count"), "sum of the weights"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="denominator"), "denominator"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="no-mask"), "counted as if"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="no-weight"), "class weights"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="per-sequence"), "each sequence"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="dim"), "wrong dimension"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce_flat(z, t, w, i, move=False), "mixes classes"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="unstable"), "log_softmax"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="per-position"), "shape (3, 7)"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="sum"), "weighted sum"),
        (
            lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w, i, mistake="in-place"),
            "changed the caller's",
        ),
        (lambda: _sequence_ce_raw_index, "not a class id"),
        (lambda: lambda z, t, w, i=-100: _sequence_ce(z, t, w), "ignore_index=0"),
    ],
    "ex-4.8": [
        (lambda: lambda *a: _activation_norms(*a, what="values"), "activations themselves"),
        (lambda: lambda *a: _activation_norms(*a, at="linear"), "Linear layers' outputs"),
        (lambda: lambda *a: _activation_norms(*a, what="weights"), "weights' gradients"),
        (lambda: lambda *a: _activation_norms(*a, what="squared"), "squared norms"),
        (lambda: lambda *a: _activation_norms(*a, order=-1), "reverse order"),
        (lambda: lambda *a: _activation_norms(*a, what="per-example"), "per-example"),
        (lambda: lambda *a: _activation_norms(*a, keep=False), "nonetype"),
        (lambda: lambda *a: _activation_norms(*a, as_tensor=True), "Python floats"),
        (_activation_norms_with_hooks, "hook that is never removed"),
        (lambda: lambda *a: _activation_norms(*a)[:-1], "the last one included"),
    ],
}

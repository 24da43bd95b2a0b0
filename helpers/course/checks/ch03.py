"""Checks for Chapter 3 (nn: building models)."""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..exercises import ExerciseFailed, NotSolved, call, exercise, expect, expect_tensor
from ._common import close, randn, seeded


def _build(cls, *args):
    """Instantiate the learner's class, saying clearly when that is not possible."""
    expect(
        isinstance(cls, type) and issubclass(cls, nn.Module),
        f"pass the class itself (a subclass of nn.Module) to check, got {type(cls).__name__}.",
    )
    model = cls(*args)
    expect(
        hasattr(model, "_modules"), "the module has no registry: call super().__init__() first in __init__."
    )
    return model


def _shape(t):
    return tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__


@exercise("ex-3.1")
def check_ex_3_1(ResidualMLP):
    for features, hidden, n in ((5, 7, 4), (3, 2, 6)):
        model = seeded(0, _build, ResidualMLP, features, hidden)
        case = f"ResidualMLP({features}, {hidden})"
        params_before = list(model.parameters())
        expect(
            bool(params_before),
            f"{case} has no parameters before its first call: create the layers in __init__, not in forward "
            "(layers made in forward are new, untrained layers at every call).",
        )
        x = randn(n, features, seed=1)
        out = call(model, x)
        second = call(model, randn(n + 2, features, seed=2))
        expect(
            [id(p) for p in model.parameters()] == [id(p) for p in params_before],
            f"calling {case} replaced its layers: create them once in __init__, not in forward.",
        )
        expect(
            isinstance(out, torch.Tensor) and out.shape == (n, features),
            f"{case} on an input of shape {(n, features)} returned {_shape(out)}, expected {(n, features)}.",
        )
        expect(
            isinstance(second, torch.Tensor) and second.shape == (n + 2, features),
            f"{case} on a second input of shape {(n + 2, features)} returned {_shape(second)}.",
        )
        names = [name for name, _ in model.named_parameters()]
        expect(
            names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"],
            f"{case}.named_parameters() gives {names}; expected fc1.weight, fc1.bias, fc2.weight, fc2.bias "
            "(store the two nn.Linear layers as attributes named fc1 and fc2).",
        )
        for attr, sizes in (("fc1", (features, hidden)), ("fc2", (hidden, features))):
            layer = getattr(model, attr)
            expect(
                isinstance(layer, nn.Linear) and (layer.in_features, layer.out_features) == sizes,
                f"in {case}, {attr} should be an nn.Linear from {sizes[0]} to {sizes[1]} features.",
            )
        with torch.no_grad():
            branch = model.fc2(F.relu(model.fc1(x)))
            mistakes = [
                (branch, f"{case}(x) equals fc2(relu(fc1(x))): the input x is not added back."),
                (
                    x + model.fc2(model.fc1(x)),
                    f"{case}(x) has no ReLU between the layers, so they collapse into one linear map.",
                ),
                (
                    F.relu(x + branch),
                    f"{case}(x) applies a ReLU after the addition: return x + fc2(...) as is.",
                ),
                (
                    x + F.relu(branch),
                    f"{case}(x) applies a ReLU after fc2: the ReLU goes between fc1 and fc2.",
                ),
            ]
        close(out, x + branch, f"{case}(x)", atol=1e-5, mistakes=mistakes)


@exercise("ex-3.2")
def check_ex_3_2(conv_output_size):
    cases = [
        (28, 3, 1, 1),
        (28, 5, 1, 0),
        (32, 3, 2, 1),
        (7, 3, 2, 0),
        (10, 4, 3, 1),
        (28, 2, 2, 0),
        (5, 5, 1, 2),
    ]
    for size, k, s, p in cases:
        result = call(conv_output_size, size, k, stride=s, padding=p)
        expected = seeded(0, nn.Conv2d, 1, 1, k, s, p)(torch.zeros(1, 1, size, size)).shape[-1]
        what = f"conv_output_size({size}, kernel_size={k}, stride={s}, padding={p})"
        expect(
            isinstance(result, int) and not isinstance(result, bool),
            f"{what} returned a {type(result).__name__}; return a Python int (use floor division //).",
        )
        expect(
            result == expected,
            f"{what} returned {result}, but nn.Conv2d gives {expected}. Remember that "
            "padding is added on both sides and that a partial window at the end is dropped.",
        )
    expect(call(conv_output_size, 9, 3) == 7, "the defaults should be stride=1 and padding=0.")


@exercise("ex-3.3")
def check_ex_3_3(Standardize):
    mean, std = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 0.5])
    module = _build(Standardize, mean.clone(), std.clone())
    x = randn(5, 3)
    out = call(module, x)
    expect_tensor(out, (x - mean) / std, "Standardize(mean, std)(x)", atol=1e-6)
    params = [name for name, _ in module.named_parameters()]
    expect(
        not params,
        f"the module has parameters {params}: mean and std are not learned, so they must not be "
        "nn.Parameter (an optimizer would change them). Make them buffers.",
    )
    keys = sorted(module.state_dict())
    expect(
        keys == ["mean", "std"],
        f"state_dict() has keys {keys}, expected ['mean', 'std']: plain tensor attributes are not saved; "
        "register mean and std as (persistent) buffers with those names.",
    )
    module.double()
    expect(
        module.mean.dtype == module.std.dtype == torch.float64,
        "after module.double() mean/std are still float32: they are not registered with the module.",
    )
    expect_tensor(module(x.double()), ((x - mean) / std).double(), "the output after .double()", atol=1e-6)


@exercise("ex-3.4")
def check_ex_3_4(Stack):
    for sizes in ([4, 8, 8, 2], [3, 5], [6, 5, 4, 3, 2]):
        model = seeded(0, _build, Stack, list(sizes))
        x = randn(7, sizes[0])
        out = call(model, x)
        case = f"Stack({sizes})"
        expect(
            isinstance(out, torch.Tensor) and out.shape == (7, sizes[-1]),
            f"{case} on an input of shape {(7, sizes[0])} returned {_shape(out)}, expected {(7, sizes[-1])}.",
        )
        expected_count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        count = sum(p.numel() for p in model.parameters())
        expect(
            count != 0,
            f"{case} has no registered parameters although it computes an output: the layers are "
            "in a plain Python list (or dict), which nn.Module does not look into.",
        )
        expect(
            count == expected_count,
            f"{case} has {count} parameters, expected {expected_count}: one nn.Linear "
            "per consecutive pair of sizes.",
        )
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        dims = [(m.in_features, m.out_features) for m in linears]
        expect(
            dims == list(zip(sizes[:-1], sizes[1:])),
            f"{case} registers Linear layers {dims} (in registration order), "
            f"expected {list(zip(sizes[:-1], sizes[1:]))}.",
        )
        h = x
        with torch.no_grad():
            for i, layer in enumerate(linears):
                h = layer(h)
                if i < len(linears) - 1:
                    h = torch.relu(h)
        expect(
            not (torch.all(out >= 0) and not torch.all(h >= 0)),
            f"{case}(x) has no negative outputs: there should be no ReLU after the last layer.",
        )
        expect_tensor(out, h, f"{case}(x)", atol=1e-5)


@exercise("ex-3.5")
def check_ex_3_5(init_weights):
    expect(callable(init_weights), f"expected a function, got {type(init_weights).__name__}")
    model = seeded(
        0,
        lambda: nn.Sequential(
            nn.Conv2d(8, 16, kernel_size=3),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2000, 400),
            nn.ReLU(),
            nn.Linear(400, 300),
        ),
    )
    batch_norm = model[1]
    assert isinstance(batch_norm, nn.BatchNorm2d)
    with torch.no_grad():
        batch_norm.weight.fill_(0.5)  # so that an init that wrongly touches BatchNorm shows
    before = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        seeded(2, model.apply, init_weights)  # the init's own draws: fixed, and off the learner's RNG
    except AttributeError as err:
        if "weight" in str(err) or "bias" in str(err):
            raise ExerciseFailed(
                f"init_weights raised AttributeError ({err}): not every module has a weight (ReLU, Flatten); "
                "check the module's type with isinstance before touching it."
            ) from None
        raise
    except ValueError as err:
        if "fewer than 2 dimensions" in str(err):
            raise ExerciseFailed(
                "init_weights ran Kaiming init on a 1-D weight (BatchNorm's): check the module's type "
                "with isinstance (only nn.Linear and nn.Conv2d)."
            ) from None
        raise
    after = model.state_dict()
    if all(torch.equal(before[k], after[k]) for k in before):
        raise NotSolved
    expect(
        torch.equal(after["1.weight"], before["1.weight"]) and torch.equal(after["1.bias"], before["1.bias"]),
        "the BatchNorm2d layer was changed: only nn.Linear and nn.Conv2d should be initialised (check the "
        "module's type with isinstance).",
    )
    for index in (0, 4, 6):
        layer = model[index]
        assert isinstance(layer, (nn.Conv2d, nn.Linear))
        kind = type(layer).__name__
        weight = layer.weight.detach()
        fan_in = weight[0].numel()
        target = math.sqrt(2 / fan_in)
        std = weight.std().item()
        expect(
            abs(std / target - 1) < 0.1,
            f"layer {index} ({kind}, fan_in {fan_in}): weight std is {std:.4g}, expected about "
            f"sqrt(2 / fan_in) = {target:.4g}. Check the mode (fan_in) and the nonlinearity (relu).",
        )
        expect(
            abs(weight.mean().item()) < 0.1 * target,
            f"layer {index} ({kind}): the weights should have mean 0.",
        )
        expect(
            weight.abs().max().item() > 2.2 * target,
            f"layer {index} ({kind}): no weight is larger than {2.2 * target:.3g} (2.2 standard deviations), "
            "so they look uniformly distributed; the exercise asks for the normal variant.",
        )
        expect(
            layer.bias is not None and not layer.bias.any(),
            f"layer {index} ({kind}): the bias should be all zeros.",
        )
    no_bias = seeded(
        1, lambda: nn.Sequential(nn.Conv2d(3, 6, 3, bias=False), nn.Flatten(), nn.Linear(6, 4, bias=False))
    )
    try:
        seeded(3, no_bias.apply, init_weights)
    except Exception as err:
        raise ExerciseFailed(
            f"init_weights crashed on a layer built with bias=False ({type(err).__name__}: {err}): "
            "such a layer's .bias is None; only zero a bias that exists."
        ) from None
    last = no_bias[2]
    assert isinstance(last, nn.Linear)
    weight = last.weight.detach()
    expect(
        abs(weight.std().item() / math.sqrt(2 / 6) - 1) < 0.5,
        "for an nn.Linear built with bias=False the weight was not initialised.",
    )


def _predict_model():
    def make():
        model = nn.Sequential(
            nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)
        )
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn(64, 4) * 3 + 1)  # give BatchNorm some running statistics
        return model

    return seeded(0, make)


@exercise("ex-3.6")
def check_ex_3_6(predict):
    model = _predict_model()
    x = randn(5, 4, seed=1)
    reference = copy.deepcopy(model).eval()
    with torch.no_grad():
        expected = reference(x)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    out = seeded(4, call, predict, model, x)  # a predict that forgets eval() draws dropout masks
    expect(
        isinstance(out, torch.Tensor) and out.shape == (5, 3),
        f"predict(model, x) returned {_shape(out)}, expected a tensor of shape (5, 3).",
    )
    expect(
        all(torch.equal(before[k], v) for k, v in model.state_dict().items()),
        "predict() changed BatchNorm's running statistics: the forward pass ran in training mode.",
    )
    expect_tensor(out, expected, "predict(model, x) for a model with Dropout and BatchNorm", atol=1e-5)
    expect(not out.requires_grad, "the result still tracks gradients: eval() does not switch autograd off.")
    expect(
        model.training and all(m.training for m in model.modules()),
        "the model was in training mode before predict(); afterwards it should be in training mode again.",
    )
    model.eval()
    again = call(predict, model, x)
    expect_tensor(again, expected, "predict(model, x) for a model already in eval mode", atol=1e-5)
    expect(not model.training, "the model was in eval mode before predict(); it should stay in eval mode.")


class _Reuse(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 2 * 2, 3))

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.head(x)


def _shape_cases():
    return [
        (
            nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5)
            ),
            torch.randn(2, 1, 8, 8),
            "an nn.Sequential of five layers",
            [("0", (2, 4, 8, 8)), ("1", (2, 4, 8, 8)), ("2", (2, 4, 4, 4)), ("3", (2, 64)), ("4", (2, 5))],
        ),
        (
            _Reuse(),
            torch.randn(3, 1, 8, 8),
            "a model that calls its pool layer twice and has a nested Sequential",
            [
                ("conv1", (3, 4, 8, 8)),
                ("pool", (3, 4, 4, 4)),
                ("conv2", (3, 8, 4, 4)),
                ("pool", (3, 8, 2, 2)),
                ("head.0", (3, 32)),
                ("head.1", (3, 3)),
            ],
        ),
    ]


@exercise("ex-3.7")
def check_ex_3_7(output_shapes):
    for model, x, what, expected in seeded(0, _shape_cases):
        result = call(output_shapes, model, x)
        expect(
            isinstance(result, list),
            f"for {what} the result should be a list, got {type(result).__name__}.",
        )
        try:
            pairs = [(name, tuple(int(s) for s in shape)) for name, shape in result]
        except (TypeError, ValueError):
            pairs = None
        if pairs is not None and not all(isinstance(shape, tuple) for _, shape in result):
            raise ExerciseFailed(
                f"for {what} every shape should be a tuple of ints (tuple(output.shape)), got "
                f"{type(next(s for _, s in result if not isinstance(s, tuple))).__name__}."
            )
        if pairs is None:
            raise ExerciseFailed(
                f"for {what} every entry should be a (name, shape) pair with the shape a tuple "
                f"of ints; the result starts with {list(result)[:2]!r}."
            )
        expect(
            [n for n, _ in pairs] == [n for n, _ in expected],
            f"for {what} the names are {[n for n, _ in pairs]}, expected {[n for n, _ in expected]}: one entry per "
            "call of a leaf module (no containers, no model itself), in the order they ran.",
        )
        expect(
            pairs == expected,
            f"for {what} the names are right but the shapes are {[s for _, s in pairs]}, "
            f"expected {[s for _, s in expected]}.",
        )
        left = [
            name or "(model)" for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks
        ]
        expect(
            not left,
            f"for {what} hooks are still attached to {left}: remove them (keep the handles that "
            "register_forward_hook returns and call .remove()).",
        )


@exercise("ex-3.8")
def check_ex_3_8(TextClassifier):
    for vocab, embed, hidden, classes, n, length in ((30, 8, 12, 4, 3, 6), (10, 5, 7, 2, 1, 1)):
        model = seeded(0, _build, TextClassifier, vocab, embed, hidden, classes)
        tokens = torch.randint(0, vocab, (n, length), generator=torch.Generator().manual_seed(1))
        case = f"TextClassifier({vocab}, {embed}, {hidden}, {classes})"
        out = call(model, tokens)
        hint = ""
        if isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == length != n:
            hint = (
                " The GRU seems to read the tokens as (L, N): recurrent layers are sequence-first by default."
            )
        expect(
            isinstance(out, torch.Tensor) and out.shape == (n, classes),
            f"{case} on tokens of shape {(n, length)} returned {_shape(out)}, expected {(n, classes)}.{hint}",
        )
        for attr, kind in (("embedding", nn.Embedding), ("gru", nn.GRU), ("fc", nn.Linear)):
            expect(
                isinstance(getattr(model, attr, None), kind),
                f"{case}.{attr} should be an nn.{kind.__name__}.",
            )
        expect(
            (model.embedding.num_embeddings, model.embedding.embedding_dim) == (vocab, embed),
            f"{case}.embedding should map {vocab} token ids to vectors of size {embed}.",
        )
        gru = model.gru
        expect(
            (gru.input_size, gru.hidden_size, gru.num_layers) == (embed, hidden, 1),
            f"{case}.gru should be a one-layer GRU from {embed} to {hidden} features.",
        )
        expect(gru.batch_first, f"{case}.gru should be created with batch_first=True: the tokens are (N, L).")
        expect(
            (model.fc.in_features, model.fc.out_features) == (hidden, classes),
            f"{case}.fc should map {hidden} to {classes} features.",
        )
        with torch.no_grad():
            outputs, h_n = gru(model.embedding(tokens))
            expected = model.fc(h_n[-1])
            first_step = model.fc(outputs[:, 0])
        expect(
            length == 1 or not torch.allclose(out, first_step, atol=1e-6),
            f"{case}(tokens) uses the GRU output at the first time step; the classifier should read the "
            "final hidden state, after the whole sequence.",
        )
        expect_tensor(out, expected, f"{case}(tokens)", atol=1e-5)

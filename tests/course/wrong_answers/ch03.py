"""Plausible wrong answers for Chapter 3, each with the words its check's feedback must contain."""

import torch
import torch.nn.functional as F
from torch import nn

# ---- ex-3.1 ----------------------------------------------------------------------------------------


class NoResidual(nn.Module):  # forgot to add the input back
    def __init__(self, features, hidden):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden)
        self.fc2 = nn.Linear(hidden, features)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class LayersInForward(nn.Module):  # new, untrained layers at every call
    def __init__(self, features, hidden):
        super().__init__()
        self.sizes = (features, hidden)

    def forward(self, x):
        self.fc1 = nn.Linear(*self.sizes)
        self.fc2 = nn.Linear(*self.sizes[::-1])
        return x + self.fc2(F.relu(self.fc1(x)))


class OtherNames(NoResidual):  # layer1/layer2 instead of fc1/fc2
    def __init__(self, features, hidden):
        nn.Module.__init__(self)
        self.layer1 = nn.Linear(features, hidden)
        self.layer2 = nn.Linear(hidden, features)

    def forward(self, x):
        return x + self.layer2(F.relu(self.layer1(x)))


class NoRelu(NoResidual):
    def forward(self, x):
        return x + self.fc2(self.fc1(x))


class ReluAfterSum(NoResidual):
    def forward(self, x):
        return F.relu(x + self.fc2(F.relu(self.fc1(x))))


class NoSuperInit(NoResidual):
    def __init__(self, features, hidden):
        self.fc1 = nn.Linear(features, hidden)
        self.fc2 = nn.Linear(hidden, features)


class SwappedSizes(NoResidual):
    def __init__(self, features, hidden):
        nn.Module.__init__(self)
        self.fc1 = nn.Linear(hidden, features)
        self.fc2 = nn.Linear(hidden, features)

    def forward(self, x):
        return x + self.fc2(F.relu(self.fc1(x)))


# ---- ex-3.3 ----------------------------------------------------------------------------------------


class PlainAttributeStandardize(nn.Module):  # plain tensors, not buffers
    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std


class ParameterStandardize(PlainAttributeStandardize):
    def __init__(self, mean, std):
        nn.Module.__init__(self)
        self.mean, self.std = nn.Parameter(mean), nn.Parameter(std)


class NonPersistentStandardize(PlainAttributeStandardize):
    def __init__(self, mean, std):
        nn.Module.__init__(self)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)


class RenamedBuffers(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mu", mean)
        self.register_buffer("sigma", std)

    def forward(self, x):
        return (x - self.mu) / self.sigma


class TimesStd(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) * self.std


# ---- ex-3.4 ----------------------------------------------------------------------------------------


class ListStack(nn.Module):  # the plain-list bug
    def __init__(self, sizes):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


class ReluEverywhereStack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class NoReluStack(ReluEverywhereStack):
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class OneLayerShortStack(ReluEverywhereStack):  # off by one: the last pair is missing
    def __init__(self, sizes):
        nn.Module.__init__(self)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.out = nn.Linear(sizes[-2], sizes[-1]) if len(sizes) > 2 else None

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x if self.out is None else self.out(x)


class ThreeLayerStack(nn.Module):  # hard-coded depth
    def __init__(self, sizes):
        super().__init__()
        self.a = nn.Linear(sizes[0], sizes[1])
        self.b = nn.Linear(sizes[1], sizes[2])
        self.c = nn.Linear(sizes[2], sizes[3])

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))))


# ---- ex-3.5 ----------------------------------------------------------------------------------------


def uniform_init(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def init_crashes_without_bias(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)  # None for bias=False


def init_without_isinstance(module):
    nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def init_fan_out(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def init_keeps_bias(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")


def init_linear_only(module):
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def init_xavier(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


# ---- ex-3.6 ----------------------------------------------------------------------------------------


def predict_without_restoring(model, x):  # leaves the model in eval mode
    model.eval()
    with torch.no_grad():
        return model(x)


def predict_without_eval(model, x):
    with torch.no_grad():
        return model(x)


def predict_without_no_grad(model, x):
    was_training = model.training
    model.eval()
    out = model(x)
    model.train(was_training)
    return out


def predict_always_train_after(model, x):
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train()
    return out


def predict_labels(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x).argmax(dim=1)
    model.train(was_training)
    return out


# ---- ex-3.7 ----------------------------------------------------------------------------------------


def _shapes(model, x, *, leaves_only=True, remove=True, walk="modules", keep_input=False, unique=False):
    records, handles = [], []
    items = model.named_modules() if walk == "modules" else model.named_children()
    for name, module in items:
        if leaves_only and next(module.children(), None) is not None:
            continue

        def hook(m, inputs, output, name=name):
            records.append((name, tuple((inputs[0] if keep_input else output).shape)))

        handles.append(module.register_forward_hook(hook))
    model(x)
    if remove:
        for handle in handles:
            handle.remove()
    return list(dict(records).items()) if unique else records


# ---- ex-3.8 ----------------------------------------------------------------------------------------


class SequenceFirstClassifier(nn.Module):  # forgot batch_first=True
    def __init__(self, vocab_size, embed_dim, hidden_size, num_classes, batch_first=False, layers=1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.gru = nn.GRU(embed_dim, hidden_size, num_layers=layers, batch_first=batch_first)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, tokens):
        _, h_n = self.gru(self.embedding(tokens))
        return self.fc(h_n[-1])


class FirstStepClassifier(SequenceFirstClassifier):
    def __init__(self, *sizes):
        super().__init__(*sizes, batch_first=True)

    def forward(self, tokens):
        outputs, _ = self.gru(self.embedding(tokens))
        return self.fc(outputs[:, 0])


class MeanOverTimeClassifier(FirstStepClassifier):
    def forward(self, tokens):
        outputs, _ = self.gru(self.embedding(tokens))
        return self.fc(outputs.mean(dim=1))


class WholeHiddenClassifier(FirstStepClassifier):
    def forward(self, tokens):
        _, h_n = self.gru(self.embedding(tokens))
        return self.fc(h_n)  # (1, N, C): the layer dimension is kept


class TwoLayerGRUClassifier(SequenceFirstClassifier):
    def __init__(self, *sizes):
        super().__init__(*sizes, batch_first=True, layers=2)


WRONG = {
    "ex-3.1": [
        (lambda: NoResidual, "the input x is not added back"),
        (lambda: LayersInForward, "no parameters before its first call"),
        (lambda: OtherNames, "named fc1 and fc2"),
        (lambda: NoRelu, "no ReLU between the layers"),
        (lambda: ReluAfterSum, "ReLU after the addition"),
        (lambda: NoSuperInit, "before Module.__init__() call"),
        (lambda: SwappedSizes, "mat1 and mat2"),
    ],
    "ex-3.2": [
        (lambda: lambda size, k, stride=1, padding=0: (size + padding - k) // stride + 1, "both sides"),
        (lambda: lambda size, k, stride=1, padding=0: (size + 2 * padding - k) / stride + 1, "Python int"),
        (lambda: lambda size, k, stride=1, padding=0: (size + 2 * padding - k) // stride, "returned"),
        (lambda: lambda size, k, stride=1, padding=0: -(-(size + 2 * padding - k) // stride) + 1, "dropped"),
        (lambda: lambda size, k, stride=1, padding=0: size + 2 * padding - k + 1, "nn.Conv2d gives"),
        (
            lambda: lambda size, k, stride=1, padding=0: torch.tensor((size + 2 * padding - k) // stride + 1),
            "int",
        ),
    ],
    "ex-3.3": [
        (lambda: PlainAttributeStandardize, "state_dict() has keys []"),
        (lambda: ParameterStandardize, "must not be nn.Parameter"),
        (lambda: NonPersistentStandardize, "persistent"),
        (lambda: RenamedBuffers, "expected ['mean', 'std']"),
        (lambda: TimesStd, "values differ"),
    ],
    "ex-3.4": [
        (lambda: ListStack, "plain Python list"),
        (lambda: ReluEverywhereStack, "no ReLU after the last layer"),
        (lambda: NoReluStack, "values differ"),
        (lambda: OneLayerShortStack, "returned"),
        (lambda: ThreeLayerStack, "your code raised IndexError"),
    ],
    "ex-3.5": [
        (lambda: uniform_init, "normal variant"),
        (lambda: init_crashes_without_bias, "bias=False"),
        (lambda: init_without_isinstance, "isinstance"),
        (lambda: init_fan_out, "sqrt(2 / fan_in)"),
        (lambda: init_keeps_bias, "bias should be all zeros"),
        (lambda: init_linear_only, "layer 0 (Conv2d"),
        (lambda: init_xavier, "sqrt(2 / fan_in)"),
    ],
    "ex-3.6": [
        (lambda: predict_without_restoring, "training mode again"),
        (lambda: predict_without_eval, "running statistics"),
        (lambda: predict_without_no_grad, "tracks gradients"),
        (lambda: predict_always_train_after, "stay in eval mode"),
        (lambda: predict_labels, "expected a tensor of shape (5, 3)"),
    ],
    "ex-3.7": [
        (lambda: lambda model, x: [(n, list(s)) for n, s in _shapes(model, x)], "tuple of ints"),
        (lambda: lambda model, x: _shapes(model, x, remove=False), "hooks are still attached"),
        (lambda: lambda model, x: _shapes(model, x, leaves_only=False), "one entry per call of a leaf"),
        (lambda: lambda model, x: _shapes(model, x, walk="children"), "one entry per call of a leaf"),
        (lambda: lambda model, x: _shapes(model, x, keep_input=True), "the names are right but the shapes"),
        (lambda: lambda model, x: _shapes(model, x, unique=True), "one entry per call of a leaf"),
    ],
    "ex-3.8": [
        (lambda: SequenceFirstClassifier, "sequence-first"),
        (lambda: FirstStepClassifier, "first time step"),
        (lambda: MeanOverTimeClassifier, "values differ"),
        (lambda: WholeHiddenClassifier, "returned (1, 3, 4)"),
        (lambda: TwoLayerGRUClassifier, "one-layer GRU"),
    ],
}

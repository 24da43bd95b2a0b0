"""Plausible wrong answers for Chapter 3: each must make its check fail (not "not solved")."""

import torch
from torch import nn


class NoReluNet(nn.Module):  # ex-3.1: forgot the non-linearity
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.fc2(self.fc1(x))


class PlainAttributeStandardize(nn.Module):  # ex-3.3: plain tensors, not buffers
    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std


class ListStack(nn.Module):  # ex-3.4: the plain-list bug
    def __init__(self, sizes):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


def uniform_init(module):  # ex-3.5: the uniform variant
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


def predict_without_restoring(model, x):  # ex-3.6: leaves the model in eval mode
    model.eval()
    with torch.no_grad():
        return model(x)


def shapes_with_leftover_hooks(model, x):  # ex-3.7: never removes its hooks
    records = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            module.register_forward_hook(lambda m, i, o, name=name: records.append((name, tuple(o.shape))))
    model(x)
    return records


class SequenceFirstClassifier(nn.Module):  # ex-3.8: forgot batch_first=True
    def __init__(self, vocab_size, embed_dim, hidden_size, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.gru = nn.GRU(embed_dim, hidden_size)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, tokens):
        _, h_n = self.gru(self.embedding(tokens))
        return self.fc(h_n[-1])


WRONG = {
    "ex-3.1": lambda: NoReluNet,
    "ex-3.2": lambda: (
        lambda size, kernel_size, stride=1, padding=0: (size + padding - kernel_size) // stride + 1
    ),
    "ex-3.3": lambda: PlainAttributeStandardize,
    "ex-3.4": lambda: ListStack,
    "ex-3.5": lambda: uniform_init,
    "ex-3.6": lambda: predict_without_restoring,
    "ex-3.7": lambda: shapes_with_leftover_hooks,
    "ex-3.8": lambda: SequenceFirstClassifier,
}

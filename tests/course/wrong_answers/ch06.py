"""Plausible wrong answers for Chapter 6: each must make its check fail (not "not solved")."""

import torch
from torch.utils.data import Dataset, WeightedRandomSampler, random_split


class _WindowsOffByOne(Dataset):
    """Counts one window too many: the last item has no next value to predict."""

    def __init__(self, series, window):
        self.series, self.window = series, window

    def __len__(self):
        return len(self.series) - self.window + 1

    def __getitem__(self, i):
        return self.series[i : i + self.window], self.series[i + self.window]


def _random_split_ignoring_labels(labels, fractions, seed):
    parts = random_split(range(len(labels)), list(fractions), generator=torch.Generator().manual_seed(seed))
    return tuple(list(p.indices) for p in parts)


def _mean_of_batch_stats(loader):
    means, stds = [], []
    for images, _ in loader:
        means.append(images.mean(dim=(0, 2, 3)))
        stds.append(images.std(dim=(0, 2, 3), correction=0))
    return torch.stack(means).mean(dim=0), torch.stack(stds).mean(dim=0)


def _random_batches(lengths, batch_size, generator):
    order = torch.randperm(len(lengths), generator=generator).tolist()
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


WRONG = {
    "ex-6.1": lambda: _WindowsOffByOne,
    "ex-6.2": lambda: lambda n, b, drop_last: [b] * -(-n // b),  # every batch full-size
    "ex-6.3": lambda: _random_split_ignoring_labels,  # not stratified
    "ex-6.4": lambda: (
        lambda batch: (
            torch.nn.utils.rnn.pad_sequence([s for s, _ in batch], batch_first=True),
            torch.tensor([len(s) for s, _ in batch]),  # lengths, not a mask
            torch.tensor([y for _, y in batch]),
        )
    ),
    "ex-6.5": lambda: (
        lambda labels, generator: WeightedRandomSampler(  # weights by count: worse imbalance
            torch.bincount(labels).double()[labels], len(labels), replacement=True, generator=generator
        )
    ),
    "ex-6.6": lambda: _mean_of_batch_stats,  # ignores unequal batch sizes
    "ex-6.7": lambda: _random_batches,  # no sorting by length
}

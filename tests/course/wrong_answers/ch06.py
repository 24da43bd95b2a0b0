"""Plausible wrong answers for Chapter 6, each with the words its check's feedback must contain."""

import torch
from torch.utils.data import Dataset, Sampler, WeightedRandomSampler, random_split

# ---- ex-6.1 ----------------------------------------------------------------------------------------


class _Windows(Dataset):
    def __init__(self, series, window):
        self.series, self.window = series, window

    def __len__(self):
        return len(self.series) - self.window

    def __getitem__(self, i):
        return self.series[i : i + self.window], self.series[i + self.window]


class WindowsOffByOne(_Windows):  # one window too many: the last has no next value
    def __len__(self):
        return len(self.series) - self.window + 1


class WindowsSliceTarget(_Windows):  # the target as a slice of length 1
    def __getitem__(self, i):
        return self.series[i : i + self.window], self.series[i + self.window : i + self.window + 1]


class WindowsShort(_Windows):  # the window misses its last value
    def __getitem__(self, i):
        return self.series[i : i + self.window - 1], self.series[i + self.window]


class WindowsFloatTarget(_Windows):  # .item(): a Python float, not a tensor
    def __getitem__(self, i):
        return self.series[i : i + self.window], self.series[i + self.window].item()


class WindowsNotADataset:
    def __init__(self, series, window):
        self.series, self.window = series, window

    def __len__(self):
        return len(self.series) - self.window


# ---- ex-6.3 ----------------------------------------------------------------------------------------


def _random_split_ignoring_labels(labels, fractions, seed):
    parts = random_split(range(len(labels)), list(fractions), generator=torch.Generator().manual_seed(seed))
    return tuple(list(p.indices) for p in parts)


def _stratified(labels, fractions, seed, *, count=round, seeded=True, swap=False, keep_rest=True):
    generator = torch.Generator().manual_seed(seed if seeded else 0)
    train, val, test = [], [], []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)].tolist()
        n_val, n_test = count(fractions[1] * len(idx)), count(fractions[2] * len(idx))
        val += idx[:n_val]
        test += idx[n_val : n_val + n_test]
        if keep_rest:
            train += idx[n_val + n_test :]
    return (train, test, val) if swap else (train, val, test)


# ---- ex-6.4 ----------------------------------------------------------------------------------------


def _pad(batch, *, mask="lengths", side="right", labels_as="tensor"):
    seqs = [s for s, _ in batch]
    length = max(len(s) for s in seqs)
    padded = torch.zeros(len(seqs), length, seqs[0].shape[1])
    lengths_mask = torch.zeros(len(seqs), length, dtype=torch.bool)
    for i, s in enumerate(seqs):
        if side == "right":
            padded[i, : len(s)] = s
            lengths_mask[i, : len(s)] = True
        else:
            padded[i, length - len(s) :] = s
            lengths_mask[i, length - len(s) :] = True
    if mask == "values":
        m = (padded != 0).any(dim=-1)
    elif mask == "lengths-tensor":
        m = torch.tensor([len(s) for s in seqs])
    elif mask == "inverted":
        m = ~lengths_mask
    else:
        m = lengths_mask
    labels = [y for _, y in batch]
    return padded, m, (torch.tensor(labels) if labels_as == "tensor" else labels)


# ---- ex-6.5 ----------------------------------------------------------------------------------------


def _sampler(labels, generator, *, weights="inverse", replacement=True, pass_generator=True, num=None):
    counts = torch.bincount(labels).double()
    w = {"inverse": 1.0 / counts[labels], "count": counts[labels], "per-class": 1.0 / counts}[weights]
    return WeightedRandomSampler(
        w,
        num if num is not None else len(labels),
        replacement=replacement,
        generator=generator if pass_generator else None,
    )


# ---- ex-6.6 ----------------------------------------------------------------------------------------


def _mean_of_batch_stats(loader):
    means, stds = [], []
    for images, _ in loader:
        means.append(images.mean(dim=(0, 2, 3)))
        stds.append(images.std(dim=(0, 2, 3), correction=0))
    return torch.stack(means).mean(dim=0), torch.stack(stds).mean(dim=0)


def _moments(loader, *, clamp=True, correction=0, dtype=torch.float64, out=torch.float32, root=True):
    count, total, squares = 0, 0.0, 0.0
    for images, _ in loader:
        x = images.to(dtype)
        count += x.numel() // x.shape[1]
        total = total + x.sum(dim=(0, 2, 3))
        squares = squares + (x**2).sum(dim=(0, 2, 3))
    mean = total / count
    var = squares / count - mean**2
    if correction:
        var = var * count / (count - correction)
    if clamp:
        var = var.clamp(min=0)
    return mean.to(out), (var.sqrt() if root else var).to(out)


# ---- ex-6.7 ----------------------------------------------------------------------------------------


class BudgetBatchesWith(Sampler):
    """A padding-budget batch sampler with one slip, named by the class attribute ``mistake``."""

    mistake = ""

    def __init__(self, lengths, max_tokens, generator):
        self.generator = generator
        if self.mistake == "sort_in_place":
            lengths.sort()  # sorts the caller's list (and loses which length was whose)
            order = list(range(len(lengths)))
        elif self.mistake == "index_order":
            order = list(range(len(lengths)))  # packs in file order: long and short mixed
        else:
            order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        self.batches, batch = [], []
        for i in order:
            longest = max([lengths[j] for j in batch] + [lengths[i]])
            if self.mistake == "no_padding":
                cost = sum(lengths[j] for j in batch) + lengths[i]  # forgets the padding
            else:
                cost = (len(batch) + 1) * longest
            too_much = cost >= max_tokens if self.mistake == "strict" else cost > max_tokens
            if batch and too_much:
                self.batches.append(batch)
                batch = []
            batch.append(i)
        if batch and self.mistake != "drop_last":
            self.batches.append(batch)
        if self.mistake == "shuffle_once":
            order = torch.randperm(len(self.batches), generator=generator).tolist()
            self.batches = [self.batches[k] for k in order]

    def __iter__(self):
        if self.mistake in ("shuffle_once", "no_shuffle"):
            return iter(self.batches)
        if self.mistake == "global_rng":
            order = torch.randperm(len(self.batches)).tolist()
        else:
            order = torch.randperm(len(self.batches), generator=self.generator).tolist()
        if self.mistake == "tensors":
            return iter([torch.tensor(self.batches[k]) for k in order])
        return iter([self.batches[k] for k in order])

    def __len__(self):
        return sum(len(b) for b in self.batches) if self.mistake == "len_samples" else len(self.batches)


def budget_batches(mistake):
    return type(f"BudgetBatches_{mistake}", (BudgetBatchesWith,), {"mistake": mistake})


WRONG = {
    "ex-6.1": [
        (lambda: WindowsOffByOne, "needs a next value"),
        (lambda: WindowsSliceTarget, "0-dimensional"),
        (lambda: WindowsShort, "has shape (2,), expected (3,)"),
        (lambda: WindowsFloatTarget, "0-dimensional tensor"),
        (lambda: WindowsNotADataset, "subclass torch.utils.data.Dataset"),
    ],
    "ex-6.2": [
        (lambda: lambda n, b, drop_last: [b] * -(-n // b), "the last, incomplete batch"),
        (lambda: lambda n, b, drop_last: [b] * (n // b) + [n % b], "the last, incomplete batch"),
        (lambda: lambda n, b, drop_last: [b] * (n // b), "the last, incomplete batch"),
        (
            lambda: lambda n, b, drop_last: torch.tensor([b] * (n // b)).tolist() and tuple([b] * (n // b)),
            "list",
        ),
        (
            lambda: lambda n, b, drop_last: [float(min(b, n - s)) for s in range(0, n, b)],
            "Python ints",
        ),
        (
            lambda: lambda n, b, drop_last: [min(b, n - s) for s in range(0, n - b if drop_last else n, b)],
            "the last, incomplete batch",
        ),
    ],
    "ex-6.3": [
        (
            lambda: (
                lambda labels, f, seed: tuple(torch.tensor(part) for part in _stratified(labels, f, seed))
            ),
            "convert it with .tolist()",
        ),
        (lambda: _random_split_ignoring_labels, "Split each class separately"),
        (lambda: lambda labels, f, seed: _stratified(labels, f, seed, count=int), "int() truncates"),
        (lambda: lambda labels, f, seed: _stratified(labels, f, seed, seeded=False), "different seeds"),
        (lambda: lambda labels, f, seed: _stratified(labels, f, seed, swap=True), "wrong lists"),
        (lambda: lambda labels, f, seed: _stratified(labels, f, seed, keep_rest=False), "every index"),
    ],
    "ex-6.4": [
        (lambda: lambda batch: _pad(batch, mask="lengths-tensor"), "mask should be a bool"),
        (lambda: lambda batch: _pad(batch, mask="values"), "from the sequence lengths"),
        (lambda: lambda batch: _pad(batch, side="left"), "padded (3 sequences"),
        (lambda: lambda batch: _pad(batch, mask="inverted"), "True at real time steps"),
        (lambda: lambda batch: _pad(batch, labels_as="list"), "labels should be a torch.Tensor"),
    ],
    "ex-6.5": [
        (lambda: lambda labels, g: _sampler(labels, g, weights="count"), "rare classes weigh more"),
        (lambda: lambda labels, g: _sampler(labels, g, replacement=False), "with replacement"),
        (lambda: lambda labels, g: _sampler(labels, g, pass_generator=False), "pass `generator` on"),
        (lambda: lambda labels, g: _sampler(labels, g, num=30), "num_samples should be len(labels)"),
        (lambda: lambda labels, g: _sampler(labels, g, weights="per-class"), "one weight per sample"),
    ],
    "ex-6.6": [
        (lambda: _mean_of_batch_stats, "bigger batch weighs more"),
        (lambda: lambda loader: _moments(loader, clamp=False), "Clamp the variance"),
        (lambda: lambda loader: _moments(loader, correction=1), "correction=0"),
        (lambda: lambda loader: _moments(loader, out=torch.float64), "dtype torch.float64"),
        (lambda: lambda loader: _moments(loader, root=False), "the std for"),
    ],
    "ex-6.7": [
        (lambda: budget_batches("index_order"), "similar lengths"),
        (lambda: budget_batches("no_padding"), "counts its padding"),
        (lambda: budget_batches("strict"), "may cost exactly"),
        (lambda: budget_batches("shuffle_once"), "same order"),
        (lambda: budget_batches("no_shuffle"), "same order"),
        (lambda: budget_batches("global_rng"), "generator you are given"),
        (lambda: budget_batches("len_samples"), "number of batches per epoch"),
        (lambda: budget_batches("tensors"), "list of Python ints"),
        (lambda: budget_batches("drop_last"), "exactly once"),
        (lambda: budget_batches("sort_in_place"), "was changed"),
    ],
}

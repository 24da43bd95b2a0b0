"""Checks for Chapter 6 (Data: Dataset and DataLoader)."""

from typing import cast

import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ..exercises import ExerciseFailed, NotSolved, call, exercise, expect, expect_tensor
from ._common import generator, randn


@exercise("ex-6.1")
def check_ex_6_1(WindowDataset):
    expect(
        isinstance(WindowDataset, type),
        f"WindowDataset should be a class, got {type(WindowDataset).__name__}.",
    )
    expect(issubclass(WindowDataset, Dataset), "WindowDataset should subclass torch.utils.data.Dataset.")
    series = torch.arange(10.0) ** 2
    ds = call(WindowDataset, series, 3)
    n = ds.__len__()
    if n is None:
        raise NotSolved
    expect(
        n == 7,
        f"for a series of 10 values and window=3 the dataset should have 7 items, got {n} "
        "(every window needs a next value to predict).",
    )
    item = ds.__getitem__(0)
    if item is None:
        raise NotSolved
    expect(
        isinstance(item, (tuple, list)) and len(item) == 2, "an item should be a pair (window, next value)."
    )
    x, y = item
    expect_tensor(x, series[0:3], "the window of item 0")
    expect(
        isinstance(y, torch.Tensor) and y.dim() == 0,
        f"the target should be a 0-dimensional tensor (series[i + window]), got "
        f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}.",
    )
    expect_tensor(y, series[3], "the target of item 0")
    x, y = ds[6]
    expect_tensor(x, series[6:9], "the window of the last item (6)")
    expect_tensor(y, series[9], "the target of the last item (6)")
    batches = list(DataLoader(ds, batch_size=4, generator=generator(0)))
    expect(
        len(batches) == 2 and tuple(batches[0][0].shape) == (4, 3) and tuple(batches[0][1].shape) == (4,),
        "through DataLoader(ds, batch_size=4) the first batch should be windows (4, 3) and targets (4,).",
    )
    one = call(WindowDataset, torch.tensor([1.0, 2.0]), 1)
    expect(len(one) == 1, "a series of 2 values with window=1 has exactly 1 item.")
    expect_tensor(one[0][1], torch.tensor(2.0), "the target for series [1, 2], window 1")


@exercise("ex-6.2")
def check_ex_6_2(batch_sizes):
    for n, batch_size, drop_last in (
        (10, 4, False),
        (10, 4, True),
        (12, 4, False),
        (12, 4, True),
        (3, 5, False),
        (3, 5, True),
        (178, 32, False),
        (1, 1, True),
    ):
        numbers = cast(Dataset[int], range(n))  # a DataLoader takes any sequence; its type hints say Dataset
        loader = DataLoader(numbers, batch_size=batch_size, drop_last=drop_last, generator=generator(0))
        expected = [len(b) for b in loader]
        result = call(batch_sizes, n, batch_size, drop_last)
        expect(isinstance(result, list), f"batch_sizes should return a list, got {type(result).__name__}.")
        expect(all(isinstance(s, int) for s in result), "the batch sizes should be Python ints.")
        expect(
            result == expected,
            f"batch_sizes({n}, {batch_size}, drop_last={drop_last}) returned {result}; "
            f"the DataLoader yields {len(expected)} batch(es). Think about the last, incomplete batch.",
        )


def _as_index_lists(result):
    expect(
        isinstance(result, (tuple, list)) and len(result) == 3,
        "stratified_split should return a tuple (train_indices, val_indices, test_indices).",
    )
    parts = []
    for name, part in zip(("train", "val", "test"), result):
        expect(isinstance(part, (list, tuple, torch.Tensor)), f"the {name} indices should be a list of ints.")
        parts.append([int(i) for i in part])
    return parts


@exercise("ex-6.3")
def check_ex_6_3(stratified_split):
    labels = torch.tensor([0] * 20 + [1] * 7 + [2] * 13)[
        torch.randperm(40, generator=torch.Generator().manual_seed(3))
    ]
    fractions = (0.5, 0.3, 0.2)
    train, val, test = _as_index_lists(call(stratified_split, labels.clone(), fractions, 0))
    expect(
        sorted(train + val + test) == list(range(len(labels))),
        "together the three lists must contain every index exactly once (no duplicates, none missing).",
    )
    for c in range(3):
        n_c = int((labels == c).sum())
        n_val, n_test = round(fractions[1] * n_c), round(fractions[2] * n_c)
        got = [
            int((labels[torch.tensor(part, dtype=torch.long)] == c).sum()) if part else 0
            for part in (train, val, test)
        ]
        truncated = [n_c - int(fractions[1] * n_c) - int(fractions[2] * n_c)] + [
            int(fractions[1] * n_c),
            int(fractions[2] * n_c),
        ]
        expect(
            got != truncated or truncated == [n_c - n_val - n_test, n_val, n_test],
            f"class {c} ({n_c} samples) is split {got} (train, val, test): int() truncates "
            f"{fractions[1] * n_c:.1f} down; the text asks for Python's round(), which gives "
            f"{[n_c - n_val - n_test, n_val, n_test]}.",
        )
        if got != [n_c - n_val - n_test, n_val, n_test]:
            expect(
                sorted(got) != sorted([n_c - n_val - n_test, n_val, n_test]),
                f"class {c} ({n_c} samples) is split {got} (train, val, test): the counts are right but in "
                "the wrong lists -- validation first, then test, the rest in training.",
            )
        expect(
            got == [n_c - n_val - n_test, n_val, n_test],
            f"class {c} ({n_c} samples) is split {got} (train, val, test); expected "
            f"{[n_c - n_val - n_test, n_val, n_test]}. Split each class separately.",
        )
    again = _as_index_lists(call(stratified_split, labels.clone(), fractions, 0))
    expect(
        sorted(again[1]) == sorted(val) and sorted(again[2]) == sorted(test),
        "the same seed must give the same split: use a torch.Generator seeded with `seed`.",
    )
    other = [sorted(_as_index_lists(call(stratified_split, labels.clone(), fractions, s))[1]) for s in (1, 2)]
    expect(
        any(o != sorted(val) for o in other),
        "different seeds give the same split: shuffle each class's indices with the seeded generator.",
    )
    train, val, test = _as_index_lists(
        call(stratified_split, torch.tensor([1, 0, 1, 1, 0, 1]), (0.5, 0.5, 0.0), 0)
    )
    expect(
        len(val) == 1 + 2 and len(test) == 0 and len(train) == 3,
        "for labels [1, 0, 1, 1, 0, 1] and fractions (0.5, 0.5, 0.0) expected 3 train, 3 val, 0 test indices.",
    )


@exercise("ex-6.4")
def check_ex_6_4(pad_collate):
    sequences = [randn(2, 3, seed=1), randn(5, 3, seed=2), randn(1, 3, seed=3)]
    sequences[1][3] = 0.0  # a real time step whose features are all zero: it is not padding
    batch = [(s, label) for s, label in zip(sequences, (2, 0, 1))]
    result = call(pad_collate, batch)
    expect(
        isinstance(result, (tuple, list)) and len(result) == 3,
        "pad_collate should return (padded, mask, labels).",
    )
    padded, mask, labels = result
    expected = torch.zeros(3, 5, 3)
    expected_mask = torch.zeros(3, 5, dtype=torch.bool)
    for i, s in enumerate(sequences):
        expected[i, : len(s)] = s
        expected_mask[i, : len(s)] = True
    expect_tensor(padded, expected, "padded (3 sequences of lengths 2, 5, 1 with 3 features)")
    expect(
        isinstance(mask, torch.Tensor) and mask.dtype == torch.bool,
        f"mask should be a bool tensor, got {mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__}.",
    )
    if isinstance(mask, torch.Tensor) and mask.shape == expected_mask.shape and not mask[1, 3] and mask[1, 4]:
        raise ExerciseFailed(
            "the mask marks a real time step whose features are all zero as padding: a value can be 0 "
            "in the data. Build the mask from the sequence lengths, not from the values."
        )
    expect_tensor(mask, expected_mask, "mask (True at real time steps)")
    expect_tensor(labels, torch.tensor([2, 0, 1]), "labels")
    same = [(torch.ones(4, 1), 0), (2 * torch.ones(4, 1), 1)]
    padded, mask, labels = call(pad_collate, same)
    expect(
        tuple(padded.shape) == (2, 4, 1) and bool(mask.all()),
        "for sequences of equal length (4) there is no padding: padded (2, 4, 1) and a mask that is all True.",
    )
    loader = DataLoader(
        cast(Dataset[tuple[torch.Tensor, int]], batch),
        batch_size=2,
        collate_fn=pad_collate,
        generator=generator(0),
    )
    first = next(iter(loader))
    expect(
        tuple(first[0].shape) == (2, 5, 3),
        "used as DataLoader(..., collate_fn=pad_collate) the first batch "
        "of 2 should be padded to the longest of the two (5).",
    )


@exercise("ex-6.5")
def check_ex_6_5(balanced_sampler):
    labels = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    sampler = call(balanced_sampler, labels.clone(), torch.Generator().manual_seed(0))
    expect(
        isinstance(sampler, WeightedRandomSampler),
        f"balanced_sampler should return a WeightedRandomSampler, got {type(sampler).__name__}.",
    )
    expect(
        sampler.num_samples == len(labels),
        f"num_samples should be len(labels) = {len(labels)}, got {sampler.num_samples}.",
    )
    expect(
        sampler.replacement,
        "draw with replacement: without it every sample is drawn once and nothing is rebalanced.",
    )
    weights = torch.as_tensor(sampler.weights, dtype=torch.float64)
    expect(
        weights.shape == (len(labels),),
        f"there should be one weight per sample ({len(labels)}), got {tuple(weights.shape)}.",
    )
    expected = 1.0 / torch.bincount(labels).double()[labels]
    expect(
        torch.allclose(weights / weights.sum(), expected / expected.sum()),
        "the weights should be proportional to 1 / (number of samples of the sample's class): rare classes weigh more.",
    )
    draws = [list(call(balanced_sampler, labels.clone(), torch.Generator().manual_seed(7))) for _ in range(2)]
    expect(
        draws[0] == draws[1],
        "two samplers with equally seeded generators drew different indices: pass `generator` on.",
    )
    drawn = torch.tensor([i for _ in range(30) for i in sampler])
    share = torch.bincount(labels[drawn], minlength=3).double() / len(drawn)
    expect(
        torch.allclose(share, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.05),
        f"over 30 epochs the classes were drawn in proportions {share.numpy().round(2).tolist()}, "
        "expected about 1/3 each.",
    )


def _image_loader(batch_sizes, channels, seed):
    generator = torch.Generator().manual_seed(seed)
    batches = [
        (torch.rand(b, channels, 4, 4, generator=generator) * (k + 1) + k, torch.zeros(b, dtype=torch.long))
        for k, b in enumerate(batch_sizes)
    ]  # batches with different sizes and statistics
    return batches, torch.cat([images for images, _ in batches])


@exercise("ex-6.6")
def check_ex_6_6(channel_mean_std):
    for sizes, channels in (((32, 32, 5), 3), ((7, 50), 1), ((7, 50), 2)):
        batches, everything = _image_loader(sizes, channels, seed=channels)
        if channels == 2:  # a constant channel: its variance is 0, and rounding can make E[x²] - E[x]² < 0
            for images, _ in batches:
                images[:, 1] = 0.1
            everything = torch.cat([images for images, _ in batches])
        result = call(channel_mean_std, batches)  # a list of batches: iterable like a DataLoader
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2,
            "channel_mean_std should return (mean, std).",
        )
        mean, std = result
        if channels == 2 and isinstance(std, torch.Tensor) and std.shape == (2,):
            expect(
                not bool(torch.isnan(std[1])),
                "for a channel whose pixels all have the same value the std is nan: rounding made "
                "E[x²] - E[x]² slightly negative. Clamp the variance at 0 before the square root.",
            )
        expected_mean = everything.double().mean(dim=(0, 2, 3)).float()
        expected_std = everything.double().std(dim=(0, 2, 3), correction=0).float()
        what = f"for {channels}-channel batches of sizes {list(sizes)}"
        expect_tensor(
            mean,
            expected_mean,
            f"the mean {what}",
            atol=1e-4,
            rtol=1e-4,
            hint="every pixel value counts once, so a bigger batch weighs more: keep a count and a sum "
            "per channel.",
        )
        expect_tensor(
            std,
            expected_std,
            f"the std {what}",
            atol=1e-4,
            rtol=1e-4,
            hint="the population variance is mean(x**2) - mean(x)**2 over all values of a channel "
            "(divide by the count, correction=0), accumulated in float64.",
        )


def _padding(batches, lengths):
    return sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in batches)


@exercise("ex-6.7")
def check_ex_6_7(length_batches):
    lengths = [int(v) for v in torch.randint(1, 40, (53,), generator=torch.Generator().manual_seed(0))]
    batch_size = 8
    result = call(length_batches, list(lengths), batch_size, torch.Generator().manual_seed(0))
    expect(
        isinstance(result, list) and all(isinstance(b, (list, tuple)) for b in result),
        "length_batches should return a list of lists of indices.",
    )
    batches = [[int(i) for i in b] for b in result]
    expect(
        sorted(i for b in batches for i in b) == list(range(len(lengths))),
        "every index must appear in exactly one batch.",
    )
    expect(
        sorted(len(b) for b in batches) == sorted([batch_size] * (53 // batch_size) + [53 % batch_size]),
        f"53 samples in batches of {batch_size} should give {53 // batch_size} full batches "
        f"and one of {53 % batch_size}.",
    )
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    expected_groups = sorted(
        sorted(lengths[i] for i in order[s : s + batch_size]) for s in range(0, 53, batch_size)
    )
    got_groups = sorted(sorted(lengths[i] for i in b) for b in batches)
    expect(
        got_groups == expected_groups,
        f"the batches should be consecutive runs of the indices sorted by length, shortest first; your batches need "
        f"{_padding(batches, lengths)} padding positions instead of "
        f"{_padding([order[s : s + batch_size] for s in range(0, 53, batch_size)], lengths)}.",
    )
    again = call(length_batches, list(lengths), batch_size, torch.Generator().manual_seed(0))
    expect(
        [[int(i) for i in b] for b in again] == batches,
        "the same seeded generator should give the same batches in the same order.",
    )
    orders = []
    for seed in (1, 2, 3):
        out = call(length_batches, list(lengths), batch_size, torch.Generator().manual_seed(seed))
        orders.append([max(lengths[int(i)] for i in b) for b in out])
    expect(
        any(o != sorted(o) and o != sorted(o, reverse=True) for o in orders),
        "the order of the batches is not shuffled: use torch.randperm(number of batches, generator=generator).",
    )
    expect(len({tuple(o) for o in orders}) > 1, "different seeds should give different batch orders.")
    tiny = call(length_batches, [3, 1, 2], 2, torch.Generator().manual_seed(0))
    expect(
        sorted(sorted(int(i) for i in b) for b in tiny) == [[0], [1, 2]],
        "for lengths [3, 1, 2] and batch_size 2 the batches should be {1, 2} (lengths 1, 2) and {0} (length 3).",
    )

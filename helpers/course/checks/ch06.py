"""Checks for Chapter 6 (Data: Dataset and DataLoader)."""

from collections.abc import Iterator
from typing import cast

import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ..exercises import ExerciseFailed, NotSolved, call, exercise, expect, expect_tensor
from ._common import generator, list_of_ints, randn, seeded


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
    return [list_of_ints(part, f"the {name} indices") for name, part in zip(("train", "val", "test"), result)]


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


# ---- ex-6.7: batches with a padding budget ---------------------------------------------------------

# Lengths 1-12 with many ties, and two long ones (24 = max_tokens fills a batch alone): packed in order of
# length they need 10 batches; in index order 15; with a budget that a batch may not reach exactly, 12.
_BUDGET_LENGTHS = [
    int(n) for n in "9 4 6 1 8 4 8 24 2 4 6 3 1 4 11 9 1 1 3 23 3 12 12 3 9 6 2 6 10 1 2".split()
]


def _pack(order, lengths, max_tokens, strict=False):
    """Fill batches in the given order while len(batch) * longest stays within the budget."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        cost = (len(current) + 1) * max([lengths[j] for j in current] + [lengths[i]])
        if current and (cost >= max_tokens if strict else cost > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    return batches + ([current] if current else [])


def _fewest_batches(lengths, max_tokens):
    """The fewest batches possible: packing the longest first is optimal (swap arguments), and so is
    shortest first."""
    return len(_pack(sorted(range(len(lengths)), key=lambda i: -lengths[i]), lengths, max_tokens))


def _is_index_list(batch) -> bool:
    return type(batch) is list and all(isinstance(i, int) and not isinstance(i, bool) for i in batch)


def _an_epoch(sampler, what):
    """One epoch of the learner's batch sampler, as the DataLoader asks for it: iter(), then every batch."""
    iterator = sampler.__iter__()
    if iterator is None:
        raise NotSolved
    expect(
        isinstance(iterator, Iterator),
        f"{what}: __iter__ should return an iterator, got a {type(iterator).__name__}: return iter(...) of "
        "it, or yield the batches one by one.",
    )
    batches = list(iterator)
    wrong = next((b for b in batches if not _is_index_list(b)), None)
    if wrong is not None:
        inside = f" of {type(wrong[0]).__name__}" if isinstance(wrong, (list, tuple)) and len(wrong) else ""
        raise ExerciseFailed(
            f"{what}: every batch should be a list of Python ints, got a {type(wrong).__name__}{inside} "
            "(a tensor of indices becomes one with .tolist())."
        )
    return batches


def _two_epochs(BudgetBatches, lengths, max_tokens, seed):
    sampler = BudgetBatches(list(lengths), max_tokens, generator(seed))
    return [list(sampler), list(sampler)]


def _budget_epoch_ok(batches, lengths, max_tokens, what):
    n = len(lengths)
    seen = sorted(i for b in batches for i in b)
    expect(
        seen == list(range(n)) and all(batches),
        f"{what}: an epoch should hold each of the {n} samples exactly once (in non-empty batches); "
        f"it held {len(seen)} indices, {len(set(seen) & set(range(n)))} different samples.",
    )
    for b in batches:
        longest = max(lengths[i] for i in b)
        expect(
            len(b) * longest <= max_tokens,
            f"{what}: a batch of {len(b)} sequences, the longest of length {longest}, is padded to "
            f"{len(b)} x {longest} = {len(b) * longest} positions, more than max_tokens={max_tokens}: "
            "the cost of a batch counts its padding.",
        )
    fewest = _fewest_batches(lengths, max_tokens)
    if len(batches) > fewest:
        by_length = sorted(range(n), key=lambda i: lengths[i])
        strict = len(_pack(by_length, lengths, max_tokens, strict=True))
        expect(
            not (strict > fewest and len(batches) == strict),
            f"{what}: {len(batches)} batches where {fewest} suffice: a batch may cost exactly "
            f"max_tokens={max_tokens}, not only less.",
        )
        raise ExerciseFailed(
            f"{what}: {len(batches)} batches where {fewest} suffice. The longest sequence of a batch sets "
            "its cost, so sequences of similar lengths waste the least together."
        )


@exercise("ex-6.7")
def check_ex_6_7(BudgetBatches):
    expect(
        isinstance(BudgetBatches, type),
        f"BudgetBatches should be a class, got {type(BudgetBatches).__name__}.",
    )
    cases = (
        ("31 lengths from 1 to 24, max_tokens=24", list(_BUDGET_LENGTHS), 24, 0),
        (
            "23 lengths from 1 to 20, max_tokens=40",
            torch.randint(1, 21, (23,), generator=generator(7)).tolist(),
            40,
            1,
        ),
        ("13 sequences of length 5, max_tokens=16", [5] * 13, 16, 2),
        ("a single sequence of length 7, max_tokens=7", [7], 7, 3),
    )
    for what, lengths, max_tokens, seed in cases:
        given = list(lengths)
        sampler = call(BudgetBatches, given, max_tokens, generator(seed))
        size = sampler.__len__()
        if size is None:
            raise NotSolved
        epochs = [_an_epoch(sampler, f"for {what}, epoch {e}") for e in (1, 2, 3)]
        expect(given == lengths, f"for {what}: the list lengths was changed: leave your inputs as they are.")
        for e, batches in enumerate(epochs, start=1):
            _budget_epoch_ok(batches, lengths, max_tokens, f"for {what}, epoch {e}")
            expect(
                size == len(batches),
                f"for {what}: len() is {size!r} but an epoch has {len(batches)} batches: len() of a batch "
                "sampler is the number of batches per epoch (the loader's len).",
            )
        if seed == 0:  # 10 batches: 10! orders, so a real shuffle repeats itself with negligible chance
            expect(
                epochs[0] != epochs[1] or epochs[1] != epochs[2],
                f"for {what}: every epoch presents the same batches in the same order. The loader calls iter() "
                "once per epoch: draw a new order of the batches each time.",
            )
            longest = [[max(lengths[i] for i in b) for b in batches] for batches in epochs]
            expect(
                not all(o == sorted(o) or o == sorted(o, reverse=True) for o in longest),
                f"for {what}: in every epoch the batches come in order of length: shuffle the order of the "
                "batches.",
            )
            twins = [seeded(s, _two_epochs, BudgetBatches, lengths, max_tokens, seed) for s in (1, 2)]
            expect(
                twins[0] == twins[1] and twins[0] == epochs[:2],
                f"for {what}: two samplers built with generators seeded alike gave different epochs: the order "
                "must be drawn from the generator you are given only (not from torch's global random state, "
                "Python's random or NumPy).",
            )
            loader = DataLoader(
                cast(
                    Dataset[torch.Tensor], [torch.ones(n) for n in lengths]
                ),  # a list is a map-style dataset
                batch_sampler=BudgetBatches(list(lengths), max_tokens, generator(0)),
                collate_fn=lambda batch: torch.nn.utils.rnn.pad_sequence(batch, batch_first=True),
                generator=generator(5),
            )
            padded = list(loader)
            expect(
                len(loader) == size and len(padded) == size and all(x.numel() <= max_tokens for x in padded),
                f"for {what}: as a DataLoader's batch_sampler it gave {len(padded)} padded batches "
                f"(len(loader) = {len(loader)}), expected {size}, each of at most {max_tokens} positions.",
            )

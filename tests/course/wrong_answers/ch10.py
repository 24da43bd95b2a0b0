"""Plausible wrong answers for Chapter 10: each must make its check fail with a message naming the mistake.

``WRONG`` maps each exercise to ``(make_answer, fragment)`` pairs (see tests/course/test_wrong_answers.py).
"""

import torch
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler


def _contiguous_block(n, rank, world_size):
    return list(range(rank * n // world_size, (rank + 1) * n // world_size))


def _no_padding(n, rank, world_size):
    return list(range(rank, n, world_size))


def _pad_with_last(n, rank, world_size):
    total = -(-n // world_size) * world_size
    indices = list(range(n)) + [n - 1] * (total - n)
    return indices[rank::world_size]


def _forgot_set_epoch(n, rank, world_size, epochs, seed):
    sampler = DistributedSampler(list(range(n)), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    return [list(sampler) for _ in range(epochs)]


def _seed_by_rank(n, rank, world_size, epochs, seed):
    sampler = DistributedSampler(
        list(range(n)), num_replicas=world_size, rank=rank, shuffle=True, seed=seed + rank
    )
    orders = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        orders.append(list(sampler))
    return orders


def _epochs_from_one(n, rank, world_size, epochs, seed):
    sampler = DistributedSampler(list(range(n)), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    orders = []
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        orders.append(list(sampler))
    return orders


def _sum_not_mean(tensor):
    total = tensor.clone()
    dist.all_reduce(total)
    return total


def _in_place(tensor):
    dist.all_reduce(tensor)
    tensor /= dist.get_world_size()
    return tensor


def _divide_by_two(tensor):
    total = tensor.clone()
    dist.all_reduce(total)
    return total / 2


def _max_not_mean(tensor):
    total = tensor.clone()
    dist.all_reduce(total, op=dist.ReduceOp.MAX)
    return total


def _mean_without_return(tensor):
    total = tensor.clone()
    dist.all_reduce(total)
    total /= dist.get_world_size()  # ...and forgot `return total`


def _accuracy_without_return(correct, total):
    counts = torch.tensor([correct, total], dtype=torch.float64)
    dist.all_reduce(counts)
    (counts[0] / counts[1]).item()  # ...and forgot `return`


def _grads_summed(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)


def _first_param_only(model):
    p = next(model.parameters())
    dist.all_reduce(p.grad)
    p.grad /= dist.get_world_size()


def _average_weights(model):
    with torch.no_grad():
        for p in model.parameters():
            dist.all_reduce(p.data)
            p.data /= dist.get_world_size()


def _grads_local(model):
    for p in model.parameters():
        p.grad = p.grad.clone()


def _save_everywhere(model, path):
    torch.save(model.module.state_dict(), path)
    dist.barrier()


def _save_wrapper(model, path):
    if dist.get_rank() == 0:
        torch.save(model.state_dict(), path)
    dist.barrier()


def _save_without_barrier(model, path):
    if dist.get_rank() == 0:
        torch.save(model.module.state_dict(), path)


def _barrier_inside_if(model, path):
    if dist.get_rank() == 0:
        torch.save(model.module.state_dict(), path)
        dist.barrier()


def _mean_of_accuracies(correct, total):
    rate = torch.tensor(correct / total)
    dist.all_reduce(rate)
    return (rate / dist.get_world_size()).item()


def _local_accuracy(correct, total):
    return correct / total


def _tensor_not_float(correct, total):
    counts = torch.tensor([float(correct), float(total)])
    dist.all_reduce(counts)
    return counts[0] / counts[1]


def _integer_division(correct, total):
    counts = torch.tensor([correct, total])
    dist.all_reduce(counts)
    return float(counts[0] // counts[1])


_CASES = {
    "ex-10.1": [
        (_contiguous_block, "contiguous block"),
        (_no_padding, "pads"),
        (_pad_with_last, "expected"),
        (lambda n, rank, world_size: torch.arange(rank, n, world_size), "convert it with .tolist()"),
        (
            lambda n, rank, world_size: [float(i) for i in _pad_with_last(n, rank, world_size)],
            "list of Python ints",
        ),
        (lambda n, rank, world_size: list(range(rank + 1, n + 1, world_size)), "expected"),
    ],
    "ex-10.2": [
        (_forgot_set_epoch, "set_epoch"),
        (_seed_by_rank, "same seed"),
        (_epochs_from_one, "epochs count from 0"),
        (lambda n, rank, world_size, epochs, seed: [list(range(rank, n, world_size))] * epochs, "set_epoch"),
        (
            lambda n, rank, world_size, epochs, seed: [
                torch.randperm(n).tolist()[rank::world_size] for _ in range(epochs)
            ],
            "same seed",
        ),
    ],
    "ex-10.3": [
        (_sum_not_mean, "sum"),
        (_in_place, "changed the tensor"),
        (_divide_by_two, "divided by 2"),
        (_max_not_mean, "expected the mean"),
        (lambda tensor: tensor.clone(), "expected the mean"),
        (_mean_without_return, "forget `return`"),
    ],
    "ex-10.4": [
        (_grads_summed, "sum"),
        (_first_param_only, "first parameter"),
        (_average_weights, "not the mean"),
        (_grads_local, "not the mean"),
        (
            lambda model: [dist.all_reduce(p.grad) or p.grad.div_(2) for p in model.parameters()],
            "not the mean",
        ),
    ],
    "ex-10.5": [
        (_save_everywhere, "rank 1 saved too"),
        (_save_wrapper, "module."),
        (_save_without_barrier, "barrier"),
        (_barrier_inside_if, "same collectives"),
        (lambda model, path: torch.save(model.module, path) if dist.get_rank() == 0 else None, "barrier"),
    ],
    "ex-10.6": [
        (_mean_of_accuracies, "averaged the per-rank accuracies"),
        (_local_accuracy, "its own accuracy"),
        (_tensor_not_float, "Python float"),
        (_integer_division, "expected"),
        (_accuracy_without_return, "forget `return`"),
    ],
}

WRONG = {
    exercise_id: [(lambda answer=answer: answer, fragment) for answer, fragment in cases]
    for exercise_id, cases in _CASES.items()
}

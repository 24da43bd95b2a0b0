"""Checks for Chapter 7 (Saving and loading).

Checks that write files write them into a temporary folder of their own; checks that seed PyTorch's
global random generator give the learner's generator state back afterwards (``torch.random.fork_rng``).
"""

import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ...checkpoint import CheckpointError, save_checkpoint
from ...models import MLP
from ..exercises import ExerciseFailed, call, exercise, expect
from ._common import python_int, seeded
from ._common import same_state as _same_state

# A harmless tripwire: loading a file that contains a _Tripwire without weights_only=True calls _trip(),
# which only records that code stored in the file was run.
_TRIPPED: list[bool] = []


def _trip() -> None:
    _TRIPPED.append(True)


class _Tripwire:
    def __reduce__(self):
        return (_trip, ())


def _mlp(seed: int, hidden=(16,), out_features: int = 10, dropout: float = 0.0) -> MLP:
    return seeded(seed, lambda: MLP(64, hidden=hidden, out_features=out_features, dropout=dropout))


def _bn_model() -> nn.Module:
    return seeded(0, lambda: nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)))


def _describe(obj) -> str:
    return type(obj).__name__ if not isinstance(obj, (list, tuple)) else repr(obj)


@exercise("ex-7.1")
def check_ex_7_1(buffer_keys):
    with_non_persistent = seeded(0, nn.Linear, 3, 2)
    with_non_persistent.register_buffer("scale", torch.ones(2))
    with_non_persistent.register_buffer("cache", torch.zeros(3), persistent=False)
    cases = [
        (
            "nn.Sequential(Linear, BatchNorm1d, ReLU, Linear)",
            _bn_model(),
            ["1.num_batches_tracked", "1.running_mean", "1.running_var"],
        ),
        (
            "nn.Linear(3, 2) with a persistent buffer 'scale' and a non-persistent buffer 'cache'",
            with_non_persistent,
            ["scale"],
        ),
        ("nn.Linear(5, 2), which has no buffers", seeded(1, nn.Linear, 5, 2), []),
    ]
    for name, model, expected in cases:
        result = call(buffer_keys, model)
        expect(
            isinstance(result, list) and all(isinstance(k, str) for k in result),
            f"for {name} the result should be a list of key strings, got {_describe(result)}.",
        )
        saved = model.state_dict()
        stray = [k for k in result if k not in saved]
        expect(
            not stray,
            f"for {name} your list contains {stray}, which is not a key of model.state_dict() "
            "(a buffer registered with persistent=False is not saved).",
        )
        params = {n for n, _ in model.named_parameters()}
        wrong = [k for k in result if k in params]
        expect(not wrong, f"for {name} your list contains parameters: {wrong}.")
        expect(
            sorted(result) == expected,
            f"for {name} expected {len(expected)} buffer key(s), got {len(result)}: {result}. "
            "Hint: compare the state_dict keys with the names from named_parameters().",
        )
        expect(result == sorted(result), f"for {name} the list is not sorted.")


@exercise("ex-7.2")
def check_ex_7_2(load_for_inference):
    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as folder:
        source = _mlp(0, dropout=0.5)
        path = Path(folder) / "weights.pt"
        torch.save(source.state_dict(), path)
        model = call(load_for_inference, path, lambda: _mlp(1, dropout=0.5))
        expect(
            isinstance(model, nn.Module),
            f"load_for_inference should return the model, got {_describe(model)}.",
        )
        expect(
            _same_state(model.state_dict(), source.state_dict()),
            "the returned model does not hold the saved weights: load the file with load_state_dict.",
        )
        expect(all(p.device.type == "cpu" for p in model.parameters()), "the weights should be on the CPU.")
        expect(
            not any(m.training for m in model.modules()),
            "the returned model is still in training mode (dropout is active): call eval() before returning it.",
        )
        x = torch.rand(6, 1, 8, 8)
        source.eval()
        with torch.no_grad():
            expect(
                torch.equal(model(x), source(x)), "the loaded model predicts differently from the saved one."
            )

        trap = Path(folder) / "trap.pt"
        torch.save({**source.state_dict(), "note": _Tripwire()}, trap)
        _TRIPPED.clear()
        try:
            load_for_inference(trap, lambda: _mlp(1, dropout=0.5))
            refused = False
        except Exception:
            refused = True
        expect(
            not _TRIPPED,
            "opening a file that contains a pickled object ran code stored in that file: "
            "load with torch.load(..., weights_only=True).",
        )
        expect(refused, "a file that contains a non-tensor object (next to the weights) was not refused.")


@exercise("ex-7.3")
def check_ex_7_3(snapshot):
    with torch.random.fork_rng(devices=[]):
        for name, model in (("a helpers.MLP", _mlp(0)), ("a model with BatchNorm", _bn_model())):
            original = {k: v.clone() for k, v in model.state_dict().items()}
            snap = call(snapshot, model)
            expect(
                isinstance(snap, dict), f"for {name} snapshot should return a dict, got {_describe(snap)}."
            )
            expect(
                list(snap) == list(original),
                f"for {name} the keys differ from model.state_dict()'s: expected {list(original)}, got {list(snap)}.",
            )
            expect(
                all(isinstance(v, torch.Tensor) and torch.equal(v, original[k]) for k, v in snap.items()),
                f"for {name} the snapshot's tensors do not equal the model's at the time of the snapshot.",
            )
            # train the model a little, in place, as an optimizer (and BatchNorm) would
            model.train()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
            inputs = torch.rand(8, 1, 8, 8) if isinstance(model, MLP) else torch.rand(8, 4)
            model(inputs).square().mean().backward()
            optimizer.step()
            changed = [k for k, v in snap.items() if not torch.equal(v, original[k])]
            expect(
                not changed,
                f"for {name}, training the model after the snapshot changed the snapshot too "
                f"(keys {changed[:3]}...): the snapshot holds references, not copies.",
            )
            model.load_state_dict(snap)
            expect(
                _same_state(model.state_dict(), original),
                f"for {name}, loading the snapshot back did not restore the model.",
            )


@exercise("ex-7.4")
def check_ex_7_4(load_matching):
    with torch.random.fork_rng(devices=[]):
        source = _mlp(0, hidden=(16,), out_features=10).state_dict()
        target = _mlp(1, hidden=(16,), out_features=3)
        before = {k: v.clone() for k, v in target.state_dict().items()}
        result = call(load_matching, target, source)
        expect(
            isinstance(result, list), f"load_matching should return a list of keys, got {_describe(result)}."
        )
        expect(
            sorted(result) == ["net.3.bias", "net.3.weight"],
            f"loading a 10-class MLP's weights into a 3-class MLP: expected the head's two keys to be "
            f"reported as not loaded, got {result}.",
        )
        expect(result == sorted(result), "the list of keys is not sorted.")
        now = target.state_dict()
        expect(
            torch.equal(now["net.1.weight"], source["net.1.weight"])
            and torch.equal(now["net.1.bias"], source["net.1.bias"]),
            "the hidden layer (same shape in both models) was not loaded.",
        )
        expect(
            torch.equal(now["net.3.weight"], before["net.3.weight"]),
            "the mismatching head should keep the model's own values.",
        )

        extra = dict(source)
        extra["extra.weight"] = torch.zeros(2)
        same = _mlp(2, hidden=(16,), out_features=10)
        result = call(load_matching, same, extra)
        expect(
            result == [],
            f"when every key of the model is in the state dict (plus an extra key), expected [], "
            f"got {result}.",
        )
        expect(
            _same_state(same.state_dict(), source),
            "with an extra key in the state dict, the rest was not loaded.",
        )

        prefixed = {"module." + k: v for k, v in source.items()}
        untouched = _mlp(3, hidden=(16,), out_features=10)
        before = {k: v.clone() for k, v in untouched.state_dict().items()}
        result = call(load_matching, untouched, prefixed)
        expect(
            sorted(result) == sorted(before),
            "when no key matches (every key has a 'module.' prefix), every "
            f"key of the model should be reported, got {result}.",
        )
        expect(
            _same_state(untouched.state_dict(), before), "when no key matches, the model must stay unchanged."
        )


@exercise("ex-7.5")
def check_ex_7_5(new_head):
    with torch.random.fork_rng(devices=[]):
        for hidden, classes in (((16,), 3), ((16, 8), 2)):
            model = _mlp(0, hidden=hidden, out_features=10)
            old = {n: p.detach().clone() for n, p in model.named_parameters()}
            old_head = model.net[-1]
            result = call(new_head, model, classes)
            where = f"for an MLP with hidden={hidden} and num_classes={classes}"
            expect(
                isinstance(result, MLP), f"{where} new_head should return the MLP, got {_describe(result)}."
            )
            head = result.net[-1]
            expect(
                isinstance(head, nn.Linear) and head is not old_head,
                f"{where} the last layer of model.net should be a new nn.Linear.",
            )
            expect(
                head.in_features == hidden[-1] and head.out_features == classes,
                f"{where} the new head should map {hidden[-1]} -> {classes}, got "
                f"{head.in_features} -> {head.out_features}.",
            )
            out = result(torch.rand(5, 1, 8, 8))
            expect(
                tuple(out.shape) == (5, classes),
                f"{where} the output shape should be (5, {classes}), got {tuple(out.shape)}.",
            )
            trainable = [p for p in result.parameters() if p.requires_grad]
            expect(
                len(trainable) == 2 and trainable[0] is head.weight and trainable[1] is head.bias,
                f"{where} the only trainable parameters should be the new head's weight and bias; found "
                f"{len(trainable)} trainable tensor(s). "
                + (
                    "Hint: a layer created after freezing is trainable; was the new head frozen too?"
                    if not trainable
                    else "Hint: requires_grad_(False) on the existing parameters freezes the body."
                ),
            )
            optimizer = torch.optim.SGD(trainable, lr=0.5)
            head_before = head.weight.detach().clone()
            nn.functional.cross_entropy(out, torch.arange(5) % classes).backward()
            optimizer.step()
            body = {
                n: p for n, p in result.named_parameters() if not n.startswith(f"net.{len(result.net) - 1}.")
            }
            expect(
                all(torch.equal(p, old[n]) for n, p in body.items()),
                f"{where} a training step changed the body.",
            )
            expect(
                not torch.equal(head.weight, head_before), f"{where} a training step did not change the head."
            )


@exercise("ex-7.6")
def check_ex_7_6(start_epoch):
    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = _mlp(1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        result = python_int(
            call(start_epoch, folder / "missing.pt", model, optimizer), "start_epoch's result"
        )
        expect(result == 1, f"with no file at path, expected 1, got {result!r}.")
        expect(
            _same_state(model.state_dict(), before), "with no file at path, the model must stay unchanged."
        )

        trained = _mlp(0)
        trained_optimizer = torch.optim.Adam(trained.parameters(), lr=0.01)
        trained(torch.rand(4, 1, 8, 8)).sum().backward()
        trained_optimizer.step()
        good = save_checkpoint(
            folder / "good.pt", trained, trained_optimizer, epoch=3, metrics={"val_loss": 0.5}
        )
        result = python_int(call(start_epoch, good, model, optimizer), "start_epoch's result")
        expect(
            result == 4, f"for a checkpoint saved after epoch 3, expected 4 (the next epoch), got {result!r}."
        )
        expect(
            _same_state(model.state_dict(), trained.state_dict()),
            "the checkpoint's weights were not loaded into model.",
        )
        expect(
            bool(optimizer.state_dict()["state"]),
            "the checkpoint's optimizer state was not loaded into optimizer.",
        )

        corrupt = folder / "corrupt.pt"
        corrupt.write_bytes(Path(good).read_bytes()[:500])
        wider = _mlp(2, hidden=(32,))
        for name, path, target in (
            ("a corrupt file", corrupt, _mlp(3)),
            ("a checkpoint from a different architecture", good, wider),
        ):
            try:
                result = start_epoch(path, target, torch.optim.Adam(target.parameters(), lr=0.01))
            except CheckpointError:
                continue
            except Exception as err:
                raise ExerciseFailed(
                    f"for {name} expected a CheckpointError, got {type(err).__name__}: {err}"
                ) from None
            raise ExerciseFailed(
                f"for {name} your function returned {result!r} instead of raising CheckpointError: "
                "silently starting over would throw away the training the file was meant to keep."
            )


# ---- ex-7.7: resume in the middle of an epoch ------------------------------------------------------

_SAMPLES, _BATCH, _EPOCHS = 37, 8, 3  # 5 batches per epoch (the last one of 5 samples), 15 in all
_PER_EPOCH = -(-_SAMPLES // _BATCH)
_START_SEED = 11  # the global random state the first call starts from (later calls: other seeds)


class _LoggedNet(nn.Module):
    """A small classifier with dropout that records, at every forward call, the batch it got, the global
    random state (which draws its dropout mask) and its weights: runs are compared call by call."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.cat([p.detach().flatten() for p in self.parameters()])
        self.calls.append((x.detach().clone(), torch.get_rng_state(), weights))
        return self.net(x)


def _resume_setup(init_seed: int):
    """What a new process builds: a model (its own random start), Adam, and a loader seeded as at the start."""
    data = torch.Generator().manual_seed(123)
    inputs = torch.randn(_SAMPLES, 6, generator=data)
    targets = torch.randint(0, 3, (_SAMPLES,), generator=data)
    model = seeded(init_seed, _LoggedNet)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(
        TensorDataset(inputs, targets),
        batch_size=_BATCH,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    return model, optimizer, loader


def _plain_loop():
    """The reference: the four lines of a training step over _EPOCHS epochs, without any interruption."""
    model, optimizer, loader = _resume_setup(0)
    losses = []

    def run() -> None:
        for _ in range(_EPOCHS):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())

    seeded(_START_SEED, run)
    return losses, model


def _where(j: int) -> str:
    return f"batch {j % _PER_EPOCH + 1} of epoch {j // _PER_EPOCH + 1}"


def _first_difference(calls, reference, resumed_at, label):
    """Name the first forward call where the learner's run leaves the reference run. ``resumed_at``: the
    index of the first batch this call trained after loading the checkpoint (None: the call started afresh)."""
    for j, ((x, rng, weights), (x_ref, rng_ref, weights_ref)) in enumerate(zip(calls, reference)):
        if resumed_at is None:
            if not torch.equal(x, x_ref):
                raise ExerciseFailed(
                    f"{label}: at {_where(j)} the model got other samples than in a plain loop over "
                    "train_loader: keep the order the loader gives (do not reseed or replace its generator)."
                )
            expect(
                torch.equal(rng, rng_ref),
                f"{label}: at {_where(j)} the global random state, which draws the dropout masks, is not the "
                "one of a plain loop: the call must not draw random numbers of its own.",
            )
            expect(
                torch.equal(weights, weights_ref),
                f"{label}: at {_where(j)} the weights differ from a plain loop's: each batch is "
                "optimizer.zero_grad(), the loss, backward() and optimizer.step(), with the model in training "
                "mode.",
            )
            continue
        if j < resumed_at:
            continue  # checked after the earlier calls
        after = f" (this call resumed from the checkpoint at {_where(resumed_at)})"
        expect(
            j > resumed_at or torch.equal(weights, weights_ref),
            f"{label}: when training resumed at {_where(j)}, the model's weights were not the ones saved at "
            "the stop.",
        )
        if not torch.equal(x, x_ref):
            epoch_start = j - j % _PER_EPOCH
            same_epoch = [
                k for k in range(epoch_start, epoch_start + _PER_EPOCH) if torch.equal(x, reference[k][0])
            ]
            if same_epoch:
                raise ExerciseFailed(
                    f"{label}: where {_where(j)} was due{after}, the model got {_where(same_epoch[0])} instead: "
                    "count the batches of the epoch that were trained before the stop."
                )
            raise ExerciseFailed(
                f"{label}: from {_where(j)} on{after}, the batches came in a different order from the "
                "uninterrupted run. The loader draws an epoch's order from train_loader.generator when that "
                "epoch begins: which state of the generator replays it?"
            )
        expect(
            torch.equal(rng, rng_ref),
            f"{label}: at {_where(j)}{after} the global random state, which draws the dropout masks, is not the "
            "one of the uninterrupted run: save it at the stop and restore it when resuming.",
        )
        expect(
            torch.equal(weights, weights_ref),
            f"{label}: at {_where(j)}{after} the weights drift away from the uninterrupted run although the "
            "batches and the dropout masks agree: the optimizer's state (Adam's moving averages and step "
            "counts) belongs in the checkpoint too.",
        )


def _expect_losses(losses, count, budget, label):
    stray = next((v for v in losses if not isinstance(v, float)), None) if isinstance(losses, list) else None
    expect(
        isinstance(losses, list) and stray is None,
        f"{label}: train_resumable should return a list of Python floats (loss.item() of every batch it "
        f"trained), got a {type(losses).__name__}"
        + ("" if stray is None else f" holding a {type(stray).__name__}")
        + ".",
    )
    expect(
        len(losses) == count,
        f"{label}: it trained {len(losses)} batches, expected {count}"
        + (
            f" ({_EPOCHS} epochs of {_PER_EPOCH} batches)."
            if budget is None
            else ": a call with max_batches=k trains k batches (fewer only when training completes), then "
            "saves and returns."
        ),
    )


@exercise("ex-7.7")
def check_ex_7_7(train_resumable):
    reference_losses, reference_model = _plain_loop()
    reference = reference_model.calls
    total = _EPOCHS * _PER_EPOCH
    with tempfile.TemporaryDirectory() as folder:
        # The stops: mid-epoch 2, then mid-epoch 3; mid-epoch 1, then exactly at the end of epoch 1.
        scenarios: tuple[tuple[str, list[int | None]], ...] = (
            ("one call with max_batches=None", [None]),
            ("calls with max_batches 7, 5, None", [7, 5, None]),
            ("calls with max_batches 2, 3, 100", [2, 3, 100]),
        )
        for number, (label, budgets) in enumerate(scenarios):
            path = Path(folder) / f"run{number}.pt"
            losses: list[float] = []
            calls: list = []
            for k, budget in enumerate(budgets):
                model, optimizer, loader = _resume_setup(0 if k == 0 else 100 + k)  # a fresh start each call
                done = len(losses)
                left = total - done
                got = seeded(
                    _START_SEED if k == 0 else 200 + k,
                    call,
                    train_resumable,
                    model,
                    optimizer,
                    loader,
                    nn.functional.cross_entropy,
                    _EPOCHS,
                    path,
                    budget,
                )
                what = label if len(budgets) == 1 else f"{label}, call {k + 1} (max_batches={budget})"
                _expect_losses(got, left if budget is None else min(budget, left), budget, what)
                losses += got
                calls += model.calls
                _first_difference(calls, reference, None if k == 0 else done, what)
                if budget is not None and budget < left:
                    expect(
                        path.exists(),
                        f"{what}: the call stopped but left no checkpoint at path: the next call could not "
                        "continue.",
                    )
                    try:
                        torch.load(path, weights_only=True)
                    except Exception as err:
                        raise ExerciseFailed(
                            f"{what}: the checkpoint does not load with weights_only=True ({type(err).__name__}): "
                            "store states (tensors, numbers, plain containers), not objects such as the "
                            "generator itself."
                        ) from None
            expect(
                losses == reference_losses,
                f"{label}: the losses returned differ from the uninterrupted run's although the model saw the same "
                "batches: return loss.item() of each trained batch, in order.",
            )
            final = dict(reference_model.state_dict())
            expect(
                all(torch.equal(model.state_dict()[key], final[key]) for key in final),
                f"{label}: after the last call the parameters differ from the uninterrupted run's.",
            )

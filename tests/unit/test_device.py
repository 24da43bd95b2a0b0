import random

import numpy as np
import pytest
import torch

from helpers import describe_device, get_device, seed_everything


def test_auto_device_is_available_one():
    device = get_device()
    assert device.type in {"cpu", "cuda", "mps"}
    if torch.cuda.is_available():
        assert device.type == "cuda"
    elif not torch.backends.mps.is_available():
        assert device.type == "cpu"


def test_explicit_cpu():
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "tpu0", "", "cuda:x"])
def test_unknown_device_string_is_rejected(bad):
    with pytest.raises(ValueError, match="unknown device"):
        get_device(bad)


def test_non_string_device_is_rejected():
    with pytest.raises(TypeError, match="device string"):
        get_device(0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="machine has CUDA")
def test_unavailable_cuda_says_so():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_seed_everything_makes_all_three_generators_repeat():
    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1] and torch.equal(first[2], second[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_non_negative_int(bad):
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(bad)


def test_describe_device_cpu():
    assert describe_device(torch.device("cpu")).startswith("cpu (")

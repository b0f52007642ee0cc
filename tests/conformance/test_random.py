"""Seeded counter-based random numbers: the same bits on every backend, matching an
independent Philox4x32-10 reference (Random123 known-answer vectors)."""

from __future__ import annotations

import numpy as np
import pytest

import boostr
from boostr import Generator
from boostr.testing import philox
from boostr.testing.pytest_support import case_params, check_case, raises_arg


@case_params("random")
def test_case(client, case, dt):
    check_case(case, client, dt)


@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ],
)  # fmt: skip
def test_reference_philox_known_answers(counter, key, expected):
    assert philox.philox4x32_10(counter, key) == expected


def test_uniform_bits_exact(client):
    """``rand`` in f32 is exactly ``(r0 >> 8) / 2**24``: 24 bits fit an f32 mantissa."""
    for seed in (0, 1234567, 2**63 + 17):
        got = client.rand(300, generator=Generator(seed)).numpy()
        np.testing.assert_array_equal(got, philox.uniform(300, seed, 0).astype(np.float32))


def test_uniform_range_within_one_rounding(client):
    got = client.uniform((200,), -3.0, 5.0, generator=Generator(42)).numpy().astype(np.float64)
    want = philox.uniform(200, 42, 0, -3.0, 5.0)
    np.testing.assert_allclose(got, want, rtol=2.0**-23, atol=8 * 2.0**-24)
    assert got.min() >= -3.0 and got.max() < 5.0


def test_randint_exact(client):
    got = client.randint(-7, 1000, (500,), generator=Generator(9)).numpy()
    np.testing.assert_array_equal(got, philox.randint(500, 9, 0, -7, 1000))


def test_normal_moments_and_reference(client):
    got = client.randn(4096, generator=Generator(2024)).numpy().astype(np.float64)
    assert abs(got.mean()) < 0.06 and abs(got.std() - 1.0) < 0.05
    np.testing.assert_allclose(got[:64], philox.normal(64, 2024, 0), rtol=1e-4, atol=1e-5)


def test_generator_offsets_advance_and_repeat(client):
    g = Generator(5)
    a = client.rand(16, generator=g).numpy()
    b = client.rand(16, generator=g).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, philox.uniform(16, 5, 1).astype(np.float32))
    g.manual_seed(5)
    np.testing.assert_array_equal(client.rand(16, generator=g).numpy(), a)


def test_shape_does_not_change_the_stream(client):
    a = client.rand(3, 4, generator=Generator(8)).numpy()
    b = client.rand(12, generator=Generator(8)).numpy()
    np.testing.assert_array_equal(a.reshape(-1), b)


def test_same_numbers_as_cpu(client):
    if client.kind == "cpu":
        pytest.skip("compares a GPU backend with the CPU")
    cpu = boostr.get_client("cpu")
    for draw in (
        lambda c: c.rand(100, generator=Generator(3)),
        lambda c: c.randint(0, 50, 100, generator=Generator(3)),
    ):
        np.testing.assert_array_equal(draw(client).numpy(), draw(cpu).numpy())


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        (lambda c: c.rand(3, dtype="i32"), "dtype"),
        (lambda c: c.randn(3, dtype="bool"), "dtype"),
        (lambda c: c.randint(0, 10, 3, dtype="f32"), "dtype"),
        (lambda c: c.randint(5, 5, 3), "high"),
        (lambda c: c.randint(0, 2**33, 3), "high"),
        (lambda c: c.uniform((3,), dtype="i64"), "dtype"),
        (lambda c: Generator(-1), "seed"),
        (lambda c: Generator(2**64), "seed"),
    ],
    ids=["rand-int", "randn-bool", "randint-float", "randint-empty-range", "randint-span", "uniform-int",
         "seed-negative", "seed-too-big"],
)  # fmt: skip
def test_bad_input(client, fn, arg):
    raises_arg(lambda: fn(client), arg)

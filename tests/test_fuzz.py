"""Fuzzing the decoder: any bytes either decode (and rank) or raise our ProfileError."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_identify.errors import ProfileError
from perf_identify.hotspots import PathMapper, rank_profile
from perf_identify.pprof import decode_profile
from tests.fake_vm import recorded_profile
from tests.mutations import mutate, mutate_structure
from tests.test_pprof import FIXTURE_NAMES

_SEEDS = [recorded_profile(), recorded_profile(compress=True)]


def _decode_or_profile_error(data: bytes) -> None:
    """Anything but success or a ProfileError naming the file propagates and fails the test."""
    message = ""
    try:
        profile = decode_profile(data, "fuzzed.pb", max_inflated_bytes=1 << 24)
    except ProfileError as error:
        message = error.message
    else:
        rank_profile(profile, PathMapper("lang/src/vm", lambda _: False))
        return
    assert message.startswith("fuzzed.pb"), message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(_SEEDS))), rng_seed=st.integers(0, 2**32 - 1))
def test_mutated_builder_profiles(seed: int, rng_seed: int) -> None:
    _decode_or_profile_error(mutate(_SEEDS[seed], random.Random(rng_seed)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(_SEEDS))), rng_seed=st.integers(0, 2**32 - 1))
def test_structurally_inconsistent_builder_profiles(seed: int, rng_seed: int) -> None:
    _decode_or_profile_error(mutate_structure(_SEEDS[seed], random.Random(rng_seed)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes(data: bytes) -> None:
    _decode_or_profile_error(data)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_mutated_real_profiles(shared_fixtures: Path, name: str) -> None:
    data = (shared_fixtures / "profiles" / name / "profile.pb").read_bytes()
    rng = random.Random(name)
    for _ in range(40):
        _decode_or_profile_error(mutate(data, rng))
        _decode_or_profile_error(mutate_structure(data, rng))

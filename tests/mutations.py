"""Byte-level mutations of profiles, shared by the fuzz test and bench/fuzz.py."""

from __future__ import annotations

import gzip
import random

from perf_identify._proto import profile_pb2


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits: flip bytes, truncate, insert, duplicate or delete a span."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        position = rng.randrange(len(buffer) + 1)
        if kind == 0 and buffer:
            for _ in range(rng.randint(1, 8)):
                buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        elif kind == 1:
            del buffer[position:]
        elif kind == 2:
            buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 3 and buffer:
            start = rng.randrange(len(buffer))
            span = buffer[start : start + rng.randint(1, 64)]
            buffer[position:position] = span
        else:
            del buffer[position : position + rng.randint(1, 32)]
    return bytes(buffer)


def mutate_structure(data: bytes, rng: random.Random) -> bytes:
    """A well-formed protobuf with one to three inconsistent fields: ids, string indices,
    removed or duplicated entries, odd values. Reaches the resolver, not just the parser."""
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    message = profile_pb2.Profile.FromString(raw)
    for _ in range(rng.randint(1, 3)):
        _edit(message, rng)
    return message.SerializeToString()


def _edit(message: profile_pb2.Profile, rng: random.Random) -> None:
    wild = rng.choice([0, 1, 2, 7, 2**31, 2**63 - 1, -1, rng.randrange(1000)])
    choice = rng.randrange(10)
    if choice == 0 and message.sample:
        sample = rng.choice(message.sample)
        if sample.location_id:
            sample.location_id[rng.randrange(len(sample.location_id))] = abs(wild)
    elif choice == 1 and message.location:
        location = rng.choice(message.location)
        if location.line:
            location.line[0].function_id = abs(wild)
    elif choice == 2 and message.function:
        rng.choice(message.function).name = wild
    elif choice == 3 and message.location:
        rng.choice(message.location).id = abs(wild)
    elif choice == 4 and message.sample:
        del message.sample[rng.randrange(len(message.sample)) :]
    elif choice == 5 and message.sample:
        sample = rng.choice(message.sample)
        if sample.value:
            sample.value[rng.randrange(len(sample.value))] = wild
    elif choice == 6:
        message.default_sample_type = wild
    elif choice == 7 and message.location:
        del rng.choice(message.location).line[:]
    elif choice == 8 and message.string_table:
        message.string_table[rng.randrange(len(message.string_table))] = rng.choice(
            ["", "x", "Unknown"]
        )
    elif message.sample:
        message.sample.add().CopyFrom(rng.choice(message.sample))

"""Generate a large pprof profile (for bench/condense.py and bench/speed.py).

Two shapes, both gzip-compressed as pprof prefers and deterministic for a given --seed:

* `--from PROFILE`: the samples of a real profile, repeated (and their values varied) until
  there are --samples of them; its locations, functions and strings as they are. This is what a
  long pprof-rs run looks like when every sample is kept: a million samples over the few
  thousand stacks of a real VM (8 MB gzipped from aoc2022_day11).
* default: 1,000,000 samples over 50,000 functions, every stack different, 40-120 frames deep,
  shaped like a pprof-rs profile of a VM: library frames at the leaf end, then a run of VM
  frames, then `main` and `_start`. A stress test: no real profile has a million distinct
  stacks (175 MB gzipped).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.builders import ProfileBuilder

VM_ROOT = "/home/dev/santa-lang-blitzen/lang/src/vm"


def generate(samples: int, functions: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    builder = ProfileBuilder()
    vm_count = max(10, functions // 50)
    ids: list[int] = []
    for index in range(functions):
        if index < vm_count:
            module = ("runtime", "builtins", "value")[index % 3]
            frame = (f"lang::vm::{module}::VM::op_{index}", f"{VM_ROOT}/{module}.rs", 1)
        else:
            crate = ("core", "alloc", "std", "hashbrown")[index % 4]
            frame = (f"{crate}::module_{index % 97}::function_{index}", "/rustc/x/lib.rs", 1)
        ids.append(builder.location(frame))
    id_array = np.array(ids, dtype=np.int64)
    roots = [builder.location(("main", "Unknown", 0)), builder.location(("_start", "Unknown", 0))]
    depths = rng.integers(40, 121, size=samples)
    vm_depths = np.minimum(rng.integers(5, 31, size=samples), depths - 5)
    library = rng.integers(vm_count, functions, size=int((depths - vm_depths - 2).sum()))
    vm = rng.integers(0, vm_count, size=int(vm_depths.sum()))
    lib_at = vm_at = 0
    for depth, vm_depth in zip(depths.tolist(), vm_depths.tolist(), strict=True):
        lib_len = depth - vm_depth - 2
        stack = id_array[library[lib_at : lib_at + lib_len]].tolist()
        stack += id_array[vm[vm_at : vm_at + vm_depth]].tolist()
        lib_at += lib_len
        vm_at += vm_depth
        builder.sample_ids([*stack, *roots])
    return builder.build(compress=True)


def from_real(path: Path, samples: int, seed: int) -> bytes:
    """`samples` samples cycled from the real profile at `path`, values times 1 to 999."""
    import gzip

    from perf_identify._proto import profile_pb2

    data = path.read_bytes()
    message = profile_pb2.Profile()
    message.ParseFromString(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    real = list(message.sample)
    message.ClearField("sample")
    rng = np.random.default_rng(seed)
    factors = rng.integers(1, 1000, size=samples).tolist()
    for index in range(samples):
        source = real[index % len(real)]
        sample = message.sample.add()
        sample.location_id.extend(source.location_id)
        sample.value.extend(value * factors[index] for value in source.value)
    return gzip.compress(message.SerializeToString(), compresslevel=6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from", dest="real", type=Path, help="repeat this real profile's samples")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.real is not None:
        data = from_real(args.real, args.samples, args.seed)
    else:
        data = generate(args.samples, args.functions, args.seed)
    args.out.write_bytes(data)
    print(
        f"wrote {args.out}: {len(data) / 1e6:.1f} MB, {args.samples} samples, "
        f"{args.functions} functions in {time.perf_counter() - started:.0f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

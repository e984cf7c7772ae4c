"""Generate a large synthetic pprof profile with the test builder (for bench/condense.py).

Default: 1,000,000 samples over 50,000 functions, stacks 40-120 frames deep, gzip-compressed as
pprof prefers, shaped like a pprof-rs profile of a VM: each stack is library frames at the leaf
end, then a run of VM frames, then `main` and `_start`. Deterministic for a given --seed.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--functions", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    data = generate(args.samples, args.functions, args.seed)
    args.out.write_bytes(data)
    print(
        f"wrote {args.out}: {len(data) / 1e6:.1f} MB, {args.samples} samples, "
        f"{args.functions} functions in {time.perf_counter() - started:.0f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

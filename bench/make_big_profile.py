"""Generate a large synthetic pprof profile with the test builder (for bench/condense.py).

1,000,000 samples over 50,000 functions, stacks 40-120 frames deep, gzip-compressed as pprof
prefers. Stacks share a few hundred VM roots and random library tails so that attribution, flat
and cum all have real work to do. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.builders import ProfileBuilder

VM_ROOT = "/home/dev/santa-lang-blitzen/lang/src/vm"


def generate(samples: int, functions: int, seed: int) -> bytes:
    rng = random.Random(seed)
    builder = ProfileBuilder()
    vm_count = max(10, functions // 50)
    names: list[tuple[str, str, int]] = []
    for index in range(functions):
        if index < vm_count:
            module = ("runtime", "builtins", "value")[index % 3]
            names.append((f"lang::vm::{module}::VM::op_{index}", f"{VM_ROOT}/{module}.rs", 1))
        else:
            crate = ("core", "alloc", "std", "hashbrown")[index % 4]
            names.append((f"{crate}::module_{index % 97}::function_{index}", "/rustc/x/lib.rs", 1))
    roots = [("_start", "Unknown", 0), ("main", "Unknown", 0)]
    for _ in range(samples):
        depth = rng.randint(40, 120)
        vm_depth = rng.randint(5, min(30, depth - 5))
        stack = [names[rng.randrange(vm_count, functions)] for _ in range(depth - vm_depth - 2)]
        stack += [names[rng.randrange(vm_count)] for _ in range(vm_depth)]
        builder.sample([*stack, *reversed(roots)], 1)
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

"""perf-identify: a CPU profile of a Rust bytecode VM in, ranked and checked issue files out."""

__version__ = "0.1.0"

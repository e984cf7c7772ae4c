"""One module per CLI command. Each has `build_parser()` and `run(args, stdout, stderr) -> int`;
`perf_identify.cli` maps command names to these modules and imports only the one it runs."""

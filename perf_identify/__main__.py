"""`python -m perf_identify` runs the same CLI as the console script."""

from perf_identify.cli import main_entry

main_entry()

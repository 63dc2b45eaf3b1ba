"""Benchmarks: scripts that print numbers, run with ``make bench``. See bench/README.md."""

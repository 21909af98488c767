"""Sophia benchmarks (`make bench`): each prints a table and writes bench/results/<name>.json."""

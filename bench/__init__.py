"""Benchmarks: `python -m bench.run` writes bench/results/latest.md and latest.json (see bench/README.md)."""

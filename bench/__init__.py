"""Accord's benchmarks. `make bench` (python -m bench) runs every bench/bench_*.py; see bench/__main__.py."""

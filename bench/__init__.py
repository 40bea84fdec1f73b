"""Benchmarks for Leads, as ratios against baselines measured in the same run: `make bench` rewrites BENCHMARKS.md."""

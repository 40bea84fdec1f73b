"""Benchmarks for Leads, reported as ratios against baselines measured in the same run.

`make bench` (or `python -m bench.run`) rewrites BENCHMARKS.md; `python -m bench.run --quick` is a
small smoke run. Nothing here is imported by the app.
"""

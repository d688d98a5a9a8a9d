"""Benchmarks behind `onebyone bench` and the scripts in benchmarks/."""

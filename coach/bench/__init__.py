"""Benchmarks: they print figures for a person to judge; tests never assert timings."""

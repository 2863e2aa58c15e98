"""Benchmarks: recall on LoCoMo, knowledge operations, date resolution and speed."""

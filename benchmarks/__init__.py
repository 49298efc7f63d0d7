"""Performance suite (not timed tests): `make bench` or `python -m benchmarks.run`."""

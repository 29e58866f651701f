"""Developer tools run from a checkout, not part of the service: the benchmarks (`bench/`),
the comparison with the reference implementation and the translation to its arguments."""

"""Building report files in code: for the demo, the tests and the benchmarks."""

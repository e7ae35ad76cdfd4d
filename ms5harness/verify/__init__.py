"""The framework layer of the verification suites: a deployed stack and the probes run against it."""

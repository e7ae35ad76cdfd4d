"""Hypotheses in numbers: PromQL probes whose values experiments bound with range tolerances."""

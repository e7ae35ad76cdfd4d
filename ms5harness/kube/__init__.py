"""Kubernetes helpers shared by deploy, suites and chaos: clients, waits, exec."""

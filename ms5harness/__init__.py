"""MS5 deployment-verification and chaos harness."""

__version__ = "0.1.0"

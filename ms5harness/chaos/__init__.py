"""Faults to inject into a deployed MS5 stack, and the probes that judge it, as Chaos Toolkit
activities (one package per resource kind, `actions.py` beside `probes.py`).

Every action that changes something writes its undo into the ledger *before* changing it,
so `ledger.rollback` (run by the experiment's rollbacks and by `ms5harness.chaos.control`
after every run, failed or interrupted) puts the stack back even after a crash.
"""

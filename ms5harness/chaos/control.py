"""Chaos Toolkit control that makes rollback unconditional.

`chaos run` plays an experiment's rollbacks only when it completes; a failed or
interrupted run would leave the fault in place. Declared in every experiment's
`controls`, this module rolls back whatever the ledger still holds: first any
leftovers of an earlier run that was killed, then everything after the run,
whatever its outcome, and once more at cleanup should the run have been cut short.

It also refuses a pass that did not judge: Chaos Toolkit ends a run whose steady state was not
met before the method as "completed", not deviated, with no method run, and `chaos run` exits 0;
and it ignores a method activity that failed (a bound checked while the fault plays, e.g.
prometheus.probes.query_within). Such a run is marked failed here, so the exit status and every
reader of the journal see it.
"""

from __future__ import annotations

import logging

from ms5harness.chaos import ledger

logger = logging.getLogger("chaostoolkit")
_configuration: dict | None = None


def _rollback(when: str) -> None:
    undone = ledger.rollback(_configuration)
    if undone:
        logger.info(f"ms5harness rollback {when}: {'; '.join(undone)}")


def configure_control(configuration: dict | None = None, secrets: dict | None = None, **_kwargs) -> None:
    global _configuration
    _configuration = configuration
    _rollback("of an earlier interrupted run")


def why_not_held(journal: dict) -> str | None:
    """Why a journal that calls itself completed did not hold its hypothesis, or None."""
    before = (journal.get("steady_states") or {}).get("before")
    if before is not None and not before.get("steady_state_met"):
        return "the steady state was not met before the method, so the method never ran"
    failed = [run["activity"]["name"] for run in journal.get("run") or [] if run.get("status") != "succeeded"]
    if failed:
        return f"method activities failed: {', '.join(failed)}"
    return None


def after_experiment_control(context: dict, state: dict | None = None, configuration: dict | None = None,
                             secrets: dict | None = None, **_kwargs) -> None:
    _rollback("after the experiment")
    reason = why_not_held(state or {})
    if reason and state.get("status") == "completed":
        state["status"] = "failed"
        logger.critical(f"ms5harness: experiment failed: {reason}")


def cleanup_control() -> None:
    _rollback("at cleanup")

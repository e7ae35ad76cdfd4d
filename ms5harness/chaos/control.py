"""Chaos Toolkit control that makes rollback unconditional.

`chaos run` plays an experiment's rollbacks only when it completes; a failed or
interrupted run would leave the fault in place. Declared in every experiment's
`controls`, this module rolls back whatever the ledger still holds: first any
leftovers of an earlier run that was killed, then everything after the run,
whatever its outcome, and once more at cleanup should the run have been cut short.
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


def after_experiment_control(context: dict, state: dict | None = None, configuration: dict | None = None,
                             secrets: dict | None = None, **_kwargs) -> None:
    _rollback("after the experiment")


def cleanup_control() -> None:
    _rollback("at cleanup")

"""The resilience score, 0-100, per experiment attempt, per service, and over repeated runs.

experiment = 100 x (weights of the gates that held) / (weights of all gates)   [Krkn: critical 3, warning 1]
             - burn penalty:     min(20, 10 x fault-phase burn rate / 14.4)   [14.4x: the fast-burn page]
             - recovery penalty: min(20, 20 x (time to recover - target) / target) when late; 20 if never
             floored at 0; an attempt whose method never ran (steady state unmet) scores 0.
service    = mean of its experiments' scores weighted by their plan weight.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

FAST_BURN = 14.4  # SRE workbook: 2 % of a 30-day budget in one hour pages
BURN_PENALTY_MAX = RECOVERY_PENALTY_MAX = 20.0
FORMULA = __doc__.split("\n\n", 1)[1].strip()


def burn_penalty(fault_burn_rate: float | None) -> float:
    return 0.0 if fault_burn_rate is None else min(BURN_PENALTY_MAX, 10 * fault_burn_rate / FAST_BURN)


def recovery_penalty(time_to_recover: float | None, target: float) -> float:
    if time_to_recover is None:
        return RECOVERY_PENALTY_MAX
    late = max(0.0, time_to_recover - target)
    return min(RECOVERY_PENALTY_MAX, RECOVERY_PENALTY_MAX * late / target)


def experiment_score(gates: list[dict], judged: bool, fault_burn_rate: float | None,
                     time_to_recover: float | None, recover_within: float) -> float:
    if not judged or not gates:
        return 0.0
    total = sum(g["weight"] for g in gates)
    held = sum(g["weight"] for g in gates if g["passed"])
    score = 100 * held / total - burn_penalty(fault_burn_rate) - recovery_penalty(time_to_recover, recover_within)
    return round(max(0.0, score), 1)


def services(experiments: list[dict]) -> list[dict]:
    """Each service's weighted mean score over every attempt of its experiments."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for e in experiments:
        grouped[e["service"]].append(e)
    return [{"service": name, "experiments": sorted({e["name"] for e in group}),
             "score": round(sum(e["score"] * e["weight"] for e in group) / sum(e["weight"] for e in group), 1),
             "passed": all(e["passed"] for e in group)}
            for name, group in sorted(grouped.items())]


def repeats(experiments: list[dict]) -> list[dict]:
    """Pass rate and spread per experiment over its attempts (`--repeat N`)."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for e in experiments:
        grouped[e["name"]].append(e)
    out = []
    for name, group in grouped.items():
        scores = [e["score"] for e in group]
        passed = sum(e["passed"] for e in group)
        out.append({"experiment": name, "runs": len(group), "passed": passed, "pass_rate": round(passed / len(group), 3),
                    "score_mean": round(statistics.fmean(scores), 1),
                    "score_stdev": round(statistics.pstdev(scores), 1), "score_min": min(scores), "score_max": max(scores)})
    return out

"""Reading the timeline's sources: nginx's access log as the entry point's figures, and
AlertManager's alert list as firing and resolution times."""

from ms5harness.resilience.sources import AlertWatcher, access_samples

LOG = """\
10.244.0.1 - [01/Dec/2026:22:10:05 +0000] "GET /api/v1/dashboard/summary HTTP/1.1" 200 512 "python-requests/2.32.3" rt=0.012 urt=0.011
10.244.0.1 - [01/Dec/2026:22:10:06 +0000] "POST /api/v1/andon/events HTTP/1.1" 502 150 "python-requests/2.32.3" rt=0.003 urt=0.002 t=1796163006.734
10.244.0.1 - [01/Dec/2026:22:10:06 +0000] "GET /health/detailed HTTP/1.1" 200 80 "python-httpx/0.28.1" rt=0.030 urt=0.030
2026/12/01 22:10:07 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream
"""


def test_the_floors_requests_are_read_and_health_checks_left_out():
    samples, unreadable = access_samples(LOG)
    assert [(s.seconds, s.failed) for s in samples] == [(0.012, False), (0.003, True)]
    assert samples[0].started == 1796163005.0 - 0.012 and unreadable == 1  # the error line is no access line
    assert samples[1].started == 1796163006.734 - 0.003  # to the millisecond where the log has $msec


def alert(fingerprint, name, starts_at, state="active"):
    return {"fingerprint": fingerprint, "labels": {"alertname": name, "severity": "critical"},
            "startsAt": starts_at, "status": {"state": state}}


def test_alerts_fire_when_listed_and_resolve_when_no_longer_listed():
    watcher = AlertWatcher("http://127.0.0.1:1")
    watcher.observe([alert("a", "MS5Watchdog", "2026-12-01T22:00:00Z")], now=100)
    watcher.observe([alert("a", "MS5Watchdog", "2026-12-01T22:00:00Z"),
                     alert("b", "MS5PostgresNoPrimary", "2026-12-01T22:10:30.5Z"),
                     alert("c", "Silenced", "2026-12-01T22:10:30Z", state="suppressed")], now=105)
    watcher.observe([alert("a", "MS5Watchdog", "2026-12-01T22:00:00Z")], now=170)
    by_name = {a["name"]: a for a in watcher.alerts()}
    assert set(by_name) == {"MS5Watchdog", "MS5PostgresNoPrimary"}
    assert by_name["MS5PostgresNoPrimary"]["starts_at"] == 1796163030.5
    assert by_name["MS5PostgresNoPrimary"]["resolved_at"] == 170 and by_name["MS5Watchdog"]["resolved_at"] is None

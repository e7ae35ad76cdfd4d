"""Service levels: targets read from the chart's values, exact client figures, counters that also
count series born inside the window, and no data never passing."""

import pytest

from ms5harness import objectives, slo

SLOS = objectives.load("local")


def test_the_targets_are_the_charts():
    assert (SLOS.availability, SLOS.latency_p95, SLOS.error_ratio, SLOS.db_query_p95) == (0.999, 0.2, 0.01, 0.1)
    assert SLOS.error_budget == pytest.approx(0.001)


def test_the_local_profile_scrapes_fast_enough_for_recovery_times():
    assert objectives.scrape_seconds("local") == 5 and objectives.scrape_seconds("aks") == 15


def test_sample_figures_are_exact_and_windowed():
    samples = [slo.Sample(t, 0.01 * (t % 20 + 1), failed=t in (5, 6)) for t in range(100)]
    figures = slo.sample_figures(samples, 0, 20)
    assert (figures.requests, figures.failures, figures.error_ratio) == (20, 2, 0.1)
    assert figures.availability == 0.9 and figures.p50 == pytest.approx(0.10) and figures.p95 == pytest.approx(0.19)


def test_a_window_without_requests_has_no_ratios():
    figures = slo.sample_figures([slo.Sample(50, 0.01, False)], 0, 20)
    assert figures.requests == 0 and figures.error_ratio is None and figures.p95 is None


def test_counted_adds_series_born_inside_the_window():
    query = slo.counted("http_requests_total{job=\"backend\"}", "60s")
    assert "increase(http_requests_total{job=\"backend\"}[60s]) and http_requests_total{job=\"backend\"} offset 60s" in query
    assert "max_over_time(http_requests_total{job=\"backend\"}[60s]) unless http_requests_total{job=\"backend\"} offset 60s" in query
    assert query.count(" or ") == 2  # either part alone when the other is empty


@pytest.mark.parametrize("measure,bound,value,met", [
    ("availability", 0.999, 0.9995, True), ("availability", 0.999, 0.998, False),
    ("p95", 0.2, 0.150, True), ("p95", 0.2, 0.200, False),
    ("error_ratio", 0.01, 0.0, True), ("error_ratio", 0.01, 0.02, False),
    ("db_query_p95", 0.1, 0.05, True), ("db_query_p95", 0.1, 0.1, False),
])
def test_thresholds(measure, bound, value, met):
    assert slo.Threshold(measure, bound).met(value) is met


def test_no_data_is_a_breach_and_says_so():
    verdicts = slo.verdicts(slo.Figures(), SLOS, "server")
    assert verdicts and all(not v.met and "no data" in v.line() for v in verdicts)
    assert [v.objective for v in verdicts] == ["server availability", "server p95", "server error_ratio",
                                               "server db_query_p95"]


def test_only_the_server_is_judged_on_its_database_queries():
    clients = slo.verdicts(slo.Figures(100, 0, 1.0, 0.0, 0.01, 0.02), SLOS, "clients")
    assert [v.objective for v in clients] == ["clients availability", "clients p95", "clients error_ratio"]
    server = slo.verdicts(slo.Figures(100, 0, 1.0, 0.0, 0.01, 0.02, 0.15), SLOS, "server")
    assert [v.met for v in server] == [True, True, True, False] and "< 0.1s" in server[-1].target


def test_zero_failures_is_a_measured_zero_not_no_data():
    verdicts = slo.verdicts(slo.Figures(100, 0, 1.0, 0.0, 0.01, 0.02, 0.004), SLOS, "server")
    assert all(v.met for v in verdicts)

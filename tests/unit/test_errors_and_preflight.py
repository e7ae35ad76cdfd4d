"""Bad input gets one line naming the cause and the fix."""

import socket

import pytest

from ms5harness.cli import main
from ms5harness.cluster import preflight
from ms5harness.errors import HarnessError
from ms5harness.kube.client import connect


def test_error_renders_as_one_line():
    err = HarnessError("port 6443 is\nalready in use", "stop it")
    assert err.one_line() == "port 6443 is already in use (fix: stop it)"


def test_port_in_use_names_the_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(HarnessError, match=f"port {port} is already in use"):
            preflight.check_ports([port])


def test_free_ports_pass():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    preflight.check_ports([port])


def test_missing_kubeconfig_is_one_line(tmp_path):
    with pytest.raises(HarnessError, match="does not exist"):
        connect(tmp_path / "nope")


def test_malformed_kubeconfig_is_one_line(tmp_path):
    bad = tmp_path / "kubeconfig"
    bad.write_text("clusters: [unclosed")
    with pytest.raises(HarnessError, match="not valid YAML"):
        connect(bad)


def test_unreachable_cluster_is_one_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{token: x}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
""")
    with pytest.raises(HarnessError, match="unreachable"):
        connect(cfg, timeout=2)


def test_cli_prints_one_line_and_exits_1(capsys):
    assert main(["cluster", "logs", "no-such-component"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: unknown component 'no-such-component'")

"""`cluster down` leaves nothing behind. Destructive: run on its own, after everything else."""

from pathlib import Path

import pytest

from ms5harness.cluster import build, network, workers
from ms5harness.cluster.embedded import EmbeddedCluster, pod_cgroup_dirs
from ms5harness.cluster.mounts import mounts_under

pytestmark = pytest.mark.destructive


def our_processes(spec) -> list[str]:
    markers = [str(build.bin_dir(c)) for c in build.COMPONENTS] + [str(spec.state), str(spec.run)]
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmdline for m in markers):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module")
def downed():
    """Down from the shape the run left (one node: tests/cluster/test_multinode.py removes its workers
    through the same `WorkerNode.down` and counts their traces; growing here would import every image
    of the stack into a new node, 2 min of CI). Workers' traces are counted here too."""
    cluster = EmbeddedCluster(echo=lambda _m: None)
    cluster.down()
    return cluster


def test_no_process_is_left(downed):
    assert our_processes(downed.spec) == []


def test_no_iptables_chain_or_ipset_is_left(downed):
    assert network.remaining_chains() == []
    assert network.owned_ipsets() == []


def test_no_bridge_netns_or_mount_is_left(downed):
    assert not network.bridge_exists(downed.spec)
    assert network.pod_netns(downed.spec) == []
    assert network.hidden_netns_mounts(network.mountinfo()) == []
    assert mounts_under((downed.spec.state, downed.spec.run)) == []
    assert pod_cgroup_dirs() == []
    assert workers.leftovers(downed.spec) == []


def test_no_state_is_left(downed):
    assert not downed.spec.state.exists() and not downed.spec.run.exists()


def test_down_twice_is_a_no_op(downed):
    downed.down()
    assert not downed.spec.state.exists()

"""A cold build says which component of how many it builds, how long so far and what to expect."""

import time

from ms5harness import tools
from ms5harness.cluster import build


def test_a_long_build_reports_progress_against_the_last_recorded_build(monkeypatch, tmp_path):
    monkeypatch.setenv("MS5H_CACHE", str(tmp_path))
    helm = build.component("helm")
    older = tmp_path / "bin" / "helm-v3.0.0" / ".complete"  # an earlier version's record
    older.parent.mkdir(parents=True)
    older.write_text("95\n")

    def slow_build(comp, force):
        time.sleep(0.2)
        (build.bin_dir(comp)).mkdir(parents=True)
        (build.bin_dir(comp) / "helm").write_text("")
        (build.bin_dir(comp) / ".complete").write_text("42\n")
        return 42.0

    monkeypatch.setattr(build, "build", slow_build)
    monkeypatch.setattr(build, "PROGRESS_EVERY_SECONDS", 0.05)
    lines: list[str] = []
    assert build.build_all(echo=lines.append, components=(helm,)) == {"helm": 42.0}
    label = f"[1/1] helm {helm.version}"
    assert lines[0].startswith(f"{label}: building, about 95s last time")
    assert any(ln.startswith(f"{label}: still building") and "last build took 95s" in ln for ln in lines)
    assert lines[-1] == f"{label}: built in 42s"
    assert build.recorded_seconds(helm) == 42.0
    assert tools.binary("helm") == build.bin_dir(helm) / "helm"  # the build recorded it for everyone else

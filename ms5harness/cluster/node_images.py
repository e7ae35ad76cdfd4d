"""The images the embedded node needs before any chart is deployed: the pod sandbox (pause) and
the add-ons, each a FROM-scratch image of one binary, tagged with that binary's version."""

from __future__ import annotations

from ms5harness.cluster import versions
from ms5harness.images.catalog import BinaryImage

PAUSE = BinaryImage("pause", "catatonit-0.1.7", "/usr/bin/catatonit", ("/catatonit", "-P"), "65535:65535")
COREDNS = BinaryImage("coredns", versions.COREDNS, "coredns", ("/coredns",))
METRICS_SERVER = BinaryImage("metrics-server", versions.METRICS_SERVER, "metrics-server", ("/metrics-server",))
CLUSTER_IMAGES = (PAUSE, COREDNS, METRICS_SERVER)

"""FROM-scratch images of one pinned binary, tagged with that binary's version: those the embedded
node needs before any chart is deployed (the pod sandbox and the add-ons), and the chart's own
(the fault proxy), which `deploy` builds and tags like the Dockerfile images."""

from __future__ import annotations

from ms5harness.cluster import versions
from ms5harness.images.catalog import BinaryImage

PAUSE = BinaryImage("pause", "catatonit-0.1.7", "/usr/bin/catatonit", ("/catatonit", "-P"), "65535:65535")
COREDNS = BinaryImage("coredns", versions.COREDNS, "coredns", ("/coredns",))
METRICS_SERVER = BinaryImage("metrics-server", versions.METRICS_SERVER, "metrics-server", ("/metrics-server",))
CLUSTER_IMAGES = (PAUSE, COREDNS, METRICS_SERVER)
# The chart's binary images (values.yaml images.<key>): deploy passes their tags and loads them.
TOXIPROXY = BinaryImage("toxiproxy", versions.TOXIPROXY, "toxiproxy-server", ("/toxiproxy-server",))
CHART_IMAGES = (TOXIPROXY,)

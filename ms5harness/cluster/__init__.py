"""The embedded single-node Kubernetes cluster, run as host processes."""

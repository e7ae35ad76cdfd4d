"""Container images without a registry: build with buildah, load into containerd."""

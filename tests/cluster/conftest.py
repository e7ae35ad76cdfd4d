import re

import pytest

from ms5harness.images.catalog import project_images
from ms5harness.kube.framework import scratch_namespace

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="session")
def toolbox_image(target) -> str:
    (toolbox,) = [i for i in project_images() if i.key == "toolbox"]
    return target.ensure_image(toolbox)


@pytest.fixture
def scratch(kube, toolbox_image, request):
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    with scratch_namespace(kube, prefix, toolbox_image) as ns:
        yield ns

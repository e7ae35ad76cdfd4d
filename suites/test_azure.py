"""What only AKS provides: Key Vault secrets synced by the CSI driver, the nginx load balancer,
Azure Premium SSD volumes. Run with `--profile aks`; skipped, with the reason, on any other profile."""

import httpx
import pytest

pytestmark = pytest.mark.azure


@pytest.fixture(autouse=True)
def aks_only(stack):
    if stack.profile != "aks":
        pytest.skip(f"needs AKS: the {stack.profile} profile has no Azure Key Vault, load balancer or Azure Disk "
                    "(run `pytest suites/ --profile aks --kubeconfig <AKS kubeconfig>`)")


def test_key_vault_secrets_are_synced_into_the_namespace(stack):
    spc = stack.kube.custom.get_namespaced_custom_object("secrets-store.csi.x-k8s.io", "v1", stack.namespace,
                                                         "secretproviderclasses", "ms5-keyvault")
    for synced in spc["spec"]["secretObjects"]:
        secret = stack.kube.core.read_namespaced_secret(synced["secretName"], stack.namespace)
        missing = {d["key"] for d in synced["data"]} - set(secret.data or {})
        assert not missing, f"secret {synced['secretName']} lacks Key Vault objects {sorted(missing)}"


def test_nginx_answers_on_its_load_balancer(stack):
    resp = httpx.get(stack.url("nginx") + "/nginx-health", timeout=10)
    assert resp.status_code == 200


def test_every_volume_is_an_azure_premium_disk(stack):
    claims = stack.kube.core.list_namespaced_persistent_volume_claim(stack.namespace).items
    assert claims, "the aks profile has persistent volumes; none found"
    for pvc in claims:
        assert pvc.status.phase == "Bound", f"{pvc.metadata.name} is {pvc.status.phase}"
        assert pvc.spec.storage_class_name == "managed-csi-premium", pvc.metadata.name

"""Certificates: identities RBAC expects, SANs clients dial, chains that verify."""


import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ms5harness.cluster import pki


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    pki.generate(d, "ms5-node", "192.0.2.2", "10.96.0.1")
    return d


def load(d, name):
    return x509.load_pem_x509_certificate((d / f"{name}.crt").read_bytes())


def test_apiserver_certificate_covers_every_address_clients_use(pki_dir):
    san = load(pki_dir, "apiserver").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "192.0.2.2", "10.96.0.1"} <= ips
    assert "kubernetes.default.svc.cluster.local" in san.get_values_for_type(x509.DNSName)


def test_client_identities_match_kubernetes_bootstrap_rbac(pki_dir):
    def subject(name):
        cert = load(pki_dir, name)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        return cn, orgs

    assert subject("kubelet-client") == ("system:node:ms5-node", ["system:nodes"])
    assert subject("scheduler") == ("system:kube-scheduler", [])
    assert subject("controller-manager") == ("system:kube-controller-manager", [])
    assert subject("admin")[1] == ["system:masters"]


def test_every_certificate_is_signed_by_its_ca(pki_dir):
    ca, fp = load(pki_dir, "ca"), load(pki_dir, "front-proxy-ca")
    for spec in pki.cluster_cert_specs("ms5-node", "192.0.2.2", "10.96.0.1"):
        cert = load(pki_dir, spec.name)
        issuer = fp if spec.issuer == "front-proxy-ca" else ca
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert (ExtendedKeyUsageOID.SERVER_AUTH in usages) == spec.server
        assert (ExtendedKeyUsageOID.CLIENT_AUTH in usages) == spec.client


def test_generate_keeps_existing_material(pki_dir):
    before = (pki_dir / "ca.crt").read_bytes(), (pki_dir / "sa.key").read_bytes()
    pki.generate(pki_dir, "ms5-node", "192.0.2.2", "10.96.0.1")
    assert ((pki_dir / "ca.crt").read_bytes(), (pki_dir / "sa.key").read_bytes()) == before


def test_private_keys_are_not_world_readable(pki_dir):
    assert (pki_dir / "ca.key").stat().st_mode & 0o077 == 0
    assert (pki_dir / "sa.key").stat().st_mode & 0o077 == 0

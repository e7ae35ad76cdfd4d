"""Certificates and keys for the embedded cluster, generated in Python.

One cluster CA signs every serving and client certificate; a separate
front-proxy CA serves API aggregation (metrics-server); a service-account key
pair signs tokens. Client identities follow the names Kubernetes' own RBAC
bootstrap policy expects (system:kube-scheduler, system:node:<name>, ...).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True)
class CertSpec:
    """What one certificate says: who it is, what it may be used for, where it answers."""

    name: str  # file stem: <name>.crt / <name>.key
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    issuer: str = "ca"


@dataclass
class KeyPair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage(ca: bool) -> x509.KeyUsage:
    """A CA only signs; a leaf signs and (for RSA-style exchanges) enciphers keys."""
    return x509.KeyUsage(
        digital_signature=True, key_cert_sign=ca, crl_sign=ca, key_encipherment=not ca,
        content_commitment=False, data_encipherment=False, key_agreement=False,
        encipher_only=False, decipher_only=False,
    )


def new_ca(common_name: str, now: dt.datetime | None = None) -> KeyPair:
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + 10 * VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def issue(spec: CertSpec, ca: KeyPair, now: dt.datetime | None = None) -> KeyPair:
    now = now or dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else []
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return KeyPair(builder.sign(ca.key, hashes.SHA256()), key)


def cluster_cert_specs(node_name: str, node_ip: str, api_service_ip: str) -> list[CertSpec]:
    """Every certificate the control plane and node need."""
    return [
        CertSpec(
            "apiserver", "kube-apiserver", server=True,
            dns_names=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                       "kubernetes.default.svc.cluster.local", node_name),
            ip_addresses=("127.0.0.1", node_ip, api_service_ip),
        ),
        CertSpec("apiserver-kubelet-client", "kube-apiserver-kubelet-client",
                 organizations=("system:masters",), client=True),
        CertSpec("admin", "ms5harness-admin", organizations=("system:masters",), client=True),
        CertSpec("controller-manager", "system:kube-controller-manager", client=True),
        CertSpec("scheduler", "system:kube-scheduler", client=True),
        CertSpec("kube-proxy", "system:kube-proxy", client=True),
        CertSpec("kube-router", "system:kube-router", client=True),
        CertSpec("kubelet-client", f"system:node:{node_name}", organizations=("system:nodes",), client=True),
        CertSpec("kubelet-serving", node_name, server=True, dns_names=(node_name, "localhost"),
                 ip_addresses=("127.0.0.1", node_ip)),
        CertSpec("front-proxy-client", "front-proxy-client", client=True, issuer="front-proxy-ca"),
    ]


def write_pem(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600 if private else 0o644)


def generate(pki_dir: Path, node_name: str, node_ip: str, api_service_ip: str) -> None:
    """Write all cluster certificates into pki_dir; existing files are kept (up is idempotent)."""
    cas: dict[str, KeyPair] = {}
    for ca_name, cn in (("ca", "ms5harness-ca"), ("front-proxy-ca", "ms5harness-front-proxy-ca")):
        cas[ca_name] = _load_or_create(pki_dir, ca_name, lambda cn=cn: new_ca(cn))
    for spec in cluster_cert_specs(node_name, node_ip, api_service_ip):
        _load_or_create(pki_dir, spec.name, lambda spec=spec: issue(spec, cas[spec.issuer]))
    sa_key = pki_dir / "sa.key"
    if not sa_key.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        write_pem(sa_key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()), private=True)
        write_pem(pki_dir / "sa.pub", key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _load_or_create(pki_dir: Path, name: str, create) -> KeyPair:
    crt, key = pki_dir / f"{name}.crt", pki_dir / f"{name}.key"
    if crt.exists() and key.exists():
        return KeyPair(
            x509.load_pem_x509_certificate(crt.read_bytes()),
            serialization.load_pem_private_key(key.read_bytes(), password=None),
        )
    pair = create()
    write_pem(crt, pair.cert_pem())
    write_pem(key, pair.key_pem(), private=True)
    return pair


def node_cert_specs(node_name: str, node_ip: str) -> list[CertSpec]:
    """A node's own identity (the Node authorizer's system:node:<name>) and serving certificate."""
    return [spec for spec in cluster_cert_specs(node_name, node_ip, "")
            if spec.name in ("kubelet-client", "kubelet-serving")]


def generate_node(cluster_pki: Path, node_pki: Path, node_name: str, node_ip: str) -> None:
    """A worker node's certificates, issued by the cluster's CA (created by `generate` first)."""
    ca = KeyPair(x509.load_pem_x509_certificate((cluster_pki / "ca.crt").read_bytes()),
                 serialization.load_pem_private_key((cluster_pki / "ca.key").read_bytes(), password=None))
    write_pem(node_pki / "ca.crt", ca.cert_pem())
    for spec in node_cert_specs(node_name, node_ip):
        _load_or_create(node_pki, spec.name, lambda spec=spec: issue(spec, ca))

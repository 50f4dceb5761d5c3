"""EIP-712 digests of the ChaosCore structs and secp256k1 signer recovery (receipt.md §2.1)."""

from typing import NamedTuple

from coincurve import PublicKey

from .util import hex_bytes, keccak256

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

TYPES = {
    "Action": [
        ("agent", "address"), ("studio", "string"), ("task", "string"), ("actionType", "string"),
        ("payloadHash", "bytes32"), ("parents", "bytes32[]"), ("attestationHash", "bytes32"),
        ("timestamp", "uint64"), ("nonce", "uint64"), ("expiry", "uint64"),
    ],
    "Outcome": [
        ("agent", "address"), ("action", "bytes32"), ("status", "string"), ("resultHash", "bytes32"),
        ("metricsHash", "bytes32"), ("timestamp", "uint64"), ("nonce", "uint64"), ("expiry", "uint64"),
    ],
    "RotateAgentKey": [("agent", "address"), ("newSigner", "address"), ("nonce", "uint64"), ("expiry", "uint64")],
    # registry messages (agent-card.md §2) and signed gateway requests (docs/api.md)
    "RegisterAgent": [("agent", "address"), ("cardHash", "bytes32"), ("nonce", "uint64"), ("expiry", "uint64")],
    "UpdateAgentCard": [
        ("agent", "address"), ("cardHash", "bytes32"), ("version", "uint64"), ("nonce", "uint64"), ("expiry", "uint64"),
    ],
    "RevokeAgent": [("agent", "address"), ("nonce", "uint64"), ("expiry", "uint64")],
    "ProveAgentControl": [("agent", "address"), ("nonce", "bytes32"), ("expiry", "uint64")],
    "Request": [
        ("agent", "address"), ("origin", "string"), ("method", "string"), ("path", "string"), ("bodyHash", "bytes32"),
        ("nonce", "bytes32"), ("expiry", "uint64"),
    ],
}


def type_string(name: str) -> str:
    return name + "(" + ",".join(f"{t} {f}" for f, t in TYPES[name]) + ")"


def _enc(t: str, v) -> bytes:
    if t == "string":
        return keccak256(v.encode("utf-8"))
    if t == "bytes32":
        return hex_bytes(v)
    if t == "bytes32[]":
        return keccak256(b"".join(hex_bytes(x) for x in v))
    if t == "address":
        return b"\x00" * 12 + hex_bytes(v)
    if t in ("uint64", "uint256"):
        return int(v).to_bytes(32, "big")
    raise ValueError(t)


def hash_struct(name: str, message: dict) -> bytes:
    return keccak256(keccak256(type_string(name).encode()) + b"".join(_enc(t, message[f]) for f, t in TYPES[name]))


DOMAIN_VERSION = "2"  # version 2 added verifyingContract (the deployment)


def deployment_address(deployment_id: str) -> str:
    """The verifyingContract of a deployment without a chain: keccak256("chaoscore.deployment:" + id)[12:]."""
    return "0x" + keccak256(("chaoscore.deployment:" + deployment_id).encode("utf-8"))[12:].hex()


DEVELOPMENT_DEPLOYMENT = deployment_address("development")


class Domain(NamedTuple):
    """What a signature is bound to: the chain and the deployment (receipt.md §2.1)."""

    chain_id: int
    verifying_contract: str


def as_domain(domain: "Domain | int | str") -> Domain:
    """A Domain; a bare chain id means the development deployment."""
    if isinstance(domain, Domain):
        return Domain(int(domain.chain_id), domain.verifying_contract)
    return Domain(int(domain), DEVELOPMENT_DEPLOYMENT)


def domain_separator(domain: "Domain | int") -> bytes:
    d = as_domain(domain)
    th = keccak256(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    return keccak256(
        th + keccak256(b"ChaosCore") + keccak256(DOMAIN_VERSION.encode()) + d.chain_id.to_bytes(32, "big")
        + b"\x00" * 12 + hex_bytes(d.verifying_contract)
    )


def digest(name: str, message: dict, domain: "Domain | int") -> bytes:
    return keccak256(b"\x19\x01" + domain_separator(domain) + hash_struct(name, message))


def recover(digest32: bytes, signature: bytes) -> str | None:
    """The 0x-address that signed digest32 (r||s||v, v in {27,28}, 0<r<n, 0<s<=n/2), or None."""
    if len(signature) != 65:
        return None
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28) or not 0 < r < N or not 0 < s <= N // 2:
        return None
    try:
        pub = PublicKey.from_signature_and_message(signature[:64] + bytes([v - 27]), digest32, hasher=None)
    except Exception:
        return None
    return "0x" + keccak256(pub.format(compressed=False)[1:])[-20:].hex()

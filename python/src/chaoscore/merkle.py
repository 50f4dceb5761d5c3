"""RFC 9162 §2.1 inclusion proofs, as in docs/spec/merkle.md."""

from .errors import Invalid
from .util import sha256


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def inclusion_proof_length(m: int, n: int) -> int:
    inner = (m ^ (n - 1)).bit_length()
    return inner + bin(m >> inner).count("1")


def verify_inclusion(leaf: bytes, m: int, n: int, proof: list, root: bytes) -> None:
    if m < 0 or m >= n:
        raise Invalid("MERKLE_INDEX_OUT_OF_RANGE", "leaf index out of range")
    if len(leaf) != 32 or len(root) != 32 or any(len(p) != 32 for p in proof):
        raise Invalid("MERKLE_PROOF_MALFORMED", "hash not 32 bytes")
    if len(proof) != inclusion_proof_length(m, n):
        raise Invalid("MERKLE_PROOF_MALFORMED", "wrong proof length")
    fn, sn, r = m, n - 1, leaf
    for p in proof:
        if sn == 0:
            raise Invalid("MERKLE_INCLUSION_PROOF_INVALID", "proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise Invalid("MERKLE_INCLUSION_PROOF_INVALID", "root mismatch")

"""Strict Ed25519 (RFC 8032 §5.1.7 with canonical encodings, not ZIP-215)."""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def point_decodes(enc: bytes) -> bool:
    """True when enc is the canonical encoding of a curve point (RFC 8032 §5.1.3)."""
    if len(enc) != 32:
        return False
    y = int.from_bytes(enc, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return False
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    vx2 = (v * x * x) % P
    if vx2 != u:
        if vx2 == (-u) % P:
            x = (x * SQRT_M1) % P
        else:
            return False
    if x == 0 and sign == 1:
        return False
    return True


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        if len(public_key) != 32 or len(signature) != 64:
            return False
        if not point_decodes(public_key) or not point_decodes(signature[:32]):
            return False
        if int.from_bytes(signature[32:], "little") >= L:
            return False
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False

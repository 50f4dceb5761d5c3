"""Independent verifier for ChaosCore receipts (chaoscore.receipt/v2)."""

from .errors import ReceiptError
from .policy import TrustPolicy, parse_trust_policy, verify_receipt_with_policy
from .verify import VerifiedReceipt, verify_receipt

__all__ = [
    "ReceiptError",
    "TrustPolicy",
    "VerifiedReceipt",
    "parse_trust_policy",
    "verify_receipt",
    "verify_receipt_with_policy",
]

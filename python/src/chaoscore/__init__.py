"""Independent verifier for ChaosCore receipts (chaoscore.receipt/v1)."""

from .errors import ReceiptError
from .verify import VerifiedReceipt, verify_receipt

__all__ = ["ReceiptError", "VerifiedReceipt", "verify_receipt"]

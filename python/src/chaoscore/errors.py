CODES = frozenset(
    {
        "RECEIPT_MALFORMED",
        "RECEIPT_UNSUPPORTED_FORMAT",
        "RECEIPT_CHECKPOINT_INVALID",
        "RECEIPT_SIGNATURE_INVALID",
        "RECEIPT_SIGNER_PROOF_INVALID",
        "RECEIPT_INCLUSION_INVALID",
        "RECEIPT_OUTCOME_MISMATCH",
        "RECEIPT_PAYLOAD_MISMATCH",
        "RECEIPT_ATTESTATION_MISMATCH",
        "RECEIPT_ATTESTATION_INVALID",
        "RECEIPT_ANCHOR_MISMATCH",
        "RECEIPT_ANCHOR_UNTRUSTED",
        "RECEIPT_WITNESS_QUORUM",
        "RECEIPT_SHARD_UNCERTIFIED",
        "RECEIPT_SHARD_CERTIFICATE_INVALID",
        "RECEIPT_SHARD_MISMATCH",
        "TRUST_POLICY_MALFORMED",
        "TRUST_POLICY_NO_KEY",
        "TRUST_POLICY_DUPLICATE_KEY",
        "TRUST_POLICY_QUORUM_INVALID",
    }
)


class ReceiptError(Exception):
    """A receipt failed verification; `code` is one of the spec's RECEIPT_* codes."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Invalid(Exception):
    """Internal failure of a building block (note, merkle, quote), with its own code."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

"""python -m chaoscore verify receipt.json --log-key KEY [--tee-root HEX ...]"""

import argparse
import sys

from .errors import ReceiptError
from .verify import verify_receipt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chaoscore")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="verify a chaoscore.receipt/v1 receipt offline")
    v.add_argument("receipt", help="receipt JSON file ('-' for stdin); a vector file's `receipt` is used")
    v.add_argument("--log-key", required=True, help="trusted C2SP verifier key, or @file")
    v.add_argument("--tee-root", action="append", help="trusted attestation root (0x-hex Ed25519 key); repeatable")
    args = ap.parse_args(argv)

    key = args.log_key
    if key.startswith("@"):
        with open(key[1:], encoding="utf-8") as f:
            key = f.read().strip()
    try:
        data = sys.stdin.buffer.read() if args.receipt == "-" else open(args.receipt, "rb").read()
    except OSError as err:
        print(f"✗ cannot read {args.receipt}: {err}")
        return 2
    # accept a test-vector file ({description, receipt, ...}) as well as a bare receipt
    try:
        import json

        obj = json.loads(data)
        if isinstance(obj, dict) and "receipt" in obj and "format" not in obj:
            data = json.dumps(obj["receipt"], ensure_ascii=False).encode("utf-8")
    except Exception:
        pass
    try:
        r = verify_receipt(data, key, args.tee_root)
    except ReceiptError as err:
        print(f"✗ {err.code}: {err.message}")
        return 1
    print(f"✓ action {r.action_id} by {r.agent} (chain {r.chain_id})")
    if r.outcome_id:
        print(f"  outcome {r.outcome_id}")
    print(f"  leaf {r.leaf_index} in {r.origin} tree of size {r.tree_size}, root {r.root_hash}")
    print(f"  attestation: {r.attestation}; anchor: {'none' if r.anchor is None else r.anchor['txHash']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

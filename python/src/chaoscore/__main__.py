"""python -m chaoscore verify receipt.json (--log-key KEY | --policy FILE) [--tee-root HEX ...]
[--rpc URL --contract 0x... [--chain-id N] [--confirmations N]]"""

import argparse
import sys

from .errors import ReceiptError
from .verify import verify_receipt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chaoscore")
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="verify a chaoscore.receipt/v2 receipt offline")
    v.add_argument("receipt", help="receipt JSON file ('-' for stdin); a vector file's `receipt` is used")
    v.add_argument("--log-key", help="trusted C2SP verifier key, or @file (or --policy)")
    v.add_argument(
        "--policy",
        help="trust policy file (chaoscore.trust-policy/v1): log key, witness quorum, trusted anchor contracts",
    )
    v.add_argument("--tee-root", action="append", help="trusted attestation root (0x-hex Ed25519 key); repeatable")
    v.add_argument("--rpc", help="JSON-RPC URL of the anchor's chain: also check the anchor on chain")
    v.add_argument(
        "--contract",
        help="with --rpc: the CheckpointAnchor contract to trust (the receipt's own is never trusted)",
    )
    v.add_argument("--chain-id", help="with --contract: its chain id (default: the chain the RPC serves)")
    v.add_argument("--confirmations", type=int, default=1, help="least confirmations of the anchor (with --rpc)")
    args = ap.parse_args(argv)

    policy = None
    if args.policy is not None:
        if args.log_key is not None:
            print("✗ --policy names the log key: leave out --log-key")
            return 2
        from .policy import parse_trust_policy

        try:
            with open(args.policy, "rb") as f:
                policy = parse_trust_policy(f.read())
        except OSError as err:
            print(f"✗ cannot read {args.policy}: {err}")
            return 2
        except ReceiptError as err:
            print(f"✗ the trust policy {args.policy} is refused: {err.code}: {err.message}")
            return 2
        if policy.anchors and args.contract is not None:
            print("✗ --policy names the trusted anchor contracts: leave out --contract")
            return 2
    elif args.log_key is None:
        print("✗ give --log-key KEY or --policy FILE")
        return 2
    key = policy.log_key if policy is not None else args.log_key
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
    witnesses = None
    try:
        if policy is None:
            r = verify_receipt(data, key, args.tee_root)
        else:
            from .policy import verify_receipt_with_policy

            vp = verify_receipt_with_policy(data, policy, args.tee_root)
            r, witnesses = vp.receipt, vp.witnesses
    except ReceiptError as err:
        print(f"✗ {err.code}: {err.message}")
        return 1
    print(f"✓ action {r.action_id} by {r.agent} (chain {r.chain_id})")
    if r.outcome_id:
        print(f"  outcome {r.outcome_id}")
    print(f"  leaf {r.leaf_index} in {r.origin} tree of size {r.tree_size}, root {r.root_hash}")
    if r.shard is not None:  # receipt.md §7: certified by the trusted (family) key
        print(f"  shard {r.shard['number']} of the log family {r.shard['family']}: certificate verified")
    print(f"  attestation: {r.attestation}; anchor: {'none' if r.anchor is None else r.anchor['txHash']}")
    if r.attestation_result is not None:  # judged under the policy's attestation member
        a = r.attestation_result
        tcb = "" if a["tcbStatus"] == "n/a" else f", TCB {a['tcbStatus']}" + (f" (QE {a['qeStatus']})" if "qeStatus" in a else "")
        bound = "bound to the acting agent" if a["agentBound"] else "NOT bound to the acting agent (the policy waives it)"
        print(f"  attestation verified: {a['platform']}{tcb}, root {a['root']}; {bound}")
        for k, v in a["measurements"].items():
            print(f"    {'PCR' + k if k.isdigit() else k} {v}")
    if witnesses is not None:
        each = "; ".join(
            f"{'✓' if c['verified'] else '✗'} {c['name']}+{c['keyId']} at {c['timestamp']}"
            for c in witnesses["cosignatures"]
        )
        print(f"  witnesses: {witnesses['verified']} of {witnesses['required']} required cosigned" + (f": {each}" if each else ""))
    if args.rpc is None:
        if r.anchor is not None:
            print("  anchor not checked on chain (use --rpc URL)")
        return 0
    if r.anchor is None:
        print("  no anchor: nothing to check on chain")
        return 0
    import base64

    from .anchor import ChainError, JsonRpc, _quantity, verify_anchor

    if args.contract is None and not (policy is not None and policy.anchors):
        print("✗ --rpc needs --contract 0x… (the CheckpointAnchor contract you trust) or a policy with anchors")
        return 2
    rpc = JsonRpc(args.rpc)
    try:
        if policy is not None and policy.anchors:
            trusted = [(a["chainId"], a["contract"]) for a in policy.anchors]
        else:
            chain_id = args.chain_id if args.chain_id is not None else str(_quantity(rpc.call("eth_chainId", []), "eth_chainId"))
            trusted = [(chain_id, args.contract)]
        a = verify_anchor(
            r.anchor, r.tree_size, base64.b64decode(r.root_hash), rpc,
            trusted=trusted, confirmations=args.confirmations,
        )
    except ReceiptError as err:
        print(f"✗ {err.code}: {err.message}")
        return 1
    except ChainError as err:
        print(f"✗ {err.code}: {err.message}")
        return 1
    print(
        f"✓ anchor on chain {a.chain_id}: checkpoint {a.index} of log {a.log_id} at {a.contract}, "
        f"block {a.block_number} ({a.confirmations} confirmation(s))"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

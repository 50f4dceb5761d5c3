"""vectors/shards (docs/spec/shards.md §3, §4), read independently of the TypeScript code:
shard keys from HMAC-SHA256 of the family seed, and the link entry's bytes, leaf hash and
predecessor checkpoint."""

import base64
import hashlib
import hmac
import json

from conftest import VECTORS
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chaoscore.jcs import canonicalize
from chaoscore.note import key_id, open_checkpoint, parse_verifier_key

DIR = VECTORS / "shards"


def public_key_of(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_shard_keys_are_the_hmac_of_the_family_seed_and_the_shard_origin():
    v = json.loads((DIR / "key-derivation.json").read_text())
    family_seed = bytes.fromhex(v["familySeed"][2:])
    assert len(v["shards"]) == 3
    for s in v["shards"]:
        assert s["origin"] == f'{v["familyOrigin"]}/s{s["shard"]}'
        assert s["id"] == f'{v["familyId"]}-s{s["shard"]}'
        message = ("chaoscore.log-shard-key/v1\n" + s["origin"]).encode("utf-8")
        seed = hmac.new(family_seed, message, hashlib.sha256).digest()
        assert "0x" + seed.hex() == s["seed"]
        pub = public_key_of(seed)
        encoded = base64.b64encode(b"\x01" + pub).decode()
        expected = f'{s["origin"]}+{key_id(s["origin"], pub).hex()}+{encoded}'
        assert s["verifierKey"] == expected
        parse_verifier_key(s["verifierKey"])


def test_the_link_entry_is_canonical_json_committing_to_the_predecessors_final_checkpoint():
    v = json.loads((DIR / "link-entry.json").read_text())
    link = v["link"]
    entry = bytes.fromhex(v["entryHex"][2:])
    assert canonicalize(link) == entry
    assert entry.decode("utf-8") == v["entry"]
    assert "0x" + hashlib.sha256(b"\x00" + entry).hexdigest() == v["leafHash"]
    assert sorted(link) == ["family", "format", "origin", "previous", "shard"]
    assert link["format"] == "chaoscore.shard-link/v1"
    assert link["origin"] == f'{link["family"]}/s{link["shard"]}'
    prev = link["previous"]
    cp = open_checkpoint(prev["checkpoint"], parse_verifier_key(v["familyVerifierKey"]))
    assert (cp.origin, cp.size, base64.b64encode(cp.root_hash).decode()) == (
        prev["origin"], prev["size"], prev["rootHash"])

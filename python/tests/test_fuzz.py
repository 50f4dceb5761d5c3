import json
import os
import sys
import pathlib

from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import LOG_KEY, RECEIPTS, TEE_ROOT, load  # noqa: E402

from chaoscore import ReceiptError, verify_receipt
from chaoscore.errors import CODES
from chaoscore.jcs import canonicalize, parse_json

VALID = {p.stem: load(p)["receipt"] for p in sorted(RECEIPTS.glob("valid-*.json"))}
NAMES = sorted(VALID)
SETTINGS = settings(max_examples=int(os.environ.get("CHAOSCORE_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same_value(a: bytes, original) -> bool:
    """True when the mutated text parses to the same JSON value (JCS-equal) as the original."""
    try:
        return canonicalize(parse_json(a)) == canonicalize(original)
    except Exception:
        return False


def check(data, original):
    try:
        verify_receipt(data, LOG_KEY, [TEE_ROOT])
    except ReceiptError as e:
        assert e.code in CODES
        return
    # success is allowed only when the JSON value did not change
    assert same_value(data if isinstance(data, (bytes, str)) else json.dumps(data).encode(), original)


@SETTINGS
@given(name=st.sampled_from(NAMES), data=st.data())
def test_byte_flips(name, data):
    original = VALID[name]
    raw = bytearray(json.dumps(original, indent=2, ensure_ascii=False).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255).filter(lambda b, i=i: b != raw[i]))
    check(bytes(raw), original)


@SETTINGS
@given(name=st.sampled_from(NAMES), data=st.data())
def test_compact_bit_flips(name, data):
    original = VALID[name]
    raw = bytearray(canonicalize(original))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= 1 << data.draw(st.integers(0, 7))
    check(bytes(raw), original)


STRIPPABLE = {("outcome",), ("attestation",), ("anchor",)}

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=6,
)


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, prefix + (i,))


@SETTINGS
@given(name=st.sampled_from(NAMES), data=st.data())
def test_json_mutations(name, data):
    original = VALID[name]
    mutated = json.loads(json.dumps(original))
    paths = [p for p in _paths(mutated) if p]
    path = data.draw(st.sampled_from(paths))
    parent = mutated
    for k in path[:-1]:
        parent = parent[k]
    op = data.draw(st.sampled_from(["replace", "delete", "add", "string-edit"]))
    last = path[-1]
    if op == "replace":
        parent[last] = data.draw(JSON_VALUES)
    elif op == "delete":
        del parent[last]
    elif op == "add":
        target = parent[last]
        if isinstance(target, dict):
            target[data.draw(st.text(min_size=1, max_size=6))] = data.draw(JSON_VALUES)
        elif isinstance(target, list):
            target.append(data.draw(JSON_VALUES))
        else:
            parent[last] = [target]
    else:
        v = parent[last]
        s = v if isinstance(v, str) else json.dumps(v)
        i = data.draw(st.integers(0, len(s)))
        parent[last] = s[:i] + data.draw(st.text(min_size=1, max_size=2)) + s[i + 1 :]
    try:
        verify_receipt(mutated, LOG_KEY, [TEE_ROOT])
    except ReceiptError as e:
        assert e.code in CODES
        return
    if op == "delete" and path == ("payload",):
        return  # the payload is optional: a receipt without it is still valid (receipt.md §3)
    if op == "replace" and path in STRIPPABLE and mutated[path[0]] is None:
        return  # outcome, attestation and anchor may be left out (null): still a valid receipt
    try:
        unchanged = canonicalize(mutated) == canonicalize(original)
    except Exception:
        unchanged = False
    assert unchanged, f"mutation at {path} ({op}) verified"


@SETTINGS
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_garbage_never_crashes(blob):
    try:
        verify_receipt(blob, LOG_KEY)
    except ReceiptError as e:
        assert e.code in CODES
    else:
        raise AssertionError("garbage verified")

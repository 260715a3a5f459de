#!/usr/bin/env python3
"""Verify a Solidaria public ledger on your own machine, and recompute where each gift went.

    python3 verify_ledger.py ledger.jsonl checkpoint.json key [--ref REF]

Download the three files from https://<site>/<org>/transparency/ (ledger.jsonl,
checkpoint.json, key). Needs Python 3.9+ and the `cryptography` package only; it follows
docs/ledger.md and shares no code with Solidaria. It checks that

1. every line is an entry in canonical form (RFC 8785) with seq 0, 1, 2, … in order;
2. the Merkle root (RFC 9162) of the first `tree_size` entries equals the checkpoint's;
3. the checkpoint's Ed25519 signature is valid for the published key;
4. no fund's balance ever goes below zero, and every reversal names an earlier entry of the
   same fund, amount and currency that is not itself a reversal and is reversed only once;

then replays the tracing rule and prints, as JSON, the trace of every income (or of --ref).
Exit status 0 when everything holds, 1 (with the reason on stderr) when something does not.
"""

import argparse
import base64
import hashlib
import json
import sys
from collections import deque

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TYPES = ("income", "allocation", "expense", "refund", "reversal")
MAX_SAFE_INTEGER = 2**53 - 1


class Bad(Exception):
    pass


def jcs(obj):
    """RFC 8785 for objects of ASCII keys, strings and integers within ±(2^53 − 1)."""
    for key, value in obj.items():
        if not key.isascii():
            raise Bad(f"non-ASCII key {key!r}")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise Bad(f"unexpected value for {key!r}")
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            raise Bad(f"integer out of range for {key!r}")
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def leaf_hash(leaf):
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """Roots of the complete subtrees on the right edge; folding them gives MTH (RFC 9162)."""

    def __init__(self):
        self.stack = []  # [size, hash], sizes strictly decreasing powers of two

    def push(self, digest):
        self.stack.append([1, digest])
        while len(self.stack) > 1 and self.stack[-1][0] == self.stack[-2][0]:
            size, right = self.stack.pop()
            self.stack[-1] = [size * 2, node_hash(self.stack[-1][1], right)]

    def root(self):
        if not self.stack:
            return hashlib.sha256(b"").digest()
        root = self.stack[-1][1]
        for _size, left in reversed(self.stack[:-1]):
            root = node_hash(left, root)
        return root


def read_entries(path):
    """Yield (raw line bytes, entry) in file order, checking form and seq continuity."""
    with open(path, "rb") as lines:
        for expected, raw in enumerate(lines):
            leaf = raw[:-1] if raw.endswith(b"\n") else raw
            try:
                entry = json.loads(leaf)
            except ValueError:
                raise Bad(f"line {expected + 1} is not JSON") from None
            if not isinstance(entry, dict) or entry.get("seq") != expected:
                raise Bad(f"line {expected + 1}: expected seq {expected}")
            for key, kind in (
                ("type", str),
                ("at", str),
                ("fund", str),
                ("amount", int),
                ("currency", str),
                ("ref", str),
            ):
                if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool):
                    raise Bad(f"seq {expected}: missing or malformed {key!r}")
            if entry["type"] not in TYPES or entry["amount"] <= 0:
                raise Bad(f"seq {expected}: bad type or amount")
            if jcs(entry) != leaf:
                raise Bad(f"seq {expected}: the line is not in canonical (RFC 8785) form")
            yield leaf, entry


def effects(entry):
    """Balance moves of a non-reversal entry: [(fund, currency, delta)]."""
    fund, amount, currency = entry["fund"], entry["amount"], entry["currency"]
    if entry["type"] == "income":
        return [(fund, currency, amount)]
    if entry["type"] == "allocation":
        return [(fund, currency, -amount), (entry["to_fund"], currency, amount)]
    return [(fund, currency, -amount)]


def check_log(path, checkpoint):
    """Pass 1: form and tree. Returns (size, root at the checkpoint's size, reversed seqs)."""
    frontier = Frontier()
    signed_root = hashlib.sha256(b"").digest() if checkpoint["tree_size"] == 0 else None
    reversed_seqs = set()
    size = 0
    for leaf, entry in read_entries(path):
        seq = entry["seq"]
        frontier.push(leaf_hash(leaf))
        if entry["type"] == "reversal":
            target = entry.get("reverses")
            if not isinstance(target, int) or not 0 <= target < seq or target in reversed_seqs:
                raise Bad(f"seq {seq}: reverses an entry that cannot be reversed")
            reversed_seqs.add(target)
        size = seq + 1
        if size == checkpoint["tree_size"]:
            signed_root = frontier.root()
    if signed_root is None:
        raise Bad(f"the log has {size} entries; the checkpoint covers {checkpoint['tree_size']}")
    return size, signed_root, reversed_seqs


def check_checkpoint(checkpoint, key):
    signed = {k: checkpoint[k] for k in ("organization", "tree_size", "root_hash", "timestamp")}
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(key).verify(signature, jcs(signed))
    except (InvalidSignature, ValueError) as error:
        raise Bad(f"the checkpoint's signature does not verify ({error or 'invalid'})") from None


def consume(queue, amount, origin=None):
    """Take `amount` from the queue's lots (only those of `origin` if given), front first."""
    takes = []
    for lot in queue:
        if not amount:
            break
        if lot[1] and (origin is None or lot[0] == origin):
            taken = min(amount, lot[1])
            lot[1] -= taken
            amount -= taken
            takes.append((lot[0], taken))
    while queue and not queue[0][1]:
        queue.popleft()
    if origin is not None:
        kept = [lot for lot in queue if lot[1]]
        queue.clear()
        queue.extend(kept)
    return takes


def trace(path, reversed_seqs):
    """Pass 2: balances and reversals, then the tracing rule over the entries that are kept."""
    queues, incomes, income_by_ref, items = {}, {}, {}, {}
    balances, targets = {}, {}
    for _leaf, entry in read_entries(path):
        seq, kind = entry["seq"], entry["type"]
        if kind == "reversal":
            target = targets.pop(entry["reverses"], None)
            same = ("fund", "to_fund", "amount", "currency")
            if target is None or any(target.get(k) != entry.get(k) for k in same):
                raise Bad(f"seq {seq}: reverses an entry that cannot be reversed")
            moves = [(f, c, -d) for f, c, d in effects(target)]
        else:
            if seq in reversed_seqs:
                targets[seq] = entry
            moves = effects(entry)
        for fund, currency, delta in moves:
            balances[(fund, currency)] = balances.get((fund, currency), 0) + delta
            if balances[(fund, currency)] < 0:
                raise Bad(f"seq {seq}: fund {fund!r} goes below zero in {currency}")
        if kind == "reversal" or seq in reversed_seqs:
            continue
        queue = queues.setdefault((entry["fund"], entry["currency"]), deque())
        if kind == "income":
            queue.append([seq, entry["amount"]])
            incomes[seq] = entry
            income_by_ref.setdefault(entry["ref"], seq)
            continue
        if kind == "allocation":
            target = queues.setdefault((entry["to_fund"], entry["currency"]), deque())
            for origin, taken in consume(queue, entry["amount"]):
                target.append([origin, taken])
            continue
        takes = []
        if kind == "refund" and entry["ref"] in income_by_ref:
            takes = consume(queue, entry["amount"], origin=income_by_ref[entry["ref"]])
        rest = entry["amount"] - sum(taken for _origin, taken in takes)
        if rest:
            takes += consume(queue, rest)
        for origin, taken in takes:
            key = (origin, seq)
            items[key] = items.get(key, [kind, 0])
            items[key][1] += taken
    unspent = {}
    for queue in queues.values():
        for origin, remaining in queue:
            unspent[origin] = unspent.get(origin, 0) + remaining
    traces = {}
    for ref, seq in income_by_ref.items():
        entry = incomes[seq]
        traces[ref] = {
            "seq": seq,
            "amount": entry["amount"],
            "currency": entry["currency"],
            "fund": entry["fund"],
            "items": [
                {"seq": consumer, "type": kind, "amount": amount}
                for (origin, consumer), (kind, amount) in sorted(items.items())
                if origin == seq
            ],
            "unspent": unspent.get(seq, 0),
        }
    return traces


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ledger", help="ledger.jsonl")
    parser.add_argument("checkpoint", help="checkpoint.json")
    parser.add_argument("key", help="key (base64 of the raw Ed25519 public key)")
    parser.add_argument("--ref", help="print only the trace of this income reference")
    args = parser.parse_args(argv)
    try:
        with open(args.key, "rb") as file:
            key = base64.b64decode(file.read().strip(), validate=True)
        if len(key) != 32:
            raise Bad("the key is not 32 bytes")
        with open(args.checkpoint, "rb") as file:
            checkpoint = json.load(file)
        check_checkpoint(checkpoint, key)
        size, root, reversed_seqs = check_log(args.ledger, checkpoint)
        if root.hex() != checkpoint["root_hash"]:
            raise Bad(
                f"the root of the first {checkpoint['tree_size']} entries is {root.hex()}, "
                f"the checkpoint says {checkpoint['root_hash']}"
            )
        traces = trace(args.ledger, reversed_seqs)
    except (Bad, OSError, ValueError, KeyError) as error:
        print(f"NOT VERIFIED: {error}", file=sys.stderr)
        return 1
    if args.ref is not None:
        traces = {args.ref: traces.get(args.ref)}
    report = {
        "ok": True,
        "organization": checkpoint["organization"],
        "entries": size,
        "checkpoint": {"tree_size": checkpoint["tree_size"], "root_hash": checkpoint["root_hash"]},
        "traces": traces,
    }
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""docs/ledger.md's worked example is true: its hashes, proofs and signature recompute."""

import json
import re
import subprocess
import sys
from pathlib import Path

from solidaria.ledger import merkle, signing
from solidaria.ledger.canonical import canonical

DOCS = Path(__file__).resolve().parents[4] / "docs"
TEXT = (DOCS / "ledger.md").read_text(encoding="utf-8")
RFC8032_TEST1_SECRET = bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)


def _example_lines() -> list[bytes]:
    block = TEXT.split("`ledger.jsonl` is three lines:\n\n```\n")[1].split("```")[0]
    return [line.encode() for line in block.strip().split("\n")]


def test_the_worked_example_recomputes(tmp_path):
    # given
    lines = _example_lines()
    hashes = [merkle.leaf_hash(line) for line in lines]
    memory = merkle.hashes_in_memory(hashes)
    root = merkle.root_of(hashes)
    fields = signing.signed_fields(
        organization="acacia", tree_size=3, root_hash=root.hex(), timestamp="2026-03-01T12:00:00Z"
    )
    signature = signing.sign(RFC8032_TEST1_SECRET, fields)
    key = signing.public_key_of(RFC8032_TEST1_SECRET)

    # when
    (tmp_path / "ledger.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "checkpoint.json").write_text(json.dumps({**fields, "signature": signature}))
    import base64

    (tmp_path / "key").write_bytes(base64.b64encode(key))
    result = subprocess.run(
        [
            sys.executable,
            str(DOCS / "verify_ledger.py"),
            *(str(tmp_path / n) for n in ("ledger.jsonl", "checkpoint.json", "key")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then
    for line in lines:
        assert canonical(json.loads(line)) == line
    for value in [*hashes, merkle.node_hash(hashes[0], hashes[1]), root]:
        assert value.hex() in TEXT
    for seq in (0, 2):
        for item in merkle.inclusion_path(seq, 3, memory):
            assert item.hex() in TEXT
    assert merkle.consistency_path(2, 3, memory)[0].hex() in TEXT
    assert canonical(fields).decode() in TEXT
    assert signature in TEXT
    assert base64.b64encode(key).decode() in TEXT
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)["traces"]["D7K2Q9"]
    assert trace["items"] == [{"amount": 1500, "seq": 2, "type": "expense"}]
    assert trace["unspent"] == 1000
    assert re.search(r'"unspent": 1000', TEXT)

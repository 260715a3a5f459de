"""The RFC 9162 tree: Certificate Transparency's reference vectors, then properties."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solidaria.ledger import merkle

# The well-known RFC 6962 test data used by Certificate Transparency implementations
# (transparency-dev/merkle testonly): eight leaves, then the root for each size 0..8.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def test_roots_match_the_reference_for_every_size():
    # given / when
    roots = [merkle.root_of(HASHES[:n]).hex() for n in range(9)]

    # then
    assert roots == ROOTS
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


def test_inclusion_proofs_match_the_reference_and_verify():
    for index, size, expected in INCLUSION:
        # when
        path = merkle.inclusion_path(index, size, merkle.hashes_in_memory(HASHES))

        # then
        assert merkle.hex_list(path) == expected
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_inclusion(index, size, HASHES[index], path, root)


def test_consistency_proofs_match_the_reference_and_verify():
    for first, second, expected in CONSISTENCY:
        # when
        proof = merkle.consistency_path(first, second, merkle.hashes_in_memory(HASHES))

        # then
        assert merkle.hex_list(proof) == expected
        assert merkle.verify_consistency(
            first, second, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]), proof
        )


def test_degenerate_consistency_cases():
    root4 = bytes.fromhex(ROOTS[4])
    assert merkle.verify_consistency(4, 4, root4, root4, [])
    assert not merkle.verify_consistency(4, 4, root4, bytes.fromhex(ROOTS[5]), [])
    assert not merkle.verify_consistency(4, 4, root4, root4, [root4])
    assert merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, bytes.fromhex(ROOTS[8]), [])
    assert not merkle.verify_consistency(6, 8, bytes.fromhex(ROOTS[6]), root4, [])
    assert not merkle.verify_consistency(8, 6, root4, root4, [root4])


def _tree(size: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]


def _tamper(proof: list[bytes], index: int) -> list[bytes]:
    changed = list(proof)
    changed[index] = bytes([changed[index][0] ^ 1]) + changed[index][1:]
    return changed


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=300))
def test_every_inclusion_proof_verifies_and_tampered_ones_fail(data, size):
    """Slow: 200 random trees of up to 300 leaves, each rehashed (property test)."""
    # given
    hashes = _tree(size)
    root = merkle.root_of(hashes)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))

    # when
    path = merkle.inclusion_path(index, size, merkle.hashes_in_memory(hashes))

    # then
    assert merkle.verify_inclusion(index, size, hashes[index], path, root)
    assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"other"), path, root)
    assert not merkle.verify_inclusion(index, size, hashes[index], [*path, root], root)
    if path:
        at = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        assert not merkle.verify_inclusion(index, size, hashes[index], _tamper(path, at), root)
        assert not merkle.verify_inclusion(index, size, hashes[index], path[:-1], root)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(other, size, hashes[index], path, root)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(data=st.data(), second=st.integers(min_value=1, max_value=300))
def test_every_consistency_proof_verifies_and_tampered_ones_fail(data, second):
    """Slow: 200 random tree pairs of up to 300 leaves, each rehashed (property test)."""
    # given
    hashes = _tree(second)
    first = data.draw(st.integers(min_value=1, max_value=second))
    first_root, second_root = merkle.root_of(hashes[:first]), merkle.root_of(hashes)

    # when
    proof = merkle.consistency_path(first, second, merkle.hashes_in_memory(hashes))

    # then
    assert merkle.verify_consistency(first, second, first_root, second_root, proof)
    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tampered = _tamper(proof, at)
        assert not merkle.verify_consistency(first, second, first_root, second_root, tampered)
        assert not merkle.verify_consistency(first, second, first_root, second_root, proof[:-1])
    other_root = merkle.root_of([*hashes[: first - 1], merkle.leaf_hash(b"x")])
    assert not merkle.verify_consistency(first, second, other_root, second_root, proof)


def test_frontier_root_equals_the_recursive_definition():
    hashes = _tree(1000)
    frontier = merkle.Frontier()
    for n, item in enumerate(hashes, start=1):
        frontier.push(item)
        if n in (1, 2, 3, 255, 256, 257, 511, 1000):
            assert frontier.root() == merkle.hashes_in_memory(hashes)(0, n)

"""The Merkle tree of RFC 9162 §2.1: hashes, proofs and their verification.

Proof generation takes `subtree(lo, hi) -> bytes`, the MTH of leaves [lo, hi), so the caller
decides where hashes come from (a list in memory, or stored block hashes and leaf hashes in
the database). Every range the RFC's recursion asks for starts at a multiple of the smallest
power of two not below its length; `queries.TreeReader` relies on that to answer complete
ranges from stored blocks.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()

Subtree = Callable[[int, int], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2): where MTH splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of subtree hashes (a complete tree)."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def root_of(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, by RFC 9162's recursion."""
    frontier = Frontier()
    for item in hashes:
        frontier.push(item)
    return frontier.root()


class Frontier:
    """The right edge of a growing tree: O(log n) memory, MTH of all leaves pushed so far.

    The stack holds the roots of complete subtrees of decreasing power-of-two sizes; folding
    them from the right gives exactly RFC 9162's MTH (which splits off the largest power of
    two on the left at every level).
    """

    __slots__ = ("_hashes", "_sizes", "size")

    def __init__(self) -> None:
        self._sizes: list[int] = []
        self._hashes: list[bytes] = []
        self.size = 0

    def push(self, leaf_hash_: bytes) -> None:
        self.push_subtree(1, leaf_hash_)

    def push_subtree(self, size: int, digest: bytes) -> None:
        """Append a complete subtree of `size` leaves (a power of two, no larger than the
        smallest one held, so the tree stays aligned)."""
        sizes, hashes = self._sizes, self._hashes
        sizes.append(size)
        hashes.append(digest)
        while len(sizes) > 1 and sizes[-1] == sizes[-2]:
            right = hashes.pop()
            sizes.pop()
            hashes[-1] = _sha256(b"\x01" + hashes[-1] + right).digest()
            sizes[-1] *= 2
        self.size += size

    def root(self) -> bytes:
        return fold(self._hashes)

    @property
    def hashes(self) -> list[bytes]:
        return self._hashes


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH from the roots of the complete subtrees on a tree's right edge, largest first."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size:
        raise ValueError("The leaf index must be below the tree size.")

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return [*path(m, lo, lo + k), subtree(lo + k, hi)]
        return [*path(m - k, lo + k, hi), subtree(lo, lo + k)]

    return path(index, 0, size)


def consistency_path(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 (empty when first is 0 or equals second)."""
    if not 0 <= first <= second:
        raise ValueError("The first tree size must not exceed the second.")
    if first == 0:
        return []

    def sub(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [subtree(lo, hi)]
        k = split_point(n)
        if m <= k:
            return [*sub(m, lo, lo + k, whole), subtree(lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), subtree(lo, lo + k)]

    return sub(first, 0, second, True)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == 32


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove leaf hash `leaf` at `index` in a tree of `size`?"""
    if not (_is_hash(leaf) and _is_hash(root) and all(_is_hash(p) for p in path)):
        return False
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size `second` an append-only extension of `first`?"""
    if not (_is_hash(first_root) and _is_hash(second_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= first <= second:
        return False
    if first == 0:
        # Every tree extends the empty one; there is nothing to prove.
        return not proof and first_root == EMPTY_ROOT
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def hashes_in_memory(leaf_hashes: Sequence[bytes]) -> Subtree:
    """A `subtree` function over leaf hashes held in a list (tests, small trees)."""

    def subtree(lo: int, hi: int) -> bytes:
        return root_of(leaf_hashes[lo:hi])

    return subtree


def hex_list(hashes: Iterable[bytes]) -> list[str]:
    return [h.hex() for h in hashes]

"""Per-task random sources, keyed by a string and stable across processes, machines and
PYTHONHASHSEED.

Two kinds, chosen per task type (``RANDOMNESS`` in its module):

* ``"mt"``: a ``random.Random`` (Mersenne Twister) with the whole API (choice, shuffle, sample).
  Seeding costs ~7 µs, nothing for a type whose task takes 100 µs or more.
* ``"draws"``: :class:`HashDraws`, 16-bit integers read from SHAKE-128 of the key.  Setting it up
  costs ~1 µs and each draw is one C-level call.  The bracket types build a whole task in ~20 µs, so
  seeding a Mersenne Twister would be a third of their cost.
"""
from __future__ import annotations

import hashlib
import random
import sys
import threading
from array import array
from typing import Callable

_thread = threading.local()


def seeded_random(key: str) -> random.Random:
    """The thread's ``random.Random``, re-seeded with ``key``: the same state as
    ``random.Random(key)`` without creating a generator per task or going through
    ``Random.seed``'s Python wrapper (tests compare the two)."""
    rng = getattr(_thread, "rng", None)
    if rng is None:
        rng = _thread.rng = random.Random()
    raw = key.encode()
    # Random.seed(str), version 2: the bytes followed by their SHA-512, read as one integer
    super(random.Random, rng).seed(int.from_bytes(raw + hashlib.sha512(raw).digest(), "big"))
    rng.gauss_next = None
    return rng


_BIG_ENDIAN = sys.byteorder == "big"
assert array("H").itemsize == 2, "HashDraws reads 16-bit words"


class HashDraws:
    """Random 16-bit integers (0..65535) for one task, from SHAKE-128 of its key.

    ``take(n)`` returns a function that gives the next of ``n`` fresh draws and raises
    ``StopIteration`` after them: a generator knows the most it can need from its knobs.  Each
    call to ``take`` reads a new block (the key plus a block counter), so blocks never overlap.
    Draws are little-endian on every machine.
    """

    __slots__ = ("_key", "_block")

    def __init__(self, key: str):
        self._key = key.encode()
        self._block = 0

    def take(self, n: int) -> Callable[[], int]:
        data = hashlib.shake_128(b"%s/%d" % (self._key, self._block)).digest(2 * n)
        self._block += 1
        words = array("H", data)
        if _BIG_ENDIAN:
            words.byteswap()
        return iter(words).__next__


def below(u: int, n: int) -> int:
    """A 16-bit draw scaled to 0..n-1 (uniform to within n/65536)."""
    return u * n >> 16

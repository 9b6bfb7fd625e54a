"""Per-task random sources, keyed by a string and stable across processes, machines and
PYTHONHASHSEED.

Two kinds, chosen per task type (``randomness`` in its ``TASK_TYPE`` contract):

* ``"mt"``: a ``random.Random`` (Mersenne Twister) with the whole API (choice, shuffle, sample).
  Seeding costs ~7 µs, nothing for a type whose task takes 100 µs or more.
* ``"draws"``: :class:`HashDraws`, 16-bit integers read from SHAKE-128 of the key.  Setting it up
  costs ~1 µs and each draw is one C-level call.  The bracket types build a whole task in ~20 µs, so
  seeding a Mersenne Twister would be a third of their cost.  ``operation`` (~70 µs a task) reads
  an endless stream of them: its retries have no small bound.
"""
from __future__ import annotations

import hashlib
import random
import sys
import threading
from array import array
from itertools import chain, count
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")

_thread = threading.local()


def seeded_random(key: str | bytes) -> random.Random:
    """The thread's ``random.Random``, re-seeded with ``key``: the same state as
    ``random.Random(key)`` (a str and its UTF-8 bytes seed alike) without creating a generator
    per task or going through ``Random.seed``'s Python wrapper (tests compare the two)."""
    rng = getattr(_thread, "rng", None)
    if rng is None:
        rng = _thread.rng = random.Random()
    raw = key.encode() if isinstance(key, str) else key
    # Random.seed(str), version 2: the bytes followed by their SHA-512, read as one integer
    super(random.Random, rng).seed(int.from_bytes(raw + hashlib.sha512(raw).digest(), "big"))
    rng.gauss_next = None
    return rng


_BIG_ENDIAN = sys.byteorder == "big"
assert array("H").itemsize == 2, "HashDraws reads 16-bit words"
_STREAM_BLOCK = 64  # draws per SHAKE call of HashDraws.stream()


class HashDraws:
    """Random 16-bit integers (0..65535) for one task, from SHAKE-128 of its key.

    ``take(n)`` returns a function that gives the next of ``n`` fresh draws and raises
    ``StopIteration`` after them: a generator knows the most it can need from its knobs.
    ``take_iter(n)`` gives the same draws as an iterator, for loops that consume one a step
    (``zip`` fetches them without a Python call).  Each call to either reads a new block (the
    key plus a block counter), so blocks never overlap.
    ``stream()`` is endless, for generators that retry and so have no small bound.  Draws are
    little-endian on every machine.
    """

    __slots__ = ("_key", "_block")

    def __init__(self, key: str | bytes):
        self._key = key.encode() if isinstance(key, str) else key
        self._block = 0

    def take(self, n: int) -> Callable[[], int]:
        return self.take_iter(n).__next__

    def take_iter(self, n: int) -> Iterator[int]:
        words = _words(b"%s/%d" % (self._key, self._block), n)
        self._block += 1
        return iter(words)

    def stream(self) -> Callable[[], int]:
        """A function returning the next draw of an endless stream, read 64 at a time from
        blocks keyed "<key>/s<i>".  Each call stays in C: the stream is a chain of arrays made
        as it is read."""
        key = self._key
        return chain.from_iterable(map(lambda i: _words(b"%s/s%d" % (key, i), _STREAM_BLOCK), count())).__next__


def _words(block_key: bytes, n: int) -> array:
    """``n`` 16-bit draws: SHAKE-128 of ``block_key``, read little-endian."""
    words = array("H", hashlib.shake_128(block_key).digest(2 * n))
    if _BIG_ENDIAN:
        words.byteswap()
    return words


def below(u: int, n: int) -> int:
    """A 16-bit draw scaled to 0..n-1 (uniform to within n/65536)."""
    return u * n >> 16


def pick(draw: Callable[[], int], seq: Sequence[T]) -> T:
    """One item of ``seq``, chosen by the next 16-bit draw."""
    return seq[below(draw(), len(seq))]

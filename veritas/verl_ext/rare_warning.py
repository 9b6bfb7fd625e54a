"""A failure inside verl's training loop, logged without flooding the log.

Our trainer extensions (per-type metrics, the curriculum, their TransferQueue read) must never stop
a step; what fails there is logged instead, at its 1st, 2nd, 4th, 8th... occurrence in the process,
so a failure of every step shows up once early and then ever more rarely.
"""
from __future__ import annotations

import logging
import os


class RareWarning:
    """``warn(exc)`` logs ``<what> (N time(s) so far in pid P): <type>: <exc>`` when N is a power of 2."""

    def __init__(self, logger: logging.Logger, what: str):
        self.logger, self.what, self.count = logger, what, 0

    def __call__(self, exc: BaseException, what: str | None = None) -> None:
        self.count += 1
        if self.count & (self.count - 1) == 0:
            self.logger.warning("%s (%d time(s) so far in pid %d): %s: %s",
                                what or self.what, self.count, os.getpid(), type(exc).__name__, exc)

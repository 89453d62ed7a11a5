"""One BLAS thread for per-message work, so torch keeps both cores.

On a small machine, OpenBLAS (numpy's, and scikit-learn's through it) keeps its worker
threads spinning for a while after each call. A per-message pipeline interleaves tiny
numpy products (a similarity against the training vectors, a logistic regression) with
torch forward passes, so the next forward pass found its OpenMP threads fighting spinning
BLAS threads for two cores: the triage classifier's embedding took 124 ms instead of 60 ms
(median on the dev split, 2 cores). Such small products gain nothing from a second thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.Lock()
_CONTROLLER: Any = None


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """Limit BLAS libraries to one thread inside the block; torch's own pool is untouched."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    with _LOCK:
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()  # about 8 ms: it scans the loaded libraries
        controller = _CONTROLLER
    with controller.limit(limits=1, user_api="blas"):
        yield

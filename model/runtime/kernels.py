"""The compiled (numba) kernels, loaded on first use and all at once before a recognizer's first frame.

Three kernels run on every frame: ``unfilter.scanlines_to_bands`` (a plain PNG's pixels), and
``filter_kernels``' ``uniform_filter`` and ``label_components`` (preprocessing's blur and the
strokes' connected components). numba and LLVM (about 120 MB)
load only in the processes that recognize, never in the web process (unless it recognizes itself,
``INFERENCE_PROCESSES=false``).

Numba compiles each kernel once and caches it in the first writable folder of: ``NUMBA_CACHE_DIR``,
``model/__pycache__``, the user's cache; with none (a read-only root file system, say) it refuses
to define the function at all. Then this process compiles into a private temporary folder instead
(a second or two, every start) rather than fail every frame.
"""

from __future__ import annotations

import functools
import importlib
import logging
import tempfile
from collections.abc import Callable

log = logging.getLogger("digits.kernels")
KERNELS = (
    ("model.runtime.unfilter", "scanlines_to_bands"),
    ("model.runtime.filter_kernels", "label_components"),
    ("model.runtime.filter_kernels", "uniform_filter"),
)


@functools.cache
def compiled(module: str, function: str) -> Callable:
    """``module.function``, compiled (or read from numba's cache) the first time it is asked for."""
    try:
        return getattr(importlib.import_module(module), function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        from numba import config

        config.CACHE_DIR = tempfile.mkdtemp(prefix="digits-numba-")
        log.warning("No writable folder for numba's cache (%s); compiling the kernels into %s", error, config.CACHE_DIR)
        return getattr(importlib.import_module(module), function)


def warm() -> None:
    """Every kernel loaded (or compiled, once per machine) now, so the first frame does not wait on it."""
    for module, function in KERNELS:
        compiled(module, function)

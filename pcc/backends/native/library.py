"""The native kernels (`sum_kernel.c`, `leaf_kernel.c`) of the CPU forward pass, built on first use.

Eager torch runs a sparse sum as a gather, an add, a max, exps, a sum and a log, each one pass
over memory; the kernel does them in one vectorized pass over the input rows (and adds fused
products' parts on the way); the leaves' densities are one pass per leaf row, written into the
activation buffer (`leaf_kernel.c`). Both are compiled with the system C compiler (`$CC`, else `cc`) into
a cache folder (`$PCC_CACHE_DIR`, else `~/.cache/pcc`), keyed by the source, the flags, the
compiler and the CPU, and loaded with ctypes. Where it cannot be built (no compiler: a warning
says so once; not Linux; or `PCC_NATIVE=0`) `kernel()` is None and the backend keeps its torch
ops: the results are the same either way (tests check both).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

SOURCE = Path(__file__).with_name("sum_kernel.c")
SOURCES = [SOURCE, SOURCE.with_name("leaf_kernel.c"), SOURCE.with_name("tile_kernel.c")]
FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd",
         "-shared", "-fPIC"]
PARALLEL_ELEMENTS = 1 << 18  # below this many inputs x batch a block runs on one thread
P = ctypes.c_void_p
I = ctypes.c_int64


class SumKernel:
    """The loaded library for float32 and float64 CPU tensors: `sums` (fused sums), `products`,
    and the leaves: `lookup` (by value table; `lookup32` by int32 codes), `gaussian`,
    `unit_bins` and `search_bins` (histograms); `run_program`, the tiled pass. Sums and products
    are split over torch's CPU threads (ctypes releases the GIL)."""

    def __init__(self, library: ctypes.CDLL):
        signatures = {"sum_of_products": [P, I, P, I, I, I, P, P],
                      "add_rows": [P, I, P, I, I, P, I],
                      "lookup": [P, I, P, I, P, I, P],
                      "lookup32": [P, I, P, I, P, I, I, P],
                      "unit_bins": [P, I, P, P, P, P, I, P, I, I, P],
                      "gaussian": [P, P, I, P, I, P, P, P, I, P],
                      "search_bins": [P, P, I, P, P, P, I, P, I, I, P],
                      "run_program": [P, I, P, P, I, I, I, I, I, I, I, P, I, I, P, P, P, P]}
        self.functions: dict[tuple[str, torch.dtype], Callable[..., Any]] = {}  # run_program: int
        for name, argtypes in signatures.items():
            for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
                function = getattr(library, f"{name}_{suffix}")
                function.argtypes = argtypes
                function.restype = I if name == "run_program" else None
                self.functions[name, dtype] = function
        self.pool: ThreadPoolExecutor | None = None
        self.workers = 0

    def split(self, total: int, work: int, part) -> None:
        """part(start, stop) over [0, total), in one piece per thread when `work` is large."""
        threads = min(torch.get_num_threads(), total)
        if threads <= 1 or work < PARALLEL_ELEMENTS:
            part(0, total)
            return
        if self.workers < threads - 1:
            self.pool, self.workers = ThreadPoolExecutor(threads - 1), threads - 1
        step = -(-total // threads)
        assert self.pool is not None
        others = [self.pool.submit(part, s, min(s + step, total))
                  for s in range(step, total, step)]
        part(0, min(step, total))  # the first piece on this thread
        for other in others:
            other.result()

    def sums(self, buf: torch.Tensor, index: torch.Tensor, log_w: torch.Tensor,
             out: torch.Tensor) -> None:
        """out[r] = log sum_f exp(log_w[r, f] + sum_p buf[index[r, f, p]]) for rows of the
        (columns, batch) `buf`; `out` rows of it, `index` int64, all contiguous."""
        rows, fan_in, parts = index.shape
        batch, item = buf.shape[1], buf.element_size()
        function = self.functions["sum_of_products", buf.dtype]

        def part(start: int, stop: int) -> None:
            function(buf.data_ptr(), batch, index.data_ptr() + start * fan_in * parts * 8,
                     stop - start, fan_in, parts, log_w.data_ptr() + start * fan_in * item,
                     out.data_ptr() + start * batch * item)

        self.split(rows, rows * fan_in * batch, part)

    def products(self, buf: torch.Tensor, index: torch.Tensor, columns: torch.Tensor | None,
                 start: int) -> None:
        """buf[column r] = sum_p buf[index[r, p]], column r being columns[r] or start + r."""
        rows, parts = index.shape
        batch = buf.shape[1]
        function = self.functions["add_rows", buf.dtype]

        def part(first: int, stop: int) -> None:
            function(buf.data_ptr(), batch, index.data_ptr() + first * parts * 8,
                     stop - first, parts, 0 if columns is None else columns.data_ptr() +
                     first * 8, start + first)

        self.split(rows, rows * parts * batch, part)

    def lookup(self, table: torch.Tensor, codes: torch.Tensor, var: torch.Tensor,
               out: torch.Tensor) -> None:
        """out[r, b] = table[r, codes[var[r], b]]; all contiguous, `codes` and `var` int64."""
        self.functions["lookup", out.dtype](table.data_ptr(), table.shape[1], codes.data_ptr(),
                                            codes.shape[1], var.data_ptr(), len(var),
                                            out.data_ptr())


    def unit_bins(self, log_density: torch.Tensor, first: torch.Tensor, bins: torch.Tensor,
                  xt: torch.Tensor, missing: torch.Tensor | None, var: torch.Tensor,
                  out: torch.Tensor) -> None:
        """Histograms of bins [b, b + 1), ...: out[r] = log_density[r, floor(x) - first[r]],
        -inf outside, 0 where missing; `xt` float64 and `missing` uint8 (or None), (vars,
        batch)."""
        _check_rows(out, xt, var)
        self.functions["unit_bins", out.dtype](
            log_density.data_ptr(), log_density.shape[1], first.data_ptr(), bins.data_ptr(),
            xt.data_ptr(), _pointer(missing), xt.shape[1], var.data_ptr(), len(var), 0,
            out.data_ptr())

    def search_bins(self, log_density: torch.Tensor, breaks: torch.Tensor, bins: torch.Tensor,
                    xt: torch.Tensor, missing: torch.Tensor | None, var: torch.Tensor,
                    out: torch.Tensor) -> None:
        """Histograms of any sorted float64 `breaks` (rows, width + 1; +inf pads): out[r] =
        log_density[r, the last break <= x], -inf outside, 0 where `missing` (or None)."""
        _check_rows(out, xt, var)
        self.functions["search_bins", out.dtype](
            log_density.data_ptr(), breaks.data_ptr(), log_density.shape[1], bins.data_ptr(),
            xt.data_ptr(), _pointer(missing), xt.shape[1], var.data_ptr(), len(var), 0,
            out.data_ptr())

    def gaussian(self, mean: torch.Tensor, inv_std: torch.Tensor, offset: torch.Tensor,
                 xt: torch.Tensor, missing: torch.Tensor | None, var: torch.Tensor,
                 out: torch.Tensor) -> None:
        """out[r] = offset[r] - ((x - mean[r]) * inv_std[r])^2 / 2 (float64 parameters), 0
        where `missing` (uint8, or None)."""
        _check_rows(out, xt, var)
        self.functions["gaussian", out.dtype](
            xt.data_ptr(), _pointer(missing), xt.shape[1], var.data_ptr(), len(var),
            mean.data_ptr(), inv_std.data_ptr(), offset.data_ptr(), 0, out.data_ptr())


def _pointer(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.data_ptr()


def _check_rows(out: torch.Tensor, xt: torch.Tensor, var: torch.Tensor) -> None:
    # the C side trusts these: a wrong layout would read or write past the tensors
    assert out.is_contiguous() and xt.is_contiguous() and xt.dtype == torch.float64
    assert out.shape == (len(var), xt.shape[1]) and var.dtype == torch.int64


def _cache_dir() -> Path:
    return Path(os.environ.get("PCC_CACHE_DIR") or Path.home() / ".cache" / "pcc")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return platform.processor()


def _build(compiler: str, target: Path) -> None:
    """Compile to a temporary file, then rename: concurrent builders never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        command = [compiler, *FLAGS, *map(str, SOURCES), "-o", str(built), "-lm"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise OSError(f"{compiler} could not build the kernels: {result.stderr[-500:]}")
        os.replace(built, target)


@lru_cache(maxsize=None)
def kernel() -> SumKernel | None:
    """The fused sum kernel, or None where it cannot be built (or `PCC_NATIVE=0`)."""
    if os.environ.get("PCC_NATIVE", "1") == "0" or platform.system() != "Linux":
        return None
    compiler = os.environ.get("CC", "cc")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
        texts = [source.read_text() for source in SOURCES]
        key = hashlib.sha256("\0".join([*texts, " ".join(FLAGS), version,
                                        platform.machine(), _cpu()]).encode()).hexdigest()[:16]
        target = _cache_dir() / f"sum_kernel_{key}.so"
        if not target.exists():
            _build(compiler, target)
        return SumKernel(ctypes.CDLL(str(target)))
    except (OSError, subprocess.SubprocessError) as error:
        warnings.warn(f"pcc: the native CPU kernel is unavailable ({error}); the forward pass "
                      "runs torch ops instead (slower; PCC_NATIVE=0 silences this)", stacklevel=2)
        return None

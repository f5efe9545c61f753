"""The native engine's library (`sum_kernel.c`, `leaf_kernel.c`, `tile_kernel.c`), built on
first use.

Eager torch runs a sparse sum as a gather, an add, a max, exps, a sum and a log, each one pass
over memory; the kernel does them in one vectorized pass over the input rows (and adds fused
products' parts on the way); the leaves' densities are one pass per leaf row (`leaf_kernel.c`);
the backward pass is one call over the program's steps (`flow_program`). The C files are
compiled with the system C compiler (`$CC`, else `cc`) into a cache folder (`$PCC_CACHE_DIR`,
else `~/.cache/pcc`), keyed by the sources, the flags, the compiler and the CPU, and loaded
with ctypes; every signature and the step record come from `pcc_native.h` (`interface`).
Where it cannot be built (no compiler: a warning says so once; not Linux) `kernel()` is None
and `engine="auto"` picks the torch engine.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import subprocess
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import torch

from pcc.layering import NEG_INF_COLUMN
from pcc.layering import ZERO as ZERO_COLUMN

HEADER = Path(__file__).with_name("pcc_native.h")
GAUSSIAN = HEADER.with_name("gaussian.h")  # included by the C files
SOURCES = [HEADER.with_name(name) for name in ("sum_kernel.c", "leaf_kernel.c", "tile_kernel.c")]
FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd",
         "-shared", "-fPIC"]
PARALLEL_ELEMENTS = 1 << 18  # below this many inputs x batch a block runs on one thread
C_TYPES = {"int64_t": ctypes.c_int64, "void": None}


@dataclass(frozen=True)
class Interface:
    """What `pcc_native.h` declares: the step record's fields in order, the step kinds, the
    constant columns, and each exported function's (return type, parameter types) by name."""
    fields: tuple[tuple[str, Any], ...]
    kinds: dict[str, int]
    constants: dict[str, int]
    functions: dict[str, tuple[Any, list[Any]]]


def _c_type(declaration: str) -> Any:
    """The ctypes type of one C parameter or field: pointers are addresses, int64_t integers."""
    if "*" in declaration:
        return ctypes.c_void_p
    words = declaration.replace("const", "").split()
    if not words or words[0] not in C_TYPES:
        raise ValueError(f"pcc_native.h: no ctypes type for {declaration.strip()!r}")
    return C_TYPES[words[0]]


@lru_cache(maxsize=None)
def interface() -> Interface:
    """Parse `pcc_native.h` (its layout rules are stated at its top)."""
    text = re.sub(r"/\*.*?\*/", " ", HEADER.read_text(), flags=re.S)
    struct = re.search(r"typedef struct \{(.*?)\} Step;", text, re.S)
    enum = re.search(r"enum StepKind \{(.*?)\};", text, re.S)
    if struct is None or enum is None:
        raise ValueError("pcc_native.h: no Step record or StepKind enum")
    fields = tuple((field.split()[-1].lstrip("*"), _c_type(field))
                   for field in struct.group(1).split(";") if field.strip())
    kinds = {name.strip(): int(value) for name, value in
             (item.split("=") for item in enum.group(1).split(","))}
    constants = {name: int(value) for name, value in
                 re.findall(r"#define (\w+_COLUMN) (\d+)", text)}
    functions = {}
    for result, name, parameters in re.findall(r"PCC_EXPORT\((\w+), (\w+), \((.*?)\)\)",
                                               text, re.S):
        functions[name] = (_c_type(result), [_c_type(p) for p in parameters.split(",")])
    return Interface(fields, kinds, constants, functions)


def step_type() -> type[ctypes.Structure]:
    """The ctypes record of `Step`, field for field as the header declares it."""
    return type("Step", (ctypes.Structure,), {"_fields_": list(interface().fields)})


class SumKernel:
    """The loaded library for float32 and float64 CPU tensors: every function `pcc_native.h`
    exports, by (name, dtype) in `functions`, with the signature the header gives it; and
    helpers for the ones the torch-side passes call one block at a time (`sums`, `products`,
    `lookup`, `gaussian`, `unit_bins`, `search_bins`). Work is split over torch's CPU threads
    (ctypes releases the GIL)."""

    def __init__(self, library: ctypes.CDLL):
        self.functions: dict[tuple[str, torch.dtype], Callable[..., Any]] = {}
        for name, (result, parameters) in interface().functions.items():
            for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
                function = getattr(library, f"{name}_{suffix}")
                function.argtypes, function.restype = parameters, result
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
        self._rows("sum_of_products", buf, index, log_w, out)

    def maxes(self, buf: torch.Tensor, index: torch.Tensor, log_w: torch.Tensor,
              out: torch.Tensor) -> None:
        """`sums` in the max-product semiring: out[r] = max_f (log_w[r, f] + its parts)."""
        self._rows("max_of_products", buf, index, log_w, out)

    def _rows(self, name: str, buf: torch.Tensor, index: torch.Tensor, log_w: torch.Tensor,
              out: torch.Tensor) -> None:
        rows, fan_in, parts = index.shape
        batch, item = buf.shape[1], buf.element_size()
        function = self.functions[name, buf.dtype]

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
    """The native library, or None where it cannot be built (not Linux, no C compiler: a
    warning says so once). Its constant columns are checked against the IR's layout here."""
    if platform.system() != "Linux":
        return None
    declared = interface().constants
    if declared != {"ZERO_COLUMN": ZERO_COLUMN, "NEG_INF_COLUMN": NEG_INF_COLUMN}:
        raise RuntimeError(f"pcc_native.h declares the constant columns {declared}, the "
                           f"layering puts them at {ZERO_COLUMN} and {NEG_INF_COLUMN}")
    compiler = os.environ.get("CC", "cc")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
        texts = [source.read_text() for source in (HEADER, GAUSSIAN, *SOURCES)]
        key = hashlib.sha256("\0".join([*texts, " ".join(FLAGS), version,
                                        platform.machine(), _cpu()]).encode()).hexdigest()[:16]
        target = _cache_dir() / f"pcc_native_{key}.so"
        if not target.exists():
            _build(compiler, target)
        return SumKernel(ctypes.CDLL(str(target)))
    except (OSError, subprocess.SubprocessError) as error:
        warnings.warn(f"pcc: the native engine is unavailable ({error}); engine='auto' runs "
                      "the torch engine instead (slower on the CPU; pass engine='torch' to "
                      "choose it and silence this)", stacklevel=2)
        return None

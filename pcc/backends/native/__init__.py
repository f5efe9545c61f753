"""The native engine: the compiled program run by runtime-built C on the CPU.

`pcc_native.h` is the whole interface between the C files and Python: the step record, its
kinds, the constant columns and every exported function's prototype. `library.py` builds the
C files, loads them and declares their ctypes signatures *from that header* (nothing is
mirrored by hand). On top: `fused.py` (the program's blocks as kernel steps), `tiled.py` (the
whole forward pass in one call, tile by tile), `leaves.py` (leaf rows by the leaf kernel) and
`flows.py` (the backward pass: flows for gradients and EM).
"""

# the native steps are made from the torch engine's program (its block modules): load that
# package first, so that importing a module of this one first cannot meet it half-initialized
import pcc.backends.torch  # noqa: F401

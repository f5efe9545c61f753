"""Inpainting of MNIST test digits with a Poon-Domingos circuit trained by `pcc train`.

    .venv/bin/python tools/inpaint.py [--model out/inpaint/pd.pcc] [--train-seconds 300]
        [--units 8] [--limit 6000] [--out docs/images/inpainting.png]

Trains (unless --model exists) a Poon-Domingos circuit (delta 7, Bernoulli leaves) on the first
--limit training images binarized at 127, with online EM (batches of 200, step 0.3), via
`pcc train`. Then for one test
digit of each class, the top half of the image is observed and the bottom half is filled by MPE
(max-product: this circuit is not deterministic, so an approximation) and by two conditional
samples, all with the torch backend. Writes a PNG grid (rows: original, observed half, MPE, two
samples; filled pixels are tinted blue) and prints the share of missing pixels that MPE
restores and the mean log-likelihood of the completions.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist"
SIDE, SCALE, GAP = 28, 3, 4


def train(args: argparse.Namespace) -> None:
    from pcc.cli.main import main

    Path(args.model).parent.mkdir(parents=True, exist_ok=True)
    status = main(["train", "--structure", "pd", "--delta", "7", "--data", str(MNIST),
                   "--test", str(MNIST), "--binarize", "127", "--units", str(args.units),
                   "--limit", str(args.limit), "--batch-size", "200", "--step-size", "0.3",
                   "--epochs", "50",
                   "--time-limit", str(args.train_seconds), "--seed", str(args.seed),
                   "--no-progress", "-o", str(args.model)])
    if status:
        sys.exit(f"inpaint: pcc train failed with status {status}")


def digits(count_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The first test images of each class 0..9, binarized at 127, and their labels."""
    from pcc.data import load_mnist

    images, labels = load_mnist(MNIST, "test")
    picks = np.concatenate([np.flatnonzero(labels == c)[:count_per_class] for c in range(10)])
    return (images[picks] > 127).astype(np.float64), labels[picks]


def cell(image: np.ndarray, filled: np.ndarray | None) -> np.ndarray:
    """A (28 SCALE, 28 SCALE, 3) uint8 tile: white ink on black; filled pixels tinted blue,
    pixels still missing drawn mid-grey."""
    v = np.nan_to_num(image, nan=0.0).reshape(SIDE, SIDE)
    rgb = np.stack([v, v, v], axis=-1) * 255
    if filled is not None:
        f = filled.reshape(SIDE, SIDE)
        rgb[f] = np.stack([v[f] * 150 + 20, v[f] * 200 + 40, v[f] * 175 + 80], axis=-1)
    missing = np.isnan(image).reshape(SIDE, SIDE)
    rgb[missing] = [70, 70, 70]
    return np.kron(rgb, np.ones((SCALE, SCALE, 1))).astype(np.uint8)


def grid(rows: list[list[np.ndarray]]) -> np.ndarray:
    size = SIDE * SCALE
    out = np.full((len(rows) * (size + GAP) + GAP, len(rows[0]) * (size + GAP) + GAP, 3), 255,
                  dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            y, x = GAP + i * (size + GAP), GAP + j * (size + GAP)
            out[y:y + size, x:x + size] = tile
    return out


def write_png(path: Path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG (no dependency: zlib and the chunk layout of the PNG spec)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))  # filter 0 per line
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "out" / "inpaint" / "pd.pcc"))
    parser.add_argument("--train-seconds", type=float, default=300.0)
    parser.add_argument("--units", type=int, default=8)
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "inpainting.png"))
    args = parser.parse_args()
    if not MNIST.is_dir():
        sys.exit(f"inpaint: needs MNIST in {MNIST}")
    sys.path.insert(0, str(ROOT))
    if not Path(args.model).exists():
        train(args)
    import torch

    from pcc.backends.reference import log_likelihood
    from pcc.backends.torch import compile
    from pcc.backends.torch.mpe import mpe
    from pcc.backends.torch.sample import sample
    from pcc.io import load_circuit

    circuit = load_circuit(args.model)
    model = compile(circuit, dtype=torch.float32)
    images, _ = digits(1)
    evidence = images.copy()
    evidence[:, SIDE * SIDE // 2:] = np.nan                 # observe the top half
    missing = np.isnan(evidence)
    result = mpe(model, evidence)
    completed = result.states.numpy()
    draws = sample(model, evidence, num_samples=2, generator=args.seed).numpy()
    rows = [[cell(x, None) for x in images], [cell(x, None) for x in evidence],
            [cell(x, m) for x, m in zip(completed, missing)]]
    rows += [[cell(draws[2 * i + k], missing[i]) for i in range(len(images))] for k in range(2)]
    write_png(Path(args.out), grid(rows))
    restored = (completed[missing] == images[missing]).mean()
    print(f"{args.model}: {len(circuit)} groups, {circuit.num_units} units; "
          f"{'exact' if result.exact else 'max-product (approximate)'} MPE")
    print(f"MPE restores {restored:.1%} of the missing pixels; mean log-likelihood: originals "
          f"{log_likelihood(circuit, images).mean():.2f}, MPE completions "
          f"{log_likelihood(circuit, completed).mean():.2f}, samples "
          f"{log_likelihood(circuit, draws).mean():.2f}")
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()

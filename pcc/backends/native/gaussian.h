/* gaussian.h: the Gaussian leaf's log-density, written once for the C files (leaf_kernel.c's
 * leaf rows, tile_kernel.c's leaves added into their product in place).
 *
 * log N(x; mean, std) = offset - z^2 / 2 with z = (x - mean) inv_std and offset = -log std -
 * log(2 pi) / 2 (made in Python: leaves.py). The exponent is taken as -(y^2) with
 * y = x a - shift, a = inv_std / sqrt 2 and shift = mean a: two fused double operations (the
 * Gaussian was 70% of a Gaussian SPN's call); its rounding, about 1e-16 |mean| / std absolute,
 * is far below a float result's. A double result takes the subtraction first instead, as the
 * reference does (`gaussian_exponent_exact`). */
#ifndef PCC_GAUSSIAN_H
#define PCC_GAUSSIAN_H

static inline double gaussian_scale(double inv_std) { return inv_std * 0.70710678118654752; }

static inline double gaussian_exponent(double x, double a, double shift) {
    const double y = x * a - shift;
    return -(y * y);
}

static inline double gaussian_exponent_exact(double x, double mean, double inv_std) {
    const double z = (x - mean) * inv_std;
    return -0.5 * z * z;
}
#endif

/* The whole CPU forward pass in one call, a tile of examples at a time (built with sum_kernel.c
 * and leaf_kernel.c into one library, library.py; run by tiled.py and, backwards, by flows.py).
 *
 * A program is a list of steps over a (columns, tile) activation buffer: leaves (Gaussian,
 * histograms, value-table lookups, or rows computed beforehand), fused sums of products, and
 * product rows, each one call of the kernels in the other two files with `tile` as the batch.
 * Running every step on a tile of examples before the next tile keeps the buffer in cache: on
 * the whole batch it was written and read from memory once per step (at 10,000 rows the leaf
 * rows alone are tens of MB), and each step was a call from Python. The tile's data is first
 * transposed into (vars, tile) values, masks and lookup codes; a partial last tile is padded
 * with zeros (its outputs are computed and dropped). The root's columns go to out (rows, units).
 * The file includes itself once per floating type. */
#ifndef T
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gaussian.h"
#include "pcc_native.h"

/* a value inside its variable's open bounds, and whole where it must be (NaN: never);
 * branch-free, so that the check vectorizes */
static inline int in_domain(double x, double low, double high, int whole) {
    return (x > low) & (x < high) & (!whole | (x == floor(x)));
}

/* acc += log N(x; mean, std) - offset for one Gaussian leaf of a product, in double, by the
 * fast exponent (gaussian.h); with a mask (m), the whole log-density (offset included) and 0
 * where missing. `first`: acc holds nothing yet. */
static inline void gaussian_sum(const double *x, const uint8_t *m, int64_t tile, double mean,
                                double inv_std, double offset, int first, double *acc) {
    const double a = gaussian_scale(inv_std), shift = mean * a;
    if (m) {
        #pragma omp simd
        for (int64_t t = 0; t < tile; t++)
            acc[t] = (first ? 0 : acc[t]) + (m[t] ? 0 : offset + gaussian_exponent(x[t], a, shift));
    } else {
        #pragma omp simd
        for (int64_t t = 0; t < tile; t++)
            acc[t] = (first ? 0 : acc[t]) + gaussian_exponent(x[t], a, shift);
    }
}

#define T float
#define SUFFIX(name) name##_f32
#include "tile_kernel.c"
#undef T
#undef SUFFIX
#define T double
#define SUFFIX(name) name##_f64
#include "tile_kernel.c"

#else
#include "pcc_native.h"

/* rows [r0, r0 + n) of a leaf step for the tile, into o (n rows of `tile`), or added to it */
static void SUFFIX(leaf_rows)(const Step *s, int64_t r0, int64_t n, const double *xt,
                              const uint8_t *m, const int32_t *codes, int64_t tile, int64_t add,
                              T *o) {
    const T *values = (const T *)s->values + r0 * s->width;
    switch (s->kind) {
    case GAUSSIAN:
        SUFFIX(gaussian)(xt, m, tile, s->var + r0, n, s->a + r0, s->b + r0, s->c + r0, add, o);
        break;
    case UNIT_BINS:
        SUFFIX(unit_bins)(values, s->width, s->a + r0, s->bins + r0, xt, m, tile, s->var + r0,
                          n, add, o);
        break;
    case SEARCH_BINS:
        SUFFIX(search_bins)(values, s->a + r0 * (s->width + 1), s->width, s->bins + r0, xt, m,
                            tile, s->var + r0, n, add, o);
        break;
    case LOOKUP:
        SUFFIX(lookup32)(values, s->width, codes, tile, s->var + r0, n, add, o);
        break;
    }
}

/* a leaf step's rows: all at `start` on, or (with `columns`) each at its column, runs of
 * consecutive columns in one call; column -1: the row is read in place by a product */
static void SUFFIX(leaf_step)(const Step *s, const double *xt, const uint8_t *m,
                              const int32_t *codes, int64_t tile, T *buf) {
    if (!s->columns) {
        SUFFIX(leaf_rows)(s, 0, s->rows, xt, m, codes, tile, 0, buf + s->start * tile);
        return;
    }
    for (int64_t r = 0, e; r < s->rows; r = e) {
        const int64_t first = s->columns[r];
        e = r + 1;
        if (first < 0)
            continue;
        while (e < s->rows && s->columns[e] == first + (e - r)) e++;
        SUFFIX(leaf_rows)(s, r, e - r, xt, m, codes, tile, 0, buf + first * tile);
    }
}

/* product rows whose parts may be leaves read in place (part -1 - j: leaf j of `leaves`,
 * evaluated straight into the row): a leaf read only by one product is never stored, so the
 * buffer holds no column for it and its value is not written and read back. For a float row,
 * its Gaussian leaves add up in double in `acc` (with their offsets summed once where nothing
 * is missing) and reach the row once, converted: a LearnSPN product of 30 Gaussians paid a
 * conversion and a float add per leaf and example. */
static void SUFFIX(product_of_leaves)(const Step *steps, const Step *s, const double *xt,
                                      const uint8_t *m, const int32_t *codes, int64_t tile,
                                      T *buf, double *acc) {
    const int in_double = sizeof(T) == sizeof(float);
    for (int64_t r = 0; r < s->rows; r++) {
        T *o = buf + (s->columns ? s->columns[r] : s->start + r) * tile;
        int64_t added = 0, gaussians = 0;   /* whether o, acc hold a part yet */
        double offsets = 0;
        for (int64_t p = 0; p < s->parts; p++) {
            const int64_t column = s->index[r * s->parts + p];
            if (column < 0) {
                const int64_t *leaf = s->leaves + 2 * (-1 - column);
                const Step *g = steps + leaf[0];
                const int64_t i = leaf[1];
                if (in_double && g->kind == GAUSSIAN) {
                    const int64_t v = g->var[i];
                    gaussian_sum(xt + v * tile, m ? m + v * tile : 0, tile, g->a[i], g->b[i],
                                 g->c[i], !gaussians, acc);
                    offsets += m ? 0 : g->c[i];
                    gaussians = 1;
                    continue;
                }
                SUFFIX(leaf_rows)(g, i, 1, xt, m, codes, tile, added, o);
            } else if (column != 0) {   /* column 0: log 1, padding */
                const T *x = buf + column * tile;
                if (added) {
                    #pragma omp simd
                    for (int64_t t = 0; t < tile; t++) o[t] += x[t];
                } else {
                    memcpy(o, x, tile * sizeof(T));
                }
            } else {
                continue;
            }
            added = 1;
        }
        if (gaussians && added) {
            #pragma omp simd
            for (int64_t t = 0; t < tile; t++) o[t] += (T)(acc[t] + offsets);
        } else if (gaussians) {
            #pragma omp simd
            for (int64_t t = 0; t < tile; t++) o[t] = (T)(acc[t] + offsets);
        } else if (!added) {
            memset(o, 0, tile * sizeof(T));
        }
    }
}

/* examples [begin, end) of x (batch, vars) float64 and missing (the same, uint8, or NULL);
 * work: columns * tile T, then (vars + 1) * tile doubles (values, a product's Gaussians' sum),
 * vars * tile int32 codes and bytes. Rows steps read (rows, batch) arrays. code_k: the code of
 * a missing value in lookups (-1: no lookups).
 * low, high, whole (per variable, or NULL: no check): every value that is not missing must lie
 * in (low, high), and be a whole number where `whole`, checked as the tile's values are read
 * (numpy's whole-array passes for it cost 1-2 ms at 10,000 rows of 64 variables). Returns the
 * first example that fails, or -1. */
int64_t SUFFIX(run_program)(const Step *steps, int64_t num_steps, const double *x,
                            const uint8_t *missing, int64_t batch, int64_t vars, int64_t begin,
                            int64_t end, int64_t tile, int64_t columns, int64_t code_k,
                            void *work, int64_t root_start, int64_t root_units, T *out,
                            const double *low, const double *high, const uint8_t *whole) {
    T *buf = (T *)work;
    double *xt = (double *)(buf + columns * tile), *acc = xt + vars * tile;
    int32_t *codes = (int32_t *)(acc + tile);
    uint8_t *mt = (uint8_t *)(codes + vars * tile);
    for (int64_t t = 0; t < tile; t++) {
        buf[t] = 0;                    /* the constant columns: log 1 and log 0 */
        buf[tile + t] = -INFINITY;
    }
    for (int64_t b0 = begin; b0 < end; b0 += tile) {
        const int64_t n = end - b0 < tile ? end - b0 : tile;
        int any_missing = 0;
        for (int64_t v = 0; v < vars; v++) {
            double *xv = xt + v * tile;
            uint8_t *mv = mt + v * tile;
            for (int64_t t = 0; t < n; t++) xv[t] = x[(b0 + t) * vars + v];
            for (int64_t t = n; t < tile; t++) xv[t] = 0;
            if (missing) {
                for (int64_t t = 0; t < n; t++) {
                    mv[t] = missing[(b0 + t) * vars + v];
                    any_missing |= mv[t];
                }
                for (int64_t t = n; t < tile; t++) mv[t] = 0;
            }
            if (low) {
                const double lo = low[v], hi = high[v];
                const int integral = whole[v];
                /* missing entries hold 0, inside every domain: no mask needed */
                int fits = 1;
                #pragma omp simd reduction(&:fits)
                for (int64_t t = 0; t < n; t++) fits &= in_domain(xv[t], lo, hi, integral);
                if (!fits)
                    for (int64_t t = 0; t < n; t++)
                        if (!in_domain(xv[t], lo, hi, integral))
                            return b0 + t;   /* the caller names the value (check_data) */
            }
            if (code_k >= 0) {
                int32_t *cv = codes + v * tile;   /* values of finite domains: < 2^20 */
                for (int64_t t = 0; t < tile; t++) cv[t] = (int32_t)xv[t];
                if (missing)
                    for (int64_t t = 0; t < tile; t++) cv[t] = mv[t] ? (int32_t)code_k : cv[t];
            }
        }
        const uint8_t *m = any_missing ? mt : 0;
        for (int64_t i = 0; i < num_steps; i++) {
            const Step *s = steps + i;
            T *o = buf + s->start * tile;
            switch (s->kind) {
            case SUM:
                SUFFIX(sum_of_products)(buf, tile, s->index, s->rows, s->fan_in, s->parts,
                                        (const T *)s->values, o);
                break;
            case PRODUCT:
                if (s->leaves)
                    SUFFIX(product_of_leaves)(steps, s, xt, m, codes, tile, buf, acc);
                else
                    SUFFIX(add_rows)(buf, tile, s->index, s->rows, s->parts, s->columns,
                                     s->start);
                break;
            case GAUSSIAN:
            case UNIT_BINS:
            case SEARCH_BINS:
            case LOOKUP:
                SUFFIX(leaf_step)(s, xt, m, codes, tile, buf);
                break;
            case ROWS:
                for (int64_t r = 0; r < s->rows; r++)
                    memcpy(o + r * tile, (const T *)s->values + r * batch + b0, n * sizeof(T));
                break;
            }
        }
        for (int64_t t = 0; t < n; t++)
            for (int64_t u = 0; u < root_units; u++)
                out[(b0 + t) * root_units + u] = buf[(root_start + u) * tile + t];
    }
    return -1;
}
/* The backward pass of a program of SUM and PRODUCT steps (kernel sums and product rows) over
 * the whole batch: `buf` holds the forward's values, `grad` the gradient of the outputs; the
 * steps run last to first, each adding its rows' gradient into its inputs' (flows), so
 * nothing is scattered from Python and no intermediate is stored. */
void SUFFIX(flow_program)(const Step *steps, int64_t num_steps, const T *buf, T *grad,
                          int64_t batch) {
    for (int64_t i = num_steps - 1; i >= 0; i--) {
        const Step *s = steps + i;
        if (s->kind == SUM)
            SUFFIX(flow_sums)(buf, grad, batch, s->index, s->rows, s->fan_in, s->parts,
                              (const T *)s->values, s->start, s->grads);
        else if (s->kind == PRODUCT)
            SUFFIX(flow_rows)(buf, grad, batch, s->index, s->rows, s->parts, s->columns,
                              s->start);
    }
}

/* The forward pass of a program of SUM and PRODUCT steps, and (with grad_root) its backward, a
 * tile of examples at a time, from the leaf rows (num_leaves, batch): each tile's (columns,
 * tile) values are computed in `work` (so the buffer stays in cache and no pass keeps one for
 * the whole batch), then its flows in the second half of `work`; examples begin..end of the
 * batch (a thread's share; `batch` is the arrays' row length). With out_root, the root's
 * values go there (batch, root_units); the backward reads the root's gradient from grad_root
 * (batch, root_units), writes the leaf rows' gradient to grad_leaves (num_leaves, batch) and
 * adds the weights' gradients into each SUM step's `grads`. */
void SUFFIX(flow_tiles)(const Step *steps, int64_t num_steps, const T *leaves,
                        int64_t num_leaves, int64_t batch, int64_t begin, int64_t end,
                        int64_t columns, int64_t tile, void *work, int64_t root_start,
                        int64_t root_units, const T *grad_root, T *out_root, T *grad_leaves) {
    T *buf = (T *)work, *grad = buf + columns * tile;
    const int64_t first = NEG_INF_COLUMN + 1;
    for (int64_t b0 = begin; b0 < end; b0 += tile) {
        const int64_t n = end - b0 < tile ? end - b0 : tile;
        for (int64_t t = 0; t < n; t++) {
            buf[ZERO_COLUMN * n + t] = 0;
            buf[NEG_INF_COLUMN * n + t] = -INFINITY;
        }
        for (int64_t r = 0; r < num_leaves; r++)
            memcpy(buf + (first + r) * n, leaves + r * batch + b0, n * sizeof(T));
        for (int64_t i = 0; i < num_steps; i++) {
            const Step *s = steps + i;
            if (s->kind == SUM)
                SUFFIX(sum_of_products)(buf, n, s->index, s->rows, s->fan_in, s->parts,
                                        (const T *)s->values, buf + s->start * n);
            else
                SUFFIX(add_rows)(buf, n, s->index, s->rows, s->parts, s->columns, s->start);
        }
        if (out_root)
            for (int64_t t = 0; t < n; t++)
                for (int64_t u = 0; u < root_units; u++)
                    out_root[(b0 + t) * root_units + u] = buf[(root_start + u) * n + t];
        if (!grad_root)
            continue;
        memset(grad, 0, columns * n * sizeof(T));
        for (int64_t t = 0; t < n; t++)
            for (int64_t u = 0; u < root_units; u++)
                grad[(root_start + u) * n + t] = grad_root[(b0 + t) * root_units + u];
        SUFFIX(flow_program)(steps, num_steps, buf, grad, n);
        for (int64_t r = 0; r < num_leaves; r++)
            memcpy(grad_leaves + r * batch + b0, grad + (first + r) * n, n * sizeof(T));
    }
}
#endif
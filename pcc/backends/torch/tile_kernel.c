/* The whole CPU forward pass in one call, a tile of examples at a time (built with sum_kernel.c
 * and leaf_kernel.c into one library, native.py; run by tiled.py).
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

enum { SUM, PRODUCT, GAUSSIAN, UNIT_BINS, SEARCH_BINS, LOOKUP, ROWS };

/* one step; which fields a kind reads is listed in tiled.py (class Step there mirrors this) */
typedef struct {
    int64_t kind, rows, start, fan_in, parts, width;
    const int64_t *index, *var, *columns, *bins;
    const void *values;           /* log-weights, a value table, log densities or rows (T) */
    const double *a, *b, *c;      /* Gaussian mean, 1 / std, offset; histogram breaks/first */
} Step;

#define T float
#define SUFFIX(name) name##_f32
#include "tile_kernel.c"
#undef T
#undef SUFFIX
#define T double
#define SUFFIX(name) name##_f64
#include "tile_kernel.c"

#else
void SUFFIX(sum_of_products)(const T *, int64_t, const int64_t *, int64_t, int64_t, int64_t,
                             const T *, T *);
void SUFFIX(add_rows)(T *, int64_t, const int64_t *, int64_t, int64_t, const int64_t *, int64_t);
void SUFFIX(gaussian)(const double *, const uint8_t *, int64_t, const int64_t *, int64_t,
                      const double *, const double *, const double *, T *);
void SUFFIX(unit_bins)(const T *, int64_t, const double *, const int64_t *, const double *,
                       const uint8_t *, int64_t, const int64_t *, int64_t, T *);
void SUFFIX(search_bins)(const T *, const double *, int64_t, const int64_t *, const double *,
                         const uint8_t *, int64_t, const int64_t *, int64_t, T *);
void SUFFIX(lookup32)(const T *, int64_t, const int32_t *, int64_t, const int64_t *, int64_t,
                      T *);

/* examples [begin, end) of x (batch, vars) float64 and missing (the same, uint8, or NULL);
 * work: columns * tile T, then vars * tile doubles, int32 codes and bytes. Rows steps read
 * (rows, batch) arrays. code_k: the code of a missing value in lookups (-1: no lookups). */
void SUFFIX(run_program)(const Step *steps, int64_t num_steps, const double *x,
                         const uint8_t *missing, int64_t batch, int64_t vars, int64_t begin,
                         int64_t end, int64_t tile, int64_t columns, int64_t code_k,
                         void *work, int64_t root_start, int64_t root_units, T *out) {
    T *buf = (T *)work;
    double *xt = (double *)(buf + columns * tile);
    int32_t *codes = (int32_t *)(xt + vars * tile);
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
                SUFFIX(add_rows)(buf, tile, s->index, s->rows, s->parts, s->columns, s->start);
                break;
            case GAUSSIAN:
                SUFFIX(gaussian)(xt, m, tile, s->var, s->rows, s->a, s->b, s->c, o);
                break;
            case UNIT_BINS:
                SUFFIX(unit_bins)((const T *)s->values, s->width, s->a, s->bins, xt, m, tile,
                                  s->var, s->rows, o);
                break;
            case SEARCH_BINS:
                SUFFIX(search_bins)((const T *)s->values, s->a, s->width, s->bins, xt, m, tile,
                                    s->var, s->rows, o);
                break;
            case LOOKUP:
                SUFFIX(lookup32)((const T *)s->values, s->width, codes, tile, s->var, s->rows, o);
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
}
#endif

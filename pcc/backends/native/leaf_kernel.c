/* The leaves of pcc's CPU forward pass (built with sum_kernel.c into one library, library.py).
 *
 * Each function fills `rows` rows of a (rows, batch) output, row r reading variable var[r] of
 * the (vars, batch) float64 data `xt`: one pass per row, written straight into the activation
 * buffer, with no (rows, batch) temporaries (torch's ops made five, and at batch 10,000 each
 * fresh one cost more in page faults than its arithmetic). `missing` is a (vars, batch) uint8
 * mask (1: marginalized, the value is log 1 = 0) or NULL where nothing is missing. Densities
 * are computed in float64, as the reference does, and stored in T.
 * The file includes itself once per floating type. */
#ifndef T
#include <math.h>
#include <stdint.h>

#include "gaussian.h"
#include "pcc_native.h"

#ifdef __AVX2__
#include <immintrin.h>
/* Value-table rows of up to 32 floats (8 doubles) are read by in-register permutes: the row is
 * held in vectors of 8 floats, each example's code picks its lane in every vector, and the
 * vector that holds the code wins (doubles: below). Measured on this machine's EPYC (64-example
 * tiles, 1,400 rows, ns per value): float rows of 3 / 8 / 18 / 32 values 0.24 / 0.22 / 0.29 /
 * 0.36 against 0.66 / 1.85 / 0.66 / 1.0 by gathers (or, up to 8, one select pass per value);
 * double rows of 3 / 8 values 0.45 / 0.37 against 0.79 / 2.2. Gathers beyond 32 floats (64:
 * 0.64 against 0.58) and beyond 8 doubles (18: 0.82 against 0.49 with vectors of 4 doubles). */
#define PERMUTE_FLOATS 32
#define PERMUTE_DOUBLES 8

/* a mask of the first n of 8 32-bit lanes: loads of a row's last vector stop at its end
 * (copying the row to a padded array first stalled each vector's load on the copy's stores) */
static inline __m256i lanes_below(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(n < 8 ? n : 8)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static inline __attribute__((always_inline)) void permute_row_f32(
        const float *row, int64_t width, const int32_t *c, int64_t batch, float *o,
        const int chunks, const int add) {
    __m256 tv[8];
    for (int j = 0; j < chunks; j++)
        tv[j] = _mm256_maskload_ps(row + 8 * j, lanes_below(width - 8 * j));
    int64_t b = 0;
    for (; b + 8 <= batch; b += 8) {
        const __m256i ci = _mm256_loadu_si256((const __m256i *)(c + b));
        __m256 v = _mm256_permutevar8x32_ps(tv[0], ci);   /* lane = code mod 8 */
        for (int j = 1; j < chunks; j++) {
            const __m256i above = _mm256_cmpgt_epi32(ci, _mm256_set1_epi32(8 * j - 1));
            v = _mm256_blendv_ps(v, _mm256_permutevar8x32_ps(tv[j], ci),
                                 _mm256_castsi256_ps(above));
        }
        _mm256_storeu_ps(o + b, add ? _mm256_add_ps(_mm256_loadu_ps(o + b), v) : v);
    }
    for (; b < batch; b++) o[b] = add ? o[b] + row[c[b]] : row[c[b]];
}

/* doubles (rows of up to 8): the row's low and high 32-bit halves in a vector each, so that
 * one permute per half reads 8 examples' values, interleaved back into two vectors of doubles
 * (picking 2c and 2c + 1 from two doubles per vector took twice the operations) */
static inline __attribute__((always_inline)) void permute_row_f64(
        const double *row, int64_t width, const int32_t *c, int64_t batch, double *o,
        const int chunks, const int add) {
    (void)chunks;   /* always 1: PERMUTE_DOUBLES is 8 */
    const __m256i halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256 first = _mm256_permutevar8x32_ps(
        _mm256_castpd_ps(_mm256_maskload_pd(row, lanes_below(2 * width))), halves);
    const __m256 second = _mm256_permutevar8x32_ps(
        _mm256_castpd_ps(_mm256_maskload_pd(row + 4, lanes_below(2 * (width - 4)))), halves);
    const __m256 low = _mm256_permute2f128_ps(first, second, 0x20);
    const __m256 high = _mm256_permute2f128_ps(first, second, 0x31);
    int64_t b = 0;
    for (; b + 8 <= batch; b += 8) {
        const __m256i ci = _mm256_loadu_si256((const __m256i *)(c + b));
        const __m256 lo = _mm256_permutevar8x32_ps(low, ci);
        const __m256 hi = _mm256_permutevar8x32_ps(high, ci);
        const __m256 a = _mm256_unpacklo_ps(lo, hi), z = _mm256_unpackhi_ps(lo, hi);
        __m256d v0 = _mm256_castps_pd(_mm256_permute2f128_ps(a, z, 0x20));
        __m256d v1 = _mm256_castps_pd(_mm256_permute2f128_ps(a, z, 0x31));
        if (add) {
            v0 = _mm256_add_pd(_mm256_loadu_pd(o + b), v0);
            v1 = _mm256_add_pd(_mm256_loadu_pd(o + b + 4), v1);
        }
        _mm256_storeu_pd(o + b, v0);
        _mm256_storeu_pd(o + b + 4, v1);
    }
    for (; b < batch; b++) o[b] = add ? o[b] + row[c[b]] : row[c[b]];
}

/* every row; `chunks` a constant in each case, so that the loops over the vectors unroll */
#define PERMUTE_CASES(NAME, PER)                                                              \
    static inline __attribute__((always_inline)) void NAME##_rows(                            \
            const T *table, int64_t width, const int32_t *codes, int64_t batch,               \
            const int64_t *var, int64_t rows, T *out, const int add) {                        \
        const int chunks = (int)((width + PER - 1) / PER);                                    \
        for (int64_t r = 0; r < rows; r++) {                                                  \
            const T *row = table + r * width;                                                 \
            const int32_t *c = codes + var[r] * batch;                                        \
            T *o = out + r * batch;                                                           \
            switch (chunks) {                                                                 \
            case 1: NAME(row, width, c, batch, o, 1, add); break;                             \
            case 2: NAME(row, width, c, batch, o, 2, add); break;                             \
            case 3: NAME(row, width, c, batch, o, 3, add); break;                             \
            case 4: NAME(row, width, c, batch, o, 4, add); break;                             \
            case 5: NAME(row, width, c, batch, o, 5, add); break;                             \
            case 6: NAME(row, width, c, batch, o, 6, add); break;                             \
            case 7: NAME(row, width, c, batch, o, 7, add); break;                             \
            default: NAME(row, width, c, batch, o, 8, add); break;                            \
            }                                                                                 \
        }                                                                                     \
    }
#define T float
PERMUTE_CASES(permute_row_f32, 8)
#undef T
#define T double
PERMUTE_CASES(permute_row_f64, 4)
#undef T
#undef PERMUTE_CASES
#endif

#define T float
#define SUFFIX(name) name##_f32
#define GAUSSIAN gaussian_f32
#define SEARCH_BINS search_bins_f32
#define UNIT_BINS unit_bins_f32
#define LOOKUP lookup_f32
#define LOOKUP32 lookup32_f32
#define PERMUTE_ROWS permute_row_f32_rows
#define PERMUTE_WIDTH PERMUTE_FLOATS
#define GAUSSIAN_ROW gaussian_row_f32
#define SEARCH_ROW search_row_f32
#define UNIT_ROW unit_row_f32
#define SELECT select_f32
#include "leaf_kernel.c"
#undef T
#undef SUFFIX
#undef GAUSSIAN
#undef SEARCH_BINS
#undef UNIT_BINS
#undef LOOKUP
#undef LOOKUP32
#undef PERMUTE_ROWS
#undef PERMUTE_WIDTH
#undef GAUSSIAN_ROW
#undef SEARCH_ROW
#undef UNIT_ROW
#undef SELECT
#define T double
#define SUFFIX(name) name##_f64
#define GAUSSIAN gaussian_f64
#define SEARCH_BINS search_bins_f64
#define UNIT_BINS unit_bins_f64
#define LOOKUP lookup_f64
#define LOOKUP32 lookup32_f64
#define PERMUTE_ROWS permute_row_f64_rows
#define PERMUTE_WIDTH PERMUTE_DOUBLES
#define GAUSSIAN_ROW gaussian_row_f64
#define SEARCH_ROW search_row_f64
#define UNIT_ROW unit_row_f64
#define SELECT select_f64
#include "leaf_kernel.c"

#else
#include "pcc_native.h"

/* Each kernel stores its value, or with `add` adds it to what is there (a leaf read in place
 * by the product row `out`: tile_kernel.c), and stores log 1 = 0 where the value is missing.
 * The loops are inlined with both flags constant (FOUR_WAYS), so that each one vectorizes. */
#ifndef FOUR_WAYS
#define FOUR_WAYS(ROW)                                                                        \
    if (m && add) ROW(1, 1) else if (m) ROW(1, 0) else if (add) ROW(0, 1) else ROW(0, 0)
#define PUT(o, m, b, value, has_m, add) do {                                                  \
        T v_ = (value);                                                                       \
        if (has_m) v_ = (m)[b] ? (T)0 : v_;                                                   \
        (o)[b] = (add) ? (o)[b] + v_ : v_;                                                    \
    } while (0)
#endif

/* one Gaussian leaf row (gaussian.h): the fast exponent for a float result, the exact one for
 * a double result */
static inline __attribute__((always_inline)) void GAUSSIAN_ROW(
        const double *x, const uint8_t *m, int64_t batch, double mu, double s, double c, T *o,
        const int has_m, const int add) {
    if (sizeof(T) == sizeof(float)) {
        const double a = gaussian_scale(s), shift = mu * a;
        #pragma omp simd
        for (int64_t b = 0; b < batch; b++)
            PUT(o, m, b, (T)(c + gaussian_exponent(x[b], a, shift)), has_m, add);
        return;
    }
    #pragma omp simd
    for (int64_t b = 0; b < batch; b++)
        PUT(o, m, b, (T)(c + gaussian_exponent_exact(x[b], mu, s)), has_m, add);
}

void GAUSSIAN(const double *xt, const uint8_t *missing, int64_t batch, const int64_t *var,
              int64_t rows, const double *mean, const double *inv_std, const double *offset,
              int64_t add, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        const double *x = xt + var[r] * batch;
        const uint8_t *m = missing ? missing + var[r] * batch : 0;
        const double mu = mean[r], s = inv_std[r], c = offset[r];
        T *o = out + r * batch;
#define ROW(has_m, add) GAUSSIAN_ROW(x, m, batch, mu, s, c, o, has_m, add);
        FOUR_WAYS(ROW)
#undef ROW
    }
}

/* histograms with any sorted breaks (rows, width + 1; +inf pads past a row's bins[r] + 1):
 * the bin of x is the last break <= x (the same comparisons as numpy's
 * searchsorted(side="right") - 1), -inf outside [b_0, b_bins). A branch-free binary search
 * whose halvings depend only on the row's number of breaks, run for a tile of examples at once:
 * one search at a time was a chain of dependent loads (13 ns per value at 56 breaks). */
#ifndef SEARCH_TILE
#define SEARCH_TILE 64
#endif
static inline __attribute__((always_inline)) void SEARCH_ROW(
        const T *d, const double *br, int64_t n, const double *x, const uint8_t *mm,
        int64_t batch, T *o, const int has_m, const int add) {
    for (int64_t b0 = 0; b0 < batch; b0 += SEARCH_TILE) {
        const int64_t m = batch - b0 < SEARCH_TILE ? batch - b0 : SEARCH_TILE;
        const double *v = x + b0;
        int64_t pos[SEARCH_TILE];
        for (int64_t t = 0; t < m; t++) pos[t] = 0;
        /* invariant: the count of breaks <= v lies in [pos, pos + len] */
        for (int64_t len = n; len > 1; ) {
            const int64_t half = len / 2;
            for (int64_t t = 0; t < m; t++) pos[t] += br[pos[t] + half] <= v[t] ? half : 0;
            len -= half;
        }
        for (int64_t t = 0; t < m; t++) {
            const int64_t k = pos[t] + (br[pos[t]] <= v[t]) - 1;
            const int inside = k >= 0 && k < n - 1;
            PUT(o, mm, b0 + t, inside ? d[inside ? k : 0] : (T)-INFINITY, has_m, add);
        }
    }
}

void SEARCH_BINS(const T *log_density, const double *breaks, int64_t width, const int64_t *bins,
                 const double *xt, const uint8_t *missing, int64_t batch, const int64_t *var,
                 int64_t rows, int64_t add, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        const double *x = xt + var[r] * batch, *br = breaks + r * (width + 1);
        const uint8_t *m = missing ? missing + var[r] * batch : 0;
        const int64_t n = bins[r] + 1;   /* the row's real breaks */
        const T *d = log_density + r * width;
        T *o = out + r * batch;
#define ROW(has_m, add) SEARCH_ROW(d, br, n, x, m, batch, o, has_m, add);
        FOUR_WAYS(ROW)
#undef ROW
    }
}

/* histograms whose bins are [b, b + 1), [b + 1, b + 2), ...: out[r, c] = log_density[r, k] with
 * k = floor(x) - b in 0..bins-1, -inf outside (no search) */
static inline __attribute__((always_inline)) void UNIT_ROW(
        const T *d, double low, double count, const double *x, const uint8_t *m,
        int64_t batch, T *o, const int has_m, const int add) {
    #pragma omp simd
    for (int64_t b = 0; b < batch; b++) {
        const double k = floor(x[b]) - low;
        const int inside = k >= 0 && k < count;
        /* an int32 index: AVX2 converts and gathers those, not int64 */
        const T value = d[(int32_t)(inside ? k : 0)];
        PUT(o, m, b, inside ? value : (T)-INFINITY, has_m, add);
    }
}

void UNIT_BINS(const T *log_density, int64_t width, const double *first, const int64_t *bins,
               const double *xt, const uint8_t *missing, int64_t batch, const int64_t *var,
               int64_t rows, int64_t add, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        const double *x = xt + var[r] * batch;
        const uint8_t *m = missing ? missing + var[r] * batch : 0;
        const T *d = log_density + r * width;
        T *o = out + r * batch;
        const double low = first[r], count = (double)bins[r];
#define ROW(has_m, add) UNIT_ROW(d, low, count, x, m, batch, o, has_m, add);
        FOUR_WAYS(ROW)
#undef ROW
    }
}

/* leaves by value table: out[r, b] = table[r, codes[var[r], b]] (a value table per unit, each
 * variable's values coded 0..width-1; the code of a missing value has log 1), for int64 codes
 * (LOOKUP, from torch) and int32 codes (LOOKUP32, the tile kernel's: AVX2 gathers and permutes
 * by int32 indices only). Tables of up to SELECT_WIDTH values (binary variables: 0, 1,
 * missing) are read by selects, wider ones by gathers where permutes (above) do not serve. */
#define SELECT_WIDTH 3
static inline __attribute__((always_inline)) T SELECT(const T *t, int64_t width, int64_t c) {
    T v = t[0];
    for (int64_t j = 1; j < SELECT_WIDTH; j++) v = j < width && c == j ? t[j] : v;
    return v;
}
#define LOOKUP_BODY(add)                                                                      \
    for (int64_t r = 0; r < rows; r++) {                                                      \
        const CODE *c = codes + var[r] * batch;                                               \
        const T *t = table + r * width;                                                       \
        T *o = out + r * batch;                                                               \
        if (width <= SELECT_WIDTH) {                                                          \
            _Pragma("omp simd")                                                               \
            for (int64_t b = 0; b < batch; b++) PUT(o, c, b, SELECT(t, width, c[b]), 0, add); \
        } else {                                                                              \
            _Pragma("omp simd")                                                               \
            for (int64_t b = 0; b < batch; b++) PUT(o, c, b, t[c[b]], 0, add);               \
        }                                                                                     \
    }
void LOOKUP(const T *table, int64_t width, const int64_t *codes, int64_t batch,
            const int64_t *var, int64_t rows, T *out) {
#define CODE int64_t
    LOOKUP_BODY(0)
#undef CODE
}
void LOOKUP32(const T *table, int64_t width, const int32_t *codes, int64_t batch,
              const int64_t *var, int64_t rows, int64_t add, T *out) {
#ifdef __AVX2__
    if (width <= PERMUTE_WIDTH) {
        if (add)
            PERMUTE_ROWS(table, width, codes, batch, var, rows, out, 1);
        else
            PERMUTE_ROWS(table, width, codes, batch, var, rows, out, 0);
        return;
    }
#endif
#define CODE int32_t
    if (add) {
        LOOKUP_BODY(1)
    } else {
        LOOKUP_BODY(0)
    }
#undef CODE
}
#undef LOOKUP_BODY
#undef SELECT_WIDTH
#endif

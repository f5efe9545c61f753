/* The fused sparse sum of pcc's native engine, forward and backward (flows), built and loaded
 * by library.py; the prototypes are in pcc_native.h.
 *
 * out[r, b] = log sum_f exp(logw[r, f] + sum_p buf[idx[r, f, p], b])
 *
 * buf is the (columns, batch) activation buffer, idx a (rows, fan_in, parts) array of its
 * columns: each sum input is the log-product of `parts` columns (a product fused into its
 * sum; the constant log-1 column pads). One pass over the input rows, in tiles of the batch:
 * nothing intermediate is written to memory. Exact max shift per output (a row of -inf stays
 * -inf, never NaN); terms whose exp would be subnormal add nothing at this precision.
 * Every inner loop is branch-free and vectorizes. exp and log are inlined polynomials over the
 * only ranges they meet here (exp of [FLOOR, 0], log of [1, fan-in]): libm's vector versions
 * ran 5-10x slower on the many -inf inputs of indicator leaves.
 * Also the products that are not fused (the leaves are in leaf_kernel.c).
 * The file includes itself once per floating type. */
#ifndef T
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pcc_native.h"

#define TILE 64
/* 1 / i!, the Taylor coefficients of exp */
static const double FACTORIAL_INVERSE[] = {
    1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
    1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
#define MAX(a, b) ((a) > (b) ? (a) : (b))   /* fmax would promote floats */
#define MAX_FAN_IN 64

/* below FLOOR, exp is subnormal: the term is under half an ulp of the max term's 1 */
#define T float
#define SUFFIX(name) name##_f32
#define BITS uint32_t
#define MANTISSA 23
#define BIAS 127
#define NAME sum_of_products_f32
#define SUM_TILE sum_tile_f32
#define INPUT input_f32
#define SUM_WIDE_TILE sum_wide_tile_f32
#define ADD_EXP add_exp_f32
#define FINISH finish_f32
#define PAIR pair_f32
#define ADD_ROWS add_rows_f32
#define EXP exp_f32
#define LOG log_f32
#define EXP_DEGREE 6
#define LOG_DEGREE 3
#define FLOOR (-87.0f)
#include "sum_kernel.c"
#undef T
#undef SUFFIX
#undef BITS
#undef MANTISSA
#undef BIAS
#undef NAME
#undef SUM_TILE
#undef INPUT
#undef SUM_WIDE_TILE
#undef ADD_EXP
#undef FINISH
#undef PAIR
#undef ADD_ROWS
#undef EXP
#undef LOG
#undef EXP_DEGREE
#undef LOG_DEGREE
#undef FLOOR
#define T double
#define SUFFIX(name) name##_f64
#define BITS uint64_t
#define MANTISSA 52
#define BIAS 1023
#define NAME sum_of_products_f64
#define SUM_TILE sum_tile_f64
#define INPUT input_f64
#define SUM_WIDE_TILE sum_wide_tile_f64
#define ADD_EXP add_exp_f64
#define FINISH finish_f64
#define PAIR pair_f64
#define ADD_ROWS add_rows_f64
#define EXP exp_f64
#define LOG log_f64
#define EXP_DEGREE 13
#define LOG_DEGREE 10
#define FLOOR (-708.0)
#include "sum_kernel.c"

#else
#include "pcc_native.h"

/* exp(x) for x in [FLOOR, 0]: x = k ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series
 * (relative error below 2e-7 in float, a few ulp; 1e-15 in double), 2^k in the exponent bits */
static inline T EXP(T x) {
    const T k = nearbyint(x * (T)1.4426950408889634);
    const T r = (x - k * (T)0.693145751953125) - k * (T)1.428606820309417e-06;
    T p = (T)FACTORIAL_INVERSE[EXP_DEGREE];
    #pragma GCC unroll 16   /* Horner: one fused multiply-add per degree */
    for (int i = EXP_DEGREE - 1; i >= 0; i--) p = p * r + (T)FACTORIAL_INVERSE[i];
    const BITS bits = (BITS)((int32_t)k + BIAS) << MANTISSA;   /* int32: vector converts */
    T scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* log(x) for x >= 1: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(t) with
 * t = (m - 1) / (m + 1), |t| <= 0.172, by its series (error below 3e-8 / 1e-15) */
static inline T LOG(T x) {
    BITS bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)(bits >> MANTISSA) - BIAS;
    bits = (bits & (((BITS)1 << MANTISSA) - 1)) | ((BITS)BIAS << MANTISSA);
    T m;
    memcpy(&m, &bits, sizeof m);
    const int32_t big = m > (T)1.4142135623730951;
    m = big ? m * (T)0.5 : m;
    e += big;
    const T t = (m - 1) / (m + 1), t2 = t * t;
    T series = 0;
    #pragma GCC unroll 16
    for (int i = LOG_DEGREE; i >= 0; i--) series = (T)1 / (T)(2 * i + 1) + t2 * series;
    return (T)e * (T)0.6931471805599453 + 2 * t * series;
}

/* input f of a sum for examples b0..b0+n-1: its log-weight plus its parts' columns */
static inline __attribute__((always_inline)) void INPUT(
        T *vf, const T *buf, int64_t batch, int64_t b0, const int64_t n, const int64_t *ir,
        int64_t parts, T w) {
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) vf[t] = w;
    for (int64_t p = 0; p < parts; p++) {
        const int64_t column = ir[p];
        if (column == ZERO_COLUMN)      /* log 1: padding */
            continue;
        const T *x = buf + column * batch + b0;
        #pragma omp simd
        for (int64_t t = 0; t < n; t++) vf[t] += x[t];
    }
}

/* s += exp(v - m), terms whose exp would be subnormal adding 0 */
static inline __attribute__((always_inline)) void ADD_EXP(T *s, const T *v, const T *m,
                                                          const int64_t n) {
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) {
        /* clamped: EXP builds 2^k in the exponent bits, valid down to FLOOR */
        const T d = v[t] - m[t];
        const T e = EXP(MAX(d, FLOOR));
        s[t] += d < FLOOR ? 0 : e;
    }
}

/* o = log s + m, or log 0 where no input was live (s is 0 or >= 1) */
static inline __attribute__((always_inline)) void FINISH(const T *s, const T *m,
                                                         const int64_t n, T *o) {
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) {
        const T l = LOG(MAX(s[t], (T)1)) + m[t];
        o[t] = s[t] > 0 ? l : -INFINITY;
    }
}

/* o = log(e^a + e^b) = max + log(1 + e^(min - max)): one exp, not two (most sums of a PSDD
 * have two live inputs); -inf where both are (the NaN of -inf - -inf is clamped to FLOOR, and
 * adding the max's -inf gives -inf) */
static inline __attribute__((always_inline)) void PAIR(const T *a, const T *b, const int64_t n,
                                                       T *o) {
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) {
        const T hi = MAX(a[t], b[t]), lo = a[t] < b[t] ? a[t] : b[t];
        const T d = lo - hi;
        const T e = EXP(d > FLOOR ? d : FLOOR);
        o[t] = LOG(1 + (d < FLOOR ? 0 : e)) + hi;
    }
}

/* one row's outputs for examples b0..b0+n-1; inlined twice, for whole tiles (n a constant:
 * loops without remainders) and for the last, partial one. The inputs are kept from the max
 * pass for the sum pass (fan_in <= MAX_FAN_IN). */
static inline __attribute__((always_inline)) void SUM_TILE(
        const T *buf, int64_t batch, int64_t b0, const int64_t n, const int64_t *ir,
        int64_t fan_in, int64_t parts, const T *lw, T *o) {
    T v[MAX_FAN_IN][TILE], m[TILE], s[TILE];
    #pragma omp simd
    for (int64_t t = 0; t < TILE; t++) { m[t] = -INFINITY; s[t] = 0; }
    int64_t live = 0;   /* inputs of weight 0 (padding, exact zeros) are skipped */
    for (int64_t f = 0; f < fan_in; f++) {
        if (lw[f] == -INFINITY)
            continue;
        T *vf = v[live++];
        INPUT(vf, buf, batch, b0, n, ir + f * parts, parts, lw[f]);
        #pragma omp simd
        for (int64_t t = 0; t < n; t++) m[t] = MAX(m[t], vf[t]);
    }
    if (live == 1) {   /* a weighted child: no exp, no log */
        memcpy(o, v[0], n * sizeof(T));
        return;
    }
    if (live == 2) {
        PAIR(v[0], v[1], n, o);
        return;
    }
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) m[t] = isinf(m[t]) ? 0 : m[t];
    for (int64_t f = 0; f < live; f++)
        ADD_EXP(s, v[f], m, n);
    FINISH(s, m, n, o);
}

/* the same for a wider sum: its inputs are computed again for the sum pass */
static inline __attribute__((always_inline)) void SUM_WIDE_TILE(
        const T *buf, int64_t batch, int64_t b0, const int64_t n, const int64_t *ir,
        int64_t fan_in, int64_t parts, const T *lw, T *o) {
    T v[TILE], m[TILE], s[TILE];
    #pragma omp simd
    for (int64_t t = 0; t < TILE; t++) { m[t] = -INFINITY; s[t] = 0; }
    for (int64_t f = 0; f < fan_in; f++) {
        if (lw[f] == -INFINITY)
            continue;
        INPUT(v, buf, batch, b0, n, ir + f * parts, parts, lw[f]);
        #pragma omp simd
        for (int64_t t = 0; t < n; t++) m[t] = MAX(m[t], v[t]);
    }
    #pragma omp simd
    for (int64_t t = 0; t < n; t++) m[t] = isinf(m[t]) ? 0 : m[t];
    for (int64_t f = 0; f < fan_in; f++) {
        if (lw[f] == -INFINITY)
            continue;
        INPUT(v, buf, batch, b0, n, ir + f * parts, parts, lw[f]);
        ADD_EXP(s, v, m, n);
    }
    FINISH(s, m, n, o);
}

void NAME(const T *buf, int64_t batch, const int64_t *idx, int64_t rows,
          int64_t fan_in, int64_t parts, const T *logw, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        const int64_t *ir = idx + r * fan_in * parts;
        const T *lw = logw + r * fan_in;
        T *o = out + r * batch;
        int64_t b0 = 0;
        if (fan_in > MAX_FAN_IN) {
            for (; b0 + TILE <= batch; b0 += TILE)
                SUM_WIDE_TILE(buf, batch, b0, TILE, ir, fan_in, parts, lw, o + b0);
            if (b0 < batch)
                SUM_WIDE_TILE(buf, batch, b0, batch - b0, ir, fan_in, parts, lw, o + b0);
            continue;
        }
        for (; b0 + TILE <= batch; b0 += TILE)
            SUM_TILE(buf, batch, b0, TILE, ir, fan_in, parts, lw, o + b0);
        if (b0 < batch)
            SUM_TILE(buf, batch, b0, batch - b0, ir, fan_in, parts, lw, o + b0);
    }
}

/* products: buf[column r] = sum_p buf[idx[r, p]], column r being columns[r], or start + r */
void ADD_ROWS(T *buf, int64_t batch, const int64_t *idx, int64_t rows,
              int64_t parts, const int64_t *columns, int64_t start) {
    for (int64_t r = 0; r < rows; r++) {
        T *o = buf + (columns ? columns[r] : start + r) * batch;
        #pragma omp simd
        for (int64_t b = 0; b < batch; b++) o[b] = 0;
        for (int64_t p = 0; p < parts; p++) {
            const int64_t column = idx[r * parts + p];
            if (column == ZERO_COLUMN)
                continue;
            const T *x = buf + column * batch;
            #pragma omp simd
            for (int64_t b = 0; b < batch; b++) o[b] += x[b];
        }
    }
}

/* The backward of NAME: for every row r with gradient g = grad[start + r] and value
 * o = buf[start + r], input f's share of the row, e = exp(log_w[r, f] + its parts - o), times g
 * is added to each of its parts' gradients, and summed over the batch (in double) added to
 * grad_w[r, f]. A row of value log 0 passes nothing down (0 * inf would be NaN); inputs of
 * weight 0 get nothing. The shares read the forward's values, never recompute the row. */
void SUFFIX(flow_sums)(const T *buf, T *grad, int64_t batch, const int64_t *idx, int64_t rows,
                       int64_t fan_in, int64_t parts, const T *logw, int64_t start,
                       double *grad_w) {
    for (int64_t r = 0; r < rows; r++) {
        const T *o = buf + (start + r) * batch, *g = grad + (start + r) * batch;
        const int64_t *ir = idx + r * fan_in * parts;
        for (int64_t f = 0; f < fan_in; f++) {
            const T lw = logw[r * fan_in + f];
            double total = 0;
            if (lw != -INFINITY) {
                for (int64_t b0 = 0; b0 < batch; b0 += TILE) {
                    const int64_t n = batch - b0 < TILE ? batch - b0 : TILE;
                    T v[TILE];
                    INPUT(v, buf, batch, b0, n, ir + f * parts, parts, lw);
                    T sum = 0;
                    #pragma omp simd reduction(+:sum)
                    for (int64_t t = 0; t < n; t++) {
                        const T d = v[t] - o[b0 + t];
                        const T e = EXP(MAX(d, FLOOR));
                        /* d > 0 only by rounding (a share is at most 1): e then stays near 1 */
                        const T share = (d < FLOOR || o[b0 + t] == -INFINITY) ? 0 : e;
                        v[t] = share * g[b0 + t];
                        sum += v[t];
                    }
                    total += sum;
                    for (int64_t p = 0; p < parts; p++) {
                        const int64_t column = ir[f * parts + p];
                        if (column == ZERO_COLUMN)
                            continue;
                        T *gx = grad + column * batch + b0;
                        #pragma omp simd
                        for (int64_t t = 0; t < n; t++) gx[t] += v[t];
                    }
                }
            }
            grad_w[r * fan_in + f] += total;
        }
    }
}

/* The backward of ADD_ROWS: each row's gradient (0 where its value is log 0) added to its
 * parts' gradients. */
void SUFFIX(flow_rows)(const T *buf, T *grad, int64_t batch, const int64_t *idx, int64_t rows,
                       int64_t parts, const int64_t *columns, int64_t start) {
    for (int64_t r = 0; r < rows; r++) {
        const int64_t row = columns ? columns[r] : start + r;
        const T *o = buf + row * batch, *g = grad + row * batch;
        for (int64_t p = 0; p < parts; p++) {
            const int64_t column = idx[r * parts + p];
            if (column == ZERO_COLUMN)
                continue;
            T *gx = grad + column * batch;
            #pragma omp simd
            for (int64_t b = 0; b < batch; b++) gx[b] += o[b] == -INFINITY ? 0 : g[b];
        }
    }
}

/* The max-product semiring's NAME: out[r] = max_f (log_w[r, f] + sum_p buf[index[r, f, p]]),
 * inputs of weight 0 skipped (a row with none is log 0). */
void SUFFIX(max_of_products)(const T *buf, int64_t batch, const int64_t *idx, int64_t rows,
                             int64_t fan_in, int64_t parts, const T *logw, T *out) {
    for (int64_t r = 0; r < rows; r++) {
        T *o = out + r * batch;
        #pragma omp simd
        for (int64_t b = 0; b < batch; b++) o[b] = -INFINITY;
        for (int64_t f = 0; f < fan_in; f++) {
            const T lw = logw[r * fan_in + f];
            if (lw == -INFINITY)
                continue;
            for (int64_t b0 = 0; b0 < batch; b0 += TILE) {
                const int64_t n = batch - b0 < TILE ? batch - b0 : TILE;
                T v[TILE];
                INPUT(v, buf, batch, b0, n, idx + (r * fan_in + f) * parts, parts, lw);
                #pragma omp simd
                for (int64_t t = 0; t < n; t++) o[b0 + t] = MAX(o[b0 + t], v[t]);
            }
        }
    }
}

#endif
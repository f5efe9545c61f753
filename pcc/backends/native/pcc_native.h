/* pcc_native.h: the one interface between pcc's native engine (the C files beside it) and
 * Python (library.py).
 *
 * library.py reads this file when it loads the library: the step record's fields, the step
 * kinds, the constant columns and every exported function's signature are taken from here
 * (ctypes structure, argument types), never written out a second time. Each C file includes
 * it twice: once without T for the shared declarations, and once per floating type with T and
 * SUFFIX defined, which declares that type's functions (so the compiler checks every definition
 * against its prototype here).
 *
 * Layout rules the parser relies on: the enum and struct below, one field name per
 * declarator, and each prototype one PCC_EXPORT(return type, name, (parameters)) entry. */
#ifndef PCC_NATIVE_H
#define PCC_NATIVE_H
#include <stdint.h>

/* the activation buffer's constant columns (pcc.layering.ZERO and NEG_INF_COLUMN) */
#define ZERO_COLUMN 0
#define NEG_INF_COLUMN 1

/* what a step of a program computes; the fields each kind reads are listed in Step */
enum StepKind { SUM = 0, PRODUCT = 1, GAUSSIAN = 2, UNIT_BINS = 3, SEARCH_BINS = 4, LOOKUP = 5,
                ROWS = 6 };

/* One step of a program over a (columns, batch or tile) buffer. Every kind: `rows` outputs
 * from column `start`. SUM: `index` (rows, fan_in, parts) columns whose parts add up to each
 * input, `values` the log-weights (rows, fan_in), `grads` (backward only) their gradient,
 * summed over the batch in double and added there. PRODUCT: `index` (rows, parts), written to
 * `columns` (or NULL: start + r); a part -1 - j reads leaf j of `leaves` ((step, row) pairs)
 * in place. GAUSSIAN: `var`, `a` mean, `b` 1 / std, `c` offset. UNIT_BINS: `values` log
 * densities (rows, width), `width`, `bins`, `a` first break. SEARCH_BINS: the same with `a`
 * the breaks (rows, width + 1). LOOKUP: `values` (rows, width) per code, `var`. ROWS:
 * `values` (rows, batch) computed beforehand. Leaf steps may have `columns` (each row's
 * column, -1: not stored). */
typedef struct {
    int64_t kind;
    int64_t rows;
    int64_t start;
    int64_t fan_in;
    int64_t parts;
    int64_t width;
    const int64_t *index;
    const int64_t *var;
    const int64_t *columns;
    const int64_t *bins;
    const void *values;
    const double *a;
    const double *b;
    const double *c;
    const int64_t *leaves;
    double *grads;
} Step;

#define PCC_EXPORT(type, name, parameters) type SUFFIX(name) parameters;
#endif

#ifdef T
/* sum_kernel.c: out[r] = log sum_f exp(log_w[r, f] + sum_p buf[index[r, f, p]]) */
PCC_EXPORT(void, sum_of_products, (const T *buf, int64_t batch, const int64_t *index,
                                   int64_t rows, int64_t fan_in, int64_t parts,
                                   const T *log_w, T *out))
/* sum_kernel.c, max-product: out[r] = max_f (log_w[r, f] + sum_p buf[index[r, f, p]]) */
PCC_EXPORT(void, max_of_products, (const T *buf, int64_t batch, const int64_t *index,
                                   int64_t rows, int64_t fan_in, int64_t parts,
                                   const T *log_w, T *out))
/* sum_kernel.c: buf[columns[r] or start + r] = sum_p buf[index[r, p]] */
PCC_EXPORT(void, add_rows, (T *buf, int64_t batch, const int64_t *index, int64_t rows,
                            int64_t parts, const int64_t *columns, int64_t start))
/* sum_kernel.c, the backward of sum_of_products: each input's share of its row's value times
 * the row's gradient added to its parts' gradients and (summed over the batch) to grad_w */
PCC_EXPORT(void, flow_sums, (const T *buf, T *grad, int64_t batch, const int64_t *index,
                             int64_t rows, int64_t fan_in, int64_t parts, const T *log_w,
                             int64_t start, double *grad_w))
/* sum_kernel.c, the backward of add_rows: each row's gradient added to its parts' */
PCC_EXPORT(void, flow_rows, (const T *buf, T *grad, int64_t batch, const int64_t *index,
                             int64_t rows, int64_t parts, const int64_t *columns,
                             int64_t start))
/* leaf_kernel.c: leaf rows into out (rows, batch), or added to it (`add`) */
PCC_EXPORT(void, gaussian, (const double *xt, const uint8_t *missing, int64_t batch,
                            const int64_t *var, int64_t rows, const double *mean,
                            const double *inv_std, const double *offset, int64_t add, T *out))
PCC_EXPORT(void, search_bins, (const T *log_density, const double *breaks, int64_t width,
                               const int64_t *bins, const double *xt, const uint8_t *missing,
                               int64_t batch, const int64_t *var, int64_t rows, int64_t add,
                               T *out))
PCC_EXPORT(void, unit_bins, (const T *log_density, int64_t width, const double *first,
                             const int64_t *bins, const double *xt, const uint8_t *missing,
                             int64_t batch, const int64_t *var, int64_t rows, int64_t add,
                             T *out))
PCC_EXPORT(void, lookup, (const T *table, int64_t width, const int64_t *codes, int64_t batch,
                          const int64_t *var, int64_t rows, T *out))
PCC_EXPORT(void, lookup32, (const T *table, int64_t width, const int32_t *codes,
                            int64_t batch, const int64_t *var, int64_t rows, int64_t add,
                            T *out))
/* tile_kernel.c: a forward program, a tile of examples at a time; returns the first example
 * outside its variables' domains, or -1 */
PCC_EXPORT(int64_t, run_program, (const Step *steps, int64_t num_steps, const double *x,
                                  const uint8_t *missing, int64_t batch, int64_t vars,
                                  int64_t begin, int64_t end, int64_t tile, int64_t columns,
                                  int64_t code_k, void *work, int64_t root_start,
                                  int64_t root_units, T *out, const double *low,
                                  const double *high, const uint8_t *whole))
/* tile_kernel.c: the backward of a program of SUM and PRODUCT steps over the whole batch,
 * steps in reverse order: `grad` (columns, batch) holds the gradient of the program's outputs
 * and receives every column's; no gradient passes through a unit of value log 0 */
PCC_EXPORT(void, flow_program, (const Step *steps, int64_t num_steps, const T *buf, T *grad,
                                int64_t batch))
/* tile_kernel.c: a program of SUM and PRODUCT steps from its leaf rows (num_leaves, batch),
 * examples begin..end, a tile at a time in `work` (2 x columns x tile values): the root's
 * values into out_root (batch, root_units) unless it is NULL; with grad_root (batch,
 * root_units), the backward in the same tile loop: the leaf rows' gradient into grad_leaves,
 * the weights' added into each SUM step's `grads` */
PCC_EXPORT(void, flow_tiles, (const Step *steps, int64_t num_steps, const T *leaves,
                              int64_t num_leaves, int64_t batch, int64_t begin, int64_t end,
                              int64_t columns, int64_t tile, void *work, int64_t root_start,
                              int64_t root_units, const T *grad_root, T *out_root,
                              T *grad_leaves))
#endif

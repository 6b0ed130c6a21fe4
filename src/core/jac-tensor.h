/* jac-tensor.h: dense float64 tensors in C order, owned data. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JAC_MAX_RANK 8

typedef struct _JacTensor
{
  guint   rank;
  gsize   shape[JAC_MAX_RANK];
  gsize   strides[JAC_MAX_RANK];  /* in elements; C order, so strides[rank - 1] == 1 */
  gsize   size;                   /* number of elements, the product of shape */
  double *data;                   /* owned, zero-initialised, size elements */
  guint64 serial;                 /* this allocation's number, never reused: lets a cache of
                                   * what was read from a tensor (jac_kron_from_analysis) tell it
                                   * from a later one at the same address */
} JacTensor;

/* Element (i, j) of a rank-2 tensor; the caller has checked the bounds. */
#define JAC_AT2(t, i, j) ((t)->data[(gsize) (i) * (t)->strides[0] + (gsize) (j)])

/* The largest tensor jac_tensor_new will allocate (default: half of the RAM). */
gsize      jac_get_memory_budget       (void);
void       jac_set_memory_budget       (gsize             n_bytes);
/* The budget's error, in one place: "@what of shape (8192, 8192) would need 512 MiB (536870912
 * bytes), more than the memory budget of 100 bytes"; @n_bytes G_MAXSIZE for a size that does not
 * fit in memory at all. */
void       jac_set_budget_error        (GError          **error,
                                        const char       *what,
                                        guint             rank,
                                        const gsize      *shape,
                                        gsize             n_bytes,
                                        gsize             budget);
/* Whether a tensor of @shape fits the budget; else an error naming @what ("W_hh") and sizes. */
gboolean   jac_shape_fits_budget       (guint             rank,
                                        const gsize      *shape,
                                        const char       *what,
                                        GError          **error);
/* Memory for @n_bytes, freed with jac_buffer_free (); a large buffer may be one freed before
 * (so not zeroed). _fresh never reuses one. The cache of freed buffers holds at most an eighth of
 * the memory budget (1 GiB); _trim unmaps them. */
gpointer   jac_buffer_alloc            (gsize             n_bytes);
gpointer   jac_buffer_alloc_fresh      (gsize             n_bytes);
void       jac_buffer_free             (gpointer          data);
void       jac_buffer_cache_trim       (void);
gboolean   jac_buffer_is_reused        (gconstpointer     data);
gsize      jac_buffer_cached_bytes     (void);
/* A tensor of zeros. With @error NULL the allocation cannot fail: past the memory budget (or the
 * memory) it aborts with a message naming the shape. Code that can recover passes @error, or
 * calls jac_tensor_try_new, which only ever reports. */
JacTensor *jac_tensor_new              (guint             rank,
                                        const gsize      *shape,
                                        GError          **error);
/* As jac_tensor_new, but a tensor past the budget or the memory is NULL with @error set. */
JacTensor *jac_tensor_try_new          (guint             rank,
                                        const gsize      *shape,
                                        GError          **error);
/* As jac_tensor_new, but the entries are left as the memory holds them: only for a tensor the
 * caller writes in full at once. */
JacTensor *jac_tensor_new_uninitialized (guint            rank,
                                        const gsize      *shape,
                                        GError          **error);
JacTensor *jac_tensor_new_matrix       (gsize             rows,
                                        gsize             cols);
JacTensor *jac_tensor_new_vector       (gsize             n);
JacTensor *jac_tensor_new_scalar       (double            value);
JacTensor *jac_tensor_copy             (const JacTensor  *self);
void       jac_tensor_free             (JacTensor        *self);
gboolean   jac_tensor_size_for_shape   (guint             rank,
                                        const gsize      *shape,
                                        gsize            *n_elements,
                                        gsize            *n_bytes);
gboolean   jac_tensor_same_shape       (const JacTensor  *a,
                                        const JacTensor  *b);
char      *jac_tensor_shape_string     (const JacTensor  *self);
char      *jac_shape_string            (guint             rank,
                                        const gsize      *shape);
double     jac_tensor_max_abs          (const JacTensor  *self);
double     jac_tensor_max_abs_diff     (const JacTensor  *a,
                                        const JacTensor  *b);
void       jac_tensor_fill             (JacTensor        *self,
                                        double            value);
void       jac_tensor_fill_uniform     (JacTensor        *self,
                                        GRand            *rand,
                                        double            scale);
/* The same numbers as jac_tensor_fill_uniform () with a fresh
 * g_rand_new_with_seed_array (@seed, @n_seed): GLib's Mersenne Twister and its seeding,
 * reproduced without a call per number (a 1024×1024 matrix in ~3 ms instead of ~10). */
void       jac_tensor_fill_uniform_seeded (JacTensor     *self,
                                        const guint32    *seed,
                                        guint             n_seed,
                                        double            scale);
gsize      jac_tensor_offset           (const JacTensor  *self,
                                        const gsize      *index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacTensor, jac_tensor_free)

/* out = aᵀ for a row-major @rows × @cols matrix (out is @cols × @rows), in tiles so that neither
 * side is read a cache line an entry. */
void       jac_matrix_transpose        (const double     *a,
                                        gsize             rows,
                                        gsize             cols,
                                        double           *out);

G_END_DECLS

/* jac-structured.c: Jacobians kept as Kronecker-delta pairs plus a core of possibly nonzero entries. */
#define G_LOG_DOMAIN "jac-structured"

#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-structured-private.h"

/* Walks the core in memory order, keeping the output index o and the variable index w in step. */
typedef struct
{
  const JacStructured *jac;
  guint                core_rank;
  guint                n_free;
  guint                free_axis[2];
  gsize                c[4];
  gsize                o[2];
  gsize                w[2];
} CoreWalk;

gboolean
jac_structured_wrt_axis_is_free (const JacStructured *self,
                                 guint                axis)
{
  for (guint a = 0; a < self->out_rank; a++)
    if (self->pair[a] == (int) axis)
      return FALSE;
  return TRUE;
}

static guint
free_axes (const JacStructured *self,
           guint               *axes)
{
  guint n = 0;

  for (guint t = 0; t < self->wrt_rank; t++)
    if (jac_structured_wrt_axis_is_free (self, t))
      axes[n++] = t;
  return n;
}

static void
walk_sync (CoreWalk *walk)
{
  const JacStructured *jac = walk->jac;

  for (guint a = 0; a < jac->out_rank; a++)
    {
      walk->o[a] = walk->c[a];
      if (jac->pair[a] >= 0)
        walk->w[jac->pair[a]] = walk->c[a];
    }
  for (guint n = 0; n < walk->n_free; n++)
    walk->w[walk->free_axis[n]] = walk->c[jac->out_rank + n];
}

static void
walk_init (CoreWalk            *walk,
           const JacStructured *jac)
{
  memset (walk, 0, sizeof *walk);
  walk->jac = jac;
  walk->core_rank = jac->core->rank;
  walk->n_free = free_axes (jac, walk->free_axis);
  walk_sync (walk);
}

static void
walk_next (CoreWalk *walk)
{
  const JacTensor *core = walk->jac->core;

  for (guint a = walk->core_rank; a-- > 0;)
    {
      if (++walk->c[a] < core->shape[a])
        break;
      walk->c[a] = 0;
    }
  walk_sync (walk);
}

JacStructured *
jac_structured_new (guint         out_rank,
                    const gsize  *out_shape,
                    guint         wrt_rank,
                    const gsize  *wrt_shape,
                    const int    *pair,
                    GError      **error)
{
  g_autoptr(JacStructured) self = g_new0 (JacStructured, 1);
  gsize core_shape[4];
  guint core_rank = 0;

  g_return_val_if_fail (out_rank <= 2 && wrt_rank <= 2, NULL);

  self->out_rank = out_rank;
  self->wrt_rank = wrt_rank;
  self->pair[0] = self->pair[1] = -1;
  for (guint a = 0; a < out_rank; a++)
    {
      self->out_shape[a] = out_shape[a];
      self->pair[a] = pair != NULL ? pair[a] : -1;
      g_assert (self->pair[a] < (int) wrt_rank);
      core_shape[core_rank++] = out_shape[a];
    }
  for (guint t = 0; t < wrt_rank; t++)
    {
      self->wrt_shape[t] = wrt_shape[t];
      if (jac_structured_wrt_axis_is_free (self, t))
        core_shape[core_rank++] = wrt_shape[t];
    }
  for (guint a = 0; a < out_rank; a++)
    g_assert (self->pair[a] < 0 || out_shape[a] == wrt_shape[self->pair[a]]);
  g_assert (out_rank < 2 || self->pair[0] < 0 || self->pair[0] != self->pair[1]);

  self->core = jac_tensor_new (core_rank, core_shape, error);
  if (self->core == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

JacStructured *
jac_structured_new_identity (guint        rank,
                             const gsize *shape)
{
  int pair[2] = { 0, 1 };
  JacStructured *self = jac_structured_new (rank, shape, rank, shape, pair, NULL);

  jac_tensor_fill (self->core, 1.0);
  return self;
}

static JacStructured *
new_like (const JacStructured  *shape_of,
          guint                 out_rank,
          const gsize          *out_shape,
          const int            *pair,
          GError              **error)
{
  return jac_structured_new (out_rank, out_shape, shape_of->wrt_rank, shape_of->wrt_shape, pair,
                             error);
}

JacStructured *
_jac_structured_try_copy (const JacStructured  *self,
                          GError              **error)
{
  JacTensor *core = jac_tensor_new (self->core->rank, self->core->shape, error);
  JacStructured *copy;

  if (core == NULL)
    return NULL;
  memcpy (core->data, self->core->data, self->core->size * sizeof (double));
  copy = g_memdup2 (self, sizeof *self);
  copy->core = core;
  return copy;
}

JacStructured *
jac_structured_copy (const JacStructured *self)
{
  JacStructured *copy = g_memdup2 (self, sizeof *self);

  copy->core = jac_tensor_copy (self->core);
  return copy;
}

void
jac_structured_free (JacStructured *self)
{
  if (self == NULL)
    return;
  jac_tensor_free (self->core);
  g_free (self);
}

static gsize
core_offset (const JacStructured *self,
             const gsize         *o,
             const gsize         *w)
{
  gsize offset = 0;
  guint c = 0;

  for (guint a = 0; a < self->out_rank; a++)
    offset += o[a] * self->core->strides[c++];
  for (guint t = 0; t < self->wrt_rank; t++)
    if (jac_structured_wrt_axis_is_free (self, t))
      offset += w[t] * self->core->strides[c++];
  return offset;
}

gboolean
jac_structured_is_structural_zero (const JacStructured *self,
                                   const gsize         *out_index,
                                   const gsize         *wrt_index)
{
  for (guint a = 0; a < self->out_rank; a++)
    if (self->pair[a] >= 0 && out_index[a] != wrt_index[self->pair[a]])
      return TRUE;
  return FALSE;
}

double
jac_structured_get (const JacStructured *self,
                    const gsize         *out_index,
                    const gsize         *wrt_index,
                    gboolean            *structural_zero)
{
  gboolean zero = jac_structured_is_structural_zero (self, out_index, wrt_index);

  if (structural_zero != NULL)
    *structural_zero = zero;
  if (zero)
    return 0.0;
  return self->core->data[core_offset (self, out_index, wrt_index)];
}

guint
jac_structured_dense_shape (const JacStructured *self,
                            gsize               *shape)
{
  for (guint a = 0; a < self->out_rank; a++)
    shape[a] = self->out_shape[a];
  for (guint t = 0; t < self->wrt_rank; t++)
    shape[self->out_rank + t] = self->wrt_shape[t];
  return self->out_rank + self->wrt_rank;
}

gsize
jac_structured_stored_count (const JacStructured *self)
{
  return self->core->size;
}

gsize
jac_structured_dense_count (const JacStructured *self)
{
  gsize shape[4];
  guint rank = jac_structured_dense_shape (self, shape);
  gsize n;

  if (!jac_tensor_size_for_shape (rank, shape, &n, NULL))
    return G_MAXSIZE;
  return n;
}

JacTensor *
jac_structured_to_dense (const JacStructured  *self,
                         gsize                 budget_bytes,
                         GError              **error)
{
  g_autoptr(JacTensor) dense = NULL;
  gsize shape[4];
  guint rank = jac_structured_dense_shape (self, shape);
  gsize n_bytes = G_MAXSIZE;
  CoreWalk walk;

  if (!jac_tensor_size_for_shape (rank, shape, NULL, &n_bytes) ||
      (budget_bytes > 0 && n_bytes > budget_bytes))
    {
      g_autofree char *s = jac_shape_string (rank, shape);
      g_autofree char *need = g_format_size_full (n_bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (budget_bytes, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "the dense Jacobian of shape %s would need %s (%" G_GSIZE_FORMAT
                   " bytes), more than the memory budget of %s", s,
                   n_bytes == G_MAXSIZE ? "more than fits in memory" : need, n_bytes, have);
      return NULL;
    }

  dense = jac_tensor_new (rank, shape, error);
  if (dense == NULL)
    return NULL;

  walk_init (&walk, self);
  for (gsize n = 0; n < self->core->size; n++, walk_next (&walk))
    {
      gsize offset = 0;

      for (guint a = 0; a < self->out_rank; a++)
        offset += walk.o[a] * dense->strides[a];
      for (guint t = 0; t < self->wrt_rank; t++)
        offset += walk.w[t] * dense->strides[self->out_rank + t];
      dense->data[offset] = self->core->data[n];
    }
  return g_steal_pointer (&dense);
}

JacTensor *
jac_structured_contract (const JacStructured *self,
                         const JacTensor     *upstream)
{
  JacTensor *result = jac_tensor_new (self->wrt_rank, self->wrt_shape, NULL);
  gsize n_out = 1;
  gsize run;

  g_return_val_if_fail (upstream->rank == self->out_rank, result);

  for (guint a = 0; a < self->out_rank; a++)
    n_out *= self->out_shape[a];
  run = n_out > 0 ? self->core->size / n_out : 0;

  /* The common case, no δ left and the core laid out as G's entries times the variable's. */
  if (self->pair[0] < 0 && self->pair[1] < 0)
    {
      jac_gemm (FALSE, FALSE, 1, run, n_out, 1.0, upstream->data, n_out, self->core->data, run,
                0.0, result->data, run);
      return result;
    }

  /* δ_ip, as for ∂h/∂h_prev: row p of the result is G's row p times block p of the core. */
  if (self->out_rank == 2 && self->wrt_rank == 2 && self->pair[0] == 0 && self->pair[1] < 0)
    {
      gsize cols = self->out_shape[1];

      for (gsize i = 0; i < self->out_shape[0]; i++)
        jac_gemm (FALSE, FALSE, 1, run, cols, 1.0, upstream->data + i * cols, cols,
                  self->core->data + i * cols * run, run, 0.0, result->data + i * run, run);
      return result;
    }

  /* δ_jl, as for ∂h/∂W_hh: column l of the result sums G[i, l] core[i, l, k] over i. */
  if (self->out_rank == 2 && self->wrt_rank == 2 && self->pair[0] < 0 && self->pair[1] == 1)
    {
      gsize rows = self->out_shape[0], cols = self->out_shape[1], k_size = self->wrt_shape[0];
      g_autoptr(JacTensor) by_column = jac_tensor_new_matrix (cols, k_size);

      /* Accumulate along the core's contiguous k, then transpose once. */
      for (gsize i = 0; i < rows; i++)
        for (gsize j = 0; j < cols; j++)
          {
            double g = upstream->data[i * cols + j];
            const double *core = self->core->data + (i * cols + j) * k_size;
            double *acc = by_column->data + j * k_size;

            for (gsize k = 0; k < k_size; k++)
              acc[k] += g * core[k];
          }
      for (gsize j = 0; j < cols; j++)
        for (gsize k = 0; k < k_size; k++)
          result->data[k * cols + j] = by_column->data[j * k_size + k];
      return result;
    }

  {
    CoreWalk walk;

    walk_init (&walk, self);
    for (gsize n = 0; n < self->core->size; n++, walk_next (&walk))
      {
        gsize w_offset = 0;
        gsize o_offset = 0;

        for (guint t = 0; t < self->wrt_rank; t++)
          w_offset += walk.w[t] * result->strides[t];
        for (guint a = 0; a < self->out_rank; a++)
          o_offset += walk.o[a] * upstream->strides[a];
        result->data[w_offset] += upstream->data[o_offset] * self->core->data[n];
      }
  }
  return result;
}

JacTensor *
jac_dense_contract (const JacTensor *dense,
                    guint            out_rank,
                    const JacTensor *upstream)
{
  JacTensor *result = jac_tensor_new (dense->rank - out_rank, dense->shape + out_rank, NULL);

  g_return_val_if_fail (upstream->rank == out_rank, result);
  jac_gemm (FALSE, FALSE, 1, result->size, upstream->size, 1.0, upstream->data, upstream->size,
            dense->data, result->size, 0.0, result->data, result->size);
  return result;
}

/* ---- the algebra the chain rule needs ---- */

typedef double (*EntryFunc) (const gsize *o,
                             const gsize *w,
                             gconstpointer data);

/* Fills every stored entry of @self from @func: the generic, slower path. */
static void
fill_core (JacStructured *self,
           EntryFunc      func,
           gconstpointer  data)
{
  CoreWalk walk;

  walk_init (&walk, self);
  for (gsize n = 0; n < self->core->size; n++, walk_next (&walk))
    self->core->data[n] = func (walk.o, walk.w, data);
}

static double
entry_get (const gsize  *o,
           const gsize  *w,
           gconstpointer data)
{
  return jac_structured_get (data, o, w, NULL);
}

JacStructured *
_jac_structured_relax (const JacStructured  *self,
                       const int            *keep,
                       GError              **error)
{
  JacStructured *result = new_like (self, self->out_rank, self->out_shape, keep, error);

  if (result == NULL)
    return NULL;

  for (guint a = 0; a < self->out_rank; a++)
    g_assert (keep[a] < 0 || keep[a] == self->pair[a]);
  fill_core (result, entry_get, self);
  return result;
}

void
_jac_structured_scale_inplace (JacStructured   *self,
                               const JacTensor *factor)
{
  gsize run = factor->size > 0 ? self->core->size / factor->size : 0;
  double *core = self->core->data;

  g_assert (factor->size * run == self->core->size);
  for (gsize o = 0; o < factor->size; o++)
    {
      double f = factor->data[o];

      for (gsize r = 0; r < run; r++)
        core[o * run + r] *= f;
    }
}

JacStructured *
_jac_structured_scale (const JacStructured  *self,
                       const JacTensor      *factor,
                       GError              **error)
{
  JacStructured *result = _jac_structured_try_copy (self, error);

  if (result == NULL)
    return NULL;

  _jac_structured_scale_inplace (result, factor);
  return result;
}

void
_jac_structured_multiply_scalar (JacStructured *self,
                                 double         factor)
{
  for (gsize n = 0; n < self->core->size; n++)
    self->core->data[n] *= factor;
}

typedef struct
{
  const JacStructured *operand;
  guint                rank;
  const gsize         *shape;
} Broadcast;

static double
entry_broadcast (const gsize  *o,
                 const gsize  *w,
                 gconstpointer data)
{
  const Broadcast *b = data;
  const JacStructured *op = b->operand;
  guint lead = b->rank - op->out_rank;
  gsize oo[2] = { 0, 0 };

  for (guint a = 0; a < op->out_rank; a++)
    oo[a] = op->out_shape[a] == 1 ? 0 : o[a + lead];
  return jac_structured_get (op, oo, w, NULL);
}

JacStructured *
_jac_structured_broadcast (JacStructured  *self,
                           guint           rank,
                           const gsize    *shape,
                           GError        **error)
{
  Broadcast b = { self, rank, shape };
  guint lead = rank - self->out_rank;
  int pair[2] = { -1, -1 };
  gboolean same = rank == self->out_rank;
  JacStructured *result;

  g_assert (rank >= self->out_rank);
  for (guint a = 0; a < self->out_rank; a++)
    {
      if (self->out_shape[a] == shape[a + lead])
        pair[a + lead] = self->pair[a];
      else
        same = FALSE;
    }
  if (same)
    return self;

  result = new_like (self, rank, shape, pair, error);
  if (result != NULL)
    fill_core (result, entry_broadcast, &b);
  jac_structured_free (self);
  return result;
}

static gboolean
same_pairs (const JacStructured *a,
            const JacStructured *b)
{
  return a->pair[0] == b->pair[0] && a->pair[1] == b->pair[1];
}

JacStructured *
_jac_structured_add (JacStructured  *a,
                     JacStructured  *b,
                     double          sign,
                     GError        **error)
{
  g_autoptr(JacStructured) ra = a;
  g_autoptr(JacStructured) rb = b;

  if (b == NULL)
    return g_steal_pointer (&ra);
  if (a == NULL)
    {
      _jac_structured_multiply_scalar (rb, sign);
      return g_steal_pointer (&rb);
    }

  g_assert (a->out_rank == b->out_rank);
  if (!same_pairs (a, b))
    {
      /* Only the δs both terms share survive the sum. */
      int keep[2];

      for (guint x = 0; x < 2; x++)
        keep[x] = a->pair[x] == b->pair[x] ? a->pair[x] : -1;
      ra = _jac_structured_relax (a, keep, error);
      rb = ra != NULL ? _jac_structured_relax (b, keep, error) : NULL;
      jac_structured_free (a);
      jac_structured_free (b);
      if (rb == NULL)
        return NULL;
    }
  for (gsize n = 0; n < ra->core->size; n++)
    ra->core->data[n] += sign * rb->core->data[n];
  return g_steal_pointer (&ra);
}

/* Strides of the collapsed-δ loops: result core [i, j, x, y] where x and y are the result's free
 * variable axes (y of extent 1 when there is only one), one of which is the variable axis @t the
 * summed index was tied to. */
typedef struct
{
  gsize n_x, n_y;
  gsize op_x, op_y;      /* steps in the operand's core for x and y */
  gsize dense_x, dense_y;  /* steps in the dense matrix for x and y: the row stride for t */
} CollapseStrides;

static void
collapse_strides (const JacStructured *result,
                  const JacStructured *operand,
                  guint                t,
                  gsize                t_stride,
                  gsize                dense_row_stride,
                  CollapseStrides     *s)
{
  guint res_free[2], op_free[2];
  guint n_res = free_axes (result, res_free);
  guint n_op = free_axes (operand, op_free);
  gsize steps_op[2] = { 0, 0 }, steps_dense[2] = { 0, 0 }, extent[2] = { 1, 1 };

  for (guint x = 0; x < n_res; x++)
    {
      extent[x] = result->wrt_shape[res_free[x]];
      if (res_free[x] == t)
        {
          steps_op[x] = t_stride;
          steps_dense[x] = dense_row_stride;
          continue;
        }
      for (guint m = 0; m < n_op; m++)
        if (op_free[m] == res_free[x])
          steps_op[x] = operand->core->strides[operand->out_rank + m];
    }
  s->n_x = extent[0];
  s->n_y = extent[1];
  s->op_x = steps_op[0];
  s->op_y = steps_op[1];
  s->dense_x = steps_dense[0];
  s->dense_y = steps_dense[1];
}

JacStructured *
_jac_structured_matmul_left (const JacStructured  *ja,
                             const JacTensor      *b,
                             GError              **error)
{
  gsize m = ja->out_shape[0], k = ja->out_shape[1], ncols = b->shape[1];
  gsize shape[2] = { m, ncols };
  int pair[2] = { ja->pair[0], -1 };
  JacStructured *result;

  g_assert (ja->out_rank == 2 && b->rank == 2 && b->shape[0] == k);
  result = new_like (ja, 2, shape, pair, error);
  if (result == NULL)
    return NULL;

  if (ja->pair[1] >= 0)
    {
      /* Σ_k δ(k, w_t) A'[i, k, …] B[k, j] = A'[i, w_t, …] B[w_t, j]: the δ collapses the sum. */
      CollapseStrides s;
      double *out = result->core->data;
      const double *core = ja->core->data;
      g_autofree double *bt = g_new (double, MAX (k * ncols, 1));

      /* Read B by columns from a transposed copy, so the inner loops run along memory. */
      for (gsize r = 0; r < k; r++)
        for (gsize c = 0; c < ncols; c++)
          bt[c * k + r] = b->data[r * ncols + c];
      collapse_strides (result, ja, ja->pair[1], ja->core->strides[1], 1, &s);
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < ncols; j++)
          {
            const double *column = bt + j * k;
            const double *row = core + i * ja->core->strides[0];

            for (gsize x = 0; x < s.n_x; x++)
              for (gsize y = 0; y < s.n_y; y++)
                *out++ = row[x * s.op_x + y * s.op_y] * column[x * s.dense_x + y * s.dense_y];
          }
      return result;
    }

  {
    gsize run = m * k > 0 ? ja->core->size / (m * k) : 0;

    for (gsize i = 0; i < m; i++)
      jac_gemm (TRUE, FALSE, ncols, run, k, 1.0, b->data, ncols, ja->core->data + i * k * run,
                run, 0.0, result->core->data + i * ncols * run, run);
  }
  return result;
}

JacStructured *
_jac_structured_matmul_right (const JacTensor      *a,
                              const JacStructured  *jb,
                              GError              **error)
{
  gsize m = a->shape[0], k = jb->out_shape[0], ncols = jb->out_shape[1];
  gsize shape[2] = { m, ncols };
  int pair[2] = { -1, jb->pair[1] };
  JacStructured *result;

  g_assert (jb->out_rank == 2 && a->rank == 2 && a->shape[1] == k);
  result = new_like (jb, 2, shape, pair, error);
  if (result == NULL)
    return NULL;

  if (jb->pair[0] >= 0)
    {
      /* Σ_k A[i, k] δ(k, w_t) B'[k, j, …] = A[i, w_t] B'[w_t, j, …]. */
      CollapseStrides s;
      double *out = result->core->data;
      const double *core = jb->core->data;

      collapse_strides (result, jb, jb->pair[0], jb->core->strides[0], 1, &s);
      for (gsize i = 0; i < m; i++)
        for (gsize j = 0; j < ncols; j++)
          for (gsize x = 0; x < s.n_x; x++)
            for (gsize y = 0; y < s.n_y; y++)
              *out++ = a->data[i * k + x * s.dense_x + y * s.dense_y] *
                       core[j * jb->core->strides[1] + x * s.op_x + y * s.op_y];
      return result;
    }

  {
    gsize run = k > 0 ? jb->core->size / k : 0;

    jac_gemm (FALSE, FALSE, m, run, k, 1.0, a->data, k, jb->core->data, run, 0.0,
              result->core->data, run);
  }
  return result;
}

static double
entry_transpose (const gsize  *o,
                 const gsize  *w,
                 gconstpointer data)
{
  gsize swapped[2] = { o[1], o[0] };

  return jac_structured_get (data, swapped, w, NULL);
}

JacStructured *
_jac_structured_transpose (const JacStructured  *self,
                           GError              **error)
{
  gsize shape[2] = { self->out_shape[1], self->out_shape[0] };
  int pair[2] = { self->pair[1], self->pair[0] };
  JacStructured *result;

  if (self->out_rank < 2)
    return _jac_structured_try_copy (self, error);
  result = new_like (self, 2, shape, pair, error);
  if (result != NULL)
    fill_core (result, entry_transpose, self);
  return result;
}

static double
entry_sum (const gsize  *o,
           const gsize  *w,
           gconstpointer data)
{
  const JacStructured *op = data;
  gsize cols = op->out_rank > 1 ? op->out_shape[1] : 1;
  gsize n_out = (op->out_rank > 0 ? op->out_shape[0] : 1) * cols;
  double sum = 0.0;

  for (gsize n = 0; n < n_out; n++)
    {
      gsize oo[2] = { op->out_rank > 1 ? n / cols : n, n % cols };

      sum += jac_structured_get (op, oo, w, NULL);
    }
  return sum;
}

JacStructured *
_jac_structured_sum (const JacStructured  *self,
                     GError              **error)
{
  JacStructured *result = new_like (self, 0, NULL, NULL, error);

  if (result != NULL)
    fill_core (result, entry_sum, self);
  return result;
}

JacStructured *
_jac_structured_softmax (const JacStructured  *self,
                         const JacTensor      *y,
                         GError              **error)
{
  int keep[2] = { self->pair[0], -1 };
  JacStructured *result;
  gsize rows = self->out_shape[0], cols = self->out_shape[1], run;
  g_autofree double *mix = NULL;

  g_assert (self->out_rank == 2);
  /* The row's entries mix, so a δ on the column index cannot survive; one on the row does. */
  result = _jac_structured_relax (self, keep, error);
  if (result == NULL)
    return NULL;
  run = rows * cols > 0 ? result->core->size / (rows * cols) : 0;
  mix = g_new0 (double, MAX (run, 1));

  for (gsize i = 0; i < rows; i++)
    {
      double *block = result->core->data + i * cols * run;

      memset (mix, 0, run * sizeof (double));
      for (gsize j = 0; j < cols; j++)
        for (gsize r = 0; r < run; r++)
          mix[r] += JAC_AT2 (y, i, j) * block[j * run + r];
      for (gsize j = 0; j < cols; j++)
        for (gsize r = 0; r < run; r++)
          block[j * run + r] = JAC_AT2 (y, i, j) * (block[j * run + r] - mix[r]);
    }
  return result;
}

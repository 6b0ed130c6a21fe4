/* jac-structured.c: Jacobians kept as sums of Kronecker-delta patterns, each times a core. */
#define G_LOG_DOMAIN "jac-structured"

#include <math.h>
#include <string.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_ROWS 1
#endif

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-structured-private.h"

/* Cores this large are written with streaming stores (see write_row ()) into a reused buffer;
 * pages the kernel has just zeroed are in cache already, and ordinary stores do better there. */
#define STREAM_BYTES ((gsize) 16 << 20)

/* ... and not below a quarter of the last-level cache, where ordinary stores find the reused
 * buffer still cached: with 480 MiB of L3, N=64, H=256's 32 MiB core was written in 1.39–1.58 ms
 * with them and 1.48–1.81 ms with streaming stores, against 1.12–1.41 ms for memset into the
 * same memory (jacscope bench, four runs of each, alternating). */
static gsize
stream_bytes (void)
{
  static gsize bytes = 0;

  if (g_once_init_enter (&bytes))
    {
      long l3 = 0;

#ifdef _SC_LEVEL3_CACHE_SIZE
      l3 = sysconf (_SC_LEVEL3_CACHE_SIZE);
#endif
      g_once_init_leave (&bytes, MAX (STREAM_BYTES, l3 > 0 ? (gsize) l3 / 4 : 0));
    }
  return bytes;
}

/* Walks the core in memory order, keeping the output index o and the variable index w in step. */
typedef struct
{
  const JacStructured *jac;
  const JacDeltaTerm  *term;
  guint                core_rank;
  guint                n_free;
  guint                free_axis[2];
  gsize                c[4];
  gsize                o[2];
  gsize                w[2];
} CoreWalk;

static gboolean
term_axis_is_free (const JacStructured *self,
                   const JacDeltaTerm  *term,
                   guint                axis)
{
  for (guint a = 0; a < self->out_rank; a++)
    if (term->pair[a] == (int) axis)
      return FALSE;
  return TRUE;
}

gboolean
jac_structured_wrt_axis_is_free (const JacStructured *self,
                                 guint                term,
                                 guint                axis)
{
  g_return_val_if_fail (term < self->n_terms, TRUE);
  return term_axis_is_free (self, &self->terms[term], axis);
}

static guint
term_free_axes (const JacStructured *self,
                const JacDeltaTerm  *term,
                guint               *axes)
{
  guint n = 0;

  for (guint t = 0; t < self->wrt_rank; t++)
    if (term_axis_is_free (self, term, t))
      axes[n++] = t;
  return n;
}

/* The single-term algebra below reads terms[0]; a view shows it one term of a sum. */
static guint
free_axes (const JacStructured *self,
           guint               *axes)
{
  return term_free_axes (self, &self->terms[0], axes);
}

static void
term_view (const JacStructured *self,
           guint                term,
           JacStructured       *view)
{
  *view = *self;
  view->n_terms = 1;
  view->terms[0] = self->terms[term];
}

static void
walk_sync (CoreWalk *walk)
{
  const JacStructured *jac = walk->jac;
  const JacDeltaTerm *term = walk->term;

  for (guint a = 0; a < jac->out_rank; a++)
    {
      walk->o[a] = walk->c[a];
      if (term->pair[a] >= 0)
        walk->w[term->pair[a]] = walk->c[a];
    }
  for (guint n = 0; n < walk->n_free; n++)
    walk->w[walk->free_axis[n]] = walk->c[jac->out_rank + n];
}

static void
walk_init_term (CoreWalk            *walk,
                const JacStructured *jac,
                const JacDeltaTerm  *term)
{
  memset (walk, 0, sizeof *walk);
  walk->jac = jac;
  walk->term = term;
  walk->core_rank = term->core->rank;
  walk->n_free = term_free_axes (jac, term, walk->free_axis);
  walk_sync (walk);
}

static void
walk_init (CoreWalk            *walk,
           const JacStructured *jac)
{
  walk_init_term (walk, jac, &jac->terms[0]);
}

static void
walk_next (CoreWalk *walk)
{
  const JacTensor *core = walk->term->core;

  for (guint a = walk->core_rank; a-- > 0;)
    {
      if (++walk->c[a] < core->shape[a])
        break;
      walk->c[a] = 0;
    }
  walk_sync (walk);
}

/* @zero FALSE leaves the core as the memory holds it, for results whose every entry is written at
 * once: zeroing 32 MiB that matmul then overwrites costs as much as writing it a second time. */
static JacStructured *
structured_new (guint         out_rank,
                const gsize  *out_shape,
                guint         wrt_rank,
                const gsize  *wrt_shape,
                const int    *pair,
                gboolean      zero,
                GError      **error)
{
  g_autoptr(JacStructured) self = g_new0 (JacStructured, 1);
  gsize core_shape[4];
  guint core_rank = 0;

  g_return_val_if_fail (out_rank <= 2 && wrt_rank <= 2, NULL);

  self->out_rank = out_rank;
  self->wrt_rank = wrt_rank;
  self->n_terms = 1;
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
      if (term_axis_is_free (self, &self->terms[0], t))
        core_shape[core_rank++] = wrt_shape[t];
    }
  for (guint a = 0; a < out_rank; a++)
    g_assert (self->pair[a] < 0 || out_shape[a] == wrt_shape[self->pair[a]]);
  g_assert (out_rank < 2 || self->pair[0] < 0 || self->pair[0] != self->pair[1]);

  self->core = zero ? jac_tensor_new (core_rank, core_shape, error)
                    : jac_tensor_new_uninitialized (core_rank, core_shape, error);
  if (self->core == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

JacStructured *
jac_structured_new (guint         out_rank,
                    const gsize  *out_shape,
                    guint         wrt_rank,
                    const gsize  *wrt_shape,
                    const int    *pair,
                    GError      **error)
{
  g_return_val_if_fail (out_rank == 0 || out_shape != NULL, NULL);
  g_return_val_if_fail (wrt_rank == 0 || wrt_shape != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return structured_new (out_rank, out_shape, wrt_rank, wrt_shape, pair, TRUE, error);
}

JacStructured *
_jac_structured_new_uninitialized (guint         out_rank,
                                   const gsize  *out_shape,
                                   guint         wrt_rank,
                                   const gsize  *wrt_shape,
                                   const int    *pair,
                                   GError      **error)
{
  return structured_new (out_rank, out_shape, wrt_rank, wrt_shape, pair, FALSE, error);
}

JacStructured *
jac_structured_new_zero (guint        out_rank,
                         const gsize *out_shape,
                         guint        wrt_rank,
                         const gsize *wrt_shape)
{
  JacStructured *self;

  g_return_val_if_fail (out_rank <= 2 && wrt_rank <= 2, NULL);

  self = g_new0 (JacStructured, 1);
  self->out_rank = out_rank;
  self->wrt_rank = wrt_rank;
  for (guint a = 0; a < out_rank; a++)
    self->out_shape[a] = out_shape[a];
  for (guint t = 0; t < wrt_rank; t++)
    self->wrt_shape[t] = wrt_shape[t];
  self->pair[0] = self->pair[1] = -1;
  return self;
}

JacStructured *
jac_structured_new_identity (guint        rank,
                             const gsize *shape)
{
  int pair[2] = { 0, 1 };
  JacStructured *self;

  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);

  self = jac_structured_new (rank, shape, rank, shape, pair, NULL);
  jac_tensor_fill (self->core, 1.0);
  return self;
}

static JacStructured *
empty_like (const JacStructured *shape_of,
            guint                out_rank,
            const gsize         *out_shape)
{
  return jac_structured_new_zero (out_rank, out_shape, shape_of->wrt_rank, shape_of->wrt_shape);
}

/* A result the caller writes every stored entry of, so its core is not zeroed first. */
static JacStructured *
new_like (const JacStructured  *shape_of,
          guint                 out_rank,
          const gsize          *out_shape,
          const int            *pair,
          GError              **error)
{
  return structured_new (out_rank, out_shape, shape_of->wrt_rank, shape_of->wrt_shape, pair,
                         FALSE, error);
}

JacStructured *
_jac_structured_try_copy (const JacStructured  *self,
                          GError              **error)
{
  g_autoptr(JacStructured) copy = g_memdup2 (self, sizeof *self);

  for (guint k = 0; k < self->n_terms; k++)
    copy->terms[k].core = NULL;
  for (guint k = 0; k < self->n_terms; k++)
    {
      const JacTensor *core = self->terms[k].core;

      copy->terms[k].core = jac_tensor_new_uninitialized (core->rank, core->shape, error);
      if (copy->terms[k].core == NULL)
        return NULL;
      memcpy (copy->terms[k].core->data, core->data, core->size * sizeof (double));
    }
  return g_steal_pointer (&copy);
}

JacStructured *
jac_structured_copy (const JacStructured *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  JacStructured *copy = g_memdup2 (self, sizeof *self);

  for (guint k = 0; k < self->n_terms; k++)
    copy->terms[k].core = jac_tensor_copy (self->terms[k].core);
  return copy;
}

void
jac_structured_free (JacStructured *self)
{
  if (self == NULL)
    return;
  for (guint k = 0; k < self->n_terms; k++)
    jac_tensor_free (self->terms[k].core);
  g_free (self);
}

static gsize
term_offset (const JacStructured *self,
             const JacDeltaTerm  *term,
             const gsize         *o,
             const gsize         *w)
{
  gsize offset = 0;
  guint c = 0;

  for (guint a = 0; a < self->out_rank; a++)
    offset += o[a] * term->core->strides[c++];
  for (guint t = 0; t < self->wrt_rank; t++)
    if (term_axis_is_free (self, term, t))
      offset += w[t] * term->core->strides[c++];
  return offset;
}

static gboolean entry_cancels (const JacStructured *self,
                               const gsize         *out_index,
                               const gsize         *wrt_index);
static gsize    count_cancelled (const JacStructured *self);

static gboolean
term_forces_zero (const JacStructured *self,
                  const JacDeltaTerm  *term,
                  const gsize         *out_index,
                  const gsize         *wrt_index)
{
  for (guint a = 0; a < self->out_rank; a++)
    if (term->pair[a] >= 0 && out_index[a] != wrt_index[term->pair[a]])
      return TRUE;
  return FALSE;
}

gboolean
jac_structured_is_structural_zero (const JacStructured *self,
                                   const gsize         *out_index,
                                   const gsize         *wrt_index)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->out_rank == 0 || out_index != NULL, FALSE);
  g_return_val_if_fail (self->wrt_rank == 0 || wrt_index != NULL, FALSE);

  for (guint k = 0; k < self->n_terms; k++)
    if (!term_forces_zero (self, &self->terms[k], out_index, wrt_index))
      return entry_cancels (self, out_index, wrt_index);
  return TRUE;
}

/* The sum of the terms at an entry, the δs' zeros alone in *@zero. */
static double
terms_value (const JacStructured *self,
             const gsize         *out_index,
             const gsize         *wrt_index,
             gboolean            *zero)
{
  double value = 0.0;

  *zero = TRUE;
  for (guint k = 0; k < self->n_terms; k++)
    {
      const JacDeltaTerm *term = &self->terms[k];

      if (term_forces_zero (self, term, out_index, wrt_index))
        continue;
      *zero = FALSE;
      value += term->core->data[term_offset (self, term, out_index, wrt_index)];
    }
  return value;
}

double
jac_structured_get (const JacStructured *self,
                    const gsize         *out_index,
                    const gsize         *wrt_index,
                    gboolean            *structural_zero)
{
  gboolean zero;
  double value;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (self->out_rank == 0 || out_index != NULL, 0);
  g_return_val_if_fail (self->wrt_rank == 0 || wrt_index != NULL, 0);

  value = terms_value (self, out_index, wrt_index, &zero);
  if (!zero && entry_cancels (self, out_index, wrt_index))
    {
      zero = TRUE;
      value = 0.0;
    }
  if (structural_zero != NULL)
    *structural_zero = zero;
  return value;
}

void
jac_structured_common_pairs (const JacStructured *self,
                             int                 *pair)
{
  g_return_if_fail (self != NULL);

  pair[0] = self->pair[0];
  pair[1] = self->pair[1];
  for (guint k = 1; k < self->n_terms; k++)
    for (guint a = 0; a < 2; a++)
      if (self->terms[k].pair[a] != pair[a])
        pair[a] = -1;
}

guint
jac_structured_dense_shape (const JacStructured *self,
                            gsize               *shape)
{
  g_return_val_if_fail (self != NULL, 0);

  for (guint a = 0; a < self->out_rank; a++)
    shape[a] = self->out_shape[a];
  for (guint t = 0; t < self->wrt_rank; t++)
    shape[self->out_rank + t] = self->wrt_shape[t];
  return self->out_rank + self->wrt_rank;
}

gsize
jac_structured_stored_count (const JacStructured *self)
{
  g_return_val_if_fail (self != NULL, 0);

  gsize n = 0;

  for (guint k = 0; k < self->n_terms; k++)
    n += self->terms[k].core->size;
  return n;
}

static guint
class_of (guint *parent,
          guint  x)
{
  while (parent[x] != x)
    x = parent[x];
  return x;
}

/* Entries where every δ of the terms in @subset (a bit set) holds: the index axes the δs tie
 * together take one common value, bounded by the shortest of them. */
static guint64
support_count (const JacStructured *self,
               guint                subset)
{
  /* Axes 0, 1: the output's; 2, 3: the variable's. */
  guint parent[4] = { 0, 1, 2, 3 };
  gsize extent[4] = { 1, 1, 1, 1 };
  guint64 n = 1;

  for (guint a = 0; a < self->out_rank; a++)
    extent[a] = self->out_shape[a];
  for (guint t = 0; t < self->wrt_rank; t++)
    extent[2 + t] = self->wrt_shape[t];
  for (guint k = 0; k < self->n_terms; k++)
    if (subset & (1u << k))
      for (guint a = 0; a < self->out_rank; a++)
        if (self->terms[k].pair[a] >= 0)
          {
            guint x = class_of (parent, a), y = class_of (parent, 2 + self->terms[k].pair[a]);

            if (x == y)
              continue;
            parent[y] = x;
            extent[x] = MIN (extent[x], extent[y]);
          }
  for (guint x = 0; x < 4; x++)
    if (parent[x] == x)
      n *= extent[x];
  return n;
}

gsize
jac_structured_free_count (const JacStructured *self)
{
  g_return_val_if_fail (self != NULL, 0);

  guint64 added = 0, removed = 0;

  if (self->n_terms == 1)
    return self->core->size - count_cancelled (self);
  /* Inclusion–exclusion over the terms' supports: at most 2⁴ − 1 intersections. */
  for (guint subset = 1; subset < (1u << self->n_terms); subset++)
    {
      if (__builtin_popcount (subset) % 2 == 1)
        added += support_count (self, subset);
      else
        removed += support_count (self, subset);
    }
  return added - removed - count_cancelled (self);
}

gsize
jac_structured_dense_count (const JacStructured *self)
{
  g_return_val_if_fail (self != NULL, 0);

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
  g_return_val_if_fail (self != NULL, NULL);

  g_autoptr(JacTensor) dense = NULL;
  gsize shape[4];
  guint rank = jac_structured_dense_shape (self, shape);
  gsize n_bytes = G_MAXSIZE;
  CoreWalk walk;

  if (!jac_tensor_size_for_shape (rank, shape, NULL, &n_bytes) ||
      (budget_bytes > 0 && n_bytes > budget_bytes))
    {
      jac_set_budget_error (error, "the dense Jacobian", rank, shape, n_bytes, budget_bytes);
      return NULL;
    }

  dense = jac_tensor_try_new (rank, shape, error);
  if (dense == NULL)
    return NULL;

  for (guint k = 0; k < self->n_terms; k++)
    {
      const JacTensor *core = self->terms[k].core;

      walk_init_term (&walk, self, &self->terms[k]);
      for (gsize n = 0; n < core->size; n++, walk_next (&walk))
        {
          gsize offset = 0;

          for (guint a = 0; a < self->out_rank; a++)
            offset += walk.o[a] * dense->strides[a];
          for (guint t = 0; t < self->wrt_rank; t++)
            offset += walk.w[t] * dense->strides[self->out_rank + t];
          /* The first term's entries are distinct: stored, not added, so that the fresh
           * pages are written once instead of read and then written. */
          if (k == 0)
            dense->data[offset] = core->data[n];
          else
            dense->data[offset] += core->data[n];
        }
    }
  if (jac_structured_has_proved_zeros (self))
    {
      gsize o[2] = { 0, 0 }, w[2] = { 0, 0 }, e = 0;

      do
        {
          if (entry_cancels (self, o, w))
            dense->data[e] = 0.0;
          e++;
        }
      while (_jac_structured_entry_next (self, o, w));
    }
  return g_steal_pointer (&dense);
}

/* Rows [begin, end) of a δ_ip contraction: result[p, :] += Σ_j G[p, j] core[p, j, :], a pass
 * along memory that the threads share by rows (a gemv per row through BLAS would leave its
 * threads spinning against these). */
typedef struct
{
  const double *core;
  const double *upstream;
  double       *result;
  gsize         cols;   /* j */
  gsize         run;    /* q */
  double        max[16];  /* per range of rows: the largest |core| entry read (colour range) */
} ContractRows;

static void
contract_rows_cb (gsize    begin,
                  gsize    end,
                  guint    range,
                  gpointer data)
{
  ContractRows *job = data;
  double m = 0;

  for (gsize i = begin; i < end; i++)
    {
      double *acc = job->result + i * job->run;

      for (gsize j = 0; j < job->cols; j++)
        {
          double g = job->upstream[i * job->cols + j];
          const double *row = job->core + (i * job->cols + j) * job->run;

          /* The entries' largest magnitude in the same read (NaN skipped, as
           * jac_tensor_max_abs does): the colour range costs no pass of its own. */
          for (gsize q = 0; q < job->run; q++)
            {
              double a = fabs (row[q]);

              acc[q] += g * row[q];
              m = a > m ? a : m;
            }
        }
    }
  if (range < G_N_ELEMENTS (job->max))
    job->max[range] = MAX (job->max[range], m);
}

/* Adds one term's Σ_o G[o] J[o, w] into @result; @self is a view of that term. Sets *@max_abs
 * (nullable) to the core's largest |entry| when the pass read every entry, else to -1. */
static void
contract_term (const JacStructured *self,
               const JacTensor     *upstream,
               JacTensor           *result,
               double              *max_abs)
{
  gsize n_out = 1;
  gsize run;

  for (guint a = 0; a < self->out_rank; a++)
    n_out *= self->out_shape[a];
  run = n_out > 0 ? self->core->size / n_out : 0;
  if (max_abs != NULL)
    *max_abs = -1;

  /* The common case, no δ left and the core laid out as G's entries times the variable's. */
  if (self->pair[0] < 0 && self->pair[1] < 0)
    {
      jac_gemm (FALSE, FALSE, 1, run, n_out, 1.0, upstream->data, n_out, self->core->data, run,
                1.0, result->data, run);
      return;
    }

  /* δ_ip, as for ∂h/∂h_prev: row p of the result is G's row p times block p of the core. */
  if (self->out_rank == 2 && self->wrt_rank == 2 && self->pair[0] == 0 && self->pair[1] < 0)
    {
      ContractRows job = { self->core->data, upstream->data, result->data, self->out_shape[1],
                           run, { 0 } };
      gsize per_row = MAX (run * job.cols, 1);

      jac_parallel_for (self->out_shape[0], MAX (((gsize) 1 << 20) / per_row, 1),
                        contract_rows_cb, &job);
      if (max_abs != NULL)
        {
          *max_abs = 0;
          for (guint r = 0; r < G_N_ELEMENTS (job.max); r++)
            *max_abs = MAX (*max_abs, job.max[r]);
        }
      return;
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
          result->data[k * cols + j] += by_column->data[j * k_size + k];
      return;
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
}

JacTensor *
jac_structured_contract (const JacStructured *self,
                         const JacTensor     *upstream)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_structured_contract_max_abs (self, upstream, NULL);
}

JacTensor *
jac_structured_contract_max_abs (const JacStructured *self,
                                 const JacTensor     *upstream,
                                 double              *max_abs)
{
  JacTensor *result = jac_tensor_new (self->wrt_rank, self->wrt_shape, NULL);
  double term_max = -1;

  if (max_abs != NULL)
    *max_abs = -1;
  g_return_val_if_fail (upstream->rank == self->out_rank, result);

  for (guint k = 0; k < self->n_terms; k++)
    {
      JacStructured view;

      term_view (self, k, &view);
      contract_term (&view, upstream, result, self->n_terms == 1 ? &term_max : NULL);
    }
  if (max_abs != NULL && self->n_terms == 1)
    *max_abs = term_max;
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

/* Every δ of @inner is also one of @outer: @outer's entries lie where @inner's can be nonzero. */
static gboolean
pairs_within (const int *inner,
              const int *outer)
{
  return (inner[0] < 0 || inner[0] == outer[0]) && (inner[1] < 0 || inner[1] == outer[1]);
}

/* Adds term @src into term @dst, whose δs are a subset of @src's. */
static void
scatter_term (const JacStructured *self,
              JacDeltaTerm        *dst,
              const JacDeltaTerm  *src)
{
  CoreWalk walk;

  if (src->pair[0] == dst->pair[0] && src->pair[1] == dst->pair[1])
    {
      for (gsize n = 0; n < dst->core->size; n++)
        dst->core->data[n] += src->core->data[n];
      return;
    }
  walk_init_term (&walk, self, src);
  for (gsize n = 0; n < src->core->size; n++, walk_next (&walk))
    dst->core->data[term_offset (self, dst, walk.o, walk.w)] += src->core->data[n];
}

/* Adds @term (taken over) to the sum, keeping no two patterns of which one contains the other. */
static void
insert_term (JacStructured *self,
             JacDeltaTerm   term)
{
  guint k = 0;

  for (guint m = 0; m < self->n_terms; m++)
    if (pairs_within (self->terms[m].pair, term.pair))
      {
        scatter_term (self, &self->terms[m], &term);
        jac_tensor_free (term.core);
        return;
      }
  for (guint m = 0; m < self->n_terms; m++)
    {
      if (pairs_within (term.pair, self->terms[m].pair))
        {
          scatter_term (self, &term, &self->terms[m]);
          jac_tensor_free (self->terms[m].core);
          continue;
        }
      self->terms[k++] = self->terms[m];
    }
  g_assert (k < JAC_STRUCTURED_MAX_TERMS);
  self->terms[k++] = term;
  self->n_terms = k;
  for (guint m = k; m < JAC_STRUCTURED_MAX_TERMS; m++)
    self->terms[m] = (JacDeltaTerm) { { -1, -1 }, NULL };
}

JacStructured *
_jac_structured_add (JacStructured  *a,
                     JacStructured  *b,
                     double          sign,
                     GError        **error)
{
  if (b == NULL)
    return a;
  if (sign != 1.0)
    _jac_structured_multiply_scalar (b, sign);
  if (a == NULL)
    return b;

  g_assert (a->out_rank == b->out_rank);
  /* Terms with the same δs merge; different δs stay apart instead of densifying. */
  for (guint k = 0; k < b->n_terms; k++)
    insert_term (a, b->terms[k]);
  b->n_terms = 0;
  jac_structured_free (b);
  return a;
}

/* One term of a sum mapped to a Jacobian, given a view of that term. */
typedef JacStructured *(*TermMap) (const JacStructured *term,
                                   gconstpointer        data,
                                   GError             **error);

/* Σ_t map(term t): the chain rule is linear, so it goes term by term. */
static JacStructured *
map_terms (const JacStructured  *self,
           guint                 out_rank,
           const gsize          *out_shape,
           TermMap               map,
           gconstpointer         data,
           GError              **error)
{
  g_autoptr(JacStructured) result = NULL;

  /* One term, as for the RNN step: its image is the whole result, with no sum to build. */
  if (self->n_terms == 1)
    return map (self, data, error);

  result = empty_like (self, out_rank, out_shape);
  for (guint k = 0; k < self->n_terms; k++)
    {
      JacStructured view;
      JacStructured *mapped;

      term_view (self, k, &view);
      mapped = map (&view, data, error);
      if (mapped == NULL)
        return NULL;
      result = _jac_structured_add (g_steal_pointer (&result), mapped, 1.0, NULL);
    }
  return g_steal_pointer (&result);
}

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

static JacStructured *
relax_term (const JacStructured  *self,
            gconstpointer         data,
            GError              **error)
{
  const int *keep = data;
  int kept[2] = { -1, -1 };
  JacStructured *result;

  for (guint a = 0; a < self->out_rank; a++)
    kept[a] = keep[a] >= 0 && keep[a] == self->pair[a] ? keep[a] : -1;
  result = new_like (self, self->out_rank, self->out_shape, kept, error);
  if (result != NULL)
    fill_core (result, entry_get, self);
  return result;
}

JacStructured *
_jac_structured_relax (const JacStructured  *self,
                       const int            *keep,
                       GError              **error)
{
  return map_terms (self, self->out_rank, self->out_shape, relax_term, keep, error);
}

/* Scales the @n_blocks blocks of @run entries from @core by @scale's entries, from its @first. */
static void
scale_blocks (double          *core,
              const JacTensor *scale,
              gsize            first,
              gsize            n_blocks,
              gsize            run)
{
  for (gsize o = 0; o < n_blocks; o++)
    {
      double f = scale->data[first + o];

      for (gsize r = 0; r < run; r++)
        core[o * run + r] *= f;
    }
}

static void
scale_term (JacDeltaTerm    *term,
            const JacTensor *factor)
{
  gsize run = factor->size > 0 ? term->core->size / factor->size : 0;

  g_assert (factor->size * run == term->core->size);
  scale_blocks (term->core->data, factor, 0, factor->size, run);
}

void
_jac_structured_scale_inplace (JacStructured   *self,
                               const JacTensor *factor)
{
  for (guint k = 0; k < self->n_terms; k++)
    scale_term (&self->terms[k], factor);
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
  for (guint k = 0; k < self->n_terms; k++)
    {
      JacTensor *core = self->terms[k].core;

      for (gsize n = 0; n < core->size; n++)
        core->data[n] *= factor;
    }
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

static JacStructured *
broadcast_term (const JacStructured  *self,
                gconstpointer         data,
                GError              **error)
{
  const Broadcast *target = data;
  Broadcast b = { self, target->rank, target->shape };
  guint lead = b.rank - self->out_rank;
  int pair[2] = { -1, -1 };
  JacStructured *result;

  for (guint a = 0; a < self->out_rank; a++)
    if (self->out_shape[a] == b.shape[a + lead])
      pair[a + lead] = self->pair[a];
  result = new_like (self, b.rank, b.shape, pair, error);
  if (result != NULL)
    fill_core (result, entry_broadcast, &b);
  return result;
}

JacStructured *
_jac_structured_broadcast (JacStructured  *self,
                           guint           rank,
                           const gsize    *shape,
                           GError        **error)
{
  Broadcast target = { NULL, rank, shape };
  guint lead = rank - self->out_rank;
  gboolean same = rank == self->out_rank;
  JacStructured *result;

  g_assert (rank >= self->out_rank);
  for (guint a = 0; a < self->out_rank; a++)
    if (self->out_shape[a] != shape[a + lead])
      same = FALSE;
  if (same)
    return self;

  result = map_terms (self, rank, shape, broadcast_term, &target, error);
  jac_structured_free (self);
  return result;
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

/* Rows [begin, end) of a product's Jacobian whose δ collapsed the sum (see matmul_left_term). */
typedef struct
{
  double          *out;
  const double    *core;
  gsize            core_row_stride;
  const double    *bt;      /* B transposed: column j of B at bt + j·k */
  const double    *scale;   /* nullable */
  gsize            k, ncols;
  CollapseStrides  s;
  gboolean         stream;  /* the core is past the cache: write around it */
  gboolean         avx2;    /* write_row_contract_avx2 () */
  /* Σ_o G[o] J[o, w] taken as the rows are written (δ_ip: row p of it is G's row p times block
   * p of the core), and the largest |entry| per range: NULL when not asked. */
  const double    *upstream;
  double          *vjp;
  double           max[16];
} CollapseJob;

#ifdef HAVE_AVX2_ROWS
/* write_row () and write_row_contract () four at a time, for processors with AVX2 (chosen at run
 * time): half the instructions of the two-lane code, which the pass, mostly bound by the memory
 * it writes, felt a little (N=64, H=256 in a loop of recomputes: 1.88 → 1.80 ms). The same
 * products in the same order, and no fused multiply-adds (the target is "avx2" alone), so the
 * numbers are the ones the two-lane code gives. */
__attribute__ ((target ("avx2"))) static void
write_row_contract_avx2 (double       *out,
                         const double *row,
                         const double *column,
                         double        f,
                         gsize         n,
                         gboolean      stream,
                         gboolean      contract,
                         double        g,
                         double       *acc,
                         double       *max)
{
  gsize x = 0;
  double m = *max;
  __m256d factor = _mm256_set1_pd (f), up = _mm256_set1_pd (g), top;
  __m256d sign = _mm256_set1_pd (-0.0);
  double lanes[4];

  for (; x < n && ((guintptr) (out + x) & 31) != 0; x++)
    {
      double v = row[x] * column[x] * f;

      out[x] = v;
      if (contract)
        {
          acc[x] += g * v;
          m = fabs (v) > m ? fabs (v) : m;
        }
    }
  top = _mm256_set1_pd (m);
  for (; x + 4 <= n; x += 4)
    {
      __m256d v = _mm256_mul_pd (_mm256_mul_pd (_mm256_loadu_pd (row + x),
                                                _mm256_loadu_pd (column + x)), factor);

      if (stream)
        _mm256_stream_pd (out + x, v);
      else
        _mm256_store_pd (out + x, v);
      if (contract)
        {
          _mm256_storeu_pd (acc + x, _mm256_add_pd (_mm256_loadu_pd (acc + x),
                                                    _mm256_mul_pd (up, v)));
          /* max skips NaN as jac_tensor_max_abs does: a NaN operand leaves top. */
          top = _mm256_max_pd (_mm256_andnot_pd (sign, v), top);
        }
    }
  _mm256_storeu_pd (lanes, top);
  m = MAX (m, MAX (MAX (lanes[0], lanes[1]), MAX (lanes[2], lanes[3])));
  for (; x < n; x++)
    {
      double v = row[x] * column[x] * f;

      out[x] = v;
      if (contract)
        {
          acc[x] += g * v;
          m = fabs (v) > m ? fabs (v) : m;
        }
    }
  if (contract)
    *max = m;
}

static int use_avx2 = -1;   /* -1: not asked yet; then whether to (_jac_structured_set_avx2 ()) */

static gboolean
have_avx2 (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      if (g_atomic_int_get (&use_avx2) < 0)
        g_atomic_int_set (&use_avx2, __builtin_cpu_supports ("avx2") ? 1 : 0);
      g_once_init_leave (&done, 1);
    }
  return g_atomic_int_get (&use_avx2) == 1;
}
#endif

gboolean
_jac_structured_set_avx2 (gboolean use)
{
#ifdef HAVE_AVX2_ROWS
  gboolean was = have_avx2 ();

  g_atomic_int_set (&use_avx2, use && __builtin_cpu_supports ("avx2") ? 1 : 0);
  return was;
#else
  return FALSE;
#endif
}

/* out[x] = (row[x] · column[x]) · f, two at a time (the compiler cannot, not knowing that out
 * does not overlap the operands). @stream: with stores that bypass the cache. A core past the
 * cache is not read back before it is evicted, and an ordinary store first reads the line it
 * writes, so streaming halves the traffic of the pass. The caller fences. (× 1.0 is exact: the
 * products of an unscaled core are the same numbers.) */
static void
write_row (double       *out,
           const double *row,
           const double *column,
           double        f,
           gsize         n,
           gboolean      stream)
{
  gsize x = 0;

#ifdef __SSE2__
  __m128d factor = _mm_set1_pd (f);

  if (stream)
    {
      for (; x < n && ((guintptr) (out + x) & 15) != 0; x++)
        out[x] = row[x] * column[x] * f;
      for (; x + 2 <= n; x += 2)
        _mm_stream_pd (out + x, _mm_mul_pd (_mm_mul_pd (_mm_loadu_pd (row + x),
                                                        _mm_loadu_pd (column + x)), factor));
    }
  else
    for (; x + 2 <= n; x += 2)
      _mm_storeu_pd (out + x, _mm_mul_pd (_mm_mul_pd (_mm_loadu_pd (row + x),
                                                      _mm_loadu_pd (column + x)), factor));
#endif
  for (; x < n; x++)
    out[x] = row[x] * column[x] * f;
}

/* write_row (), and acc[x] += g · out[x] with the largest |out[x]| in *@max, from the values in
 * registers: the contraction and the colour range without a pass of their own over the core.
 * The products are those write_row stores, and acc adds them in the order contract_rows_cb
 * does, so the numbers are the same. */
static void
write_row_contract (double       *out,
                    const double *row,
                    const double *column,
                    double        f,
                    gsize         n,
                    gboolean      stream,
                    double        g,
                    double       *acc,
                    double       *max)
{
  gsize x = 0;
  double m = *max;

#ifdef __SSE2__
  __m128d factor = _mm_set1_pd (f), up = _mm_set1_pd (g), top = _mm_set1_pd (m);
  __m128d sign = _mm_set1_pd (-0.0);

  for (; x < n && ((guintptr) (out + x) & 15) != 0; x++)
    {
      double v = row[x] * column[x] * f;

      out[x] = v;
      acc[x] += g * v;
      m = fabs (v) > m ? fabs (v) : m;
    }
  top = _mm_set1_pd (m);
  for (; x + 2 <= n; x += 2)
    {
      __m128d v = _mm_mul_pd (_mm_mul_pd (_mm_loadu_pd (row + x), _mm_loadu_pd (column + x)),
                              factor);

      if (stream)
        _mm_stream_pd (out + x, v);
      else
        _mm_store_pd (out + x, v);
      _mm_storeu_pd (acc + x, _mm_add_pd (_mm_loadu_pd (acc + x), _mm_mul_pd (up, v)));
      /* max skips NaN as jac_tensor_max_abs does: a NaN operand leaves top. */
      top = _mm_max_pd (_mm_andnot_pd (sign, v), top);
    }
  {
    double lanes[2];

    _mm_storeu_pd (lanes, top);
    m = MAX (m, MAX (lanes[0], lanes[1]));
  }
#endif
  for (; x < n; x++)
    {
      double v = row[x] * column[x] * f;

      out[x] = v;
      acc[x] += g * v;
      m = fabs (v) > m ? fabs (v) : m;
    }
  *max = m;
}

static void
collapse_rows_cb (gsize    begin,
                  gsize    end,
                  guint    range,
                  gpointer data)
{
  CollapseJob *job = data;
  const CollapseStrides *s = &job->s;
  double *out = job->out + begin * job->ncols * s->n_x * s->n_y;
  double m = 0;

  for (gsize i = begin; i < end; i++)
    for (gsize j = 0; j < job->ncols; j++)
      {
        const double *column = job->bt + j * job->k;
        const double *row = job->core + i * job->core_row_stride;
        /* (row · column) · f, in the order the separate scaling pass multiplied. */
        double f = job->scale != NULL ? job->scale[i * job->ncols + j] : 1.0;

        /* One free axis along which both run contiguously, as for h_prev W_hh: whole rows
         * (write_row ()), instead of an inner loop of one step. */
        if (s->n_y == 1 && s->op_x == 1 && s->dense_x == 1)
          {
#ifdef HAVE_AVX2_ROWS
            if (job->avx2)
              write_row_contract_avx2 (out, row, column, f, s->n_x, job->stream, job->vjp != NULL,
                                       job->vjp != NULL ? job->upstream[i * job->ncols + j] : 0,
                                       job->vjp != NULL ? job->vjp + i * s->n_x : NULL, &m);
            else
#endif
            if (job->vjp != NULL)
              write_row_contract (out, row, column, f, s->n_x, job->stream,
                                  job->upstream[i * job->ncols + j], job->vjp + i * s->n_x, &m);
            else
              write_row (out, row, column, f, s->n_x, job->stream);
            out += s->n_x;
            continue;
          }
        for (gsize x = 0; x < s->n_x; x++)
          for (gsize y = 0; y < s->n_y; y++)
            *out++ = row[x * s->op_x + y * s->op_y] * column[x * s->dense_x + y * s->dense_y] * f;
      }
#ifdef __SSE2__
  if (job->stream)
    _mm_sfence ();
#endif
  if (job->vjp != NULL && range < G_N_ELEMENTS (job->max))
    job->max[range] = MAX (job->max[range], m);
}

/* The matrix operand of a product, and the element-wise factor (NULL: 1) the product's Jacobian
 * is scaled by as it is written, for an element-wise function of the product (tanh (h_prev W_hh +
 * …)): the core is written once instead of written and then read and rewritten. */
typedef struct
{
  const JacTensor *operand;
  const JacTensor *scale;
  /* Nullable: G, to contract the result with as it is written when it can be (one term, δ_ip,
   * whole rows); then *vjp is set to Σ_o G[o] J[o, w] and *max_abs to the largest |entry|. */
  const JacTensor *upstream;
  JacTensor      **vjp;
  double          *max_abs;
} Matmul;

static JacStructured *
matmul_left_term (const JacStructured  *ja,
                  gconstpointer         data,
                  GError              **error)
{
  const Matmul *mm = data;
  const JacTensor *b = mm->operand;
  const JacTensor *scale = mm->scale;
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
      g_autofree double *bt = g_new (double, MAX (k * ncols, 1));
      CollapseJob job = { result->core->data, ja->core->data, ja->core->strides[0], bt,
                          scale != NULL ? scale->data : NULL, k, ncols, { 0 }, FALSE, FALSE,
                          NULL, NULL, { 0 } };
      g_autoptr(JacTensor) vjp = NULL;
      gsize per_row;
      gboolean reused;

      /* Read B by columns from a transposed copy, so the inner loops run along memory. */
      jac_matrix_transpose (b->data, k, ncols, bt);
      collapse_strides (result, ja, ja->pair[1], ja->core->strides[1], 1, &job.s);
      /* δ_ip with whole rows of q: the contraction's rows are the core's blocks, written here. */
      if (mm->upstream != NULL && result->pair[0] == 0 && result->wrt_rank == 2 &&
          job.s.n_y == 1 && job.s.op_x == 1 && job.s.dense_x == 1 &&
          job.s.n_x == result->wrt_shape[1] && mm->upstream->size == m * ncols)
        {
          vjp = jac_tensor_try_new (result->wrt_rank, result->wrt_shape, error);
          if (vjp == NULL)
            {
              jac_structured_free (result);
              return NULL;
            }
          job.upstream = mm->upstream->data;
          job.vjp = vjp->data;
        }
      reused = jac_buffer_is_reused (result->core->data);
      job.stream = result->core->size * sizeof (double) >= stream_bytes () && reused;
#ifdef HAVE_AVX2_ROWS
      job.avx2 = have_avx2 ();
#endif
      /* Rows i are independent and each is written once: the threads share them, in a buffer
       * used before. Fresh pages fault on the first write, and two threads faulting in one
       * mapping wait for each other: slower than one. */
      per_row = MAX (ncols * job.s.n_x * job.s.n_y, 1);
      jac_parallel_for (m, reused ? MAX (((gsize) 1 << 20) / per_row, 1) : MAX (m, 1),
                        collapse_rows_cb, &job);
      if (vjp != NULL)
        {
          *mm->max_abs = 0;
          for (guint r = 0; r < G_N_ELEMENTS (job.max); r++)
            *mm->max_abs = MAX (*mm->max_abs, job.max[r]);
          *mm->vjp = g_steal_pointer (&vjp);
        }
      return result;
    }

  {
    gsize run = m * k > 0 ? ja->core->size / (m * k) : 0;

    /* Each output row's block is scaled right after it is written, while it is in cache. */
    for (gsize i = 0; i < m; i++)
      {
        jac_gemm (TRUE, FALSE, ncols, run, k, 1.0, b->data, ncols, ja->core->data + i * k * run,
                  run, 0.0, result->core->data + i * ncols * run, run);
        if (scale != NULL)
          scale_blocks (result->core->data + i * ncols * run, scale, i * ncols, ncols, run);
      }
  }
  return result;
}

JacStructured *
_jac_structured_matmul_left (const JacStructured  *ja,
                             const JacTensor      *b,
                             const JacTensor      *scale,
                             GError              **error)
{
  return _jac_structured_matmul_left_contract (ja, b, scale, NULL, NULL, NULL, error);
}

JacStructured *
_jac_structured_matmul_left_contract (const JacStructured  *ja,
                                      const JacTensor      *b,
                                      const JacTensor      *scale,
                                      const JacTensor      *upstream,
                                      JacTensor           **vjp,
                                      double               *max_abs,
                                      GError              **error)
{
  gsize shape[2] = { ja->out_shape[0], b->shape[1] };
  /* One term only: its rows are the whole result, written once. */
  Matmul mm = { b, scale, ja->n_terms == 1 ? upstream : NULL, vjp, max_abs };

  g_assert (scale == NULL || scale->size == shape[0] * shape[1]);
  g_assert (upstream == NULL || (vjp != NULL && *vjp == NULL && max_abs != NULL));
  return map_terms (ja, 2, shape, matmul_left_term, &mm, error);
}

static JacStructured *
matmul_right_term (const JacStructured  *jb,
                   gconstpointer         data,
                   GError              **error)
{
  const Matmul *mm = data;
  const JacTensor *a = mm->operand;
  const JacTensor *scale = mm->scale;
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
          {
            double f = scale != NULL ? scale->data[i * ncols + j] : 1.0;

            for (gsize x = 0; x < s.n_x; x++)
              for (gsize y = 0; y < s.n_y; y++)
                *out++ = a->data[i * k + x * s.dense_x + y * s.dense_y] *
                         core[j * jb->core->strides[1] + x * s.op_x + y * s.op_y] * f;
          }
      return result;
    }

  {
    gsize run = k > 0 ? jb->core->size / k : 0;

    jac_gemm (FALSE, FALSE, m, run, k, 1.0, a->data, k, jb->core->data, run, 0.0,
              result->core->data, run);
    /* One GEMM writes the whole core; the result's rows are (i, j) blocks of run / ncols. */
    if (scale != NULL)
      scale_blocks (result->core->data, scale, 0, m * ncols, ncols > 0 ? run / ncols : 0);
  }
  return result;
}

JacStructured *
_jac_structured_matmul_right (const JacTensor      *a,
                              const JacStructured  *jb,
                              const JacTensor      *scale,
                              GError              **error)
{
  gsize shape[2] = { a->shape[0], jb->out_shape[1] };
  Matmul mm = { a, scale, NULL, NULL, NULL };

  g_assert (scale == NULL || scale->size == shape[0] * shape[1]);
  return map_terms (jb, 2, shape, matmul_right_term, &mm, error);
}

static double
entry_transpose (const gsize  *o,
                 const gsize  *w,
                 gconstpointer data)
{
  gsize swapped[2] = { o[1], o[0] };

  return jac_structured_get (data, swapped, w, NULL);
}

static JacStructured *
transpose_term (const JacStructured  *self,
                gconstpointer         data,
                GError              **error)
{
  gsize shape[2] = { self->out_shape[1], self->out_shape[0] };
  int pair[2] = { self->pair[1], self->pair[0] };
  JacStructured *result = new_like (self, 2, shape, pair, error);

  if (result != NULL)
    fill_core (result, entry_transpose, self);
  return result;
}

JacStructured *
_jac_structured_transpose (const JacStructured  *self,
                           GError              **error)
{
  gsize shape[2] = { self->out_shape[1], self->out_shape[0] };

  if (self->out_rank < 2)
    return _jac_structured_try_copy (self, error);
  return map_terms (self, 2, shape, transpose_term, NULL, error);
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

static JacStructured *
sum_term (const JacStructured  *self,
          gconstpointer         data,
          GError              **error)
{
  JacStructured *result = new_like (self, 0, NULL, NULL, error);

  if (result != NULL)
    fill_core (result, entry_sum, self);
  return result;
}

JacStructured *
_jac_structured_sum (const JacStructured  *self,
                     GError              **error)
{
  return map_terms (self, 0, NULL, sum_term, NULL, error);
}

static JacStructured *
softmax_term (const JacStructured  *self,
              gconstpointer         data,
              GError              **error)
{
  const JacTensor *y = data;
  int keep[2] = { self->pair[0], -1 };
  JacStructured *result;
  gsize rows = self->out_shape[0], cols = self->out_shape[1], run;
  g_autofree double *mix = NULL;

  g_assert (self->out_rank == 2);
  /* The row's entries mix, so a δ on the column index cannot survive; one on the row does. */
  result = relax_term (self, keep, error);
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

JacStructured *
_jac_structured_softmax (const JacStructured  *self,
                         const JacTensor      *y,
                         GError              **error)
{
  g_assert (self->out_rank == 2);
  return map_terms (self, 2, self->out_shape, softmax_term, y, error);
}

/* ---- reductions, diagonals and Kronecker products (the language's matrix functions) ----
 *
 * These go through the generic path: each result entry is read from the operand's term with
 * jac_structured_get. Their operands are small matrices (what a student types), and a δ is kept
 * wherever the result can still say it. */

typedef struct
{
  const JacStructured *term;
  const JacTensor     *other;   /* kron: the factor that is not differentiated */
  guint                axis;    /* sum along an axis: the axis removed */
  gboolean             right;   /* kron: the differentiated factor is the right one */
} Reshaped;

static double
entry_sum_axis (const gsize  *o,
                const gsize  *w,
                gconstpointer data)
{
  const Reshaped *r = data;
  const JacStructured *op = r->term;
  double sum = 0.0;

  for (gsize k = 0; k < op->out_shape[r->axis]; k++)
    {
      gsize oo[2];

      if (op->out_rank == 1)
        oo[0] = k;
      else if (r->axis == 0)
        {
          oo[0] = k;
          oo[1] = o[0];
        }
      else
        {
          oo[0] = o[0];
          oo[1] = k;
        }
      sum += jac_structured_get (op, oo, w, NULL);
    }
  return sum;
}

static JacStructured *
sum_axis_term (const JacStructured  *self,
               gconstpointer         data,
               GError              **error)
{
  Reshaped r = { self, NULL, GPOINTER_TO_UINT (data), FALSE };
  /* The axis that stays keeps its δ; the summed one's δ is summed away (Σ_j δ_jq c = c at q). */
  int pair[1] = { self->out_rank == 2 ? self->pair[1 - r.axis] : -1 };
  gsize shape[1] = { self->out_rank == 2 ? self->out_shape[1 - r.axis] : 0 };
  JacStructured *result = new_like (self, self->out_rank - 1, shape, pair, error);

  if (result != NULL)
    fill_core (result, entry_sum_axis, &r);
  return result;
}

JacStructured *
_jac_structured_sum_axis (const JacStructured  *self,
                          guint                 axis,
                          GError              **error)
{
  gsize shape[1] = { self->out_rank == 2 ? self->out_shape[1 - axis] : 0 };

  g_assert (self->out_rank >= 1 && axis < self->out_rank);
  return map_terms (self, self->out_rank - 1, shape, sum_axis_term, GUINT_TO_POINTER (axis),
                    error);
}

static double
entry_trace (const gsize  *o,
             const gsize  *w,
             gconstpointer data)
{
  const JacStructured *op = data;
  double sum = 0.0;

  for (gsize k = 0; k < op->out_shape[0]; k++)
    {
      gsize oo[2] = { k, k };

      sum += jac_structured_get (op, oo, w, NULL);
    }
  return sum;
}

static JacStructured *
trace_term (const JacStructured  *self,
            gconstpointer         data,
            GError              **error)
{
  JacStructured *result = new_like (self, 0, NULL, NULL, error);

  if (result != NULL)
    fill_core (result, entry_trace, self);
  return result;
}

JacStructured *
_jac_structured_trace (const JacStructured  *self,
                       GError              **error)
{
  g_assert (self->out_rank == 2 && self->out_shape[0] == self->out_shape[1]);
  return map_terms (self, 0, NULL, trace_term, NULL, error);
}

static double
entry_diag_part (const gsize  *o,
                 const gsize  *w,
                 gconstpointer data)
{
  gsize oo[2] = { o[0], o[0] };

  return jac_structured_get (data, oo, w, NULL);
}

static double
entry_diag_embed (const gsize  *o,
                  const gsize  *w,
                  gconstpointer data)
{
  return o[0] == o[1] ? jac_structured_get (data, o, w, NULL) : 0.0;
}

static JacStructured *
diag_term (const JacStructured  *self,
           gconstpointer         data,
           GError              **error)
{
  JacStructured *result;

  if (self->out_rank == 2)
    {
      /* (diag X)_i = X_ii: a δ of either axis ties i; a term with both keeps the row's (as the
       * derivation, which reads the first δ it finds, does), and the column's becomes
       * explicit in the core. */
      int pair[1] = { self->pair[0] >= 0 ? self->pair[0] : self->pair[1] };

      result = new_like (self, 1, self->out_shape, pair, error);
      if (result != NULL)
        fill_core (result, entry_diag_part, self);
    }
  else
    {
      /* diag(v)_ij = δ_ij v_i: the row keeps v's δ; δ_ij itself ties two output axes, which a
       * term cannot say, so it is written into the core. */
      gsize shape[2] = { self->out_shape[0], self->out_shape[0] };
      int pair[2] = { self->pair[0], -1 };

      result = new_like (self, 2, shape, pair, error);
      if (result != NULL)
        fill_core (result, entry_diag_embed, self);
    }
  return result;
}

JacStructured *
_jac_structured_diag (const JacStructured  *self,
                      GError              **error)
{
  gsize shape[2] = { self->out_shape[0], self->out_shape[0] };

  g_assert (self->out_rank == 1 ||
            (self->out_rank == 2 && self->out_shape[0] == self->out_shape[1]));
  return map_terms (self, self->out_rank == 2 ? 1 : 2, shape, diag_term, NULL, error);
}

/* kron(A, B)[i·p + k, j·q + l] = A[i, j] B[k, l] (rank 1: [i·p + k] = A[i] B[k]). */
static double
entry_kron (const gsize  *o,
            const gsize  *w,
            gconstpointer data)
{
  const Reshaped *r = data;
  const JacTensor *other = r->other;
  guint rank = other->rank;
  gsize ja[2], jb[2], outer = 0;

  /* ja: the index into A, jb: into B, whichever of them is differentiated. */
  for (guint a = 0; a < rank; a++)
    {
      gsize b_extent = r->right ? r->term->out_shape[a] : other->shape[a];

      ja[a] = o[a] / b_extent;
      jb[a] = o[a] % b_extent;
      outer = outer * other->shape[a] + (r->right ? ja[a] : jb[a]);
    }
  return jac_structured_get (r->term, r->right ? jb : ja, w, NULL) * other->data[outer];
}

typedef struct
{
  const JacTensor *other;
  gboolean         right;
  guint            rank;
  gsize            shape[2];
} KronMap;

static JacStructured *
kron_term (const JacStructured  *self,
           gconstpointer         data,
           GError              **error)
{
  const KronMap *k = data;
  Reshaped r = { self, k->other, 0, k->right };
  JacStructured *result = new_like (self, k->rank, k->shape, NULL, error);

  if (result != NULL)
    fill_core (result, entry_kron, &r);
  return result;
}

static JacStructured *
kron_side (const JacStructured  *jac,
           const JacTensor      *other,
           gboolean              right,
           GError              **error)
{
  KronMap k = { other, right, other->rank, { 0, 0 } };

  if (jac == NULL)
    return NULL;
  g_assert (jac->out_rank == other->rank && other->rank >= 1);
  for (guint a = 0; a < other->rank; a++)
    k.shape[a] = jac->out_shape[a] * other->shape[a];
  return map_terms (jac, k.rank, k.shape, kron_term, &k, error);
}

JacStructured *
_jac_structured_kron (const JacStructured  *ja,
                      const JacTensor      *a,
                      const JacStructured  *jb,
                      const JacTensor      *b,
                      GError              **error)
{
  /* ∂(A ⊗ B) = ∂A ⊗ B + A ⊗ ∂B. */
  g_autoptr(GError) local = NULL;
  JacStructured *left = kron_side (ja, b, FALSE, &local);
  JacStructured *right = local == NULL ? kron_side (jb, a, TRUE, &local) : NULL;

  if (local != NULL)
    {
      jac_structured_free (left);
      jac_structured_free (right);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return _jac_structured_add (left, right, 1.0, error);
}

/* A unit axis added or removed: the entries stay, their output indices gain or lose a 0. */
typedef struct
{
  guint        rank;
  const gsize *shape;
  guint        axis;
} Reshape;

/* The operand's output index of result index @o. */
static void
reshape_index (const JacStructured *op,
               const Reshape       *r,
               const gsize         *o,
               gsize               *oo)
{
  oo[0] = oo[1] = 0;
  if (op->out_rank == 1 && r->rank == 2)
    oo[0] = o[1 - r->axis];
  else if (op->out_rank == 2 && r->rank == 1)
    oo[1 - r->axis] = o[0];
}

typedef struct
{
  const JacStructured *term;
  const Reshape       *r;
} ReshapeEntry;

static double
entry_reshape (const gsize  *o,
               const gsize  *w,
               gconstpointer data)
{
  const ReshapeEntry *re = data;
  gsize oo[2];

  reshape_index (re->term, re->r, o, oo);
  return jac_structured_get (re->term, oo, w, NULL);
}

static JacStructured *
reshape_term (const JacStructured  *self,
              gconstpointer         data,
              GError              **error)
{
  const Reshape *r = data;
  ReshapeEntry re = { self, r };
  int pair[2] = { -1, -1 };
  JacStructured *result;

  /* The axis that stays keeps its δ; an added unit axis has none. */
  if (self->out_rank == 1 && r->rank == 2)
    pair[1 - r->axis] = self->pair[0];
  else if (self->out_rank == 2 && r->rank == 1)
    pair[0] = self->pair[1 - r->axis];
  result = new_like (self, r->rank, r->shape, pair, error);
  if (result != NULL)
    fill_core (result, entry_reshape, &re);
  return result;
}

JacStructured *
_jac_structured_reshape (const JacStructured  *self,
                         guint                 rank,
                         const gsize          *shape,
                         guint                 axis,
                         GError              **error)
{
  Reshape r = { rank, shape, axis };

  return map_terms (self, rank, shape, reshape_term, &r, error);
}

/* ---- terms that cancel where indices coincide ---- */

static guint
code_label (guint code,
            guint a)
{
  return (code >> (4 * a)) & 0xf;
}

gboolean
jac_entry_partition_ties (guint code,
                          guint a,
                          guint b)
{
  return code_label (code, a) == code_label (code, b);
}

/* Canonical labels (restricted growth) of positions @x: equal values, one label. */
static guint
partition_of (const gsize *x)
{
  guint labels[4], n_labels = 0, code = 0;

  for (guint a = 0; a < 4; a++)
    {
      labels[a] = 0xf;
      for (guint b = 0; b < a && labels[a] == 0xf; b++)
        if (x[b] == x[a])
          labels[a] = labels[b];
      if (labels[a] == 0xf)
        labels[a] = n_labels++;
      code |= labels[a] << (4 * a);
    }
  return code;
}

/* An absent position takes a value no index has. */
static void
entry_position (guint        out_rank,
                guint        wrt_rank,
                const gsize *out_index,
                const gsize *wrt_index,
                gsize       *x)
{
  for (guint a = 0; a < 2; a++)
    {
      x[a] = a < out_rank ? out_index[a] : G_MAXSIZE - a;
      x[2 + a] = a < wrt_rank ? wrt_index[a] : G_MAXSIZE - 2 - a;
    }
}

guint
jac_entry_partition (guint        out_rank,
                     guint        wrt_rank,
                     const gsize *out_index,
                     const gsize *wrt_index)
{
  gsize x[4];

  g_return_val_if_fail (out_rank == 0 || out_index != NULL, 0);
  g_return_val_if_fail (wrt_rank == 0 || wrt_index != NULL, 0);

  entry_position (out_rank, wrt_rank, out_index, wrt_index, x);
  return partition_of (x);
}

guint
jac_entry_partitions (guint  out_rank,
                      guint  wrt_rank,
                      guint *codes)
{
  gboolean present[4] = { out_rank > 0, out_rank > 1, wrt_rank > 0, wrt_rank > 1 };
  guint n = 0;

  g_return_val_if_fail (out_rank <= 2 && wrt_rank <= 2 && codes != NULL, 0);

  /* Four values per position realize every partition of four positions. */
  for (guint e = 0; e < 256; e++)
    {
      gsize x[4];
      gboolean skip = FALSE;
      guint code, m;

      for (guint a = 0; a < 4; a++)
        {
          x[a] = present[a] ? (e >> (2 * a)) & 3 : G_MAXSIZE - a;
          skip |= !present[a] && ((e >> (2 * a)) & 3) != 0;
        }
      if (skip)
        continue;
      code = partition_of (x);
      for (m = 0; m < n && codes[m] != code; m++)
        ;
      if (m == n)
        codes[n++] = code;
    }
  return n;
}

static gboolean
entry_cancels (const JacStructured *self,
               const gsize         *out_index,
               const gsize         *wrt_index)
{
  guint code;

  if (self->n_supports > 0 &&
      !jac_entry_in_supports (self->n_supports, self->supports, out_index, wrt_index))
    return TRUE;
  if (self->n_zero_partitions == 0)
    return FALSE;
  code = jac_entry_partition (self->out_rank, self->wrt_rank, out_index, wrt_index);
  for (guint k = 0; k < self->n_zero_partitions; k++)
    if (self->zero_partitions[k] == code)
      return TRUE;
  return FALSE;
}

gboolean
_jac_structured_entry_next (const JacStructured *self,
                            gsize               *o,
                            gsize               *w)
{
  for (guint t = self->wrt_rank; t-- > 0;)
    {
      if (++w[t] < self->wrt_shape[t])
        return TRUE;
      w[t] = 0;
    }
  for (guint a = self->out_rank; a-- > 0;)
    {
      if (++o[a] < self->out_shape[a])
        return TRUE;
      o[a] = 0;
    }
  return FALSE;
}

/* Entries some term's δs leave free but the terms cancel on. */
static gsize
count_cancelled (const JacStructured *self)
{
  gsize o[2] = { 0, 0 }, w[2] = { 0, 0 }, n = 0;

  if (!jac_structured_has_proved_zeros (self))
    return 0;
  do
    {
      gboolean forced = TRUE;

      for (guint k = 0; k < self->n_terms && forced; k++)
        forced = term_forces_zero (self, &self->terms[k], o, w);
      n += !forced && entry_cancels (self, o, w);
    }
  while (_jac_structured_entry_next (self, o, w));
  return n;
}

/* Walks of every entry stop at this many. */
#define ENTRY_WALK_LIMIT ((gsize) 1 << 22)

gboolean
jac_structured_set_zero_partitions (JacStructured *self,
                                    guint          n_codes,
                                    const guint   *codes)
{
  gsize o[2] = { 0, 0 }, w[2] = { 0, 0 };
  double largest = 0.0, cancelled = 0.0;
  gsize n_entries = 0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n_codes == 0 || codes != NULL, FALSE);

  self->n_zero_partitions = 0;
  if (n_codes == 0 || n_codes > JAC_ENTRY_MAX_PARTITIONS || self->n_terms == 0 ||
      jac_structured_dense_count (self) > ENTRY_WALK_LIMIT)
    return FALSE;
  memcpy (self->zero_partitions, codes, n_codes * sizeof *codes);
  self->n_zero_partitions = n_codes;
  do
    {
      gboolean forced;
      double value = fabs (terms_value (self, o, w, &forced));

      largest = MAX (largest, value);
      if (entry_cancels (self, o, w))
        {
          cancelled = MAX (cancelled, value);
          n_entries++;
        }
    }
  while (_jac_structured_entry_next (self, o, w));
  /* The rule must describe these numbers: an entry it cancels that is not 0 means it is not the
   * evaluator's Jacobian, and the δs alone stay. */
  if (n_entries == 0 || cancelled > 1e-10 * MAX (1.0, largest))
    {
      if (n_entries > 0)
        g_debug ("an entry the terms cancel on is %g: kept the δs alone", cancelled);
      self->n_zero_partitions = 0;
      return FALSE;
    }
  return TRUE;
}

gboolean
jac_structured_has_proved_zeros (const JacStructured *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->n_zero_partitions > 0 || self->n_supports > 0;
}

static gsize
position_index (guint        position,
                const gsize *out_index,
                const gsize *wrt_index)
{
  return position < 2 ? out_index[position] : wrt_index[position - 2];
}

static gboolean
tie_holds (const JacIndexTie *tie,
           const gsize       *out_index,
           const gsize       *wrt_index)
{
  gsize a = position_index (tie->a, out_index, wrt_index);
  gsize b = position_index (tie->b, out_index, wrt_index);

  switch (tie->kind)
    {
    case JAC_TIE_DIV:
      return a / tie->divisor == b;
    case JAC_TIE_MOD:
      return a % tie->divisor == b;
    case JAC_TIE_EQUAL:
    default:
      return a == b;
    }
}

gboolean
jac_entry_in_supports (guint                  n_supports,
                       const JacEntrySupport *supports,
                       const gsize           *out_index,
                       const gsize           *wrt_index)
{
  for (guint s = 0; s < n_supports; s++)
    {
      gboolean holds = TRUE;

      for (guint t = 0; t < supports[s].n_ties && holds; t++)
        holds = tie_holds (&supports[s].ties[t], out_index, wrt_index);
      if (holds)
        return TRUE;
    }
  return FALSE;
}

gboolean
jac_structured_set_supports (JacStructured         *self,
                             guint                  n_supports,
                             const JacEntrySupport *supports)
{
  gsize o[2] = { 0, 0 }, w[2] = { 0, 0 };
  double largest = 0.0, outside = 0.0;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n_supports <= JAC_MAX_SUPPORTS, FALSE);
  g_return_val_if_fail (n_supports == 0 || supports != NULL, FALSE);

  self->n_supports = 0;
  if (n_supports == 0 || self->n_terms == 0 ||
      jac_structured_dense_count (self) > ENTRY_WALK_LIMIT)
    return FALSE;
  do
    {
      gboolean forced;
      double value = fabs (terms_value (self, o, w, &forced));

      largest = MAX (largest, value);
      if (!jac_entry_in_supports (n_supports, supports, o, w))
        outside = MAX (outside, value);
    }
  while (_jac_structured_entry_next (self, o, w));
  /* As for partitions: a bound the numbers break is not this Jacobian's. */
  if (outside > 1e-10 * MAX (1.0, largest))
    {
      g_debug ("an entry outside the supports is %g: kept the δs alone", outside);
      return FALSE;
    }
  memcpy (self->supports, supports, n_supports * sizeof *supports);
  self->n_supports = n_supports;
  return TRUE;
}

static void
append_position (GString     *s,
                 guint        position,
                 const char  *out_letters,
                 const char  *wrt_letters)
{
  g_string_append_c (s, position < 2 ? out_letters[position] : wrt_letters[position - 2]);
}

char *
jac_entry_supports_sentence (guint                  n_supports,
                             const JacEntrySupport *supports,
                             const char            *out_letters,
                             const char            *wrt_letters)
{
  GString *s = g_string_new ("nonzero only where ");

  g_return_val_if_fail (out_letters != NULL && wrt_letters != NULL, NULL);

  for (guint k = 0; k < n_supports; k++)
    {
      const JacEntrySupport *support = &supports[k];
      gboolean grouped = n_supports > 1 && support->n_ties > 1;

      g_string_append_printf (s, "%s%s", k > 0 ? " or " : "", grouped ? "(" : "");
      for (guint t = 0; t < support->n_ties; t++)
        {
          const JacIndexTie *tie = &support->ties[t];

          if (t > 0)
            g_string_append (s, " and ");
          if (tie->kind == JAC_TIE_DIV)
            g_string_append (s, "⌊");
          append_position (s, tie->a, out_letters, wrt_letters);
          if (tie->kind == JAC_TIE_DIV)
            g_string_append_printf (s, "/%" G_GSIZE_FORMAT "⌋", tie->divisor);
          else if (tie->kind == JAC_TIE_MOD)
            g_string_append_printf (s, " mod %" G_GSIZE_FORMAT, tie->divisor);
          g_string_append (s, " = ");
          append_position (s, tie->b, out_letters, wrt_letters);
        }
      if (grouped)
        g_string_append (s, ")");
    }
  return g_string_free (s, FALSE);
}

/* Whether partition @coarse merges everything @fine does (on the present positions). */
static gboolean
partition_coarser (guint           coarse,
                   guint           fine,
                   const gboolean *present)
{
  for (guint a = 0; a < 4; a++)
    for (guint b = a + 1; b < 4; b++)
      if (present[a] && present[b] && jac_entry_partition_ties (fine, a, b) &&
          !jac_entry_partition_ties (coarse, a, b))
        return FALSE;
  return TRUE;
}

static gboolean
code_listed (guint        code,
             guint        n_codes,
             const guint *codes)
{
  for (guint k = 0; k < n_codes; k++)
    if (codes[k] == code)
      return TRUE;
  return FALSE;
}

/* Where partition @code's classes of two or more positions are equal: "p = i and q = j",
 * "i = j = p = q" ("" for no two equal). A class of one output index and one variable index
 * reads as the δ conditions do, the variable's first. */
static void
append_partition (GString        *out,
                  guint           code,
                  const gboolean *present,
                  const char     *letter)
{
  gboolean first = TRUE;

  for (guint a = 0; a < 4; a++)
    {
      guint members[4], n = 0;
      gboolean leads = present[a];

      for (guint b = 0; b < a && leads; b++)
        leads = !(present[b] && jac_entry_partition_ties (code, a, b));
      if (!leads)
        continue;
      for (guint b = a; b < 4; b++)
        if (present[b] && jac_entry_partition_ties (code, a, b))
          members[n++] = b;
      if (n < 2)
        continue;
      if (!first)
        g_string_append (out, " and ");
      first = FALSE;
      if (n == 2 && members[0] < 2 && members[1] >= 2)
        g_string_append_printf (out, "%c = %c", letter[members[1]], letter[members[0]]);
      else
        for (guint m = 0; m < n; m++)
          g_string_append_printf (out, m > 0 ? " = %c" : "%c", letter[members[m]]);
    }
}

/* The most general of @codes that @keep accepts, each as a condition, joined by " or " (with
 * parentheses where "and" meets "or"). */
static void
append_general (GString        *out,
                guint           n_codes,
                const guint    *codes,
                const gboolean *present,
                const char     *letter)
{
  guint n_listed = 0;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  for (guint c = 0; c < n_codes; c++)
    {
      gboolean general = TRUE;
      GString *text;

      for (guint g = 0; g < n_codes && general; g++)
        general = g == c || !partition_coarser (codes[c], codes[g], present);
      if (!general)
        continue;
      text = g_string_new (NULL);
      append_partition (text, codes[c], present, letter);
      g_ptr_array_add (texts, g_string_free (text, FALSE));
    }
  for (guint t = 0; t < texts->len; t++)
    {
      const char *text = g_ptr_array_index (texts, t);

      g_string_append_printf (out, texts->len > 1 && strstr (text, " and ") != NULL
                                     ? "%s(%s)" : "%s%s", n_listed++ > 0 ? " or " : "", text);
    }
}

char *
jac_entry_partitions_sentence (guint        out_rank,
                               guint        wrt_rank,
                               guint        n_zero,
                               const guint *zero,
                               const char  *out_letters,
                               const char  *wrt_letters)
{
  gboolean present[4] = { out_rank > 0, out_rank > 1, wrt_rank > 0, wrt_rank > 1 };
  char letter[4] = { '?', '?', '?', '?' };
  guint all[JAC_ENTRY_MAX_PARTITIONS], n_all, nonzero[JAC_ENTRY_MAX_PARTITIONS], n_nonzero = 0;
  guint except[JAC_ENTRY_MAX_PARTITIONS], n_except = 0;
  gboolean generic = FALSE;
  GString *sentence;

  g_return_val_if_fail (out_letters != NULL && wrt_letters != NULL, NULL);

  for (guint a = 0; a < out_rank && a < 2 && out_letters[a] != '\0'; a++)
    letter[a] = out_letters[a];
  for (guint t = 0; t < wrt_rank && t < 2 && wrt_letters[t] != '\0'; t++)
    letter[2 + t] = wrt_letters[t];
  n_all = jac_entry_partitions (out_rank, wrt_rank, all);
  for (guint m = 0; m < n_all; m++)
    if (!code_listed (all[m], n_zero, zero))
      nonzero[n_nonzero++] = all[m];
  if (n_nonzero == 0)
    return g_strdup ("identically zero");
  /* The zeros inside the nonzero conditions: those are the exceptions. */
  for (guint z = 0; z < n_zero; z++)
    for (guint m = 0; m < n_nonzero; m++)
      if (partition_coarser (zero[z], nonzero[m], present))
        {
          except[n_except++] = zero[z];
          break;
        }
  for (guint m = 0; m < n_nonzero && !generic; m++)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      append_partition (text, nonzero[m], present, letter);
      generic = text->len == 0;
    }

  sentence = g_string_new (generic ? "nonzero except where " : "nonzero only where ");
  if (!generic)
    {
      append_general (sentence, n_nonzero, nonzero, present, letter);
      if (n_except > 0)
        g_string_append (sentence, ", except where ");
    }
  if (n_except > 0)
    append_general (sentence, n_except, except, present, letter);
  return g_string_free (sentence, FALSE);
}

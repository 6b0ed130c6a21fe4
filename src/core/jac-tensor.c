/* jac-tensor.c: dense float64 tensors in C order. */
#define G_LOG_DOMAIN "jac-tensor"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jac-error.h"
#include "jac-tensor.h"

static gsize memory_budget;

/* Half of the machine's memory unless set: past it a tensor is refused rather than left to the
 * kernel's overcommit and out-of-memory killer. */
gsize
jac_get_memory_budget (void)
{
  if (memory_budget == 0)
    {
      long pages = sysconf (_SC_PHYS_PAGES), page_size = sysconf (_SC_PAGESIZE);

      memory_budget = pages > 0 && page_size > 0 ? (gsize) pages * (gsize) page_size / 2
                                                 : (gsize) 1 << 32;
    }
  return memory_budget;
}

void
jac_set_memory_budget (gsize n_bytes)
{
  memory_budget = n_bytes;
}

gboolean
jac_tensor_size_for_shape (guint        rank,
                           const gsize *shape,
                           gsize       *n_elements,
                           gsize       *n_bytes)
{
  gsize n = 1;

  for (guint a = 0; a < rank; a++)
    if (!g_size_checked_mul (&n, n, shape[a]))
      return FALSE;

  if (n_elements != NULL)
    *n_elements = n;
  if (n_bytes != NULL && !g_size_checked_mul (n_bytes, n, sizeof (double)))
    return FALSE;
  return TRUE;
}

/* Large buffers are aligned to 2 MiB and asked to be backed by huge pages: first-touch page faults
 * dominate the cost of a fresh tensor of tens of megabytes otherwise (measured ~10 µs per 4 KiB
 * page on the project's machines, 10× less with huge pages). Freed with g_free (). */
gpointer
jac_buffer_alloc (gsize n_bytes)
{
  const gsize huge = (gsize) 2 << 20;
  gpointer p = NULL;

  if (n_bytes < 2 * huge)
    return g_try_malloc (MAX (n_bytes, sizeof (double)));
  if (n_bytes > G_MAXSIZE - huge || posix_memalign (&p, huge, (n_bytes + huge - 1) & ~(huge - 1)))
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise (p, (n_bytes + huge - 1) & ~(huge - 1), MADV_HUGEPAGE);
#endif
  return p;
}

gboolean
jac_shape_fits_budget (guint         rank,
                       const gsize  *shape,
                       const char   *what,
                       GError      **error)
{
  gsize n_bytes = G_MAXSIZE;

  if (jac_tensor_size_for_shape (rank, shape, NULL, &n_bytes) &&
      n_bytes <= jac_get_memory_budget ())
    return TRUE;

  {
    g_autofree char *s = jac_shape_string (rank, shape);
    g_autofree char *need = g_format_size_full (n_bytes, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *have = g_format_size_full (jac_get_memory_budget (),
                                                G_FORMAT_SIZE_IEC_UNITS);

    g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                 "%s of shape %s would need %s, more than the memory budget of %s", what, s,
                 n_bytes == G_MAXSIZE ? "more than fits in memory" : need, have);
  }
  return FALSE;
}

JacTensor *
jac_tensor_new (guint        rank,
                const gsize *shape,
                GError     **error)
{
  g_autoptr(JacTensor) self = NULL;
  gsize n_bytes;

  g_return_val_if_fail (rank <= JAC_MAX_RANK, NULL);

  self = g_new0 (JacTensor, 1);
  self->rank = rank;
  if (!jac_tensor_size_for_shape (rank, shape, &self->size, &n_bytes))
    {
      g_autofree char *s = jac_shape_string (rank, shape);
      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "a tensor of shape %s has more entries than fit in memory", s);
      return NULL;
    }

  for (guint a = 0; a < rank; a++)
    self->shape[a] = shape[a];
  for (guint a = rank; a-- > 0;)
    self->strides[a] = (a + 1 == rank) ? 1 : self->strides[a + 1] * shape[a + 1];

  if (n_bytes > jac_get_memory_budget ())
    {
      g_autofree char *s = jac_shape_string (rank, shape);
      g_autofree char *need = g_format_size_full (n_bytes, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full (jac_get_memory_budget (),
                                                  G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "a tensor of shape %s would need %s (%" G_GSIZE_FORMAT " bytes), more than "
                   "the memory budget of %s", s, need, n_bytes, have);
      return NULL;
    }
  self->data = jac_buffer_alloc (n_bytes);
  if (self->data != NULL)
    memset (self->data, 0, MAX (n_bytes, sizeof (double)));
  if (self->data == NULL)
    {
      g_autofree char *s = jac_shape_string (rank, shape);
      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "could not allocate %" G_GSIZE_FORMAT " bytes for a tensor of shape %s",
                   n_bytes, s);
      return NULL;
    }
  return g_steal_pointer (&self);
}

JacTensor *
jac_tensor_new_matrix (gsize rows,
                       gsize cols)
{
  gsize shape[2] = { rows, cols };

  return jac_tensor_new (2, shape, NULL);
}

JacTensor *
jac_tensor_new_vector (gsize n)
{
  return jac_tensor_new (1, &n, NULL);
}

JacTensor *
jac_tensor_new_scalar (double value)
{
  JacTensor *self = jac_tensor_new (0, NULL, NULL);

  self->data[0] = value;
  return self;
}

JacTensor *
jac_tensor_copy (const JacTensor *self)
{
  JacTensor *copy = jac_tensor_new (self->rank, self->shape, NULL);

  memcpy (copy->data, self->data, self->size * sizeof (double));
  return copy;
}

void
jac_tensor_free (JacTensor *self)
{
  if (self == NULL)
    return;
  g_free (self->data);
  g_free (self);
}

gboolean
jac_tensor_same_shape (const JacTensor *a,
                       const JacTensor *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (guint i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
jac_shape_string (guint        rank,
                  const gsize *shape)
{
  GString *s = g_string_new ("(");

  for (guint a = 0; a < rank; a++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, a ? ", " : "", shape[a]);
  if (rank == 1)
    g_string_append_c (s, ',');
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

char *
jac_tensor_shape_string (const JacTensor *self)
{
  return jac_shape_string (self->rank, self->shape);
}

double
jac_tensor_max_abs (const JacTensor *self)
{
  double m = 0.0;

  for (gsize n = 0; n < self->size; n++)
    m = MAX (m, fabs (self->data[n]));
  return m;
}

/* NaN anywhere makes the difference NaN, so that a comparison against a tolerance fails. */
double
jac_tensor_max_abs_diff (const JacTensor *a,
                         const JacTensor *b)
{
  double m = 0.0;

  if (a->size != b->size)
    return INFINITY;
  for (gsize n = 0; n < a->size; n++)
    {
      double d = fabs (a->data[n] - b->data[n]);

      if (isnan (d))
        return NAN;
      m = MAX (m, d);
    }
  return m;
}

void
jac_tensor_fill (JacTensor *self,
                 double     value)
{
  for (gsize n = 0; n < self->size; n++)
    self->data[n] = value;
}

void
jac_tensor_fill_uniform (JacTensor *self,
                         GRand     *rand,
                         double     scale)
{
  for (gsize n = 0; n < self->size; n++)
    self->data[n] = scale * g_rand_double_range (rand, -1.0, 1.0);
}

gsize
jac_tensor_offset (const JacTensor *self,
                   const gsize     *index)
{
  gsize offset = 0;

  for (guint a = 0; a < self->rank; a++)
    offset += index[a] * self->strides[a];
  return offset;
}

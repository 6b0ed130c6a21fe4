/* jac-tensor.c: dense float64 tensors in C order. */
#define G_LOG_DOMAIN "jac-tensor"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jac-blas.h"
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
  gsize n = 1, bytes = 0;

  g_return_val_if_fail (rank == 0 || shape != NULL, FALSE);

  /* g_size_checked_mul stores the wrapped product when it overflows: an overflow answers
   * G_MAXSIZE, which messages write as "more than fits in memory", never a wrapped count. */
  for (guint a = 0; a < rank; a++)
    if (!g_size_checked_mul (&n, n, shape[a]))
      {
        if (n_elements != NULL)
          *n_elements = G_MAXSIZE;
        if (n_bytes != NULL)
          *n_bytes = G_MAXSIZE;
        return FALSE;
      }
  if (n_elements != NULL)
    *n_elements = n;
  if (!g_size_checked_mul (&bytes, n, sizeof (double)))
    {
      if (n_bytes != NULL)
        *n_bytes = G_MAXSIZE;
      return FALSE;
    }
  if (n_bytes != NULL)
    *n_bytes = bytes;
  return TRUE;
}

/* ---- buffers ----
 *
 * Buffers of 4 MiB and more come straight from mmap, 2 MiB aligned and advised to be backed by
 * huge pages: first-touch page faults dominate the cost of a fresh tensor of tens of megabytes
 * (measured ~10 µs per 4 KiB page on the project's machines, 10× less with huge pages). Fresh
 * anonymous memory is zero already, so a tensor on it skips its memset. A freed large buffer is
 * kept, up to a cap, for the next one of about its size: recomputing a Jacobian of the same
 * shape (the window does on every control change) then writes into pages already mapped. */

#define HUGE_PAGE ((gsize) 2 << 20)
/* In the table of mapped buffers, beside the capacity (a multiple of the page size): handed out
 * again from the cache, so not fresh from the kernel. */
#define REUSED ((gsize) 1)
#define MAX_CACHED 16

typedef struct
{
  gpointer data;
  gsize    capacity;   /* bytes mapped, a multiple of HUGE_PAGE */
} Mapping;

G_LOCK_DEFINE_STATIC (buffers);
static gsize next_serial;
static GHashTable *mapped;            /* data → capacity of every large buffer handed out */
static Mapping cached[MAX_CACHED];    /* freed large buffers kept for reuse */
static guint n_cached;

static gboolean
is_large (gsize n_bytes)
{
  return n_bytes >= 2 * HUGE_PAGE;
}

/* What the cache may hold: an eighth of the budget, at most 1 GiB. */
static gsize
cache_limit (void)
{
  return MIN (jac_get_memory_budget () / 8, (gsize) 1 << 30);
}

/* A fresh mapping of @capacity bytes aligned to HUGE_PAGE: map one huge page more, cut the ends. */
static gpointer
map_aligned (gsize capacity)
{
  guint8 *raw, *aligned;
  gsize head;

  raw = mmap (NULL, capacity + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  aligned = (guint8 *) (((guintptr) raw + HUGE_PAGE - 1) & ~(guintptr) (HUGE_PAGE - 1));
  head = aligned - raw;
  if (head > 0)
    munmap (raw, head);
  munmap (aligned + capacity, HUGE_PAGE - head);
#ifdef MADV_HUGEPAGE
  madvise (aligned, capacity, MADV_HUGEPAGE);
#endif
  return aligned;
}

static gsize
page_size (void)
{
  static gsize size;

  if (size == 0)
    size = MAX (sysconf (_SC_PAGESIZE), 4096);
  return size;
}

static gpointer
map_pages (gsize capacity)
{
  gpointer data = mmap (NULL, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                        0);

  return data == MAP_FAILED ? NULL : data;
}

/* The smallest cached buffer of @capacity bytes or up to a quarter more; the caller holds the
 * lock. */
static gpointer
take_cached (gsize capacity)
{
  guint best = n_cached;
  gpointer data;

  for (guint c = 0; c < n_cached; c++)
    if (cached[c].capacity >= capacity && cached[c].capacity <= capacity + capacity / 4 &&
        (best == n_cached || cached[c].capacity < cached[best].capacity))
      best = c;
  if (best == n_cached)
    return NULL;
  data = cached[best].data;
  capacity = cached[best].capacity;
  cached[best] = cached[--n_cached];
  g_hash_table_insert (mapped, data, GSIZE_TO_POINTER (capacity | REUSED));
  return data;
}

static gsize
cached_bytes (void)
{
  gsize total = 0;

  for (guint c = 0; c < n_cached; c++)
    total += cached[c].capacity;
  return total;
}

/* Keeps the newest: the oldest go first when a buffer of @capacity more would take the cache
 * past its limit. When only the number of buffers is at its limit, the oldest one no larger
 * than the newcomer goes: the window frees a dozen buffers of a few MiB per recompute, and they
 * must not push out the core of 512 MiB that the next recompute will write into. The caller
 * holds the lock. */
static void
make_room (gsize capacity)
{
  while (n_cached > 0 && (n_cached == MAX_CACHED || cached_bytes () + capacity > cache_limit ()))
    {
      guint victim = 0;

      if (cached_bytes () + capacity <= cache_limit ())
        for (guint c = 0; c < n_cached; c++)
          if (cached[c].capacity <= capacity)
            {
              victim = c;
              break;
            }
      g_hash_table_remove (mapped, cached[victim].data);
      munmap (cached[victim].data, cached[victim].capacity);
      memmove (cached + victim, cached + victim + 1, (--n_cached - victim) * sizeof *cached);
    }
}

/* @zeroed (nullable) says whether the memory is known to be all zero bytes. */
static gpointer
buffer_alloc (gsize     n_bytes,
              gboolean  reuse,
              gboolean *zeroed)
{
  gsize capacity = (n_bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  gpointer data = NULL;

  if (zeroed != NULL)
    *zeroed = FALSE;
  if (n_bytes > G_MAXSIZE - 2 * HUGE_PAGE)
    return NULL;
  if (!is_large (n_bytes) && reuse)
    return g_try_malloc (MAX (n_bytes, sizeof (double)));
  /* Small and fresh: its own mapping of ordinary pages (malloc would hand back a chunk just
   * freed), never cached. */
  if (!is_large (n_bytes))
    capacity = (MAX (n_bytes, sizeof (double)) + page_size () - 1) & ~(page_size () - 1);

  G_LOCK (buffers);
  if (reuse)
    data = take_cached (capacity);
  G_UNLOCK (buffers);
  if (data != NULL)
    return data;

  data = is_large (n_bytes) ? map_aligned (capacity) : map_pages (capacity);
  if (data == NULL)
    return NULL;
  if (zeroed != NULL)
    *zeroed = TRUE;
  G_LOCK (buffers);
  if (mapped == NULL)
    mapped = g_hash_table_new (NULL, NULL);
  g_hash_table_insert (mapped, data, GSIZE_TO_POINTER (capacity));
  G_UNLOCK (buffers);
  return data;
}

/* Freed with jac_buffer_free (). May hand back a large buffer freed before: not zeroed. */
gpointer
jac_buffer_alloc (gsize n_bytes)
{
  return buffer_alloc (n_bytes, TRUE, NULL);
}

/* Never memory used before: what a first computation pays, the floor bench measures against. */
gpointer
jac_buffer_alloc_fresh (gsize n_bytes)
{
  return buffer_alloc (n_bytes, FALSE, NULL);
}

void
jac_buffer_free (gpointer data)
{
  gsize capacity;

  if (data == NULL)
    return;
  G_LOCK (buffers);
  capacity = mapped != NULL ? GPOINTER_TO_SIZE (g_hash_table_lookup (mapped, data)) & ~REUSED
                            : 0;
  if (capacity == 0)
    {
      G_UNLOCK (buffers);
      g_free (data);
      return;
    }
  /* Small fresh mappings (the floor's) are not worth keeping. */
  if (is_large (capacity))
    make_room (capacity);
  if (is_large (capacity) && capacity <= cache_limit ())
    {
      cached[n_cached].data = data;
      cached[n_cached++].capacity = capacity;
      data = NULL;
    }
  else
    g_hash_table_remove (mapped, data);
  G_UNLOCK (buffers);
  if (data != NULL)
    munmap (data, capacity);
}

/* Whether @data is a large buffer handed out again from the cache, rather than pages the kernel
 * has just zeroed (and so left in cache): stores that bypass the cache pay off only there. */
gboolean
jac_buffer_is_reused (gconstpointer data)
{
  gsize value;

  G_LOCK (buffers);
  value = mapped != NULL ? GPOINTER_TO_SIZE (g_hash_table_lookup (mapped, data)) : 0;
  G_UNLOCK (buffers);
  return (value & REUSED) != 0;
}

/* Unmaps every buffer the cache keeps, e.g. before a measurement of fresh memory. */
void
jac_buffer_cache_trim (void)
{
  G_LOCK (buffers);
  for (guint c = 0; c < n_cached; c++)
    {
      g_hash_table_remove (mapped, cached[c].data);
      munmap (cached[c].data, cached[c].capacity);
    }
  n_cached = 0;
  G_UNLOCK (buffers);
}

gsize
jac_buffer_cached_bytes (void)
{
  gsize total;

  G_LOCK (buffers);
  total = cached_bytes ();
  G_UNLOCK (buffers);
  return total;
}

void
jac_set_budget_error (GError      **error,
                      const char   *what,
                      guint         rank,
                      const gsize  *shape,
                      gsize         n_bytes,
                      gsize         budget)
{
  g_autofree char *s = NULL;
  g_autofree char *need = NULL;
  g_autofree char *have = NULL;
  g_autofree char *size = NULL;

  g_return_if_fail (what != NULL);
  g_return_if_fail (rank == 0 || shape != NULL);

  s = jac_shape_string (rank, shape);
  /* A size that wrapped is no number of bytes, and past memory it is past any budget too:
   * said once. */
  if (n_bytes == G_MAXSIZE)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                   "%s of shape %s would need more than fits in memory", what, s);
      return;
    }
  have = g_format_size_full (budget, G_FORMAT_SIZE_IEC_UNITS);
  size = g_format_size_full (n_bytes, G_FORMAT_SIZE_IEC_UNITS);
  need = g_strdup_printf ("%s (%" G_GSIZE_FORMAT " bytes)", size, n_bytes);
  g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
               "%s of shape %s would need %s, more than the memory budget of %s", what, s, need,
               have);
}

gboolean
jac_shape_fits_budget (guint         rank,
                       const gsize  *shape,
                       const char   *what,
                       GError      **error)
{
  gsize n_bytes = G_MAXSIZE;

  g_return_val_if_fail (rank == 0 || shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (jac_tensor_size_for_shape (rank, shape, NULL, &n_bytes) &&
      n_bytes <= jac_get_memory_budget ())
    return TRUE;

  jac_set_budget_error (error, what, rank, shape, n_bytes, jac_get_memory_budget ());
  return FALSE;
}

static JacTensor *
tensor_new (guint        rank,
            const gsize *shape,
            gboolean     zero,
            GError     **error)
{
  g_autoptr(JacTensor) self = NULL;
  gboolean zeroed;
  gsize n_bytes;

  g_return_val_if_fail (rank <= JAC_MAX_RANK, NULL);

  self = g_new0 (JacTensor, 1);
  self->serial = (guint64) g_atomic_pointer_add (&next_serial, 1) + 1;
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
      jac_set_budget_error (error, "a tensor", rank, shape, n_bytes, jac_get_memory_budget ());
      return NULL;
    }
  self->data = buffer_alloc (n_bytes, TRUE, &zeroed);
  if (self->data != NULL && zero && !zeroed)
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
jac_tensor_try_new (guint        rank,
                    const gsize *shape,
                    GError     **error)
{
  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tensor_new (rank, shape, TRUE, error);
}

/* Without @error the allocation cannot fail: past the budget or the memory it aborts, naming
 * the shape, rather than hand back a NULL that no caller checks. */
static JacTensor *
tensor_new_or_abort (guint        rank,
                     const gsize *shape,
                     gboolean     zero,
                     GError     **error)
{
  g_autoptr(GError) local = NULL;
  JacTensor *self;

  if (error != NULL)
    return tensor_new (rank, shape, zero, error);
  self = tensor_new (rank, shape, zero, &local);
  if (self == NULL && local != NULL)
    g_error ("%s", local->message);
  return self;
}

JacTensor *
jac_tensor_new (guint        rank,
                const gsize *shape,
                GError     **error)
{
  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tensor_new_or_abort (rank, shape, TRUE, error);
}

/* Skips the memset, which costs as much as writing the tensor once (0.4 ms for 32 MiB of pages
 * already mapped): for results every entry of which is about to be written. */
JacTensor *
jac_tensor_new_uninitialized (guint        rank,
                              const gsize *shape,
                              GError     **error)
{
  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return tensor_new_or_abort (rank, shape, FALSE, error);
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
  g_return_val_if_fail (self != NULL, NULL);

  JacTensor *copy = jac_tensor_new (self->rank, self->shape, NULL);

  memcpy (copy->data, self->data, self->size * sizeof (double));
  return copy;
}

void
jac_tensor_free (JacTensor *self)
{
  if (self == NULL)
    return;
  jac_buffer_free (self->data);
  g_free (self);
}

gboolean
jac_tensor_same_shape (const JacTensor *a,
                       const JacTensor *b)
{
  g_return_val_if_fail (a != NULL, FALSE);

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
  GString *s;

  g_return_val_if_fail (rank == 0 || shape != NULL, NULL);

  s = g_string_new ("(");

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
  g_return_val_if_fail (self != NULL, NULL);

  return jac_shape_string (self->rank, self->shape);
}

/* NaN entries are skipped. Eight running maxima, so that the loop is not one long chain of
 * dependent comparisons: it reads the whole structured core of a Jacobian (512 MiB at N=64,
 * H=1024) on every recompute. */
static double
max_abs_range (const double *data,
               gsize         n)
{
  double m[8] = { 0 };
  gsize k = 0;

  for (; k + 8 <= n; k += 8)
    for (guint l = 0; l < 8; l++)
      {
        double a = fabs (data[k + l]);

        m[l] = a > m[l] ? a : m[l];
      }
  for (; k < n; k++)
    {
      double a = fabs (data[k]);

      m[0] = a > m[0] ? a : m[0];
    }
  for (guint l = 1; l < 8; l++)
    m[0] = MAX (m[0], m[l]);
  return m[0];
}

typedef struct
{
  const double *data;
  double        max[16];
} MaxAbsJob;

static void
max_abs_cb (gsize    begin,
            gsize    end,
            guint    range,
            gpointer user_data)
{
  MaxAbsJob *job = user_data;

  job->max[range] = max_abs_range (job->data + begin, end - begin);
}

/* A million entries or more are split over the BLAS threads: one core reads 13 GB/s here, two
 * read 26. */
double
jac_tensor_max_abs (const JacTensor *self)
{
  g_return_val_if_fail (self != NULL, 0.0);

  MaxAbsJob job = { self->data, { 0 } };
  double m = 0;

  jac_parallel_for (self->size, (gsize) 1 << 20, max_abs_cb, &job);
  for (guint r = 0; r < G_N_ELEMENTS (job.max); r++)
    m = MAX (m, job.max[r]);
  return m;
}

/* NaN anywhere makes the difference NaN, so that a comparison against a tolerance fails. */
double
jac_tensor_max_abs_diff (const JacTensor *a,
                         const JacTensor *b)
{
  g_return_val_if_fail (a != NULL, 0.0);

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
  g_return_if_fail (self != NULL);

  for (gsize n = 0; n < self->size; n++)
    self->data[n] = value;
}

void
jac_tensor_fill_uniform (JacTensor *self,
                         GRand     *rand,
                         double     scale)
{
  g_return_if_fail (self != NULL);

  for (gsize n = 0; n < self->size; n++)
    self->data[n] = scale * g_rand_double_range (rand, -1.0, 1.0);
}

/* GLib's MT19937 (grand.c, the seeding of GLib 2.2 and later): a block of 624 words at a time,
 * tempered as they are taken. */
#define MT_N 624
#define MT_M 397

typedef struct
{
  guint32 mt[MT_N];
  guint   next;
} Twister;

static void
twister_seed_array (Twister       *t,
                    const guint32 *seed,
                    guint          n_seed)
{
  guint i = 1, j = 0;

  t->mt[0] = 19650218u;
  for (guint k = 1; k < MT_N; k++)
    t->mt[k] = 1812433253u * (t->mt[k - 1] ^ (t->mt[k - 1] >> 30)) + k;
  for (guint k = MAX (MT_N, n_seed); k > 0; k--)
    {
      t->mt[i] = (t->mt[i] ^ ((t->mt[i - 1] ^ (t->mt[i - 1] >> 30)) * 1664525u)) + seed[j] + j;
      i++;
      j++;
      if (i >= MT_N)
        {
          t->mt[0] = t->mt[MT_N - 1];
          i = 1;
        }
      if (j >= n_seed)
        j = 0;
    }
  for (guint k = MT_N - 1; k > 0; k--)
    {
      t->mt[i] = (t->mt[i] ^ ((t->mt[i - 1] ^ (t->mt[i - 1] >> 30)) * 1566083941u)) - i;
      i++;
      if (i >= MT_N)
        {
          t->mt[0] = t->mt[MT_N - 1];
          i = 1;
        }
    }
  t->mt[0] = 0x80000000u;
  t->next = MT_N;
}

static void
twister_regenerate (Twister *t)
{
  guint32 *mt = t->mt;
  guint kk;

#define MT_TWIST(a, b, c) ((c) ^ ((((a) & 0x80000000u) | ((b) & 0x7fffffffu)) >> 1) ^ \
                           (((b) & 1u) ? 0x9908b0dfu : 0u))
  for (kk = 0; kk < MT_N - MT_M; kk++)
    mt[kk] = MT_TWIST (mt[kk], mt[kk + 1], mt[kk + MT_M]);
  for (; kk < MT_N - 1; kk++)
    mt[kk] = MT_TWIST (mt[kk], mt[kk + 1], mt[kk + MT_M - MT_N]);
  mt[MT_N - 1] = MT_TWIST (mt[MT_N - 1], mt[0], mt[MT_M - 1]);
#undef MT_TWIST
  t->next = 0;
}

static inline guint32
twister_int (Twister *t)
{
  guint32 y;

  if (G_UNLIKELY (t->next >= MT_N))
    twister_regenerate (t);
  y = t->mt[t->next++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

/* g_rand_double (): 52 bits from two words, drawn again in the rare case it rounds to 1. */
static inline double
twister_double (Twister *t)
{
  const double transform = 2.3283064365386962890625e-10;   /* 2^-32 */

  for (;;)
    {
      double r = twister_int (t) * transform;

      r = (r + twister_int (t)) * transform;
      if (r < 1.0)
        return r;
    }
}

void
jac_tensor_fill_uniform_seeded (JacTensor     *self,
                                const guint32 *seed,
                                guint          n_seed,
                                double         scale)
{
  g_autofree Twister *t = NULL;

  g_return_if_fail (self != NULL);
  g_return_if_fail (seed != NULL && n_seed > 0);

  /* G_RANDOM_VERSION=2.0 selects GLib's older seeding: GRand itself, then. */
  if (g_getenv ("G_RANDOM_VERSION") != NULL)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed, n_seed);

      jac_tensor_fill_uniform (self, rand, scale);
      return;
    }
  t = g_new (Twister, 1);
  twister_seed_array (t, seed, n_seed);
  for (gsize n = 0; n < self->size; n++)
    {
      double r = twister_double (t);

      /* g_rand_double_range (rand, −1, 1), as it computes it. */
      self->data[n] = scale * (r * 1.0 - (r - 1) * -1.0);
    }
}

gsize
jac_tensor_offset (const JacTensor *self,
                   const gsize     *index)
{
  gsize offset = 0;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (self->rank == 0 || index != NULL, 0);

  for (guint a = 0; a < self->rank; a++)
    offset += index[a] * self->strides[a];
  return offset;
}

void
jac_matrix_transpose (const double *a,
                      gsize         rows,
                      gsize         cols,
                      double       *out)
{
  for (gsize i0 = 0; i0 < rows; i0 += 32)
    for (gsize j0 = 0; j0 < cols; j0 += 32)
      for (gsize j = j0; j < MIN (j0 + 32, cols); j++)
        for (gsize i = i0; i < MIN (i0 + 32, rows); i++)
          out[j * rows + i] = a[i * cols + j];
}

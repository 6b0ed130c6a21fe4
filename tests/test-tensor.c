/* test-tensor.c: tensors, the BLAS wrapper against its naive reference, atomic files. */
#define G_LOG_DOMAIN "test-tensor"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/jac-atomic-file.h"
#include "core/jac-blas.h"
#include "core/jac-error.h"
#include "core/jac-graph.h"
#include "core/jac-structured.h"
#include "core/jac-tensor.h"

static void
test_shape_and_strides (void)
{
  gsize shape[3] = { 2, 3, 4 };
  g_autoptr(JacTensor) t = jac_tensor_new (3, shape, NULL);
  g_autofree char *s = jac_tensor_shape_string (t);
  g_autoptr(JacTensor) v = jac_tensor_new_vector (5);
  g_autofree char *sv = jac_tensor_shape_string (v);
  g_autoptr(JacTensor) scalar = jac_tensor_new_scalar (2.5);
  g_autofree char *ss = jac_tensor_shape_string (scalar);
  gsize index[3] = { 1, 2, 3 };

  g_assert_cmpuint (t->size, ==, 24);
  g_assert_cmpuint (t->strides[0], ==, 12);
  g_assert_cmpuint (t->strides[1], ==, 4);
  g_assert_cmpuint (t->strides[2], ==, 1);
  g_assert_cmpuint (jac_tensor_offset (t, index), ==, 23);
  g_assert_cmpstr (s, ==, "(2, 3, 4)");
  g_assert_cmpstr (sv, ==, "(5,)");
  g_assert_cmpstr (ss, ==, "()");
  g_assert_cmpfloat (scalar->data[0], ==, 2.5);
  for (gsize n = 0; n < t->size; n++)
    g_assert_cmpfloat (t->data[n], ==, 0.0);
}

static void
test_overflow (void)
{
  gsize shape[4] = { G_MAXSIZE / 2, 3, 1, 1 };
  g_autoptr(GError) error = NULL;
  JacTensor *t = jac_tensor_new (4, shape, &error);

  g_assert_null (t);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE);
}

/* jac_tensor_try_new reports what jac_tensor_new without an error refuses by aborting; the
 * budget's message is the same wherever it is built. */
static void
test_budget (void)
{
  gsize shape[2] = { 100, 100 };   /* 80 000 bytes */
  gsize saved = jac_get_memory_budget ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) fits = NULL;
  g_autoptr(JacTensor) small = NULL;

  if (g_test_subprocess ())
    {
      jac_set_memory_budget (1000);
      jac_tensor_new_matrix (100, 100);   /* cannot fail: aborts */
      return;
    }

  jac_set_memory_budget (1000);
  g_assert_null (jac_tensor_try_new (2, shape, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE);
  g_assert_cmpstr (error->message, ==, "a tensor of shape (100, 100) would need 78.1\u00a0KiB "
                                       "(80000 bytes), more than the memory budget of 1000 bytes");
  g_assert_false (jac_shape_fits_budget (2, shape, "W_hh", &fits));
  g_assert_cmpstr (fits->message, ==, "W_hh of shape (100, 100) would need 78.1\u00a0KiB "
                                      "(80000 bytes), more than the memory budget of 1000 bytes");
  g_clear_error (&error);
  {
    gsize huge[2] = { G_MAXSIZE / 4, 4 };

    g_assert_null (jac_tensor_try_new (2, huge, &error));
    g_assert_nonnull (strstr (error->message, "more entries than fit in memory"));
  }
  small = jac_tensor_try_new (1, shape, NULL);   /* 800 bytes fit */
  g_assert_nonnull (small);
  jac_set_memory_budget (saved);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*a tensor of shape (100, 100) would need 78.1*KiB*more than the "
                             "memory budget of 1000 bytes*");
}

/* A large tensor freed and made again reuses the buffer, and is zero all the same. */
static void
test_buffer_reuse (void)
{
  gsize shape[2] = { 1024, 1024 };   /* 8 MiB: past the size that gets its own mapping */
  JacTensor *t;
  double *first;
  gpointer fresh;

  jac_buffer_cache_trim ();
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 0);
  t = jac_tensor_new (2, shape, NULL);
  g_assert_cmpuint ((guintptr) t->data % (2 << 20), ==, 0);
  g_assert_false (jac_buffer_is_reused (t->data));
  for (gsize n = 0; n < t->size; n++)
    g_assert_cmpfloat (t->data[n], ==, 0.0);
  jac_tensor_fill (t, 3.5);
  first = t->data;
  jac_tensor_free (t);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 8 << 20);

  /* A fresh buffer never is one the cache holds. */
  fresh = jac_buffer_alloc_fresh (8 << 20);
  g_assert_true (fresh != (gpointer) first);
  g_assert_false (jac_buffer_is_reused (fresh));
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 8 << 20);

  t = jac_tensor_new (2, shape, NULL);
  g_assert_true (t->data == first);
  g_assert_true (jac_buffer_is_reused (t->data));
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 0);
  for (gsize n = 0; n < t->size; n++)
    g_assert_cmpfloat (t->data[n], ==, 0.0);
  jac_tensor_free (t);

  /* Uninitialized: the same buffer again, shaped as asked (its entries are whatever it held). */
  t = jac_tensor_new_uninitialized (2, shape, NULL);
  g_assert_true (t->data == first);
  g_assert_cmpuint (t->size, ==, 1024 * 1024);
  g_assert_cmpuint (t->strides[0], ==, 1024);
  jac_tensor_free (t);
  jac_buffer_free (fresh);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 16 << 20);

  /* A much smaller tensor does not take a large buffer, and small ones bypass the cache. */
  shape[0] = 256;
  t = jac_tensor_new (2, shape, NULL);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 16 << 20);
  jac_tensor_free (t);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 16 << 20);
  jac_buffer_cache_trim ();
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 0);

  /* A small fresh buffer is memory of its own too, and is not kept. */
  fresh = jac_buffer_alloc_fresh (1000);
  memset (fresh, 1, 1000);
  jac_buffer_free (fresh);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 0);
}

/* The cache keeps no more than its share of the memory budget. */
static void
test_buffer_cache_limit (void)
{
  gsize budget = jac_get_memory_budget ();
  gsize shape[2] = { 1024, 1024 };
  JacTensor *t[3];

  jac_buffer_cache_trim ();
  jac_set_memory_budget ((gsize) 128 << 20);   /* the cache may hold 16 MiB */
  for (guint k = 0; k < 3; k++)
    t[k] = jac_tensor_new (2, shape, NULL);
  for (guint k = 0; k < 3; k++)
    jac_tensor_free (t[k]);
  g_assert_cmpuint (jac_buffer_cached_bytes (), ==, 16 << 20);
  jac_buffer_cache_trim ();
  jac_set_memory_budget (budget);
}

/* The unrolled maximum against a plain loop, at every length around the unrolling and with the
 * largest entry in every lane. */
static void
test_max_abs_lanes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (gsize n = 0; n < 11; n++)
    for (gsize peak = 0; peak < MAX (n, 1); peak++)
      {
        g_autoptr(JacTensor) t = jac_tensor_new_vector (n);
        double expected = 0.0;

        jac_tensor_fill_uniform (t, rand, 1.0);
        if (n > 0)
          t->data[peak] = -7.0 - peak;
        for (gsize k = 0; k < n; k++)
          expected = MAX (expected, fabs (t->data[k]));
        g_assert_cmpfloat (jac_tensor_max_abs (t), ==, expected);
      }
}

typedef struct
{
  gsize begin[16], end[16];
  guint n_calls;
  GMutex lock;
} RangeLog;

static void
log_range_cb (gsize    begin,
              gsize    end,
              guint    range,
              gpointer data)
{
  RangeLog *log = data;

  g_mutex_lock (&log->lock);
  g_assert_cmpuint (range, <, 16);
  log->begin[range] = begin;
  log->end[range] = end;
  log->n_calls++;
  g_mutex_unlock (&log->lock);
}

/* The ranges tile [0, n) in order, one call each, and small work stays on one range. */
static void
test_parallel_for (void)
{
  static const gsize sizes[] = { 0, 1, 7, 1000, 4096, 100003 };

  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    for (gsize grain = 1; grain <= 2048; grain *= 8)
      {
        RangeLog log = { { 0 } };
        guint n_ranges = jac_parallel_ranges (sizes[z], grain);

        g_mutex_init (&log.lock);
        jac_parallel_for (sizes[z], grain, log_range_cb, &log);
        g_assert_cmpuint (log.n_calls, ==, n_ranges);
        g_assert_cmpuint (log.begin[0], ==, 0);
        g_assert_cmpuint (log.end[n_ranges - 1], ==, sizes[z]);
        for (guint r = 1; r < n_ranges; r++)
          g_assert_cmpuint (log.begin[r], ==, log.end[r - 1]);
        if (sizes[z] < 2 * grain)
          g_assert_cmpuint (n_ranges, ==, 1);
        g_mutex_clear (&log.lock);
      }
}

/* Past a million entries the maximum is taken over threads: the same as one loop, wherever the
 * peak is, NaN skipped. */
static void
test_max_abs_threaded (void)
{
  gsize n = (gsize) 3 << 20;
  g_autoptr(JacTensor) t = jac_tensor_new_vector (n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  static const gsize peaks[] = { 0, 1, ((gsize) 3 << 20) / 2, ((gsize) 3 << 20) - 1 };

  jac_tensor_fill_uniform (t, rand, 1.0);
  t->data[17] = NAN;
  for (guint k = 0; k < G_N_ELEMENTS (peaks); k++)
    {
      double saved = t->data[peaks[k]], expected = 0;

      t->data[peaks[k]] = -3.5;
      for (gsize e = 0; e < n; e++)
        if (!isnan (t->data[e]))
          expected = MAX (expected, fabs (t->data[e]));
      g_assert_cmpfloat (expected, ==, 3.5);
      g_assert_cmpfloat (jac_tensor_max_abs (t), ==, expected);
      t->data[peaks[k]] = saved;
    }
}

/* Every tensor gets its own serial, a copy too: caches key on it. */
static void
test_serial (void)
{
  g_autoptr(JacTensor) a = jac_tensor_new_matrix (2, 2);
  g_autoptr(JacTensor) b = jac_tensor_copy (a);
  guint64 first = a->serial;

  g_assert_cmpuint (a->serial, !=, 0);
  g_assert_cmpuint (b->serial, >, a->serial);
  g_clear_pointer (&a, jac_tensor_free);
  a = jac_tensor_new_matrix (2, 2);
  g_assert_cmpuint (a->serial, !=, first);
  g_assert_cmpuint (a->serial, !=, b->serial);
}

static void
test_max_abs_diff (void)
{
  g_autoptr(JacTensor) a = jac_tensor_new_matrix (2, 2);
  g_autoptr(JacTensor) b = jac_tensor_new_matrix (2, 2);

  a->data[3] = -2.0;
  b->data[3] = 1.0;
  g_assert_cmpfloat (jac_tensor_max_abs_diff (a, b), ==, 3.0);
  g_assert_cmpfloat (jac_tensor_max_abs (a), ==, 2.0);
  b->data[0] = NAN;
  g_assert_true (isnan (jac_tensor_max_abs_diff (a, b)));
  g_assert_cmpfloat (jac_tensor_max_abs (b), ==, 1.0);   /* the NaN is skipped */
}

/* BLAS against the naive loops, for every transpose combination and odd sizes. */
static void
test_gemm_matches_naive (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  const gsize sizes[][3] = { { 1, 1, 1 }, { 3, 5, 7 }, { 17, 4, 9 }, { 8, 8, 1 }, { 33, 31, 29 } };

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint ta = 0; ta < 2; ta++)
      for (guint tb = 0; tb < 2; tb++)
        {
          gsize m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
          g_autoptr(JacTensor) a = ta ? jac_tensor_new_matrix (k, m) : jac_tensor_new_matrix (m, k);
          g_autoptr(JacTensor) b = tb ? jac_tensor_new_matrix (n, k) : jac_tensor_new_matrix (k, n);
          g_autoptr(JacTensor) c1 = jac_tensor_new_matrix (m, n);
          g_autoptr(JacTensor) c2 = NULL;

          jac_tensor_fill_uniform (a, rand, 1.0);
          jac_tensor_fill_uniform (b, rand, 1.0);
          jac_tensor_fill_uniform (c1, rand, 1.0);
          c2 = jac_tensor_copy (c1);
          jac_gemm (ta, tb, m, n, k, 0.5, a->data, a->shape[1], b->data, b->shape[1], 2.0,
                    c1->data, n);
          jac_gemm_naive (ta, tb, m, n, k, 0.5, a->data, a->shape[1], b->data, b->shape[1], 2.0,
                          c2->data, n);
          g_assert_cmpfloat (jac_tensor_max_abs_diff (c1, c2), <, 1e-12);
        }
}

static void
test_atomic_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-atomic-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "out.txt", NULL);
  g_autofree char *missing = g_build_filename (dir, "no", "such", "out.txt", NULL);
  g_autofree char *contents = NULL;
  JacAtomicFile *file;
  GDir *d;
  guint n = 0;

  g_assert_true (g_file_set_contents (path, "old", -1, NULL));

  /* Aborted: the old file stays, no temporary file is left. */
  file = jac_atomic_file_new (path, &error);
  g_assert_no_error (error);
  fputs ("half", jac_atomic_file_get_stream (file));
  jac_atomic_file_abort (file);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old");
  g_clear_pointer (&contents, g_free);

  /* Committed: replaced whole. */
  file = jac_atomic_file_new (path, &error);
  fputs ("new", jac_atomic_file_get_stream (file));
  g_assert_true (jac_atomic_file_commit (file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "new");

  d = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  g_assert_cmpuint (n, ==, 1);

  g_assert_null (jac_atomic_file_new (missing, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, missing));

  g_unlink (path);
  g_rmdir (dir);
}

static char *
write_through (const char *path,
               const char *text,
               GError    **error)
{
  JacAtomicFile *file = jac_atomic_file_new (path, error);

  if (file == NULL)
    return NULL;
  fputs (text, jac_atomic_file_get_stream (file));
  if (!jac_atomic_file_commit (file, error))
    return NULL;
  return g_strdup (path);
}

static guint
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (g_dir_read_name (d) != NULL)
    n++;
  g_dir_close (d);
  return n;
}

/* An output onto a symbolic link writes its target; onto anything but a regular file it is
 * refused, and the thing is left as it was. */
static void
test_atomic_file_targets (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-atomic-XXXXXX", &error);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *target = g_build_filename (sub, "target.txt", NULL);
  g_autofree char *link = g_build_filename (dir, "link.txt", NULL);
  g_autofree char *chain = g_build_filename (dir, "chain.txt", NULL);
  g_autofree char *dangling = g_build_filename (dir, "dangling.txt", NULL);
  g_autofree char *created = g_build_filename (sub, "new.txt", NULL);
  g_autofree char *loop = g_build_filename (dir, "loop.txt", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo", NULL);
  g_autofree char *node = g_build_filename (dir, "null", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *written = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_true (g_file_set_contents (target, "old", -1, NULL));
  g_assert_cmpint (symlink ("sub/target.txt", link), ==, 0);
  g_assert_cmpint (symlink ("link.txt", chain), ==, 0);

  /* Through a chain of relative links: the target changes, the links stay links. */
  written = write_through (chain, "new", &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "new");
  g_assert_cmpint (g_lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpint (g_lstat (chain, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_assert_cmpuint (count_entries (sub), ==, 1);
  g_clear_pointer (&written, g_free);

  /* A dangling link creates the file it names. */
  g_assert_cmpint (symlink ("sub/new.txt", dangling), ==, 0);
  written = write_through (dangling, "made", &error);
  g_assert_no_error (error);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (created, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "made");
  g_assert_cmpint (g_lstat (dangling, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_clear_pointer (&written, g_free);

  /* A loop of links is an error, not a hang. */
  g_assert_cmpint (symlink ("loop.txt", loop), ==, 0);
  g_assert_null (write_through (loop, "x", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "symbolic links"));
  g_clear_error (&error);

  /* A FIFO and a folder are refused and stay what they are. */
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_null (write_through (fifo, "x", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "is not a regular file"));
  g_clear_error (&error);
  g_assert_cmpint (g_lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_null (write_through (sub, "x", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_clear_error (&error);

  /* A copy of /dev/null (root only): `-o /dev/null` must never replace the device. */
  if (mknod (node, S_IFCHR | 0666, makedev (1, 3)) == 0)
    {
      g_assert_null (write_through (node, "x", &error));
      g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "is not a regular file"));
      g_clear_error (&error);
      g_assert_cmpint (g_lstat (node, &st), ==, 0);
      g_assert_true (S_ISCHR (st.st_mode));
      g_unlink (node);
    }
  else
    g_test_message ("mknod not permitted: the device-node case is not run");
  /* No temporary file left anywhere. */
  g_assert_cmpuint (count_entries (dir), ==, 6);
  g_assert_cmpuint (count_entries (sub), ==, 2);

  g_unlink (created);
  g_unlink (target);
  g_rmdir (sub);
  g_unlink (link);
  g_unlink (chain);
  g_unlink (dangling);
  g_unlink (loop);
  g_unlink (fifo);
  g_rmdir (dir);
}

/* Sizes past what a gsize holds say so, never a wrapped byte count. */
static void
test_size_overflow (void)
{
  gsize shape[2] = { (gsize) 4611686018427387905ULL, 2 };
  gsize n = 0, bytes = 0;
  g_autoptr(GError) error = NULL;

  g_assert_false (jac_tensor_size_for_shape (2, shape, &n, &bytes));
  g_assert_cmpuint (bytes, ==, G_MAXSIZE);
  g_assert_false (jac_shape_fits_budget (2, shape, "X", &error));
  g_assert_nonnull (strstr (error->message, "more than fits in memory"));
  g_assert_null (strstr (error->message, "16 bytes"));
  /* Said once: not "more than fits in memory, more than the memory budget of 11.8 GiB". */
  g_assert_cmpstr (error->message, ==,
                   "X of shape (4611686018427387905, 2) would need more than fits in memory");
}

/* The seeded fill reproduces GRand exactly: its seeding from an array, the 624-word blocks, the
 * two words a double and g_rand_double_range's arithmetic. */
static void
test_fill_uniform_seeded (void)
{
  static const guint32 seeds[][2] = { { 1, 0 }, { 1, 3 }, { 7, 1004 }, { 0, 0 },
                                      { 0xffffffffu, 0x9e3779b9u }, { 42, 2166136261u } };
  static const gsize sizes[] = { 1, 311, 312, 313, 624, 1000, 100003 };

  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
      {
        gsize shape[1] = { sizes[z] };
        g_autoptr(JacTensor) expected = jac_tensor_new (1, shape, NULL);
        g_autoptr(JacTensor) fast = jac_tensor_new (1, shape, NULL);
        g_autoptr(GRand) rand = g_rand_new_with_seed_array (seeds[s], 2);
        double scale = 0.03125 * (z + 1);

        jac_tensor_fill_uniform (expected, rand, scale);
        jac_tensor_fill_uniform_seeded (fast, seeds[s], 2, scale);
        g_assert_cmpmem (fast->data, fast->size * sizeof (double), expected->data,
                         expected->size * sizeof (double));
      }
  /* One word of seed, and more words than the state has. */
  {
    g_autofree guint32 *long_seed = g_new (guint32, 700);
    gsize shape[1] = { 2000 };
    g_autoptr(JacTensor) expected = jac_tensor_new (1, shape, NULL);
    g_autoptr(JacTensor) fast = jac_tensor_new (1, shape, NULL);
    g_autoptr(GRand) one = NULL;
    g_autoptr(GRand) many = NULL;

    for (guint k = 0; k < 700; k++)
      long_seed[k] = k * 2654435761u;
    one = g_rand_new_with_seed_array (long_seed + 5, 1);
    jac_tensor_fill_uniform (expected, one, 1.0);
    jac_tensor_fill_uniform_seeded (fast, long_seed + 5, 1, 1.0);
    g_assert_cmpmem (fast->data, fast->size * sizeof (double), expected->data,
                     expected->size * sizeof (double));
    many = g_rand_new_with_seed_array (long_seed, 700);
    jac_tensor_fill_uniform (expected, many, 1.0);
    jac_tensor_fill_uniform_seeded (fast, long_seed, 700, 1.0);
    g_assert_cmpmem (fast->data, fast->size * sizeof (double), expected->data,
                     expected->size * sizeof (double));
  }
}

/* A programmer error at the public API is refused with a critical naming the check, not a
 * crash: NULL shapes, tensors, indices and outputs. */
static void
test_public_guards (void)
{
  gsize index[2] = { 0, 0 };
  JacFunc func;

  g_test_expect_message ("jac-tensor", G_LOG_LEVEL_CRITICAL, "*rank == 0 || shape != NULL*");
  g_assert_null (jac_tensor_try_new (2, NULL, NULL));
  g_test_assert_expected_messages ();
  g_test_expect_message ("jac-tensor", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_cmpuint (jac_tensor_offset (NULL, index), ==, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message ("jac-structured", G_LOG_LEVEL_CRITICAL, "*self != NULL*");
  g_assert_cmpfloat (jac_structured_get (NULL, index, index, NULL), ==, 0);
  g_test_assert_expected_messages ();
  g_test_expect_message ("jac-graph", G_LOG_LEVEL_CRITICAL, "*func != NULL*");
  g_assert_false (jac_func_from_name ("tanh", NULL));
  g_test_assert_expected_messages ();
  /* And the same calls, well formed, still answer. */
  g_assert_true (jac_func_from_name ("tanh", &func));
  g_assert_cmpint (func, ==, JAC_FUNC_TANH);
  {
    g_autoptr(JacTensor) t = jac_tensor_try_new (2, (gsize[]) { 2, 3 }, NULL);

    index[0] = 1;
    index[1] = 2;
    g_assert_cmpuint (jac_tensor_offset (t, index), ==, 5);
  }
}

/* The tiled transpose against the plain loop, for empty, single, tile-sized and ragged shapes. */
static void
test_transpose (void)
{
  static const gsize shapes[][2] = { { 0, 5 }, { 5, 0 }, { 1, 1 }, { 1, 40 }, { 32, 32 },
                                     { 33, 65 }, { 70, 3 } };

  for (guint c = 0; c < G_N_ELEMENTS (shapes); c++)
    {
      gsize rows = shapes[c][0], cols = shapes[c][1];
      g_autofree double *a = g_new (double, MAX (rows * cols, 1));
      g_autofree double *t = g_new0 (double, MAX (rows * cols, 1));

      for (gsize e = 0; e < rows * cols; e++)
        a[e] = (double) e * 0.5 - 3;
      jac_matrix_transpose (a, rows, cols, t);
      for (gsize i = 0; i < rows; i++)
        for (gsize j = 0; j < cols; j++)
          g_assert_cmpfloat (t[j * rows + i], ==, a[i * cols + j]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tensor/shape-strides", test_shape_and_strides);
  g_test_add_func ("/tensor/overflow", test_overflow);
  g_test_add_func ("/tensor/transpose", test_transpose);
  g_test_add_func ("/tensor/budget", test_budget);
  g_test_add_func ("/tensor/max-abs-diff", test_max_abs_diff);
  g_test_add_func ("/tensor/max-abs-lanes", test_max_abs_lanes);
  g_test_add_func ("/tensor/max-abs-threaded", test_max_abs_threaded);
  g_test_add_func ("/tensor/serial", test_serial);
  g_test_add_func ("/tensor/parallel-for", test_parallel_for);
  g_test_add_func ("/tensor/buffer-reuse", test_buffer_reuse);
  g_test_add_func ("/tensor/buffer-cache-limit", test_buffer_cache_limit);
  g_test_add_func ("/blas/gemm-naive", test_gemm_matches_naive);
  g_test_add_func ("/atomic-file/commit-abort", test_atomic_file);
  g_test_add_func ("/atomic-file/targets", test_atomic_file_targets);
  g_test_add_func ("/tensor/size-overflow", test_size_overflow);
  g_test_add_func ("/tensor/fill-uniform-seeded", test_fill_uniform_seeded);
  g_test_add_func ("/tensor/public-guards", test_public_guards);
  return g_test_run ();
}

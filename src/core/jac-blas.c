/* jac-blas.c: CBLAS behind one function, and the naive loop it is tested against. */
#define G_LOG_DOMAIN "jac-blas"

#include <cblas.h>

#include "jac-blas.h"

/* BLAS threads. OpenBLAS's threads spin for about a tenth of a second after each threaded call
 * (2^28 cycles, its default) before they sleep, taking a processor from whatever runs next: on
 * these two-processor machines the window's passes over the core after a recompute's small
 * GEMMs ran at one thread's pace (N = 64, D = 64, H = 1024: the analysis 72 ms instead of 52,
 * measured). So BLAS stays on one thread, and only a GEMM large enough to pay for the spin
 * (BIG_GEMM multiply-adds, ~20 ms on one thread) runs on the threads --threads allows; the
 * callers that have parallel work of their own split it themselves (jac_parallel_for ()). */
#define BIG_GEMM ((double) (1u << 30))

/* What a big GEMM gets: --threads, OPENBLAS_NUM_THREADS or one a processor. */
static int gemm_threads;
static GMutex big_gemm_lock;
/* Set on a thread that is one of several sharing the work (a range of jac_parallel_for (), a
 * group of the through-time norms): its GEMMs stay on it, however big. */
static GPrivate serial_thread;

static void
blas_init (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      gemm_threads = MAX (openblas_get_num_threads (), 1);
      openblas_set_num_threads (1);
      g_once_init_leave (&done, 1);
    }
}

void
jac_gemm (gboolean      trans_a,
          gboolean      trans_b,
          gsize         m,
          gsize         n,
          gsize         k,
          double        alpha,
          const double *a,
          gsize         lda,
          const double *b,
          gsize         ldb,
          double        beta,
          double       *c,
          gsize         ldc)
{
  int threads;

  if (m == 0 || n == 0)
    return;
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);
  blas_init ();
  threads = (double) m * (double) n * (double) k >= BIG_GEMM && !_jac_blas_get_serial ()
            ? g_atomic_int_get (&gemm_threads) : 1;
  if (threads > 1)
    {
      g_mutex_lock (&big_gemm_lock);
      openblas_set_num_threads (threads);
    }
  /* BLAS insists on leading dimensions of at least 1 even when a matrix is empty. */
  cblas_dgemm (CblasRowMajor,
               trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans,
               (int) m, (int) n, (int) k, alpha,
               a, (int) MAX (lda, 1), b, (int) MAX (ldb, 1),
               beta, c, (int) MAX (ldc, 1));
  if (threads > 1)
    {
      openblas_set_num_threads (1);
      g_mutex_unlock (&big_gemm_lock);
    }
}

void
jac_gemm_naive (gboolean      trans_a,
                gboolean      trans_b,
                gsize         m,
                gsize         n,
                gsize         k,
                double        alpha,
                const double *a,
                gsize         lda,
                const double *b,
                gsize         ldb,
                double        beta,
                double       *c,
                gsize         ldc)
{
  g_return_if_fail (m == 0 || k == 0 || a != NULL);
  g_return_if_fail (k == 0 || n == 0 || b != NULL);
  g_return_if_fail (m == 0 || n == 0 || c != NULL);

  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      {
        double sum = 0.0;

        for (gsize l = 0; l < k; l++)
          {
            double av = trans_a ? a[l * lda + i] : a[i * lda + l];
            double bv = trans_b ? b[j * ldb + l] : b[l * ldb + j];

            sum += av * bv;
          }
        c[i * ldc + j] = alpha * sum + (beta == 0.0 ? 0.0 : beta * c[i * ldc + j]);
      }
}

static int parallel_threads;   /* 0: one per processor */

/* The count --threads gives is the one every pass uses, jac_parallel_for ()'s and a big GEMM's
 * alike: a comparison at one thread is one thread. */
void
jac_blas_set_threads (int n_threads)
{
  blas_init ();
  g_atomic_int_set (&gemm_threads, MAX (n_threads, 1));
  parallel_threads = MAX (n_threads, 1);
}

int
jac_blas_get_threads (void)
{
  blas_init ();
  return g_atomic_int_get (&gemm_threads);
}

gboolean
_jac_blas_set_serial (gboolean serial)
{
  gboolean was = _jac_blas_get_serial ();

  g_private_set (&serial_thread, GINT_TO_POINTER (serial ? 1 : 0));
  return was;
}

gboolean
_jac_blas_get_serial (void)
{
  return GPOINTER_TO_INT (g_private_get (&serial_thread)) != 0;
}

/* ---- parallel ranges ---- */

#define MAX_RANGES 16

typedef struct
{
  JacRangeFunc func;
  gpointer     data;
  gsize        begin, end;
  guint        range;
} RangeJob;

static gpointer
range_thread (gpointer user_data)
{
  RangeJob *job = user_data;
  gboolean was = _jac_blas_set_serial (TRUE);

  job->func (job->begin, job->end, job->range, job->data);
  _jac_blas_set_serial (was);
  return NULL;
}

/* How many ranges jac_parallel_for () will use for @n items of at least @grain each. */
guint
jac_parallel_ranges (gsize n,
                     gsize grain)
{
  gsize by_size = grain > 0 ? n / grain : n;
  int threads = parallel_threads > 0 ? parallel_threads : (int) g_get_num_processors ();

  return (guint) CLAMP (MIN (by_size, (gsize) MAX (threads, 1)), 1, MAX_RANGES);
}

void
jac_parallel_for (gsize        n,
                  gsize        grain,
                  JacRangeFunc func,
                  gpointer     data)
{
  jac_parallel_for_ranges (n, jac_parallel_ranges (n, grain), func, data);
}

void
jac_parallel_for_ranges (gsize        n,
                         guint        n_ranges,
                         JacRangeFunc func,
                         gpointer     data)
{
  RangeJob jobs[MAX_RANGES];
  GThread *threads[MAX_RANGES] = { NULL };

  n_ranges = (guint) CLAMP (MIN ((gsize) n_ranges, n), 1, MAX_RANGES);
  if (n_ranges <= 1)
    {
      func (0, n, 0, data);
      return;
    }
  for (guint r = 0; r < n_ranges; r++)
    {
      jobs[r] = (RangeJob) { func, data, n * r / n_ranges, n * (r + 1) / n_ranges, r };
      /* The caller takes the first range itself; one that cannot get a thread runs inline. */
      if (r > 0)
        threads[r] = g_thread_try_new ("jac-range", range_thread, &jobs[r], NULL);
    }
  range_thread (&jobs[0]);
  for (guint r = 1; r < n_ranges; r++)
    {
      if (threads[r] != NULL)
        g_thread_join (threads[r]);
      else
        range_thread (&jobs[r]);
    }
}

/* jac-cli-bench.c: `jacscope bench`, timings as JSON lines, each against a baseline of the same run. */
#define G_LOG_DOMAIN "jac-cli"

#include <string.h>
#include <time.h>

#include "cli/jac-cli-private.h"
#include "core/jac-blas.h"
#include "core/jac-error.h"
#include "core/jac-kron.h"
#include "core/jac-sequence.h"

GOptionGroup *
_jac_cli_bench_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "repeat", 0, 0, G_OPTION_ARG_FILENAME, &o->repeat_text, "Runs per timing (default 7)", "R" },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("bench", "Bench options:", "Show bench options",
                                            NULL, NULL);

  _jac_cli_add_entries (group, entries, o->subcommand);
  return group;
}

static double
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

typedef struct
{
  double median;
  double min;
} Timing;

typedef void (*BenchFunc) (gpointer data);

/* @prepare (nullable) runs untimed before each timed run. */
static Timing
time_runs_prepared (guint     repeat,
                    BenchFunc prepare,
                    BenchFunc func,
                    gpointer  data)
{
  g_autofree double *ms = g_new (double, repeat);
  Timing t;

  /* One run to warm caches, fonts and the allocator, untimed. */
  func (data);
  for (guint r = 0; r < repeat; r++)
    {
      double start;

      if (prepare != NULL)
        prepare (data);
      start = now_ms ();
      func (data);
      ms[r] = now_ms () - start;
    }
  qsort (ms, repeat, sizeof (double), compare_doubles);
  t.median = repeat % 2 ? ms[repeat / 2] : 0.5 * (ms[repeat / 2 - 1] + ms[repeat / 2]);
  t.min = ms[0];
  return t;
}

/* Median and minimum of @n values (sorted in place). */
static double
median_of (double *v,
           guint   n)
{
  qsort (v, n, sizeof (double), compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double
min_of (double *v,
        guint   n)
{
  double best = v[0];

  for (guint r = 1; r < n; r++)
    best = MIN (best, v[r]);
  return best;
}

static Timing
time_runs (guint     repeat,
           BenchFunc func,
           gpointer  data)
{
  return time_runs_prepared (repeat, NULL, func, data);
}

typedef struct
{
  JacCliOptions *options;
  JacRnn        *rnn;
  JacVariable    wrt;
  const JacStructured *jac;
  gsize          n_bytes;
  int            width, height;
  JacRnnConfig   figure_config;
  const JacAnalysis *analysis;
} Bench;

static void
bench_structured (gpointer data)
{
  Bench *b = data;

  jac_structured_free (jac_rnn_jacobian (b->rnn, b->wrt));
}

static void
bench_dense (gpointer data)
{
  Bench *b = data;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (b->jac, 0, NULL);

  g_assert (dense != NULL);
}

/* A cold run: the buffers earlier runs freed are unmapped, so the Jacobian is written into fresh
 * memory as the floor is. */
static void
empty_buffer_cache (gpointer data)
{
  jac_buffer_cache_trim ();
}

/* The floor: the same number of bytes written into memory never used before. */
static void
bench_write_bytes (gpointer data)
{
  Bench *b = data;
  guint8 *buffer = jac_buffer_alloc_fresh (b->n_bytes);

  g_assert (buffer != NULL);
  memset (buffer, 0x3f, b->n_bytes);
  /* Keep the compiler from dropping the writes. */
  g_assert (((volatile guint8 *) buffer)[b->n_bytes - 1] == 0x3f);
  jac_buffer_free (buffer);
}

/* The warm floor: the same bytes written into memory this process used before (the buffer
 * cache's), as a recompute of the Jacobian writes them. */
static void
bench_rewrite_bytes (gpointer data)
{
  Bench *b = data;
  guint8 *buffer = jac_buffer_alloc (b->n_bytes);

  g_assert (buffer != NULL);
  memset (buffer, 0x3f, b->n_bytes);
  g_assert (((volatile guint8 *) buffer)[b->n_bytes - 1] == 0x3f);
  jac_buffer_free (buffer);
}

static void
bench_figure (gpointer data)
{
  Bench *b = data;
  g_autoptr(GError) error = NULL;
  JacRnn *rnn = jac_rnn_new (&b->figure_config, NULL, &error);
  g_autoptr(JacAnalysis) analysis = jac_analysis_new (rnn, JAC_VAR_H_PREV, JAC_UPSTREAM_ONES,
                                                      NULL, &error);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, b->width,
                                                         b->height);
  cairo_t *cr = cairo_create (surface);
  JacFigureStyle style;

  jac_figure_style_init (&style);
  jac_figure_draw (cr, b->width, b->height, analysis, &style);
  cairo_surface_flush (surface);
  cairo_destroy (cr);
  cairo_surface_destroy (surface);
}

static void
bench_kron (gpointer data)
{
  Bench *b = data;

  jac_kron_free (jac_kron_recognize (b->analysis->jacobian, b->analysis->graph,
                                     b->analysis->slope, 1e-12));
}

/* What a control change in the window computes at the largest size it takes (N = 64, D = 64,
 * H = 1024, wrt h_prev: a core of 512 MiB), headless: a new draw of the variables, the
 * analysis and the figure at the window's size, on buffers the previous run freed; and the
 * Kronecker form the window finds after that frame. */
static void
bench_window_change (JacCliOptions *o,
                     Bench         *b)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = NULL;
  Timing change, kron;
  JacRnn *rnn;

  jac_rnn_config_init_default (&b->figure_config);
  b->figure_config.batch = 64;
  b->figure_config.input = 64;
  b->figure_config.hidden = 1024;
  b->width = 928;
  b->height = 688;
  g_print ("{\"bench\": \"window_change\", \"wrt\": \"h_prev\", \"batch\": 64, "
           "\"input\": 64, \"hidden\": 1024, \"width\": %d, \"height\": %d, "
           "\"threads\": %d, \"repeat\": %u", b->width, b->height, jac_blas_get_threads (),
           o->repeat);
  if ((gsize) 64 * 1024 * 1024 * sizeof (double) * 2 > o->budget_bytes)
    {
      g_print (", \"skipped\": \"over the memory budget\"}\n");
      return;
    }
  change = time_runs (o->repeat, bench_figure, b);
  rnn = jac_rnn_new (&b->figure_config, NULL, &error);
  analysis = rnn != NULL
    ? jac_analysis_new (rnn, JAC_VAR_H_PREV, JAC_UPSTREAM_ONES, NULL, &error) : NULL;
  g_assert (analysis != NULL);
  b->analysis = analysis;
  kron = time_runs (o->repeat, bench_kron, b);
  b->analysis = NULL;
  g_print (", \"median_ms\": %.3f, \"min_ms\": %.3f, \"kron_median_ms\": %.3f, "
           "\"kron_min_ms\": %.3f}\n", change.median, change.min, kron.median, kron.min);
}

static void
print_common (JacCliOptions *o,
              const char    *name,
              const JacRnn  *rnn,
              JacVariable    wrt)
{
  g_print ("{\"bench\": \"%s\", \"wrt\": \"%s\", \"batch\": %" G_GSIZE_FORMAT ", \"input\": %"
           G_GSIZE_FORMAT ", \"hidden\": %" G_GSIZE_FORMAT ", \"activation\": \"%s\", "
           "\"threads\": %d, \"repeat\": %u",
           name, jac_variable_name (wrt), rnn->config.batch, rnn->config.input,
           rnn->config.hidden, jac_func_name (rnn->config.activation), jac_blas_get_threads (),
           o->repeat);
}

typedef struct
{
  JacCliOptions     *options;
  const JacSequence *sequence;
  gboolean           failed;
} SequenceBench;

/* The sequence (weights drawn or loaded, W_hh's spectral radius, the forward pass). */
static void
bench_sequence_build (gpointer data)
{
  SequenceBench *b = data;
  g_autoptr(JacSequence) sequence = _jac_cli_build_sequence (b->options, NULL, NULL);

  b->failed |= sequence == NULL;
}

/* Every lag's norms of the built sequence. */
static void
bench_sequence_norms (gpointer data)
{
  SequenceBench *b = data;
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (b->sequence, FALSE, NULL);

  b->failed |= norms == NULL;
}

/* The floor of the chain's work: the GEMMs a lag of the product of ∂h_t/∂h_{t−1} needs, T
 * times, in the shapes the chain does them. The RNN's rows share diag(S)-scaled W_hhᵀ: one
 * (rows·H) × H times H × H. A gated cell's row has its own gate-folded W_hh (A·H × H, A = 2 state
 * parts for the LSTM, else 1): one H × A·H times A·H × H a row. Timed two ways, the batch from
 * one thread (on BLAS's threads for a GEMM big enough for them, see jac-blas.c) and split in two
 * halves on two threads with one-thread GEMMs (as the chain runs), and the faster counts. */
typedef struct
{
  gsize   rows, h, depth, steps;
  gboolean shared;    /* the RNN: one weight for all rows */
  double *a, *b, *c;
} GemmFloor;

/* The floor's GEMMs for rows [begin, end), T times. */
static void
gemm_floor_rows (gsize    begin,
                 gsize    end,
                 guint    range,
                 gpointer data)
{
  const GemmFloor *f = data;
  gsize h = f->h, d = f->depth;

  for (gsize t = 0; t < f->steps; t++)
    {
      if (f->shared)
        {
          jac_gemm (FALSE, TRUE, (end - begin) * h, h, d, 1.0, f->a + begin * h * d, d, f->b, d,
                    0.0, f->c + begin * h * d, d);
          continue;
        }
      for (gsize i = begin; i < end; i++)
        jac_gemm (FALSE, FALSE, h, h, d, 1.0, f->a + i * h * d, d, f->b, h, 0.0,
                  f->c + i * h * d, d);
    }
}

static void
bench_gemm_floor (gpointer data)
{
  const GemmFloor *f = data;

  gemm_floor_rows (0, f->rows, 0, data);
}

/* The same GEMMs, the rows in two halves on two threads, each GEMM on its thread alone. */
static void
bench_gemm_floor_split (gpointer data)
{
  const GemmFloor *f = data;

  jac_parallel_for_ranges (f->rows, 2, gemm_floor_rows, data);
}

/* The unrolled cell: every lag's spectral, Frobenius and max norms, per row, against the floor,
 * timed in pairs (a norms run, then the floor's GEMMs). The ratio printed is the norms' median
 * over the floor's fastest run: OpenBLAS's two-thread GEMM on this kind of two-processor
 * virtual machine runs either at twice its one-thread rate or, for seconds at a time, no faster
 * than one thread (the same 40 GEMMs in 32 ms or 70 ms, measured, while the norms' own threads
 * keep their pace), and the floor is what the GEMMs can do. The sequence's build (weights, W_hh's
 * spectral radius by dgeev_, the forward pass) is timed apart: it is not the chain's work. */
static int
bench_sequence (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequence) sequence = _jac_cli_build_sequence (o, NULL, &error);
  SequenceBench b = { o, sequence, FALSE };
  gsize h, n;
  GemmFloor f;
  g_autofree double *norms_ms = NULL, *floor_ms = NULL, *whole_ms = NULL, *split_ms = NULL;
  double start, norms_median, floor_min;
  gboolean split;
  Timing build;

  if (sequence == NULL)
    {
      _jac_cli_fail ("bench", error);
      return 1;
    }
  h = sequence->config.config.hidden, n = sequence->config.config.batch;
  f = (GemmFloor) { n, h, (sequence->config.cell == JAC_CELL_LSTM ? 2 : 1) * h,
                    sequence->config.steps, sequence->config.cell == JAC_CELL_RNN,
                    NULL, NULL, NULL };
  f.a = g_new (double, n * h * f.depth);
  f.b = g_new (double, f.depth * h);
  f.c = g_new (double, n * h * f.depth);
  for (gsize e = 0; e < n * h * f.depth; e++)
    f.a[e] = (double) (e % 7) / 7 - 0.5;
  for (gsize e = 0; e < f.depth * h; e++)
    f.b[e] = (double) (e % 5) / 5 - 0.5;
  /* The split needs two rows and two threads, as the chain's groups do. */
  split = n >= 2 && jac_parallel_ranges (2, 1) >= 2;
  norms_ms = g_new (double, o->repeat);
  floor_ms = g_new (double, o->repeat);
  whole_ms = g_new (double, o->repeat);
  split_ms = g_new (double, o->repeat);
  build = time_runs (o->repeat, bench_sequence_build, &b);
  /* One round to warm caches and the allocator, untimed. */
  bench_sequence_norms (&b);
  bench_gemm_floor (&f);
  if (split)
    bench_gemm_floor_split (&f);
  for (guint r = 0; r < o->repeat && !b.failed; r++)
    {
      /* BLAS's threads spin for about a tenth of a second after a threaded call (2^28 cycles,
       * OpenBLAS's default), taking a processor from a run that follows at once: each run
       * starts as a user's does, with them asleep. */
      g_usleep (200000);
      start = now_ms ();
      bench_sequence_norms (&b);
      norms_ms[r] = now_ms () - start;
      start = now_ms ();
      bench_gemm_floor (&f);
      whole_ms[r] = now_ms () - start;
      split_ms[r] = G_MAXDOUBLE;
      if (split)
        {
          g_usleep (200000);
          start = now_ms ();
          bench_gemm_floor_split (&f);
          split_ms[r] = now_ms () - start;
        }
      floor_ms[r] = MIN (whole_ms[r], split_ms[r]);
    }
  g_free (f.a);
  g_free (f.b);
  g_free (f.c);
  if (b.failed)
    return 1;
  norms_median = median_of (norms_ms, o->repeat);
  floor_min = min_of (floor_ms, o->repeat);
  g_print ("{\"bench\": \"sequence_norms\", \"cell\": \"%s\", \"steps\": %" G_GSIZE_FORMAT
           ", \"batch\": %" G_GSIZE_FORMAT ", \"hidden\": %" G_GSIZE_FORMAT ", \"activation\": \"%s\", "
           "\"threads\": %d, \"repeat\": %u, \"median_ms\": %.3f, \"min_ms\": %.3f, "
           "\"gemm_floor_ms\": %.3f, \"gemm_floor_median_ms\": %.3f, "
           "\"gemm_floor_whole_ms\": %.3f, \"gemm_floor_split_ms\": %.3f, "
           "\"ratio_to_gemm_floor\": %.2f, \"build_median_ms\": %.3f}\n",
           jac_cell_name (sequence->config.cell), sequence->config.steps, n, h,
           jac_func_name (sequence->config.config.activation), jac_blas_get_threads (), o->repeat,
           norms_median, min_of (norms_ms, o->repeat), floor_min, median_of (floor_ms, o->repeat),
           min_of (whole_ms, o->repeat), split ? min_of (split_ms, o->repeat) : 0.0,
           floor_min > 0 ? norms_median / floor_min : 0.0, build.median);
  return 0;
}

int
_jac_cli_run_bench (JacCliOptions *o)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacRnn) rnn = NULL;
  g_autoptr(JacStructured) jac = NULL;
  Bench b = { .options = o, .width = 1920, .height = 1080 };
  Timing structured, cold, dense, write_bytes, rewrite_bytes;
  guint64 repeat = 7;

  if (o->repeat_text && !g_ascii_string_to_unsigned (o->repeat_text, 10, 1, 1000, &repeat, NULL))
    {
      g_printerr ("jacscope bench: --repeat: “%s” is not a whole number from 1 to 1000\n",
                  o->repeat_text);
      return 1;
    }
  o->repeat = (guint) repeat;
  if (o->expr_text != NULL)
    {
      g_printerr ("jacscope bench: --expr: bench measures the RNN step; "
                  "time an expression with compute\n");
      return 1;
    }
  if (o->steps_text != NULL)
    return bench_sequence (o);

  rnn = jac_rnn_new (&o->config, o->loaded, &error);
  if (rnn == NULL)
    {
      _jac_cli_fail ("bench", error);
      return 1;
    }
  b.rnn = rnn;
  b.wrt = o->wrt;
  jac = jac_graph_jacobian_try (rnn->graph, rnn->variable_node[o->wrt], &error);
  if (jac == NULL)
    {
      _jac_cli_fail ("bench", error);
      return 1;
    }
  b.jac = jac;

  /* Warm: a recompute, as the window does, on buffers the previous run freed. Cold: on fresh
   * memory, as a first computation (and the floor) pays. */
  b.n_bytes = jac_structured_stored_count (jac) * sizeof (double);
  structured = time_runs (o->repeat, bench_structured, &b);
  cold = time_runs_prepared (o->repeat, empty_buffer_cache, bench_structured, &b);
  /* Fresh memory for the floor as for the cold run: the buffers before are unmapped untimed,
   * so that neither pays for returning pages. */
  write_bytes = time_runs_prepared (o->repeat, empty_buffer_cache, bench_write_bytes, &b);
  rewrite_bytes = time_runs (o->repeat, bench_rewrite_bytes, &b);
  print_common (o, "jacobian_structured", rnn, o->wrt);
  g_print (", \"stored_entries\": %" G_GSIZE_FORMAT ", \"dense_entries\": %" G_GSIZE_FORMAT
           ", \"bytes\": %" G_GSIZE_FORMAT ", \"median_ms\": %.4f, \"min_ms\": %.4f, "
           "\"cold_median_ms\": %.4f, \"write_bytes_median_ms\": %.4f, "
           "\"rewrite_bytes_median_ms\": %.4f, "
           "\"ratio_to_write_bytes\": %.3f, \"cold_ratio_to_write_bytes\": %.3f, "
           "\"ratio_to_rewrite_bytes\": %.3f}\n",
           jac_structured_stored_count (jac), jac_structured_dense_count (jac), b.n_bytes,
           structured.median, structured.min, cold.median, write_bytes.median,
           rewrite_bytes.median,
           write_bytes.median > 0 ? structured.median / write_bytes.median : 0.0,
           write_bytes.median > 0 ? cold.median / write_bytes.median : 0.0,
           rewrite_bytes.median > 0 ? structured.median / rewrite_bytes.median : 0.0);

  if (jac_structured_dense_count (jac) <= o->budget_bytes / sizeof (double))
    {
      b.n_bytes = jac_structured_dense_count (jac) * sizeof (double);
      dense = time_runs (o->repeat, bench_dense, &b);
      write_bytes = time_runs_prepared (o->repeat, empty_buffer_cache, bench_write_bytes, &b);
      print_common (o, "dense_materialize", rnn, o->wrt);
      g_print (", \"bytes\": %" G_GSIZE_FORMAT ", \"median_ms\": %.3f, "
               "\"write_bytes_median_ms\": %.3f, \"ratio_to_write_bytes\": %.3f}\n",
               b.n_bytes, dense.median, write_bytes.median,
               write_bytes.median > 0 ? dense.median / write_bytes.median : 0.0);
    }
  else
    {
      print_common (o, "dense_materialize", rnn, o->wrt);
      g_print (", \"skipped\": \"over the memory budget\"}\n");
    }

  /* The default figure and the largest the target names, compute + render at 1920×1080. */
  for (guint f = 0; f < 2; f++)
    {
      Timing figure;

      jac_rnn_config_init_default (&b.figure_config);
      if (f == 1)
        {
          b.figure_config.batch = 8;
          b.figure_config.input = 8;
          b.figure_config.hidden = 64;
        }
      figure = time_runs (o->repeat, bench_figure, &b);
      g_print ("{\"bench\": \"figure_compute_render\", \"wrt\": \"h_prev\", \"batch\": %"
               G_GSIZE_FORMAT ", \"input\": %" G_GSIZE_FORMAT ", \"hidden\": %" G_GSIZE_FORMAT
               ", \"width\": %d, \"height\": %d, \"repeat\": %u, \"median_ms\": %.3f, "
               "\"min_ms\": %.3f}\n", b.figure_config.batch, b.figure_config.input,
               b.figure_config.hidden, b.width, b.height, o->repeat, figure.median, figure.min);
    }
  bench_window_change (o, &b);
  return 0;
}

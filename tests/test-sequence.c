/* test-sequence.c: ∂h_T/∂h_{T−k} through time against the step-by-step chain, finite differences and LAPACK. */
#define G_LOG_DOMAIN "test-sequence"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "core/jac-blas.h"
#include "core/jac-error.h"
#include "core/jac-sequence.h"
#include "render/jac-sequence-figure.h"

typedef struct
{
  gsize    n, d, h, steps;
  gboolean b_per_row;
} Sizes;

static const Sizes sizes[] = {
  { 2, 3, 3, 6, FALSE },
  { 1, 1, 1, 4, FALSE },
  { 3, 2, 4, 7, TRUE },
  { 2, 5, 2, 3, FALSE },
};

static const JacFunc activations[] = {
  JAC_FUNC_TANH, JAC_FUNC_SIGMOID, JAC_FUNC_RELU, JAC_FUNC_IDENTITY,
};

static JacSequence *
make_sequence (const Sizes *s,
               JacFunc      activation,
               double       gain,
               gboolean     orthogonal,
               guint32      seed)
{
  JacSequenceConfig config;
  g_autoptr(GError) error = NULL;
  JacSequence *seq;

  jac_sequence_config_init_default (&config);
  config.config.batch = s->n;
  config.config.input = s->d;
  config.config.hidden = s->h;
  config.config.b_per_row = s->b_per_row;
  config.config.activation = activation;
  config.config.seed = seed;
  config.steps = s->steps;
  config.gain = gain;
  config.orthogonal = orthogonal;
  seq = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  return seq;
}

static JacTensor *
dense_of (const JacStructured *jac)
{
  g_autoptr(GError) error = NULL;
  JacTensor *dense = jac_structured_to_dense (jac, 0, &error);

  g_assert_no_error (error);
  return dense;
}

static JacStructured *
lag_jacobian (const JacSequence *seq,
              gsize              lag)
{
  g_autoptr(GError) error = NULL;
  JacStructured *jac = jac_sequence_jacobian (seq, lag, &error);

  g_assert_no_error (error);
  g_assert_nonnull (jac);
  return jac;
}

/* Every step of the sequence is the JacRnn built from h_{s−1}, x_s and the shared weights. */
static void
test_forward_matches_single_steps (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      {
        g_autoptr(JacSequence) seq = make_sequence (&sizes[s], activations[a], 1.1, FALSE, 3);
        gsize nh = sizes[s].n * sizes[s].h;

        for (gsize step = 1; step <= sizes[s].steps; step++)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(JacRnn) rnn = jac_sequence_step_rnn (seq, step, &error);
            const JacTensor *out;
            const double *h = jac_sequence_state (seq, step);

            g_assert_no_error (error);
            out = jac_rnn_output (rnn);
            g_assert_cmpuint (out->size, ==, nh);
            for (gsize e = 0; e < nh; e++)
              g_assert_cmpfloat_with_epsilon (out->data[e], h[e], 1e-13);
          }
      }
}

/* T = 1, gain 1, no rescaling: the sequence draws exactly JacRnn's variables. */
static void
test_one_step_draws_like_rnn (void)
{
  JacSequenceConfig config;
  g_autoptr(JacSequence) seq = NULL;
  g_autoptr(JacRnn) rnn = NULL;
  g_autoptr(JacRnn) step = NULL;

  jac_sequence_config_init_default (&config);
  config.steps = 1;
  config.unit_radius = FALSE;
  seq = jac_sequence_new (&config, NULL);
  rnn = jac_rnn_new (&config.config, NULL, NULL);
  step = jac_sequence_step_rnn (seq, 1, NULL);
  for (guint v = 0; v < JAC_N_VARS; v++)
    g_assert_cmpfloat (jac_tensor_max_abs_diff (jac_rnn_value (rnn, v),
                                                jac_rnn_value (step, v)), ==, 0.0);
}

/* k = 1 is the single-step Jacobian of jac_rnn_jacobian (), structure included. */
static void
test_lag_one_is_single_step (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      {
        g_autoptr(JacSequence) seq = make_sequence (&sizes[s], activations[a], 0.9, FALSE, 5);
        g_autoptr(JacRnn) rnn = jac_sequence_step_rnn (seq, sizes[s].steps, NULL);
        g_autoptr(JacStructured) single = jac_rnn_jacobian (rnn, JAC_VAR_H_PREV);
        g_autoptr(JacStructured) lag1 = lag_jacobian (seq, 1);
        g_autoptr(JacTensor) d_single = dense_of (single);
        g_autoptr(JacTensor) d_lag1 = dense_of (lag1);

        g_assert_cmpint (lag1->pair[0], ==, 0);
        g_assert_cmpint (lag1->pair[1], ==, -1);
        g_assert_true (jac_tensor_same_shape (d_single, d_lag1));
        g_assert_cmpfloat (jac_tensor_max_abs_diff (d_single, d_lag1), <, 1e-14);
      }
}

/* The product of the single-step Jacobians as dense (N·H × N·H) matrices: J_T J_{T−1} ⋯. */
static JacTensor *
dense_chain (const JacSequence *seq,
             gsize              lag)
{
  gsize nh = seq->config.config.batch * seq->config.config.hidden;
  gsize shape[4] = { seq->config.config.batch, seq->config.config.hidden,
                     seq->config.config.batch, seq->config.config.hidden };
  JacTensor *product = jac_tensor_new (4, shape, NULL);
  g_autofree double *next = g_new (double, nh * nh);

  for (gsize e = 0; e < nh; e++)
    product->data[e * nh + e] = 1.0;
  for (gsize s = seq->config.steps; s + lag > seq->config.steps; s--)
    {
      g_autoptr(JacRnn) rnn = jac_sequence_step_rnn (seq, s, NULL);
      g_autoptr(JacStructured) step = jac_rnn_jacobian (rnn, JAC_VAR_H_PREV);
      g_autoptr(JacTensor) dense = dense_of (step);

      for (gsize r = 0; r < nh; r++)
        for (gsize c = 0; c < nh; c++)
          {
            double sum = 0;

            for (gsize m = 0; m < nh; m++)
              sum += product->data[r * nh + m] * dense->data[m * nh + c];
            next[r * nh + c] = sum;
          }
      memcpy (product->data, next, nh * nh * sizeof (double));
    }
  return product;
}

/* The engine's GEMM chain = the naive block product = the dense chain of single steps. */
static void
test_products_match_chain (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      for (gsize lag = 0; lag <= sizes[s].steps; lag++)
        {
          g_autoptr(JacSequence) seq = make_sequence (&sizes[s], activations[a], 1.3, s % 2, 11);
          g_autoptr(JacStructured) jac = lag_jacobian (seq, lag);
          g_autoptr(JacStructured) naive = jac_sequence_jacobian_naive (seq, lag);
          g_autoptr(JacTensor) dense = dense_of (jac);
          g_autoptr(JacTensor) d_naive = dense_of (naive);
          g_autoptr(JacTensor) chain = dense_chain (seq, lag);
          double scale = MAX (1, jac_tensor_max_abs (chain));

          g_assert_true (jac_tensor_same_shape (dense, chain));
          if (jac_tensor_max_abs_diff (dense, d_naive) > 1e-13 * scale
              || jac_tensor_max_abs_diff (dense, chain) > 1e-13 * scale)
            g_error ("%s, sizes #%u, lag %" G_GSIZE_FORMAT ": |gemm − naive| = %g, "
                     "|gemm − chain| = %g", jac_func_name (activations[a]), s, lag,
                     jac_tensor_max_abs_diff (dense, d_naive),
                     jac_tensor_max_abs_diff (dense, chain));
        }
}

/* Central differences: perturb h_{T−k}[p,q] and run steps T−k+1 … T again. Off-diagonal
 * blocks (p ≠ i) come out zero, as the δ_ip says. */
static void
test_finite_differences (void)
{
  const double step = 1e-6;

  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      for (gsize lag = 1; lag <= sizes[s].steps; lag++)
        {
          g_autoptr(JacSequence) seq = make_sequence (&sizes[s], activations[a], 1.0, FALSE, 17);
          g_autoptr(JacStructured) jac = lag_jacobian (seq, lag);
          g_autoptr(JacTensor) dense = dense_of (jac);
          gsize nh = sizes[s].n * sizes[s].h, from = sizes[s].steps - lag;
          g_autofree double *h = g_memdup2 (jac_sequence_state (seq, from), nh * sizeof (double));
          g_autofree double *plus = g_new (double, nh);
          g_autofree double *minus = g_new (double, nh);
          double err = 0, scale = MAX (1, jac_tensor_max_abs (dense));

          for (gsize w = 0; w < nh; w++)
            {
              double saved = h[w];

              h[w] = saved + step;
              jac_sequence_propagate (seq, from, h, plus);
              h[w] = saved - step;
              jac_sequence_propagate (seq, from, h, minus);
              h[w] = saved;
              for (gsize o = 0; o < nh; o++)
                err = MAX (err, fabs ((plus[o] - minus[o]) / (2 * step)
                                      - dense->data[o * nh + w]));
            }
          if (err > 1e-6 * scale)
            g_error ("%s, sizes #%u, lag %" G_GSIZE_FORMAT ": |engine − fd| = %g",
                     jac_func_name (activations[a]), s, lag, err);
        }
}

/* Orthogonal W_hh and identity: every block is a product of orthogonal matrices. */
static void
test_orthogonal_identity_keeps_singular_values (void)
{
  Sizes s = { 3, 2, 16, 50, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_IDENTITY, 1.0, TRUE, 23);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, TRUE, &error);
  g_autoptr(JacSequenceNorms) fast = jac_sequence_norms (seq, FALSE, &error);
  double worst = 0;

  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (seq->spectral_radius, 1.0, 1e-12);
  for (gsize e = 0; e < s.steps * s.n * s.h; e++)
    worst = MAX (worst, fabs (norms->singular_values[e] - 1));
  g_assert_cmpfloat (worst, <, 1e-12);
  for (gsize k = 1; k <= s.steps; k++)
    for (gsize i = 0; i < s.n; i++)
      {
        g_assert_cmpfloat_with_epsilon (jac_sequence_norms_get (fast, JAC_SEQUENCE_NORM_SPECTRAL,
                                                                k, i), 1.0, 1e-12);
        g_assert_cmpfloat_with_epsilon (jac_sequence_norms_get (fast,
                                                                JAC_SEQUENCE_NORM_FROBENIUS,
                                                                k, i), 4.0, 1e-11);
      }
}

/* Identity activation, W_hh = g·Q: every singular value of B^(k) is g^k, exactly geometric. */
static void
test_orthogonal_scaled_is_geometric (void)
{
  static const double gains[] = { 0.9, 1.1, 0.01, 50 };
  Sizes s = { 2, 3, 8, 300, FALSE };

  for (guint g = 0; g < G_N_ELEMENTS (gains); g++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_IDENTITY, gains[g], TRUE, 29);
      g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);

      g_assert_cmpfloat_with_epsilon (seq->spectral_radius, gains[g], 1e-12 * gains[g]);
      /* 50^300 and 0.01^300 lie far outside a double: the exponents carry them. */
      for (gsize k = 1; k <= s.steps; k++)
        for (gsize i = 0; i < s.n; i++)
          {
            double expected = k * log10 (gains[g]);
            double spectral = jac_sequence_norms_get_log10 (norms, JAC_SEQUENCE_NORM_SPECTRAL,
                                                            k, i);
            double frobenius = jac_sequence_norms_get_log10 (norms,
                                                             JAC_SEQUENCE_NORM_FROBENIUS, k, i);

            g_assert_cmpfloat_with_epsilon (spectral, expected, 1e-9);
            g_assert_cmpfloat_with_epsilon (frobenius, expected + 0.5 * log10 (s.h), 1e-9);
          }
    }
}

/* Identity activation, a random (non-normal) W_hh scaled to radius ρ: the norms shrink below
 * ρ = 1 and grow above it, at the rate ‖W^k‖^{1/k} → ρ. */
static void
test_random_scaled_shrinks_or_grows (void)
{
  static const double gains[] = { 0.8, 1.25 };
  Sizes s = { 2, 3, 12, 200, FALSE };

  for (guint g = 0; g < G_N_ELEMENTS (gains); g++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_IDENTITY, gains[g], FALSE, 31);
      g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);

      g_assert_cmpfloat_with_epsilon (seq->spectral_radius, gains[g], 1e-12);
      for (gsize i = 0; i < s.n; i++)
        {
          double at_half = jac_sequence_norms_get_log10 (norms, JAC_SEQUENCE_NORM_SPECTRAL,
                                                         s.steps / 2, i);
          double at_end = jac_sequence_norms_get_log10 (norms, JAC_SEQUENCE_NORM_SPECTRAL,
                                                        s.steps, i);
          double rate = (at_end - at_half) / (s.steps - s.steps / 2);

          g_assert_cmpfloat_with_epsilon (rate, log10 (gains[g]), 0.01);
          if (gains[g] < 1)
            g_assert_cmpfloat (at_end, <, at_half);
          else
            g_assert_cmpfloat (at_end, >, at_half);
        }
    }
}

/* Lanczos (with its dgesvd_ fallback) = dgesvd_ on every block; Frobenius = √Σσ². */
static void
test_lanczos_matches_svd (void)
{
  static const JacFunc funcs[] = { JAC_FUNC_TANH, JAC_FUNC_RELU, JAC_FUNC_IDENTITY };
  Sizes s = { 3, 4, 24, 60, FALSE };

  for (guint f = 0; f < G_N_ELEMENTS (funcs); f++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&s, funcs[f], 1.2, FALSE, 37);
      g_autoptr(JacSequenceNorms) exact = jac_sequence_norms (seq, TRUE, NULL);
      g_autoptr(JacSequenceNorms) fast = jac_sequence_norms (seq, FALSE, NULL);

      g_assert_null (fast->singular_values);
      g_assert_cmpuint (exact->n_svd, ==, s.steps * s.n);
      for (gsize k = 1; k <= s.steps; k++)
        for (gsize i = 0; i < s.n; i++)
          {
            const double *sigma = exact->singular_values + ((k - 1) * s.n + i) * s.h;
            double sum = 0;

            for (gsize r = 0; r < s.h; r++)
              {
                sum += sigma[r] * sigma[r];
                if (r > 0)
                  g_assert_cmpfloat (sigma[r], <=, sigma[r - 1]);
              }
            g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get_log10 (fast, JAC_SEQUENCE_NORM_SPECTRAL, k, i),
                log10 (sigma[0]), 1e-12);
            g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get_log10 (exact, JAC_SEQUENCE_NORM_SPECTRAL, k, i),
                log10 (sigma[0]), 1e-13);
            g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get_log10 (fast, JAC_SEQUENCE_NORM_FROBENIUS, k, i),
                0.5 * log10 (sum), 1e-12);
          }
    }
}

/* Blocks large enough (N H² ≥ 65536) that a second thread takes rows of each lag, while the next
 * lag is formed (H = 128: the chain keeps the blocks it reads) or before (H = 192): for every
 * cell, the norms equal dgesvd_ of the blocks jac_sequence_jacobian forms one lag at a time
 * (serially), the same with one thread, and BLAS's thread count is put back afterwards. */
static void
test_norms_two_threads (void)
{
  static const JacCell cells[] = { JAC_CELL_RNN, JAC_CELL_LSTM, JAC_CELL_GRU };
  int threads = jac_blas_get_threads ();

  for (guint c = 0; c < 2 * G_N_ELEMENTS (cells); c++)
    {
      JacSequenceConfig config;
      g_autoptr(GError) error = NULL;
      g_autoptr(JacSequence) seq = NULL;
      g_autoptr(JacSequenceNorms) norms = NULL;
      g_autoptr(JacSequenceNorms) single = NULL;
      g_autoptr(JacSequenceNorms) exact = NULL;

      jac_sequence_config_init_default (&config);
      config.cell = cells[c % G_N_ELEMENTS (cells)];
      config.config.batch = 5;
      config.config.input = 3;
      config.config.hidden = c < G_N_ELEMENTS (cells) ? 128 : 192;
      config.config.seed = 61 + c;
      config.steps = 7;
      config.gain = 1.5;
      seq = jac_sequence_new (&config, &error);
      g_assert_no_error (error);
      jac_blas_set_threads (2);
      norms = jac_sequence_norms (seq, FALSE, &error);
      g_assert_no_error (error);
      exact = jac_sequence_norms (seq, TRUE, &error);
      g_assert_no_error (error);
      g_assert_cmpint (jac_blas_get_threads (), ==, 2);
      jac_blas_set_threads (1);
      single = jac_sequence_norms (seq, FALSE, &error);
      g_assert_no_error (error);
      for (gsize k = 1; k <= config.steps; k++)
        {
          g_autoptr(JacStructured) jac = jac_sequence_jacobian (seq, k, &error);
          g_autoptr(JacTensor) values = NULL;

          g_assert_no_error (error);
          values = jac_sequence_block_singular_values (jac, &error);
          g_assert_no_error (error);
          for (gsize i = 0; i < config.config.batch; i++)
            {
              const double *sigma = values->data + i * config.config.hidden;
              double sum = 0;

              for (gsize r = 0; r < config.config.hidden; r++)
                sum += sigma[r] * sigma[r];
              g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_SPECTRAL, k, i) / sigma[0], 1,
                1e-10);
              g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get (exact, JAC_SEQUENCE_NORM_SPECTRAL, k, i) / sigma[0], 1,
                1e-12);
              g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get (single, JAC_SEQUENCE_NORM_SPECTRAL, k, i) / sigma[0], 1,
                1e-10);
              g_assert_cmpfloat_with_epsilon (
                jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_FROBENIUS, k, i) / sqrt (sum), 1,
                1e-10);
              for (gsize r = 0; r < config.config.hidden; r++)
                g_assert_cmpfloat_with_epsilon (
                  exact->singular_values[((k - 1) * config.config.batch + i) * config.config.hidden + r],
                  sigma[r], 1e-12 * sigma[0]);
            }
        }
    }
  jac_blas_set_threads (threads);
}

/* A cursor made when --threads allowed one thread keeps its one range when more are allowed
 * later (its scratch is sized for the ranges it started with), and agrees with the plain chain,
 * which takes the new count, for every cell. */
static void
test_cursor_threads_change (void)
{
  static const JacCell cells[] = { JAC_CELL_RNN, JAC_CELL_LSTM, JAC_CELL_GRU };
  int threads = jac_blas_get_threads ();

  for (guint c = 0; c < G_N_ELEMENTS (cells); c++)
    {
      JacSequenceConfig config;
      g_autoptr(GError) error = NULL;
      g_autoptr(JacSequence) seq = NULL;
      g_autoptr(JacSequenceCursor) cursor = NULL;

      jac_sequence_config_init_default (&config);
      config.cell = cells[c];
      config.config.batch = 6;
      config.config.input = 3;
      config.config.hidden = 9;
      config.config.seed = 71 + c;
      config.steps = 6;
      seq = jac_sequence_new (&config, &error);
      g_assert_no_error (error);
      jac_blas_set_threads (1);
      cursor = jac_sequence_cursor_new (seq, 0);
      jac_structured_free (jac_sequence_cursor_jacobian (cursor, 1, &error));
      g_assert_no_error (error);
      jac_blas_set_threads (4);
      for (gsize k = 2; k <= config.steps; k++)
        {
          g_autoptr(JacStructured) stepped = jac_sequence_cursor_jacobian (cursor, k, &error);
          g_autoptr(JacStructured) plain = NULL;

          g_assert_no_error (error);
          plain = jac_sequence_jacobian (seq, k, &error);
          g_assert_no_error (error);
          g_assert_cmpfloat (jac_tensor_max_abs_diff (stepped->core, plain->core), <=,
                             1e-14 * MAX (1.0, jac_tensor_max_abs (plain->core)));
        }
    }
  jac_blas_set_threads (threads);
}

/* At every magnitude the chain can hold (here 1e−255 … 1e+240: gains 0.02 and 40 over 150
 * steps), the spectral norms are dgesvd_'s to a relative 1e−10: Lanczos' tridiagonal matrix
 * squares σ twice, which under- or overflowed far from 1. */
static void
test_norms_extreme_scales (void)
{
  static const double gains[] = { 0.02, 0.3, 3, 40 };
  Sizes s = { 2, 3, 8, 150, FALSE };

  for (guint g = 0; g < G_N_ELEMENTS (gains); g++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_IDENTITY, gains[g], FALSE, 43);
      g_autoptr(JacSequenceNorms) exact = jac_sequence_norms (seq, TRUE, NULL);
      g_autoptr(JacSequenceNorms) fast = jac_sequence_norms (seq, FALSE, NULL);
      double lowest = G_MAXDOUBLE, highest = -G_MAXDOUBLE;

      for (gsize k = 1; k <= s.steps; k++)
        for (gsize i = 0; i < s.n; i++)
          {
            double want = jac_sequence_norms_get_log10 (exact, JAC_SEQUENCE_NORM_SPECTRAL, k, i);
            double got = jac_sequence_norms_get_log10 (fast, JAC_SEQUENCE_NORM_SPECTRAL, k, i);

            g_assert_true (isfinite (want));
            /* log10 within 4.3e−11: the norms within a relative 1e−10. */
            g_assert_cmpfloat_with_epsilon (got, want, 1e-10 / G_LN10);
            lowest = MIN (lowest, want);
            highest = MAX (highest, want);
          }
      g_test_message ("gain %g: log10 norms from %.1f to %.1f", gains[g], lowest, highest);
      if (gains[g] == 0.02)
        g_assert_cmpfloat (lowest, <, -250);
      if (gains[g] == 40)
        g_assert_cmpfloat (highest, >, 235);
    }
}

/* The singular values of the blocks of one Jacobian agree with those of the norms pass. */
static void
test_block_singular_values (void)
{
  Sizes s = { 2, 3, 5, 9, TRUE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1.5, FALSE, 41);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, TRUE, NULL);
  g_autoptr(GError) error = NULL;

  for (gsize k = 1; k <= s.steps; k++)
    {
      g_autoptr(JacStructured) jac = lag_jacobian (seq, k);
      g_autoptr(JacTensor) values = jac_sequence_block_singular_values (jac, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (values->shape[0], ==, s.n);
      g_assert_cmpuint (values->shape[1], ==, s.h);
      for (gsize e = 0; e < s.n * s.h; e++)
        g_assert_cmpfloat_with_epsilon (values->data[e],
                                        norms->singular_values[(k - 1) * s.n * s.h + e],
                                        1e-12 * MAX (1, values->data[0]));
    }
}

/* dgeev_ on nonsymmetric matrices whose spectral norm is far from their radius. */
static void
test_spectral_radius (void)
{
  const double rotation[] = { 0, -2, 2, 0 };           /* eigenvalues ±2i */
  const double triangular[] = { 0.5, 100, 0, -0.3 };   /* ρ = 0.5, ‖·‖₂ ≈ 100 */
  double radius = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (jac_spectral_radius (rotation, 2, &radius, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (radius, 2.0, 1e-14);
  g_assert_true (jac_spectral_radius (triangular, 2, &radius, &error));
  g_assert_cmpfloat_with_epsilon (radius, 0.5, 1e-14);
}

static void
test_errors (void)
{
  JacSequenceConfig config;
  g_autoptr(JacSequence) seq = NULL;
  GError *error = NULL;

  jac_sequence_config_init_default (&config);
  config.steps = 0;
  g_assert_null (jac_sequence_new (&config, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);

  config.steps = 3;
  config.gain = -1;
  g_assert_null (jac_sequence_new (&config, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);

  config.gain = NAN;
  g_assert_null (jac_sequence_new (&config, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);

  config.gain = 1;
  config.config.activation = JAC_FUNC_EXP;
  g_assert_null (jac_sequence_new (&config, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);

  config.config.activation = JAC_FUNC_TANH;
  seq = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  g_assert_null (jac_sequence_jacobian (seq, 4, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (jac_sequence_step_rnn (seq, 0, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);
}

/* The figure saves as PNG, SVG and PDF, draws ink, and maps the plot's x back to lags. */
static void
test_figure (void)
{
  static const char * const names[] = { "seq.png", "seq.svg", "seq.pdf" };
  Sizes s = { 2, 3, 3, 30, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1.5, FALSE, 43);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacStructured) jac = lag_jacobian (seq, 7);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-sequence-XXXXXX", &error);
  JacSequenceView view;
  JacFigureStyle style;
  gsize lag = 0, found = 0;

  g_assert_no_error (error);
  jac_sequence_view_init (&view);
  jac_figure_style_init (&style);
  view.lag = 7;
  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autofree char *path = g_build_filename (dir, names[f], NULL);

      view.shared_range = f == 1;
      style.dark = f == 2;
      g_assert_true (jac_sequence_figure_save (path, 900, 500, 1, seq, jac, norms, &view, &style,
                                               &error));
      g_assert_no_error (error);
      g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
      if (f == 0)
        {
          cairo_surface_t *png = cairo_image_surface_create_from_png (path);
          const guint32 *pixels = (const guint32 *) (gpointer) cairo_image_surface_get_data (png);
          gsize stride = cairo_image_surface_get_stride (png) / 4, dark = 0;

          g_assert_cmpint (cairo_image_surface_get_width (png), ==, 900);
          g_assert_cmpint (cairo_image_surface_get_height (png), ==, 500);
          for (int y = 0; y < 500; y++)
            for (int x = 0; x < 900; x++)
              dark += (pixels[y * stride + x] & 0xff) < 0x80;
          g_assert_cmpuint (dark, >, 2000);
          cairo_surface_destroy (png);
        }
      g_remove (path);
    }
  {
    g_autofree char *bad = g_build_filename (dir, "seq.bmp", NULL);

    g_assert_false (jac_sequence_figure_save (bad, 900, 500, 1, seq, jac, norms, &view, &style,
                                              &error));
    g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  }
  g_rmdir (dir);

  /* Sweep x across the figure: the lags found on the plot run 1 … T in order. */
  for (double x = 0; x < 900; x += 0.5)
    if (jac_sequence_figure_lag_at (900, 500, seq, &view, &style, x, 300, &lag))
      {
        g_assert_cmpuint (lag, >=, MAX (found, 1));
        g_assert_cmpuint (lag, <=, s.steps);
        found = lag;
      }
  g_assert_cmpuint (found, ==, s.steps);
  g_assert_false (jac_sequence_figure_lag_at (900, 500, seq, &view, &style, 5, 5, &lag));
}

/* Where the rectangles @a and @b overlap by more than a hair in both directions. */
static gboolean
rects_overlap (const JacTextRect *a,
               const JacTextRect *b)
{
  return MIN (a->x + a->width, b->x + b->width) - MAX (a->x, b->x) > 0.5
         && MIN (a->y + a->height, b->y + b->height) - MAX (a->y, b->y) > 0.5;
}

/* Every text lies inside the @w × @h figure and none runs into another; @what names the case. */
static void
assert_texts_apart (GArray     *rects,
                    double      w,
                    double      h,
                    const char *what)
{
  for (guint i = 0; i < rects->len; i++)
    {
      const JacTextRect *r = &g_array_index (rects, JacTextRect, i);

      if (r->x < -0.5 || r->y < -0.5 || r->x + r->width > w + 0.5 || r->y + r->height > h + 0.5)
        g_error ("%s: “%s” (%g, %g, %g × %g) leaves the figure", what, r->text, r->x, r->y,
                 r->width, r->height);
      for (guint j = 0; j < i; j++)
        {
          const JacTextRect *q = &g_array_index (rects, JacTextRect, j);

          if (rects_overlap (r, q))
            g_error ("%s: “%s” runs into “%s”", what, r->text, q->text);
        }
    }
}

/* The first text that starts with @prefix, or NULL. */
static const JacTextRect *
find_text (GArray     *rects,
           const char *prefix)
{
  for (guint i = 0; i < rects->len; i++)
    {
      const JacTextRect *r = &g_array_index (rects, JacTextRect, i);

      if (g_str_has_prefix (r->text, prefix))
        return r;
    }
  return NULL;
}

static guint
count_values (GArray *rects)
{
  guint n = 0;

  for (guint i = 0; i < rects->len; i++)
    n += g_array_index (rects, JacTextRect, i).value;
  return n;
}

/* At any text scale in [1, 2] and any size from 900 × 600 to 1920 × 1080, every text of the
 * through-time figure lies inside it and none runs into another. */
static void
test_figure_text_fits (void)
{
  static const int areas[][2] = { { 1270, 720 }, { 900, 600 }, { 1920, 1080 } };
  static const double scales[] = { 1.0, 1.6, 2.0 };
  static const Sizes shapes[] = { { 2, 3, 3, 40, FALSE }, { 6, 2, 3, 40, FALSE },
                                  { 9, 2, 2, 1000, FALSE } };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&shapes[s], JAC_FUNC_TANH, 1, FALSE, 1);
      g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
      g_autoptr(JacStructured) jac = lag_jacobian (seq, 10);
      JacSequenceView view;
      JacFigureStyle style;

      jac_sequence_view_init (&view);
      jac_figure_style_init (&style);
      view.lag = 10;
      for (guint a = 0; a < G_N_ELEMENTS (areas); a++)
        for (guint k = 0; k < G_N_ELEMENTS (scales); k++)
          {
            double w = areas[a][0], h = areas[a][1];
            g_autofree char *what = g_strdup_printf ("N = %" G_GSIZE_FORMAT ", %g × %g at text "
                                                     "scale %g", shapes[s].n, w, h, scales[k]);
            GArray *rects;

            style.text_scale = scales[k];
            style.line_scale = scales[k] > 1 ? 2 : 1;
            style.dark = k == 1;
            style.show_values = k != 1;
            rects = _jac_sequence_figure_text_rects (w, h, 1, seq, jac, norms, &view, &style);
            g_assert_cmpuint (rects->len, >, 12);
            assert_texts_apart (rects, w, h, what);
            g_array_unref (rects);
          }
    }
}

typedef struct
{
  JacMedium medium;
  double    width, height;
} MediumSize;

static const MediumSize medium_sizes[] = {
  { JAC_MEDIUM_SCREEN, 930, 470 },
  { JAC_MEDIUM_SCREEN, 1920, 1080 },
  { JAC_MEDIUM_SCREEN, 1024, 768 },
  { JAC_MEDIUM_SCREEN, 500, 900 },
  { JAC_MEDIUM_PRESENTATION, 1280, 720 },
  { JAC_MEDIUM_PRESENTATION, 1920, 1080 },
  { JAC_MEDIUM_PRESENTATION, 1024, 768 },
  { JAC_MEDIUM_PAPER, 252, 180 },
  { JAC_MEDIUM_PAPER, 504, 300 },
};

/* The medium's minimums: every text at least min_text, sub/superscripts at least min_script. */
static void
medium_minimums (JacMedium  medium,
                 double    *min_text,
                 double    *min_script)
{
  *min_text = medium == JAC_MEDIUM_PAPER ? 6 : medium == JAC_MEDIUM_PRESENTATION ? 18 : 11;
  *min_script = medium == JAC_MEDIUM_SCREEN ? 9 : *min_text;
}

/* No text of the through-time figure is set below its medium's minimum, at the sizes of the
 * projector, the slide and the page, in both layouts, at several lags, for both norms, with
 * either colour range; every text lies inside the figure and none runs into another; and the
 * two captions that state the answer are there, in the figure's layout. */
static void
test_figure_type_minimum (void)
{
  static const Sizes shapes[] = { { 2, 3, 3, 40, FALSE }, { 6, 2, 4, 40, FALSE } };
  static const gsize lags[] = { 1, 10, 40 };

  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      g_autoptr(JacSequence) seq = make_sequence (&shapes[s], JAC_FUNC_TANH, 1, FALSE, 1);
      g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);

      for (guint g = 0; g < G_N_ELEMENTS (lags); g++)
        {
          g_autoptr(JacStructured) jac = lag_jacobian (seq, lags[g]);

          for (guint m = 0; m < G_N_ELEMENTS (medium_sizes); m++)
            for (guint variant = 0; variant < 4; variant++)
              {
                const MediumSize *ms = &medium_sizes[m];
                JacSequenceView view;
                JacFigureStyle style;
                double min_text, min_script;
                g_autofree char *what = NULL;
                const JacTextRect *answer;
                GArray *rects;

                jac_sequence_view_init (&view);
                jac_figure_style_init (&style);
                view.lag = lags[g];
                view.norm = variant & 1 ? JAC_SEQUENCE_NORM_FROBENIUS : JAC_SEQUENCE_NORM_SPECTRAL;
                view.shared_range = (variant & 2) != 0;
                style.denominator_layout = variant == 1 || variant == 2;
                style.dark = variant == 3;
                style.show_values = TRUE;
                style.medium = ms->medium;
                medium_minimums (ms->medium, &min_text, &min_script);
                what = g_strdup_printf ("N = %" G_GSIZE_FORMAT ", k = %" G_GSIZE_FORMAT ", medium "
                                        "%d at %g × %g, variant %u", shapes[s].n, lags[g],
                                        ms->medium, ms->width, ms->height, variant);
                rects = _jac_sequence_figure_text_rects (ms->width, ms->height, 1, seq, jac,
                                                         norms, &view, &style);
                for (guint i = 0; i < rects->len; i++)
                  {
                    const JacTextRect *r = &g_array_index (rects, JacTextRect, i);

                    /* The size is the smallest glyph's, scripts included: no script below
                     * min_script, and no value (which has none unless ×10ⁿ) below min_text. */
                    if (r->size < min_script - 1e-6
                        || (r->value && strstr (r->text, "×10") == NULL
                            && r->size < min_text - 1e-6))
                      g_error ("%s: “%s” is set at %g, below the minimum %g (scripts %g)", what,
                               r->text, r->size, min_text, min_script);
                  }
                assert_texts_apart (rects, ms->width, ms->height, what);
                answer = find_text (rects, "Block (i, i) = ");
                if (answer == NULL)
                  g_error ("%s: no caption says what the blocks are", what);
                g_assert_nonnull (strstr (answer->text, style.denominator_layout
                                                          ? "rows q, columns j"
                                                          : "rows j, columns q"));
                g_assert_nonnull (strstr (answer->text, style.denominator_layout
                                                          ? "Whh diag(ST−k+1[i])"
                                                          : "diag(ST[i]) Whhᵀ"));
                if (find_text (rects, "Why it vanishes") == NULL
                    && find_text (rects, "It vanishes") == NULL)
                  g_error ("%s: no caption says why the curves vanish", what);
                g_array_unref (rects);
              }
        }
    }
}

/* Values are written in the cells whenever they fit at the medium's minimum, in scientific
 * notation when the block's values are all tiny, and not at all when values are off. */
static void
test_figure_values (void)
{
  Sizes s = { 2, 3, 3, 40, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1, FALSE, 1);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacStructured) near = lag_jacobian (seq, 1);
  g_autoptr(JacStructured) far = lag_jacobian (seq, 40);
  JacSequenceView view;
  JacFigureStyle style;
  GArray *rects;
  guint scientific = 0;

  jac_sequence_view_init (&view);
  jac_figure_style_init (&style);
  style.show_values = TRUE;

  /* At the projector's pane, k = 1: cells of about 40 px hold every one of the 2 × 3 × 3. */
  view.lag = 1;
  rects = _jac_sequence_figure_text_rects (930, 470, 1, seq, near, norms, &view, &style);
  g_assert_cmpuint (count_values (rects), ==, s.n * s.h * s.h);
  for (guint i = 0; i < rects->len; i++)
    {
      const JacTextRect *r = &g_array_index (rects, JacTextRect, i);

      if (r->value)
        {
          g_assert_cmpfloat (r->size, >=, 11 - 1e-6);
          g_assert_cmpfloat (r->width, <, 60);
        }
    }
  g_array_unref (rects);

  style.show_values = FALSE;
  rects = _jac_sequence_figure_text_rects (930, 470, 1, seq, near, norms, &view, &style);
  g_assert_cmpuint (count_values (rects), ==, 0);
  g_array_unref (rects);

  /* k = 40: every value is below 0.01; large cells write them as m×10⁻ⁿ, never "0.00". */
  style.show_values = TRUE;
  view.lag = 40;
  rects = _jac_sequence_figure_text_rects (1920, 1080, 1, seq, far, norms, &view, &style);
  g_assert_cmpfloat (jac_tensor_max_abs (far->core), <, 0.01);
  g_assert_cmpuint (count_values (rects), ==, s.n * s.h * s.h);
  for (guint i = 0; i < rects->len; i++)
    {
      const JacTextRect *r = &g_array_index (rects, JacTextRect, i);

      if (r->value)
        {
          g_assert_cmpstr (r->text, !=, "0.00");
          scientific += strstr (r->text, "×10") != NULL;
        }
    }
  g_assert_cmpuint (scientific, ==, s.n * s.h * s.h);
  g_array_unref (rects);

  /* Too small a cell for a value at the minimum: none, rather than smaller type. */
  style.medium = JAC_MEDIUM_PRESENTATION;
  view.lag = 1;
  rects = _jac_sequence_figure_text_rects (1024, 768, 1, seq, near, norms, &view, &style);
  for (guint i = 0; i < rects->len; i++)
    g_assert_true (!g_array_index (rects, JacTextRect, i).value
                   || g_array_index (rects, JacTextRect, i).size >= 18 - 1e-6);
  g_array_unref (rects);
}

/* 2× and 3× lay the figure out exactly as 1×: the same texts in the same boxes, in figure
 * units; and a 2× PNG averaged down over 2 × 2 pixels is the 1× PNG, but for antialiasing. */
static void
test_figure_scale (void)
{
  Sizes s = { 2, 3, 3, 40, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1, FALSE, 1);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacStructured) jac = lag_jacobian (seq, 10);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-sequence-XXXXXX", &error);
  g_autofree char *one_path = g_build_filename (dir, "one.png", NULL);
  g_autofree char *two_path = g_build_filename (dir, "two.png", NULL);
  cairo_surface_t *one, *two;
  JacSequenceView view;
  JacFigureStyle style;
  GArray *base;
  double sum = 0, moved = 0;
  int w = 930, h = 470;

  g_assert_no_error (error);
  jac_sequence_view_init (&view);
  jac_figure_style_init (&style);
  view.lag = 10;
  style.show_values = TRUE;
  for (guint m = 0; m < 2; m++)
    {
      style.medium = m == 0 ? JAC_MEDIUM_SCREEN : JAC_MEDIUM_PRESENTATION;
      base = _jac_sequence_figure_text_rects (w, h, 1, seq, jac, norms, &view, &style);
      for (double scale = 2; scale <= 3; scale++)
        {
          GArray *scaled = _jac_sequence_figure_text_rects (w, h, scale, seq, jac, norms, &view,
                                                            &style);

          g_assert_cmpuint (scaled->len, ==, base->len);
          for (guint i = 0; i < base->len; i++)
            {
              const JacTextRect *a = &g_array_index (base, JacTextRect, i);
              const JacTextRect *b = &g_array_index (scaled, JacTextRect, i);

              g_assert_cmpstr (a->text, ==, b->text);
              g_assert_cmpfloat_with_epsilon (a->x, b->x, 1e-6);
              g_assert_cmpfloat_with_epsilon (a->y, b->y, 1e-6);
              g_assert_cmpfloat_with_epsilon (a->width, b->width, 1e-6);
              g_assert_cmpfloat_with_epsilon (a->height, b->height, 1e-6);
              g_assert_cmpfloat (a->size, ==, b->size);
              g_assert_cmpint (a->value, ==, b->value);
            }
          g_array_unref (scaled);
        }
      g_array_unref (base);
    }

  style.medium = JAC_MEDIUM_SCREEN;
  g_assert_true (jac_sequence_figure_save (one_path, w, h, 1, seq, jac, norms, &view, &style,
                                           &error));
  g_assert_true (jac_sequence_figure_save (two_path, w, h, 2, seq, jac, norms, &view, &style,
                                           &error));
  g_assert_no_error (error);
  one = cairo_image_surface_create_from_png (one_path);
  two = cairo_image_surface_create_from_png (two_path);
  g_assert_cmpint (cairo_image_surface_get_width (two), ==, 2 * w);
  g_assert_cmpint (cairo_image_surface_get_height (two), ==, 2 * h);
  {
    const guint8 *p1 = cairo_image_surface_get_data (one);
    const guint8 *p2 = cairo_image_surface_get_data (two);
    int s1 = cairo_image_surface_get_stride (one), s2 = cairo_image_surface_get_stride (two);

    /* Against the 1× image as drawn, and moved by 2 px: the tolerance must tell them apart. */
    for (int y = 2; y < h; y++)
      for (int x = 2; x < w; x++)
        for (int c = 0; c < 3; c++)
          {
            double down = (p2[2 * y * s2 + 8 * x + c] + p2[2 * y * s2 + 8 * x + 4 + c]
                           + p2[(2 * y + 1) * s2 + 8 * x + c]
                           + p2[(2 * y + 1) * s2 + 8 * x + 4 + c]) / 4.0;

            sum += fabs (down - p1[y * s1 + 4 * x + c]);
            moved += fabs (down - p1[(y - 2) * s1 + 4 * (x - 2) + c]);
          }
  }
  sum /= 3.0 * (w - 2) * (h - 2);
  moved /= 3.0 * (w - 2) * (h - 2);
  /* Glyph edges and cell edges snapped to device pixels antialias differently (about 3 of
   * 255); an element moved or resized by a pixel or two costs several times that. */
  g_test_message ("mean difference per channel: %g (moved by 2 px: %g)", sum, moved);
  g_assert_cmpfloat (sum, <, 4);
  g_assert_cmpfloat (moved, >, 2 * sum);
  cairo_surface_destroy (one);
  cairo_surface_destroy (two);
  g_remove (one_path);
  g_remove (two_path);
  g_rmdir (dir);
}

/* Choosing k with the pointer finds the lag under the pointer on the plot as drawn, on screen
 * and in presentation mode (a page has no pointer), even when the blocks drawn (here all tiny,
 * so written m×10⁻ⁿ) are not given to it. */
static void
test_figure_lag_at_drawn_plot (void)
{
  Sizes s = { 2, 3, 3, 40, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1, FALSE, 1);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacStructured) jac = lag_jacobian (seq, 40);

  for (guint m = 0; m < G_N_ELEMENTS (medium_sizes); m++)
    {
      const MediumSize *ms = &medium_sizes[m];
      JacSequenceView view;
      JacFigureStyle style;
      const JacTextRect *tick, *inside;
      GArray *rects;
      gsize lag = 0;

      if (ms->medium == JAC_MEDIUM_PAPER)
        continue;
      jac_sequence_view_init (&view);
      jac_figure_style_init (&style);
      view.lag = 40;
      style.medium = ms->medium;
      rects = _jac_sequence_figure_text_rects (ms->width, ms->height, 1, seq, jac, norms, &view,
                                               &style);
      tick = find_text (rects, "20");
      inside = find_text (rects, "explodes");
      g_assert_nonnull (tick);
      g_assert_nonnull (inside);
      g_assert_true (jac_sequence_figure_lag_at (ms->width, ms->height, seq, &view, &style,
                                                 tick->x + tick->width / 2,
                                                 inside->y + inside->height / 2, &lag));
      g_assert_cmpuint (lag, ==, 20);
      g_array_unref (rects);
    }
}

/* "left out: …" is in a corner exactly when something was left out, and names exactly what:
 * the model line, the legend, the blocks, in that order. */
static void
test_figure_left_out (void)
{
  static const struct
  {
    JacMedium medium;
    double    width, height;
    gboolean  drops;
  } cases[] = {
    { JAC_MEDIUM_SCREEN, 1920, 1080, FALSE },
    { JAC_MEDIUM_SCREEN, 930, 470, FALSE },
    { JAC_MEDIUM_PRESENTATION, 1920, 1080, FALSE },
    { JAC_MEDIUM_PAPER, 504, 300, FALSE },
    { JAC_MEDIUM_PAPER, 252, 180, TRUE },
    { JAC_MEDIUM_PRESENTATION, 800, 450, TRUE },
    { JAC_MEDIUM_PRESENTATION, 640, 360, TRUE },
    { JAC_MEDIUM_SCREEN, 480, 270, TRUE },
  };
  Sizes s = { 2, 3, 3, 40, FALSE };
  g_autoptr(JacSequence) seq = make_sequence (&s, JAC_FUNC_TANH, 1, FALSE, 1);
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacStructured) jac = lag_jacobian (seq, 10);
  guint last_level = 0;

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      JacSequenceView view;
      JacFigureStyle style;
      GArray *rects;
      const JacTextRect *note;
      gboolean model, legend, blocks;
      guint level;

      jac_sequence_view_init (&view);
      jac_figure_style_init (&style);
      view.lag = 10;
      style.medium = cases[c].medium;
      rects = _jac_sequence_figure_text_rects (cases[c].width, cases[c].height, 1, seq, jac, norms,
                                               &view, &style);
      note = find_text (rects, "left out: ");
      model = find_text (rects, "hs = tanh") != NULL;
      legend = find_text (rects, "norm 1") != NULL;
      blocks = find_text (rects, "i = 0") != NULL;
      g_test_message ("%g × %g medium %d: %s", cases[c].width, cases[c].height, cases[c].medium,
                      note != NULL ? note->text : "nothing left out");
      g_assert_cmpint (note != NULL, ==, cases[c].drops);
      g_assert_cmpint (model, ==, note == NULL || strstr (note->text, "model line") == NULL);
      g_assert_cmpint (legend, ==, note == NULL || strstr (note->text, "legend") == NULL);
      g_assert_cmpint (blocks, ==, note == NULL || strstr (note->text, "blocks") == NULL);
      /* In order: the legend only after the model line, the blocks only after the legend. */
      level = !model + !legend + !blocks;
      g_assert_true (model || level >= 1);
      g_assert_true (legend || level >= 2);
      g_assert_true (blocks || level == 3);
      /* The plot and the answer stay whatever is left out. */
      g_assert_nonnull (find_text (rects, "Block (i, i) = "));
      g_assert_nonnull (find_text (rects, "lag k"));
      /* The smaller presentation slides leave out at least as much as the larger ones. */
      if (cases[c].medium == JAC_MEDIUM_PRESENTATION)
        {
          g_assert_cmpuint (level, >=, last_level);
          last_level = level;
        }
      g_array_unref (rects);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sequence/forward-single-steps", test_forward_matches_single_steps);
  g_test_add_func ("/sequence/one-step-draws-like-rnn", test_one_step_draws_like_rnn);
  g_test_add_func ("/sequence/lag-one-single-step", test_lag_one_is_single_step);
  g_test_add_func ("/sequence/products-chain", test_products_match_chain);
  g_test_add_func ("/sequence/finite-differences", test_finite_differences);
  g_test_add_func ("/sequence/orthogonal-identity", test_orthogonal_identity_keeps_singular_values);
  g_test_add_func ("/sequence/orthogonal-geometric", test_orthogonal_scaled_is_geometric);
  g_test_add_func ("/sequence/random-shrink-grow", test_random_scaled_shrinks_or_grows);
  g_test_add_func ("/sequence/lanczos-vs-svd", test_lanczos_matches_svd);
  g_test_add_func ("/sequence/norms-extreme-scales", test_norms_extreme_scales);
  g_test_add_func ("/sequence/norms-two-threads", test_norms_two_threads);
  g_test_add_func ("/sequence/cursor-threads-change", test_cursor_threads_change);
  g_test_add_func ("/sequence/block-singular-values", test_block_singular_values);
  g_test_add_func ("/sequence/spectral-radius", test_spectral_radius);
  g_test_add_func ("/sequence/errors", test_errors);
  g_test_add_func ("/sequence/figure", test_figure);
  g_test_add_func ("/sequence/figure-text-fits", test_figure_text_fits);
  g_test_add_func ("/sequence/figure-type-minimum", test_figure_type_minimum);
  g_test_add_func ("/sequence/figure-values", test_figure_values);
  g_test_add_func ("/sequence/figure-scale", test_figure_scale);
  g_test_add_func ("/sequence/figure-left-out", test_figure_left_out);
  g_test_add_func ("/sequence/figure-lag-at-drawn-plot", test_figure_lag_at_drawn_plot);
  return g_test_run ();
}

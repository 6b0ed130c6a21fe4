/* test-cell.c: the LSTM and GRU (and the RNN) through time against independent paths: one-step
 * Jacobians = central finite differences; the running product = the chain of single steps =
 * finite differences; BPTT gradients = finite differences of L = Σ G ⊙ h_T; norms = dgesvd_;
 * PyTorch's weights read and converted on hand-computed cases, every bad key an error. */
#define G_LOG_DOMAIN "test-cell"

#include <math.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "core/jac-error.h"
#include "core/jac-sequence.h"
#include "core/jac-sequence-private.h"
#include "npz-writer.h"

typedef struct
{
  JacCell  cell;
  gsize    n, d, h, steps;
  double   gain;
  guint32  seed;
} Case;

static const Case cases[] = {
  { JAC_CELL_RNN, 2, 3, 3, 5, 1.0, 1 },
  { JAC_CELL_LSTM, 2, 3, 3, 5, 1.0, 1 },
  { JAC_CELL_LSTM, 1, 2, 4, 6, 2.0, 7 },
  { JAC_CELL_GRU, 2, 3, 3, 5, 1.0, 1 },
  { JAC_CELL_GRU, 3, 1, 2, 7, 3.0, 4 },
};

static JacSequence *
make (const Case *c,
      JacState    output,
      JacState    wrt)
{
  JacSequenceConfig config;
  g_autoptr(GError) error = NULL;
  JacSequence *seq;

  jac_sequence_config_init_default (&config);
  config.cell = c->cell;
  config.output = output;
  config.wrt = wrt;
  config.config.batch = c->n;
  config.config.input = c->d;
  config.config.hidden = c->h;
  config.config.seed = c->seed;
  config.steps = c->steps;
  config.gain = c->gain;
  seq = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  return seq;
}

static const double *
part_of (const JacSequence *seq,
         JacState           part,
         gsize              step)
{
  return part == JAC_STATE_C ? jac_sequence_cell_state (seq, step) : jac_sequence_state (seq, step);
}

/* d(part_out)_to / d(part_wrt)_from by central differences, per row: (N, H, H). */
static JacTensor *
finite_difference (const JacSequence *seq,
                   gsize              from,
                   gsize              to,
                   JacState           out,
                   JacState           wrt)
{
  gsize n = seq->config.config.batch, h = seq->config.config.hidden, nh = n * h;
  gsize shape[3] = { n, h, h };
  JacTensor *fd = jac_tensor_new (3, shape, NULL);
  g_autofree double *hs = g_memdup2 (jac_sequence_state (seq, from), nh * sizeof (double));
  g_autofree double *cs = NULL;
  g_autofree double *h_plus = g_new (double, nh), *h_minus = g_new (double, nh);
  g_autofree double *c_plus = g_new (double, nh), *c_minus = g_new (double, nh);
  double eps = 1e-6;

  if (jac_sequence_cell_state (seq, from) != NULL)
    cs = g_memdup2 (jac_sequence_cell_state (seq, from), nh * sizeof (double));
  for (gsize i = 0; i < n; i++)
    for (gsize q = 0; q < h; q++)
      {
        double *v = (wrt == JAC_STATE_C ? cs : hs) + i * h + q, saved = *v;

        *v = saved + eps;
        jac_sequence_propagate_states (seq, from, to, hs, cs, h_plus, c_plus);
        *v = saved - eps;
        jac_sequence_propagate_states (seq, from, to, hs, cs, h_minus, c_minus);
        *v = saved;
        for (gsize j = 0; j < h; j++)
          {
            const double *plus = out == JAC_STATE_C ? c_plus : h_plus;
            const double *minus = out == JAC_STATE_C ? c_minus : h_minus;

            fd->data[(i * h + j) * h + q] = (plus[i * h + j] - minus[i * h + j]) / (2 * eps);
          }
      }
  return fd;
}

static void
assert_close (const double *a,
              const double *b,
              gsize         n,
              double        tolerance,
              const char   *what)
{
  double scale = 1, worst = 0;

  for (gsize e = 0; e < n; e++)
    scale = MAX (scale, fabs (b[e]));
  for (gsize e = 0; e < n; e++)
    worst = MAX (worst, fabs (a[e] - b[e]));
  if (!(worst <= tolerance * scale))
    g_error ("%s: max |difference| %.3e past %.1e × %.3g", what, worst, tolerance, scale);
}

static void
parts_of_cell (JacCell  cell,
               guint   *n_parts)
{
  *n_parts = cell == JAC_CELL_LSTM ? 2 : 1;
}

/* ∂u_s/∂u_{s−1} against central differences of one step, for every block (out, wrt). */
static void
test_step_jacobian (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(JacSequence) seq = make (c, JAC_STATE_H, JAC_STATE_H);
  guint parts;
  gsize h = c->h, m;

  parts_of_cell (c->cell, &parts);
  m = parts * h;
  for (gsize s = 1; s <= c->steps; s += 2)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JacTensor) step = jac_sequence_step_state_jacobian (seq, s, &error);

      g_assert_no_error (error);
      for (guint out = 0; out < parts; out++)
        for (guint wrt = 0; wrt < parts; wrt++)
          {
            g_autoptr(JacTensor) fd = finite_difference (seq, s - 1, s, out, wrt);
            g_autofree double *block = g_new (double, c->n * h * h);

            for (gsize i = 0; i < c->n; i++)
              for (gsize j = 0; j < h; j++)
                for (gsize q = 0; q < h; q++)
                  block[(i * h + j) * h + q] =
                    step->data[(i * m + out * h + j) * m + wrt * h + q];
            assert_close (block, fd->data, fd->size, 1e-7, "one-step Jacobian vs differences");
          }
    }
}

/* The (out, wrt) block of the product of one-step Jacobians ∂u_T/∂u_{T−1} ⋯ ∂u_{T−k+1}/∂u_{T−k},
 * multiplied naively, per row. */
static JacTensor *
chain_of_steps (const JacSequence *seq,
                gsize              lag,
                guint              out,
                guint              wrt)
{
  gsize n = seq->config.config.batch, h = seq->config.config.hidden, T = seq->config.steps;
  guint parts;
  gsize m, shape[3] = { n, h, h };
  JacTensor *result = jac_tensor_new (3, shape, NULL);

  parts_of_cell (seq->config.cell, &parts);
  m = parts * h;
  for (gsize i = 0; i < n; i++)
    {
      g_autofree double *p = g_new0 (double, m * m), *next = g_new (double, m * m);

      for (gsize e = 0; e < m; e++)
        p[e * m + e] = 1;
      for (gsize s = T; s + lag > T; s--)
        {
          g_autoptr(JacTensor) a = jac_sequence_step_state_jacobian (seq, s, NULL);
          const double *ai = a->data + i * m * m;

          for (gsize r = 0; r < m; r++)
            for (gsize q = 0; q < m; q++)
              {
                double sum = 0;

                for (gsize l = 0; l < m; l++)
                  sum += p[r * m + l] * ai[l * m + q];
                next[r * m + q] = sum;
              }
          memcpy (p, next, m * m * sizeof (double));
        }
      for (gsize j = 0; j < h; j++)
        for (gsize q = 0; q < h; q++)
          result->data[(i * h + j) * h + q] = p[(out * h + j) * m + wrt * h + q];
    }
  return result;
}

static void
test_through_time (gconstpointer data)
{
  const Case *c = data;
  guint parts;

  parts_of_cell (c->cell, &parts);
  for (guint out = 0; out < parts; out++)
    for (guint wrt = 0; wrt < parts; wrt++)
      {
        g_autoptr(JacSequence) seq = make (c, out, wrt);

        for (gsize lag = 0; lag <= c->steps; lag++)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(JacStructured) jac = jac_sequence_jacobian (seq, lag, &error);
            g_autoptr(JacTensor) fd = finite_difference (seq, c->steps - lag, c->steps, out, wrt);

            g_assert_no_error (error);
            assert_close (jac->core->data, fd->data, fd->size, 1e-6,
                          "through-time product vs differences");
            if (lag > 0)
              {
                g_autoptr(JacTensor) chain = chain_of_steps (seq, lag, out, wrt);

                assert_close (jac->core->data, chain->data, chain->size, 1e-12,
                              "through-time product vs the chain of single steps");
              }
          }
      }
}

static JacTensor *
random_upstream (const Case *c,
                 guint32     seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  JacTensor *g = jac_tensor_new_matrix (c->n, c->h);

  jac_tensor_fill_uniform (g, rand, 1.0);
  return g;
}

/* ∂L/∂u_{T−k} from back-propagation = Gᵀ · the product's block. */
static void
test_state_vjp (gconstpointer data)
{
  const Case *c = data;
  guint parts;

  parts_of_cell (c->cell, &parts);
  for (guint out = 0; out < parts; out++)
    for (guint wrt = 0; wrt < parts; wrt++)
      {
        g_autoptr(JacSequence) seq = make (c, out, wrt);
        g_autoptr(JacTensor) g = random_upstream (c, 3);

        for (gsize lag = 0; lag <= c->steps; lag++)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(JacStructured) jac = jac_sequence_jacobian (seq, lag, &error);
            g_autoptr(JacTensor) vjp = jac_sequence_state_vjp (seq, g, lag, &error);
            g_autofree double *expected = g_new0 (double, c->n * c->h);

            g_assert_no_error (error);
            for (gsize i = 0; i < c->n; i++)
              for (gsize q = 0; q < c->h; q++)
                for (gsize j = 0; j < c->h; j++)
                  expected[i * c->h + q] += g->data[i * c->h + j]
                                            * jac->core->data[(i * c->h + j) * c->h + q];
            assert_close (vjp->data, expected, vjp->size, 1e-12, "state VJP vs Gᵀ J");
          }
      }
}

/* The data that rebuilds @seq, so that one weight can be nudged. */
static void
data_of (const JacSequence *seq,
         JacSequenceData   *data)
{
  memset (data, 0, sizeof *data);
  data->x = seq->inputs;
  if (seq->config.cell == JAC_CELL_RNN)
    data->w_hh = seq->w_hh, data->w_xh = seq->w_xh, data->b = seq->b;
  else
    data->weight_ih = seq->weight_ih, data->weight_hh = seq->weight_hh,
    data->bias_ih = seq->bias_ih, data->bias_hh = seq->bias_hh;
}

static double
loss_with (const JacSequence *seq,
           JacSequenceData   *data,
           const JacTensor   *g)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) h0 = jac_tensor_new_matrix (seq->config.config.batch,
                                                   seq->config.config.hidden);
  g_autoptr(JacTensor) c0 = jac_tensor_new_matrix (seq->config.config.batch,
                                                   seq->config.config.hidden);
  g_autoptr(JacSequence) again = NULL;
  const double *out;
  double loss = 0;

  memcpy (h0->data, jac_sequence_state (seq, 0), h0->size * sizeof (double));
  data->h0 = h0;
  if (seq->config.cell == JAC_CELL_LSTM)
    {
      memcpy (c0->data, jac_sequence_cell_state (seq, 0), c0->size * sizeof (double));
      data->c0 = c0;
    }
  again = jac_sequence_new_with_data (&seq->config, data, &error);
  g_assert_no_error (error);
  out = part_of (again, again->config.output, again->config.steps);
  for (gsize e = 0; e < g->size; e++)
    loss += g->data[e] * out[e];
  data->h0 = data->c0 = NULL;
  return loss;
}

static JacTensor *
param_tensor (const JacSequence *seq,
              JacParam           param)
{
  switch (param)
    {
    case JAC_PARAM_W_HH: return seq->w_hh;
    case JAC_PARAM_W_XH: return seq->w_xh;
    case JAC_PARAM_B: return seq->b;
    case JAC_PARAM_WEIGHT_IH: return seq->weight_ih;
    case JAC_PARAM_WEIGHT_HH: return seq->weight_hh;
    case JAC_PARAM_BIAS_IH: return seq->bias_ih;
    case JAC_PARAM_BIAS_HH:
    default: return seq->bias_hh;
    }
}

/* BPTT gradients = central differences of L = Σ G ⊙ out_T in every weight entry; the full
 * ∂out_T/∂W contracted with G = the BPTT gradient. */
static void
test_bptt (gconstpointer data)
{
  const Case *c = data;
  guint parts;

  parts_of_cell (c->cell, &parts);
  for (guint out = 0; out < parts; out++)
    {
      g_autoptr(JacSequence) seq = make (c, out, JAC_STATE_H);
      g_autoptr(JacTensor) g = random_upstream (c, 11);

      for (JacParam p = c->cell == JAC_CELL_RNN ? JAC_PARAM_W_HH : JAC_PARAM_WEIGHT_IH;
           p < (c->cell == JAC_CELL_RNN ? JAC_PARAM_WEIGHT_IH : JAC_N_PARAMS); p++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JacTensor) vjp = jac_sequence_param_vjp (seq, g, p, &error);
          g_autoptr(JacTensor) full = jac_sequence_param_jacobian (seq, p, 0, &error);
          g_autoptr(JacTensor) weight = jac_tensor_copy (param_tensor (seq, p));
          g_autofree double *fd = g_new (double, weight->size);
          g_autofree double *contracted = g_new0 (double, weight->size);
          JacSequenceData d;

          g_assert_no_error (error);
          g_assert_cmpuint (vjp->size, ==, weight->size);
          data_of (seq, &d);
          switch (p)
            {
            case JAC_PARAM_W_HH: d.w_hh = weight; break;
            case JAC_PARAM_W_XH: d.w_xh = weight; break;
            case JAC_PARAM_B: d.b = weight; break;
            case JAC_PARAM_WEIGHT_IH: d.weight_ih = weight; break;
            case JAC_PARAM_WEIGHT_HH: d.weight_hh = weight; break;
            case JAC_PARAM_BIAS_IH: d.bias_ih = weight; break;
            default: d.bias_hh = weight; break;
            }
          for (gsize e = 0; e < weight->size; e++)
            {
              double saved = weight->data[e], plus, minus, eps = 1e-6;

              weight->data[e] = saved + eps;
              plus = loss_with (seq, &d, g);
              weight->data[e] = saved - eps;
              minus = loss_with (seq, &d, g);
              weight->data[e] = saved;
              fd[e] = (plus - minus) / (2 * eps);
            }
          assert_close (vjp->data, fd, weight->size, 1e-7, jac_param_name (p));
          for (gsize r = 0; r < g->size; r++)
            for (gsize e = 0; e < weight->size; e++)
              contracted[e] += g->data[r] * full->data[r * weight->size + e];
          assert_close (contracted, vjp->data, weight->size, 1e-12, "Σ G ⊙ ∂out_T/∂W vs BPTT");
        }
    }
}

/* Norms of a gated cell's blocks: spectral from Lanczos = dgesvd_ of the formed block,
 * Frobenius and max |entry| from it. */
static void
test_norms (gconstpointer data)
{
  const Case *c = data;
  guint parts;

  parts_of_cell (c->cell, &parts);
  for (guint out = 0; out < parts; out++)
    for (guint wrt = 0; wrt < parts; wrt++)
      {
        g_autoptr(JacSequence) seq = make (c, out, wrt);
        g_autoptr(GError) error = NULL;
        g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, FALSE, &error);

        g_assert_no_error (error);
        for (gsize lag = 1; lag <= c->steps; lag++)
          {
            g_autoptr(JacStructured) jac = jac_sequence_jacobian (seq, lag, &error);
            g_autoptr(JacTensor) values = jac_sequence_block_singular_values (jac, &error);

            g_assert_no_error (error);
            for (gsize i = 0; i < c->n; i++)
              {
                double sigma = values->data[i * c->h], frob = 0;
                double got = jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_SPECTRAL, lag, i);

                for (gsize r = 0; r < c->h; r++)
                  frob += values->data[i * c->h + r] * values->data[i * c->h + r];
                if (sigma == 0)
                  g_assert_cmpfloat (got, ==, 0);
                else
                  g_assert_cmpfloat_with_epsilon (got / sigma, 1, 1e-10);
                g_assert_cmpfloat_with_epsilon (
                  jac_sequence_norms_get (norms, JAC_SEQUENCE_NORM_FROBENIUS, lag, i)
                  / MAX (sqrt (frob), 1e-300), 1, 1e-10);
              }
          }
      }
}

/* The rescaled chain at extreme scales: a gated cell whose h-path vanishes like 1e-200 and
 * more still agrees with the unscaled product (which turns 0) only through the exponent, so
 * check against dgesvd_ on the Jacobian of a modest lag and against the lag-by-lag ratio. */
static void
test_vanishing_in_range (void)
{
  Case c = { JAC_CELL_GRU, 1, 2, 3, 1500, 0.0, 5 };
  g_autoptr(JacSequence) seq = make (&c, JAC_STATE_H, JAC_STATE_H);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequenceNorms) norms = jac_sequence_norms (seq, TRUE, &error);

  g_assert_no_error (error);
  /* With W_hh = 0 the GRU's ∂h_s/∂h_{s−1} = diag(z_s): the product is diag(Π z), exactly. */
  /* Down to about 10^-450: far past a double, which only the exponent per row keeps. */
  g_assert_cmpfloat (jac_sequence_norms_get_log10 (norms, JAC_SEQUENCE_NORM_SPECTRAL, c.steps, 0),
                     <, -300);
  for (gsize lag = 1; lag <= c.steps; lag += 57)
    {
      double best = -G_MAXDOUBLE;

      for (gsize j = 0; j < c.h; j++)
        {
          double log_product = 0;

          for (gsize s = c.steps; s + lag > c.steps; s--)
            log_product += log10 (jac_sequence_slope (seq, s)[j]);
          best = MAX (best, log_product);
        }
      g_assert_cmpfloat_with_epsilon (
        jac_sequence_norms_get_log10 (norms, JAC_SEQUENCE_NORM_SPECTRAL, lag, 0), best, 1e-9);
    }
}

/* The lesson's verdict: stays ≈ 1 at ρ = 1 (orthogonal, and the bounded transient of a
 * non-normal W_hh), vanishes below, explodes above, and the saturation story at gain > 1. */
typedef struct
{
  GArray       *fractions;
  GCancellable *cancel_at_half;
} Progress;

static void
progress_cb (double   fraction,
             gpointer user_data)
{
  Progress *p = user_data;

  g_array_append_val (p->fractions, fraction);
  if (p->cancel_at_half != NULL && fraction >= 0.5)
    g_cancellable_cancel (p->cancel_at_half);
}

/* Progress from 0 to 1 in order (a row group's lag at a time), the same norms as without it;
 * Cancel stops between lags, short of 1. */
static void
test_norms_progress_cancel (void)
{
  g_autoptr(JacSequence) seq = make (&cases[1], JAC_STATE_H, JAC_STATE_H);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JacSequenceNorms) plain = jac_sequence_norms (seq, FALSE, NULL);
  g_autoptr(JacSequenceNorms) with = NULL;
  g_autoptr(JacSequenceNorms) cancelled = NULL;
  g_autoptr(GError) error = NULL;
  Progress p = { fractions, NULL };

  with = jac_sequence_norms_full (seq, FALSE, NULL, cancellable, progress_cb, &p, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fractions->len, >=, seq->config.steps + 1);
  g_assert_cmpfloat (g_array_index (fractions, double, 0), ==, 0.0);
  g_assert_cmpfloat (g_array_index (fractions, double, fractions->len - 1), ==, 1.0);
  for (guint k = 1; k < fractions->len; k++)
    g_assert_cmpfloat (g_array_index (fractions, double, k), >=,
                       g_array_index (fractions, double, k - 1));
  for (guint norm = 0; norm < JAC_SEQUENCE_N_NORMS; norm++)
    for (gsize e = 0; e < seq->config.steps * seq->config.config.batch; e++)
      g_assert_cmpfloat (with->log10[norm][e], ==, plain->log10[norm][e]);

  g_array_set_size (fractions, 0);
  p.cancel_at_half = cancellable;
  cancelled = jac_sequence_norms_full (seq, FALSE, NULL, cancellable, progress_cb, &p, &error);
  g_assert_null (cancelled);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpfloat (g_array_index (fractions, double, fractions->len - 1), <, 1.0);
  g_clear_error (&error);
  /* Cancelled before it starts: nothing computed. */
  g_assert_null (jac_sequence_norms_full (seq, FALSE, NULL, cancellable, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_lesson (void)
{
  struct { gboolean orthogonal; double gain; JacFunc activation; gsize h; JacSequenceFate fate;
           const char *says; } lessons[] = {
    { TRUE, 1.0, JAC_FUNC_IDENTITY, 4, JAC_SEQUENCE_STAYS, "stays ≈ 1" },
    { FALSE, 1.0, JAC_FUNC_IDENTITY, 64, JAC_SEQUENCE_STAYS, "stays ≈ 1" },
    { TRUE, 0.7, JAC_FUNC_IDENTITY, 4, JAC_SEQUENCE_VANISHES, "< 1: vanishes (×0.7 per step)" },
    { TRUE, 1.3, JAC_FUNC_IDENTITY, 4, JAC_SEQUENCE_EXPLODES, "> 1: explodes (×1.3 per step)" },
    { FALSE, 1.5, JAC_FUNC_TANH, 3, JAC_SEQUENCE_VANISHES, "tanh saturates: mean φ′ = " },
  };

  for (guint k = 0; k < G_N_ELEMENTS (lessons); k++)
    {
      JacSequenceConfig config;
      g_autoptr(GError) error = NULL;
      g_autoptr(JacSequence) seq = NULL;
      g_autoptr(JacSequenceNorms) norms = NULL;
      g_autofree char *lesson = NULL;
      gsize lag = 40;

      jac_sequence_config_init_default (&config);
      config.steps = 40;
      config.config.batch = 2;
      config.config.hidden = lessons[k].h;
      config.config.activation = lessons[k].activation;
      config.orthogonal = lessons[k].orthogonal;
      config.gain = lessons[k].gain;
      seq = jac_sequence_new (&config, &error);
      norms = jac_sequence_norms (seq, FALSE, &error);
      g_assert_no_error (error);
      g_assert_cmpint (jac_sequence_norms_fate (norms, JAC_SEQUENCE_NORM_SPECTRAL, lag), ==,
                       lessons[k].fate);
      lesson = jac_sequence_lesson (seq, norms, JAC_SEQUENCE_NORM_SPECTRAL, lag);
      if (strstr (lesson, lessons[k].says) == NULL)
        g_error ("case %u: “%s” does not say “%s”", k, lesson, lessons[k].says);
      if (k == 4)
        {
          /* The mean φ′ it quotes is the mean of S over every step and row. */
          double sum = 0;
          g_autofree char *quoted = NULL;

          for (gsize e = 0; e < seq->slopes->size; e++)
            sum += seq->slopes->data[e];
          quoted = g_strdup_printf ("mean φ′ = %.2f", sum / seq->slopes->size);
          g_assert_nonnull (strstr (lesson, quoted));
          g_assert_nonnull (strstr (lesson, "identity"));
        }
    }
}

/* The cursor a slider uses: bit for bit jac_sequence_jacobian's at every lag of a random walk,
 * one step per lag forward, and back within its saved states — with room for everything, and
 * with room for almost nothing (re-starting from lag 1). */
static void
test_cursor (void)
{
  static const Case walk_cases[] = {
    { JAC_CELL_RNN, 2, 3, 4, 30, 1.0, 2 },
    { JAC_CELL_LSTM, 2, 3, 4, 30, 1.0, 2 },
    { JAC_CELL_GRU, 2, 3, 4, 30, 1.0, 2 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (walk_cases); k++)
    for (guint variant = 0; variant < 4; variant++)
      {
        /* Bit 0: room for almost nothing (the oldest kept lag's memory reused at every step);
         * bit 1: the memory reserved first. */
        const Case *c = &walk_cases[k];
        g_autoptr(JacSequence) seq = make (c, c->cell == JAC_CELL_LSTM ? JAC_STATE_C : JAC_STATE_H,
                                           c->cell == JAC_CELL_LSTM ? JAC_STATE_C : JAC_STATE_H);
        g_autoptr(JacSequenceCursor) cursor = jac_sequence_cursor_new (seq, variant & 1 ? 1 : 0);
        g_autoptr(GRand) rand = g_rand_new_with_seed (k);
        gsize lag = 1;

        if (variant & 2)
          {
            g_autoptr(GError) error = NULL;

            g_assert_true (jac_sequence_cursor_reserve (cursor, &error));
            g_assert_no_error (error);
            g_assert_cmpuint (jac_sequence_cursor_steps_taken (cursor), ==, 0);
          }

        for (guint move = 0; move < 80; move++)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(JacStructured) got = NULL;
            g_autoptr(JacStructured) want = jac_sequence_jacobian (seq, lag, &error);
            gsize before = jac_sequence_cursor_steps_taken (cursor);
            gsize next;

            got = jac_sequence_cursor_jacobian (cursor, lag, &error);
            g_assert_no_error (error);
            g_assert_cmpint (memcmp (got->core->data, want->core->data,
                                     want->core->size * sizeof (double)), ==, 0);
            /* The next lag: mostly one step either way, sometimes a jump. */
            next = g_rand_int_range (rand, 0, 10) == 0 ? (gsize) g_rand_int_range (rand, 0, 31)
                   : g_rand_boolean (rand) ? lag + 1 : lag - (lag > 0);
            next = MIN (next, c->steps);
            if (next == lag + 1 && lag >= 1)
              {
                g_autoptr(JacStructured) one = NULL;

                /* Forward by one from the lag just shown: one step at most, whatever the budget. */
                before = jac_sequence_cursor_steps_taken (cursor);
                one = jac_sequence_cursor_jacobian (cursor, next, &error);
                g_assert_no_error (error);
                g_assert_cmpuint (jac_sequence_cursor_steps_taken (cursor) - before, <=, 1);
              }
            lag = next;
          }
      }
}

/* Norms that seed a cursor are the same norms, and leave it anchors: a far lag then costs at
 * most a spacing of steps, and is still bit for bit the plain Jacobian. The norms go through
 * the batch in row groups (two threads from N H² = 65536), each offering its rows of an anchor:
 * uneven groups, every cell. */
static void
test_cursor_seeded (void)
{
  static const Case seeded_cases[] = {
    { JAC_CELL_GRU, 2, 3, 4, 40, 1.0, 3 },
    { JAC_CELL_RNN, 5, 3, 4, 40, 1.0, 5 },
    { JAC_CELL_LSTM, 5, 3, 4, 40, 1.0, 6 },
    { JAC_CELL_RNN, 6, 3, 128, 12, 1.0, 7 },
    { JAC_CELL_LSTM, 4, 3, 128, 12, 1.0, 8 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (seeded_cases); k++)
    {
      const Case *c = &seeded_cases[k];
      g_autoptr(JacSequence) seq = make (c, JAC_STATE_H, JAC_STATE_H);
      /* Room for about 8 saved states: 4 anchors, every steps / 4 lags. */
      gsize saved = c->n * c->h * c->h * (c->cell == JAC_CELL_LSTM ? 2 : 1) * 8 + c->n * 24;
      g_autoptr(JacSequenceCursor) cursor = jac_sequence_cursor_new (seq, 8 * saved);
      g_autoptr(GError) error = NULL;
      g_autoptr(JacSequenceNorms) plain = jac_sequence_norms (seq, FALSE, &error);
      g_autoptr(JacSequenceNorms) seeded = jac_sequence_norms_seeding (seq, FALSE, cursor, &error);
      g_autoptr(JacStructured) got = NULL;
      g_autoptr(JacStructured) want = NULL;
      gsize lag = c->steps - 3;

      g_assert_no_error (error);
      for (guint norm = 0; norm < JAC_SEQUENCE_N_NORMS; norm++)
        g_assert_cmpint (memcmp (plain->log10[norm], seeded->log10[norm],
                                 c->steps * c->n * sizeof (double)), ==, 0);
      got = jac_sequence_cursor_jacobian (cursor, lag, &error);
      want = jac_sequence_jacobian (seq, lag, &error);
      g_assert_no_error (error);
      g_assert_cmpint (memcmp (got->core->data, want->core->data,
                               want->core->size * sizeof (double)), ==, 0);
      g_assert_cmpuint (jac_sequence_cursor_steps_taken (cursor), <=, (c->steps + 3) / 4);
    }
}

/* ---- PyTorch's weights ---- */

static JacTensor *
tensor_of (guint          rank,
           const gsize   *shape,
           const double  *values)
{
  JacTensor *t = jac_tensor_new (rank, shape, NULL);

  memcpy (t->data, values, t->size * sizeof (double));
  return t;
}

/* nn.RNN with H = 2, D = 1, one step: h_1 = tanh(h_0 weight_hhᵀ + x weight_ihᵀ + b_ih + b_hh),
 * worked out by hand. */
static void
test_rnn_layout_by_hand (void)
{
  gsize hh_shape[2] = { 2, 2 }, ih_shape[2] = { 2, 1 }, b_shape[1] = { 2 };
  gsize x_shape[3] = { 1, 1, 1 }, h0_shape[2] = { 1, 2 };
  g_autoptr(JacTensor) weight_hh = tensor_of (2, hh_shape, (double[]) { 0.1, 0.2, 0.3, 0.4 });
  g_autoptr(JacTensor) weight_ih = tensor_of (2, ih_shape, (double[]) { 0.5, -0.5 });
  g_autoptr(JacTensor) bias_ih = tensor_of (1, b_shape, (double[]) { 0.01, 0.02 });
  g_autoptr(JacTensor) bias_hh = tensor_of (1, b_shape, (double[]) { 0.03, 0.04 });
  g_autoptr(JacTensor) x = tensor_of (3, x_shape, (double[]) { 2.0 });
  g_autoptr(JacTensor) h0 = tensor_of (2, h0_shape, (double[]) { 1.0, -1.0 });
  g_autoptr(JacTensor) w_hh = NULL;
  g_autoptr(JacTensor) w_xh = NULL;
  g_autoptr(JacTensor) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequence) seq = NULL;
  JacSequenceConfig config;
  JacSequenceData data = { .x = x, .h0 = h0, .weight_ih = weight_ih, .weight_hh = weight_hh,
                           .bias_ih = bias_ih, .bias_hh = bias_hh };
  g_autoptr(JacTensor) grad = NULL;

  g_assert_true (jac_sequence_rnn_weights_from_pytorch (weight_ih, weight_hh, bias_ih, bias_hh,
                                                        &w_hh, &w_xh, &b, &error));
  g_assert_no_error (error);
  /* W_hh = weight_hhᵀ, W_xh = weight_ihᵀ (1 × 2), b = 0.04, 0.06. */
  g_assert_cmpfloat (JAC_AT2 (w_hh, 0, 1), ==, 0.3);
  g_assert_cmpfloat (JAC_AT2 (w_hh, 1, 0), ==, 0.2);
  g_assert_cmpfloat (JAC_AT2 (w_xh, 0, 1), ==, -0.5);
  g_assert_cmpfloat_with_epsilon (b->data[0], 0.04, 1e-15);
  g_assert_cmpfloat_with_epsilon (b->data[1], 0.06, 1e-15);

  jac_sequence_config_init_default (&config);
  config.steps = 0;
  seq = jac_sequence_new_with_data (&config, &data, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq->config.steps, ==, 1);
  /* z_0 = 1·0.1 − 1·0.2 + 2·0.5 + 0.04 = 0.94, z_1 = 0.3 − 0.4 − 1 + 0.06 = −1.04. */
  g_assert_cmpfloat_with_epsilon (jac_sequence_state (seq, 1)[0], tanh (0.94), 1e-15);
  g_assert_cmpfloat_with_epsilon (jac_sequence_state (seq, 1)[1], tanh (-1.04), 1e-15);
  /* PyTorch's name gives PyTorch's layout: ∂L/∂weight_hh = (∂L/∂W_hh)ᵀ. */
  {
    g_autoptr(JacTensor) g = jac_tensor_new_matrix (1, 2);
    g_autoptr(JacTensor) ours = NULL;

    g->data[0] = 1, g->data[1] = 0;
    grad = jac_sequence_param_vjp (seq, g, JAC_PARAM_WEIGHT_HH, &error);
    ours = jac_sequence_param_vjp (seq, g, JAC_PARAM_W_HH, &error);
    g_assert_no_error (error);
    /* ∂h_1[0]/∂weight_hh[0, q] = (1 − tanh² 0.94) h_0[q]; row 1 is 0. */
    g_assert_cmpfloat_with_epsilon (JAC_AT2 (grad, 0, 0), 1 - pow (tanh (0.94), 2), 1e-15);
    g_assert_cmpfloat_with_epsilon (JAC_AT2 (grad, 0, 1), -(1 - pow (tanh (0.94), 2)), 1e-15);
    g_assert_cmpfloat (JAC_AT2 (grad, 1, 0), ==, 0);
    g_assert_cmpfloat (JAC_AT2 (ours, 1, 0), ==, JAC_AT2 (grad, 0, 1));
  }
}

/* nn.LSTM and nn.GRU with H = 1, D = 1, one step, by hand. */
static void
test_gated_by_hand (void)
{
  gsize x_shape[3] = { 1, 1, 1 }, s_shape[2] = { 1, 1 };
  g_autoptr(JacTensor) x = tensor_of (3, x_shape, (double[]) { 0.5 });
  g_autoptr(JacTensor) h0 = tensor_of (2, s_shape, (double[]) { -0.3 });
  g_autoptr(JacTensor) c0 = tensor_of (2, s_shape, (double[]) { 0.8 });
  double w_ih[4] = { 0.1, 0.2, 0.3, 0.4 }, w_hh[4] = { -0.5, 0.6, -0.7, 0.8 };
  double b_ih[4] = { 0.01, 0.02, 0.03, 0.04 }, b_hh[4] = { 0.05, 0.06, 0.07, 0.08 };
  JacSequenceConfig config;

  jac_sequence_config_init_default (&config);
  config.steps = 0;
  for (guint k = 0; k < 2; k++)
    {
      gsize g = k == 0 ? 4 : 3, w_shape[2] = { g, 1 };
      g_autoptr(JacTensor) weight_ih = tensor_of (2, w_shape, w_ih);
      g_autoptr(JacTensor) weight_hh = tensor_of (2, w_shape, w_hh);
      g_autoptr(JacTensor) bias_ih = tensor_of (1, &g, b_ih);
      g_autoptr(JacTensor) bias_hh = tensor_of (1, &g, b_hh);
      JacSequenceData data = { .x = x, .h0 = h0, .c0 = k == 0 ? c0 : NULL,
                               .weight_ih = weight_ih, .weight_hh = weight_hh,
                               .bias_ih = bias_ih, .bias_hh = bias_hh };
      g_autoptr(JacSequence) seq = NULL;
      g_autoptr(GError) error = NULL;
      double a[4];

      config.cell = k == 0 ? JAC_CELL_LSTM : JAC_CELL_GRU;
      seq = jac_sequence_new_with_data (&config, &data, &error);
      g_assert_no_error (error);
      for (guint q = 0; q < g; q++)
        a[q] = 0.5 * w_ih[q] + b_ih[q] - 0.3 * w_hh[q] + b_hh[q];
      if (k == 0)
        {
          double i = 1 / (1 + exp (-a[0])), f = 1 / (1 + exp (-a[1]));
          double cand = tanh (a[2]), o = 1 / (1 + exp (-a[3]));
          double c1 = f * 0.8 + i * cand;

          g_assert_cmpfloat_with_epsilon (jac_sequence_cell_state (seq, 1)[0], c1, 1e-15);
          g_assert_cmpfloat_with_epsilon (jac_sequence_state (seq, 1)[0], o * tanh (c1), 1e-15);
        }
      else
        {
          double r = 1 / (1 + exp (-a[0])), z = 1 / (1 + exp (-a[1]));
          /* n = tanh(x W_in + b_in + r (h W_hn + b_hn)): r inside, on the hidden side only. */
          double n = tanh (0.5 * w_ih[2] + b_ih[2] + r * (-0.3 * w_hh[2] + b_hh[2]));

          g_assert_cmpfloat_with_epsilon (jac_sequence_state (seq, 1)[0],
                                          (1 - z) * n + z * -0.3, 1e-15);
        }
    }
}

typedef struct
{
  const char *key;       /* the key to add, or with a leading '-' to drop */
  JacCell     cell;
  const char *fragment;  /* what the message must say */
} BadDict;

static void
test_state_dict_errors (void)
{
  static const BadDict bad[] = {
    { "-weight_ih_l0", JAC_CELL_LSTM, "weight_ih_l0" },
    { "-weight_hh_l0", JAC_CELL_GRU, "weight_hh_l0" },
    { "weight_hh_l1", JAC_CELL_LSTM, "weight_hh_l1" },
    { "weight_ih_l0_reverse", JAC_CELL_LSTM, "weight_ih_l0_reverse" },
    { "running_mean", JAC_CELL_LSTM, "running_mean" },
    { "-bias_hh_l0", JAC_CELL_LSTM, "bias_hh_l0" },
    { NULL, JAC_CELL_GRU, "--cell lstm" },      /* an LSTM's weights as a GRU */
    { NULL, JAC_CELL_RNN, "--cell lstm" },      /* … and as an RNN */
  };
  gsize h = 2, d = 3;
  gsize ih_shape[2] = { 4 * h, d }, hh_shape[2] = { 4 * h, h }, b_shape = 4 * h;

  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr(GHashTable) dict = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) jac_tensor_free);
      JacSequenceData data = { 0 };
      JacSequenceConfig config;
      g_autoptr(GError) error = NULL;
      g_autoptr(JacSequence) seq = NULL;
      gboolean ok;

      g_hash_table_insert (dict, g_strdup ("weight_ih_l0"), jac_tensor_new (2, ih_shape, NULL));
      g_hash_table_insert (dict, g_strdup ("weight_hh_l0"), jac_tensor_new (2, hh_shape, NULL));
      g_hash_table_insert (dict, g_strdup ("bias_ih_l0"), jac_tensor_new (1, &b_shape, NULL));
      g_hash_table_insert (dict, g_strdup ("bias_hh_l0"), jac_tensor_new (1, &b_shape, NULL));
      if (bad[k].key != NULL && bad[k].key[0] == '-')
        g_hash_table_remove (dict, bad[k].key + 1);
      else if (bad[k].key != NULL)
        g_hash_table_insert (dict, g_strdup (bad[k].key), jac_tensor_new (2, hh_shape, NULL));
      ok = jac_sequence_data_from_state_dict (dict, bad[k].cell, &data, &error);
      if (ok)
        {
          jac_sequence_config_init_default (&config);
          config.cell = bad[k].cell;
          seq = jac_sequence_new_with_data (&config, &data, &error);
          g_assert_null (seq);
        }
      g_assert_nonnull (error);
      if (strstr (error->message, bad[k].fragment) == NULL)
        g_error ("case %u: “%s” does not name “%s”", k, error->message, bad[k].fragment);
    }
}

/* Shapes that disagree name both sources; --steps that x contradicts is an error. */
static void
test_data_shape_errors (void)
{
  gsize x_shape[3] = { 4, 2, 3 }, h0_shape[2] = { 3, 5 }, w_shape[2] = { 5, 5 };
  g_autoptr(JacTensor) x = jac_tensor_new (3, x_shape, NULL);
  g_autoptr(JacTensor) h0 = jac_tensor_new (2, h0_shape, NULL);
  g_autoptr(JacTensor) w_hh = jac_tensor_new (2, w_shape, NULL);
  JacSequenceConfig config;

  jac_sequence_config_init_default (&config);
  {
    JacSequenceData data = { .x = x, .h0 = h0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(JacSequence) seq = NULL;

    config.steps = 0;
    seq = jac_sequence_new_with_data (&config, &data, &error);
    g_assert_null (seq);
    g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "h0"));
    g_assert_nonnull (strstr (error->message, "x"));
  }
  {
    JacSequenceData data = { .x = x };
    g_autoptr(GError) error = NULL;
    g_autoptr(JacSequence) seq = NULL;

    config.steps = 7;
    seq = jac_sequence_new_with_data (&config, &data, &error);
    g_assert_null (seq);
    g_assert_nonnull (strstr (error->message, "T = 4"));
  }
  {
    JacSequenceData data = { .x = x, .w_hh = w_hh };
    g_autoptr(GError) error = NULL;
    g_autoptr(JacSequence) seq = NULL;

    config.steps = 0;
    config.cell = JAC_CELL_LSTM;
    seq = jac_sequence_new_with_data (&config, &data, &error);
    g_assert_null (seq);
    g_assert_nonnull (strstr (error->message, "W_hh"));
    config.cell = JAC_CELL_RNN;
  }
  {
    JacSequenceData data = { .x = x };
    g_autoptr(GError) error = NULL;
    g_autoptr(JacSequence) seq = NULL;

    config.steps = 0;
    seq = jac_sequence_new_with_data (&config, &data, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (seq->config.steps, ==, 4);
    g_assert_cmpuint (seq->config.config.batch, ==, 2);
    g_assert_cmpuint (seq->config.config.input, ==, 3);
  }
}

/* A state dict in a .npz written by hand (deflated, float32 as PyTorch trains), read back and
 * run: the same h_T as the tensors given directly. */
static void
test_state_dict_from_npz (void)
{
  Case c = { JAC_CELL_LSTM, 2, 3, 4, 6, 1.0, 9 };
  g_autoptr(JacSequence) seq = make (&c, JAC_STATE_H, JAC_STATE_H);
  g_autofree char *dir = g_dir_make_tmp ("jacscope-cell-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "lstm.npz", NULL);
  const char *keys[4] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" };
  JacTensor *tensors[4];
  g_autoptr(GHashTable) dict = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequence) loaded = NULL;
  JacSequenceData data = { 0 };

  /* float32 values, so that both paths use the same rounded weights. */
  tensors[0] = seq->weight_ih, tensors[1] = seq->weight_hh;
  tensors[2] = seq->bias_ih, tensors[3] = seq->bias_hh;
  for (guint k = 0; k < 4; k++)
    for (gsize e = 0; e < tensors[k]->size; e++)
      tensors[k]->data[e] = (float) tensors[k]->data[e];
  _jac_sequence_forward_gated (seq);
  npz_write_tensors (path, 4, keys, tensors, TRUE, TRUE);
  dict = jac_npz_read (path, &error);
  g_assert_no_error (error);
  g_assert_true (jac_sequence_data_from_state_dict (dict, JAC_CELL_LSTM, &data, &error));
  {
    g_autoptr(JacTensor) h0 = jac_tensor_new_matrix (c.n, c.h);
    g_autoptr(JacTensor) c0 = jac_tensor_new_matrix (c.n, c.h);
    JacSequenceConfig config = seq->config;

    memcpy (h0->data, jac_sequence_state (seq, 0), h0->size * sizeof (double));
    memcpy (c0->data, jac_sequence_cell_state (seq, 0), c0->size * sizeof (double));
    data.x = seq->inputs, data.h0 = h0, data.c0 = c0;
    loaded = jac_sequence_new_with_data (&config, &data, &error);
    g_assert_no_error (error);
  }
  assert_close (jac_sequence_state (loaded, c.steps), jac_sequence_state (seq, c.steps),
                c.n * c.h, 0, "h_T from the .npz");
  g_unlink (path);
  g_rmdir (dir);
}

/* The LSTM and GRU forward passes written again in NumPy from PyTorch's documented equations,
 * on weights, x, h_0 and c_0 passed through a .npz: h_T and c_T agree. Skipped without NumPy. */
static void
test_numpy_forward (void)
{
  const char *python = "/usr/bin/python3";
  g_autofree char *dir = NULL;

  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3");
      return;
    }
  dir = g_dir_make_tmp ("jacscope-numpy-XXXXXX", NULL);
  for (guint k = 0; k < 2; k++)
    {
      Case c = { k == 0 ? JAC_CELL_LSTM : JAC_CELL_GRU, 2, 3, 4, 6, 1.0, 12 };
      g_autoptr(JacSequence) seq = make (&c, JAC_STATE_H, JAC_STATE_H);
      g_autofree char *in = g_build_filename (dir, "in.npz", NULL);
      g_autofree char *out = g_build_filename (dir, "out.npy", NULL);
      g_autoptr(JacTensor) h0 = jac_tensor_new_matrix (c.n, c.h);
      g_autoptr(JacTensor) c0 = jac_tensor_new_matrix (c.n, c.h);
      g_autoptr(JacTensor) expected = NULL;
      g_autoptr(GError) error = NULL;
      const char *keys[7] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "x",
                              "h0", "c0" };
      JacTensor *tensors[7] = { seq->weight_ih, seq->weight_hh, seq->bias_ih, seq->bias_hh,
                                seq->inputs, h0, c0 };
      g_autofree char *script = NULL;
      const char *argv[] = { python, "-c", NULL, NULL };
      int status = 0;

      memcpy (h0->data, jac_sequence_state (seq, 0), h0->size * sizeof (double));
      if (k == 0)
        memcpy (c0->data, jac_sequence_cell_state (seq, 0), c0->size * sizeof (double));
      npz_write_tensors (in, 7, keys, tensors, k == 1, FALSE);
      script = g_strdup_printf (
        "import sys\n"
        "try:\n import numpy as np\nexcept ImportError:\n sys.exit(77)\n"
        "d = np.load('%s')\n"
        "Wi, Wh, bi, bh = d['weight_ih_l0'], d['weight_hh_l0'], d['bias_ih_l0'], d['bias_hh_l0']\n"
        "h, c = d['h0'], d['c0']\n"
        "sig = lambda a: 1 / (1 + np.exp(-a))\n"
        "H = h.shape[1]\n"
        "for x in d['x']:\n"
        "  gi = x @ Wi.T + bi\n"
        "  gh = h @ Wh.T + bh\n"
        "  if %d:\n"
        "    i, f, g, o = np.split(gi + gh, 4, axis=1)\n"
        "    c = sig(f) * c + sig(i) * np.tanh(g)\n"
        "    h = sig(o) * np.tanh(c)\n"
        "  else:\n"
        "    r = sig(gi[:, :H] + gh[:, :H]); z = sig(gi[:, H:2*H] + gh[:, H:2*H])\n"
        "    n = np.tanh(gi[:, 2*H:] + r * gh[:, 2*H:])\n"
        "    h = (1 - z) * n + z * h\n"
        "np.save('%s', np.stack([h, c]))\n", in, k == 0, out);
      argv[2] = script;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                   NULL, &status, NULL));
      if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
        {
          g_test_skip ("NumPy is not installed");
          break;
        }
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      expected = jac_npy_read (out, &error);
      g_assert_no_error (error);
      assert_close (jac_sequence_state (seq, c.steps), expected->data, c.n * c.h, 1e-14,
                    "h_T against NumPy");
      if (k == 0)
        assert_close (jac_sequence_cell_state (seq, c.steps), expected->data + c.n * c.h,
                      c.n * c.h, 1e-14, "c_T against NumPy");
      g_unlink (in);
      g_unlink (out);
    }
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      static const char *tests[] = { "step-jacobian", "through-time", "state-vjp", "bptt",
                                     "norms" };
      GTestDataFunc funcs[] = { test_step_jacobian, test_through_time, test_state_vjp,
                                test_bptt, test_norms };

      for (guint t = 0; t < G_N_ELEMENTS (tests); t++)
        {
          g_autofree char *name = g_strdup_printf ("/cell/%s/%s-%u", tests[t],
                                                   jac_cell_name (cases[k].cell), k);

          g_test_add_data_func (name, &cases[k], funcs[t]);
        }
    }
  g_test_add_func ("/cell/vanishing-in-range", test_vanishing_in_range);
  g_test_add_func ("/cell/lesson", test_lesson);
  g_test_add_func ("/cell/norms-progress-cancel", test_norms_progress_cancel);
  g_test_add_func ("/cell/cursor", test_cursor);
  g_test_add_func ("/cell/cursor-seeded", test_cursor_seeded);
  g_test_add_func ("/cell/rnn-layout-by-hand", test_rnn_layout_by_hand);
  g_test_add_func ("/cell/gated-by-hand", test_gated_by_hand);
  g_test_add_func ("/cell/state-dict-errors", test_state_dict_errors);
  g_test_add_func ("/cell/data-shape-errors", test_data_shape_errors);
  g_test_add_func ("/cell/state-dict-from-npz", test_state_dict_from_npz);
  g_test_add_func ("/cell/numpy-forward", test_numpy_forward);
  return g_test_run ();
}

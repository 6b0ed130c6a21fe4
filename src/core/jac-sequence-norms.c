/* jac-sequence-norms.c: the running products B^(k) for every lag, and their norms. */
#define G_LOG_DOMAIN "jac-sequence"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-sequence-private.h"

#define LANCZOS_MAX_STEPS 48
#define LANCZOS_TOLERANCE 1e-14

/* ---- the chain ---- */

/* B^(1)_i = diag(S_T[i,:]) W_hhᵀ: [j, q] = S_T[i,j] W_hh[q,j]. */
static void
first_blocks (const JacSequence *self,
              double            *blocks)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  const double *slope = jac_sequence_slope (self, self->config.steps);

  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      {
        double *row = blocks + (i * h + j) * h;
        double s = slope[i * h + j];

        for (gsize q = 0; q < h; q++)
          row[q] = s * JAC_AT2 (self->w_hh, q, j);
      }
}

static void
block_stats (const double *block,
             gsize         n_entries,
             double       *sum_squares,
             double       *max_abs)
{
  double sum = 0, best = 0;

  for (gsize e = 0; e < n_entries; e++)
    {
      double v = fabs (block[e]);

      sum += v * v;
      best = MAX (best, v);
    }
  *sum_squares = sum;
  *max_abs = best;
}

/* Multiplies column l of every block i by S[i,l] (the diag(S) of the next factor) and, when the
 * block drifts far from 1, by a power of two that moves into @exponent: exact, so the stored
 * products agree with the unscaled chain to rounding. */
static void
scale_columns (gsize         n,
               gsize         h,
               const double *slope,
               const double *max_abs,
               double       *blocks,
               int          *exponent,
               double       *factor)
{
  for (gsize i = 0; i < n; i++)
    {
      int shift = 0;

      if (max_abs[i] > 0 && isfinite (max_abs[i]))
        {
          int e = ilogb (max_abs[i]);

          if (ABS (e) > JAC_SEQUENCE_RESCALE_EXPONENT)
            shift = -e;
        }
      exponent[i] -= shift;
      for (gsize l = 0; l < h; l++)
        factor[l] = ldexp (slope[i * h + l], shift);
      for (gsize j = 0; j < h; j++)
        {
          double *row = blocks + (i * h + j) * h;

          for (gsize l = 0; l < h; l++)
            row[l] *= factor[l];
        }
    }
}

static void
rnn_stats (JacSequenceChainState *state)
{
  gsize n = state->sequence->config.config.batch, h = state->sequence->config.config.hidden;

  for (gsize i = 0; i < n; i++)
    block_stats (state->product->data + i * h * h, h * h, &state->sum_squares[i],
                 &state->max_abs[i]);
}

gboolean
_jac_chain_init (JacSequenceChainState  *state,
                 const JacSequence      *self,
                 GError                **error)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  gsize shape[3] = { n, h, h };

  memset (state, 0, sizeof *state);
  state->sequence = self;
  state->lag = 1;
  state->exponent = g_new0 (int, n);
  state->sum_squares = g_new0 (double, n);
  state->max_abs = g_new0 (double, n);
  if (self->config.cell != JAC_CELL_RNN)
    return _jac_chain_gated_init (state, error);
  state->factor = g_new (double, h);
  if ((state->product = jac_tensor_new (3, shape, error)) == NULL
      || (self->config.steps > 1 && (state->next = jac_tensor_new (3, shape, error)) == NULL))
    {
      _jac_chain_clear (state);
      return FALSE;
    }
  state->blocks = state->product;
  first_blocks (self, state->product->data);
  rnn_stats (state);
  return TRUE;
}

void
_jac_chain_advance (JacSequenceChainState *state)
{
  const JacSequence *self = state->sequence;
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  JacTensor *swap;

  g_return_if_fail (state->lag < self->config.steps);

  if (self->config.cell != JAC_CELL_RNN)
    {
      _jac_chain_gated_advance (state);
      return;
    }
  /* B^(lag+1) = B^(lag) · diag(S_{T−lag}) W_hhᵀ, all rows in one GEMM. */
  scale_columns (n, h, jac_sequence_slope (self, self->config.steps - state->lag),
                 state->max_abs, state->product->data, state->exponent, state->factor);
  jac_gemm (FALSE, TRUE, n * h, h, h, 1.0, state->product->data, h, self->w_hh->data, h, 0.0,
            state->next->data, h);
  swap = state->product, state->product = state->next, state->next = swap;
  state->blocks = state->product;
  state->lag++;
  rnn_stats (state);
}

void
_jac_chain_clear (JacSequenceChainState *state)
{
  if (state->coefficients != NULL)
    _jac_chain_gated_clear (state);
  if (state->blocks != state->product)
    jac_tensor_free (state->blocks);
  state->blocks = NULL;
  g_clear_pointer (&state->product, jac_tensor_free);
  g_clear_pointer (&state->next, jac_tensor_free);
  g_clear_pointer (&state->scaled, jac_tensor_free);
  g_clear_pointer (&state->exponent, g_free);
  g_clear_pointer (&state->sum_squares, g_free);
  g_clear_pointer (&state->max_abs, g_free);
  g_clear_pointer (&state->factor, g_free);
}

JacSequenceChainState *
_jac_chain_save (const JacSequenceChainState *from)
{
  JacSequenceChainState *saved = g_new0 (JacSequenceChainState, 1);
  gsize n = from->sequence->config.config.batch;

  saved->sequence = from->sequence;
  saved->lag = from->lag;
  saved->product = jac_tensor_copy (from->product);
  saved->exponent = g_memdup2 (from->exponent, n * sizeof (int));
  saved->sum_squares = g_memdup2 (from->sum_squares, n * sizeof (double));
  saved->max_abs = g_memdup2 (from->max_abs, n * sizeof (double));
  return saved;
}

void
_jac_chain_restore (JacSequenceChainState       *state,
                    const JacSequenceChainState *saved)
{
  gsize n = state->sequence->config.config.batch;

  g_return_if_fail (saved->sequence == state->sequence);

  state->lag = saved->lag;
  memcpy (state->product->data, saved->product->data, saved->product->size * sizeof (double));
  memcpy (state->exponent, saved->exponent, n * sizeof (int));
  memcpy (state->sum_squares, saved->sum_squares, n * sizeof (double));
  memcpy (state->max_abs, saved->max_abs, n * sizeof (double));
  if (state->sequence->config.cell != JAC_CELL_RNN)
    _jac_chain_gated_extract (state);
}

void
_jac_chain_saved_free (JacSequenceChainState *saved)
{
  if (saved == NULL)
    return;
  jac_tensor_free (saved->product);
  g_free (saved->exponent);
  g_free (saved->sum_squares);
  g_free (saved->max_abs);
  g_free (saved);
}

gsize
_jac_chain_saved_bytes (const JacSequence *self)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  gsize m = self->config.cell == JAC_CELL_LSTM ? 2 * h : h;

  return n * h * m * sizeof (double) + n * (sizeof (int) + 2 * sizeof (double));
}

gboolean
_jac_sequence_chain (const JacSequence  *self,
                     gsize               max_lag,
                     JacSequenceLagFunc  func,
                     gpointer            user_data,
                     JacSequenceCursor  *seed,
                     GError            **error)
{
  JacSequenceChainState state;
  gboolean ok = TRUE;

  g_return_val_if_fail (max_lag >= 1 && max_lag <= self->config.steps, FALSE);

  if (!_jac_chain_init (&state, self, error))
    return FALSE;
  for (;;)
    {
      if (!(ok = func (state.lag, state.blocks->data, state.exponent, state.sum_squares,
                       state.max_abs, user_data, error)))
        break;
      if (seed != NULL)
        _jac_sequence_cursor_offer (seed, &state);
      if (state.lag == max_lag)
        break;
      _jac_chain_advance (&state);
    }
  _jac_chain_clear (&state);
  return ok;
}

/* ---- norms ---- */

typedef struct
{
  JacSequenceNorms *norms;
  gboolean          all_singular_values;
  double           *left;      /* N × H: each row's estimate of its block's top left vector */
  double           *right;     /* H */
  double           *image;     /* H */
  double           *scratch;   /* H × H, for dgesvd_ */
  double           *values;    /* H */
  double           *left_basis;   /* (m + 1) × H: Lanczos vectors u */
  double           *right_basis;  /* (m + 1) × H: Lanczos vectors v */
  double           *alpha, *beta, *diag, *off, *ritz, *ritz_work;  /* m + 1 each */
  GCancellable     *cancellable;
  JacSequenceProgressFunc progress;
  gpointer          progress_data;
} NormsRun;

static double
vector_norm (const double *v,
             gsize         n)
{
  double sum = 0;

  for (gsize e = 0; e < n; e++)
    sum += v[e] * v[e];
  return sqrt (sum);
}

/* The largest eigenvalue of the symmetric tridiagonal matrix with @diag (n) and @off (n − 1), by
 * bisection on Sturm counts: robust, and n is small. */
static double
tridiagonal_max_eigenvalue (const double *diag,
                            const double *off,
                            gsize         n)
{
  double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;

  for (gsize e = 0; e < n; e++)
    {
      double radius = (e > 0 ? fabs (off[e - 1]) : 0) + (e + 1 < n ? fabs (off[e]) : 0);

      lo = MIN (lo, diag[e] - radius);
      hi = MAX (hi, diag[e] + radius);
    }
  for (guint it = 0; it < 200 && hi - lo > 4 * G_MINDOUBLE; it++)
    {
      double mid = lo + (hi - lo) / 2, d = 1;
      gsize above = 0;

      if (mid <= lo || mid >= hi)
        break;
      /* The number of eigenvalues above mid: sign changes of the LDLᵀ pivots of T − mid. */
      for (gsize e = 0; e < n; e++)
        {
          double o = e > 0 ? off[e - 1] : 0;

          d = diag[e] - mid - (e > 0 ? o * o / d : 0);
          if (d == 0)
            d = -G_MINDOUBLE;
          if (d > 0)
            above++;
        }
      if (above > 0)
        lo = mid;
      else
        hi = mid;
    }
  return hi;
}

/* An eigenvector of the tridiagonal matrix for its eigenvalue near @lambda, by two steps of
 * inverse iteration (Thomas algorithm, shift nudged off the eigenvalue). */
static void
tridiagonal_eigenvector (const double *diag,
                         const double *off,
                         gsize         n,
                         double        lambda,
                         double       *x,
                         double       *work)
{
  double shift = lambda * (1 + 1e-10) + G_MINDOUBLE;

  for (gsize e = 0; e < n; e++)
    x[e] = 1;
  for (guint it = 0; it < 2; it++)
    {
      double norm = 0, pivot;

      /* Forward sweep on (T − shift) y = x, then back substitution. */
      pivot = diag[0] - shift;
      work[0] = 0;
      for (gsize e = 0; e < n; e++)
        {
          if (e > 0)
            {
              double m = off[e - 1] / pivot;

              pivot = diag[e] - shift - m * off[e - 1];
              x[e] -= m * x[e - 1];
            }
          if (pivot == 0)
            pivot = G_MINDOUBLE;
          work[e] = pivot;
        }
      x[n - 1] /= work[n - 1];
      for (gsize e = n - 1; e-- > 0;)
        x[e] = (x[e] - off[e] * x[e + 1]) / work[e];
      for (gsize e = 0; e < n; e++)
        norm += x[e] * x[e];
      norm = sqrt (norm);
      for (gsize e = 0; e < n; e++)
        x[e] = isfinite (norm) && norm > 0 ? x[e] / norm : 1;
    }
}

/* Removes from @w (h) its components along the @count unit vectors of @basis (rows h apart),
 * twice, which keeps Lanczos vectors orthogonal to working precision. */
static void
orthogonalize (double       *w,
               const double *basis,
               gsize         count,
               gsize         h)
{
  for (guint pass = 0; pass < 2; pass++)
    for (gsize c = 0; c < count; c++)
      {
        const double *b = basis + c * h;
        double dot = 0;

        for (gsize e = 0; e < h; e++)
          dot += w[e] * b[e];
        for (gsize e = 0; e < h; e++)
          w[e] -= dot * b[e];
      }
}

/* w = Bᵀ u and w = B v (h): matrix–vector products as plain loops along memory. Through BLAS
 * each was a dgemm with one column, which woke OpenBLAS's threads for 16 k multiplications:
 * at N = 16, H = 128, T = 40 that overhead was most of the norms' time (5.6× the chain's GEMMs). */
static void
block_transpose_apply (const double *block,
                       gsize         h,
                       const double *u,
                       double       *w)
{
  memset (w, 0, h * sizeof (double));
  for (gsize r = 0; r < h; r++)
    {
      const double *row = block + r * h;
      double ur = u[r];

      for (gsize c = 0; c < h; c++)
        w[c] += ur * row[c];
    }
}

static void
block_apply (const double *block,
             gsize         h,
             const double *v,
             double       *w)
{
  for (gsize r = 0; r < h; r++)
    {
      const double *row = block + r * h;
      double sum[4] = { 0, 0, 0, 0 };
      gsize c = 0;

      /* Four partial sums, which the compiler keeps in vector registers. */
      for (; c + 4 <= h; c += 4)
        for (guint k = 0; k < 4; k++)
          sum[k] += row[c + k] * v[c + k];
      for (; c < h; c++)
        sum[0] += row[c] * v[c];
      w[r] = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
}

static double
normalize (double *v,
           gsize   n)
{
  double norm = vector_norm (v, n);

  if (norm > 0)
    for (gsize e = 0; e < n; e++)
      v[e] /= norm;
  return norm;
}

/* σ_max of the stored block by Golub–Kahan–Lanczos bidiagonalization from the unit @left, with
 * full reorthogonalization: B V_m = U_{m+1} L_m with L_m lower bidiagonal (α on the diagonal,
 * β below), whose largest singular value (√λ_max of the tridiagonal L_mᵀ L_m) approaches σ_max
 * from below, fast even when σ₂ is close to it. On return @left holds the Ritz vector B v / ‖B v‖,
 * the warm start for the next lag, whose left singular vectors change little. FALSE when the
 * estimate has not settled within the allowed steps. */
static gboolean
lanczos (NormsRun     *run,
         const double *block,
         double       *left,
         double       *sigma)
{
  gsize h = run->norms->hidden, m_max = MIN (h, LANCZOS_MAX_STEPS);
  double *u = run->left_basis, *v = run->right_basis;
  double *alpha = run->alpha, *beta = run->beta, *diag = run->diag, *off = run->off;
  double previous = 0, estimate = 0, scale = 1;
  gboolean settled = FALSE;
  gsize m = 0;

  memcpy (u, left, h * sizeof (double));
  block_transpose_apply (block, h, u, v);
  alpha[0] = normalize (v, h);
  if (alpha[0] == 0)
    return FALSE;
  for (m = 1; m <= m_max; m++)
    {
      double *u_next = u + m * h, *v_next = v + m * h;

      /* u_{m+1} = B v_m − α_m u_m, β_m = ‖u_{m+1}‖. */
      block_apply (block, h, v + (m - 1) * h, u_next);
      orthogonalize (u_next, u, m, h);
      beta[m - 1] = normalize (u_next, h);
      run->norms->n_lanczos_steps++;

      /* L_mᵀ L_m squares the entries, and its Sturm counts square them again: at norms far
       * from 1 (1e±90 is within the chain's range) that under- or overflows. It is formed from
       * the entries divided by their largest, and σ scaled back. */
      scale = 0;
      for (gsize e = 0; e < m; e++)
        scale = MAX (scale, MAX (alpha[e], beta[e]));
      if (!(scale > 0) || !isfinite (scale))
        scale = 1;
      for (gsize e = 0; e < m; e++)
        {
          double a = alpha[e] / scale, b = beta[e] / scale;

          diag[e] = a * a + b * b;
          if (e + 1 < m)
            off[e] = alpha[e + 1] / scale * b;
        }
      estimate = scale * sqrt (tridiagonal_max_eigenvalue (diag, off, m));
      if (m >= 2 && estimate - previous <= LANCZOS_TOLERANCE * estimate)
        {
          settled = TRUE;
          break;
        }
      previous = estimate;
      if (m == m_max || beta[m - 1] <= 1e-14 * estimate)
        {
          /* An invariant subspace: the estimate is exact. */
          settled = beta[m - 1] <= 1e-14 * estimate || m == h;
          break;
        }
      /* v_{m+1} = Bᵀ u_{m+1} − β_m v_m, α_{m+1} = ‖v_{m+1}‖. */
      block_transpose_apply (block, h, u_next, v_next);
      orthogonalize (v_next, v, m, h);
      alpha[m] = normalize (v_next, h);
      if (alpha[m] <= 1e-14 * estimate)
        {
          settled = TRUE;
          break;
        }
    }
  m = MIN (m, m_max);

  /* Ritz vector: v = V_m y for the top eigenvector y of L_mᵀ L_m; the next start is B v. */
  tridiagonal_eigenvector (diag, off, m, (estimate / scale) * (estimate / scale), run->ritz,
                           run->ritz_work);
  memset (run->right, 0, h * sizeof (double));
  for (gsize c = 0; c < m; c++)
    for (gsize e = 0; e < h; e++)
      run->right[e] += run->ritz[c] * v[c * h + e];
  block_apply (block, h, run->right, run->image);
  if (normalize (run->image, h) > 0)
    memcpy (left, run->image, h * sizeof (double));
  *sigma = estimate;
  return settled;
}

static gboolean
block_singular_values (NormsRun      *run,
                       const double  *block,
                       GError       **error)
{
  gsize h = run->norms->hidden;

  memcpy (run->scratch, block, h * h * sizeof (double));
  run->norms->n_svd++;
  return _jac_lapack_singular_values (run->scratch, h, run->values, error);
}

static gboolean
norms_lag_cb (gsize         lag,
              const double *blocks,
              const int    *exponent,
              const double *sum_squares,
              const double *max_abs,
              gpointer      user_data,
              GError      **error)
{
  NormsRun *run = user_data;
  JacSequenceNorms *norms = run->norms;
  gsize n = norms->batch, h = norms->hidden;

  /* Between lags: a lag is at most N small SVDs, so Cancel answers within one. */
  if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
    return FALSE;
  if (run->progress != NULL)
    run->progress ((double) (lag - 1) / norms->steps, run->progress_data);
  for (gsize i = 0; i < n; i++)
    {
      const double *block = blocks + i * h * h;
      gsize at = (lag - 1) * n + i;
      double scale = exponent[i] * G_LN2 / G_LN10;
      double sigma = 0;

      norms->log10[JAC_SEQUENCE_NORM_FROBENIUS][at] = 0.5 * log10 (sum_squares[i]) + scale;
      norms->log10[JAC_SEQUENCE_NORM_MAX_ABS][at] = log10 (max_abs[i]) + scale;
      if (max_abs[i] == 0)
        sigma = 0;
      else if (run->all_singular_values)
        {
          if (!block_singular_values (run, block, error))
            return FALSE;
          sigma = run->values[0];
          for (gsize r = 0; r < h; r++)
            norms->singular_values[at * h + r] = ldexp (run->values[r], exponent[i]);
        }
      else if (!lanczos (run, block, run->left + i * h, &sigma))
        {
          if (!block_singular_values (run, block, error))
            return FALSE;
          sigma = run->values[0];
        }
      norms->log10[JAC_SEQUENCE_NORM_SPECTRAL][at] = log10 (sigma) + scale;
    }
  return TRUE;
}

static void
start_vectors (double *left,
               gsize   n,
               gsize   h)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (0x5eed);

  for (gsize i = 0; i < n; i++)
    {
      double *u = left + i * h;
      double norm;

      for (gsize j = 0; j < h; j++)
        u[j] = g_rand_double_range (rand, -1, 1);
      norm = vector_norm (u, h);
      for (gsize j = 0; j < h; j++)
        u[j] /= norm;
    }
}

JacSequenceNorms *
jac_sequence_norms (const JacSequence  *self,
                    gboolean            singular_values_for_all,
                    GError            **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_sequence_norms_seeding (self, singular_values_for_all, NULL, error);
}

JacSequenceNorms *
jac_sequence_norms_seeding (const JacSequence  *self,
                            gboolean            singular_values_for_all,
                            JacSequenceCursor  *seed,
                            GError            **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_sequence_norms_full (self, singular_values_for_all, seed, NULL, NULL, NULL, error);
}

JacSequenceNorms *
jac_sequence_norms_full (const JacSequence        *self,
                         gboolean                  singular_values_for_all,
                         JacSequenceCursor        *seed,
                         GCancellable             *cancellable,
                         JacSequenceProgressFunc   progress,
                         gpointer                  progress_data,
                         GError                  **error)
{
  g_autoptr(JacSequenceNorms) norms = NULL;
  g_autofree double *left = NULL;
  g_autofree double *right = NULL;
  g_autofree double *image = NULL;
  g_autofree double *scratch = NULL;
  g_autofree double *values = NULL;
  NormsRun run;
  gsize entries, n_values, steps;
  gboolean ok;

  g_return_val_if_fail (self != NULL, NULL);

  norms = g_new0 (JacSequenceNorms, 1);
  norms->steps = self->config.steps;
  norms->batch = self->config.config.batch;
  norms->hidden = self->config.config.hidden;
  norms->spectral_radius = self->spectral_radius;
  entries = norms->steps * norms->batch;  /* below the states' (T + 1) N H, so no overflow */
  for (guint k = 0; k < JAC_SEQUENCE_N_NORMS; k++)
    norms->log10[k] = g_new0 (double, entries);
  if (singular_values_for_all)
    {
      if (!g_size_checked_mul (&n_values, entries, norms->hidden)
          || (norms->singular_values = g_try_new0 (double, n_values)) == NULL)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                       "not enough memory for the singular values of %" G_GSIZE_FORMAT
                       " blocks", entries);
          return NULL;
        }
    }

  left = g_new (double, norms->batch * norms->hidden);
  right = g_new (double, norms->hidden);
  image = g_new (double, norms->hidden);
  scratch = g_new (double, norms->hidden * norms->hidden);
  values = g_new (double, norms->hidden);
  start_vectors (left, norms->batch, norms->hidden);
  run = (NormsRun) { norms, singular_values_for_all, left, right, image, scratch, values };
  run.cancellable = cancellable;
  run.progress = progress;
  run.progress_data = progress_data;
  steps = LANCZOS_MAX_STEPS + 1;
  run.left_basis = g_new (double, steps * norms->hidden);
  run.right_basis = g_new (double, steps * norms->hidden);
  run.alpha = g_new0 (double, steps);
  run.beta = g_new0 (double, steps);
  run.diag = g_new0 (double, steps);
  run.off = g_new0 (double, steps);
  run.ritz = g_new0 (double, steps);
  run.ritz_work = g_new0 (double, steps);
  ok = _jac_sequence_chain (self, self->config.steps, norms_lag_cb, &run, seed, error);
  g_free (run.left_basis);
  g_free (run.right_basis);
  g_free (run.alpha);
  g_free (run.beta);
  g_free (run.diag);
  g_free (run.off);
  g_free (run.ritz);
  g_free (run.ritz_work);
  if (!ok)
    return NULL;
  if (progress != NULL)
    progress (1.0, progress_data);
  return g_steal_pointer (&norms);
}

void
jac_sequence_norms_free (JacSequenceNorms *norms)
{
  if (norms == NULL)
    return;
  for (guint k = 0; k < JAC_SEQUENCE_N_NORMS; k++)
    g_free (norms->log10[k]);
  g_free (norms->singular_values);
  g_free (norms);
}

double
jac_sequence_norms_get_log10 (const JacSequenceNorms *norms,
                              JacSequenceNorm         norm,
                              gsize                   lag,
                              gsize                   row)
{
  g_return_val_if_fail (norms != NULL && norm < JAC_SEQUENCE_N_NORMS, NAN);
  g_return_val_if_fail (lag >= 1 && lag <= norms->steps && row < norms->batch, NAN);

  return norms->log10[norm][(lag - 1) * norms->batch + row];
}

double
jac_sequence_norms_get (const JacSequenceNorms *norms,
                        JacSequenceNorm         norm,
                        gsize                   lag,
                        gsize                   row)
{
  g_return_val_if_fail (norms != NULL, 0.0);

  return pow (10, jac_sequence_norms_get_log10 (norms, norm, lag, row));
}

/* ---- the lesson ---- */

JacSequenceFate
jac_sequence_norms_fate (const JacSequenceNorms *norms,
                         JacSequenceNorm         norm,
                         gsize                   lag)
{
  double tolerance = log10 (1 + JAC_SEQUENCE_STAYS_TOLERANCE);
  double band = log10 (JAC_SEQUENCE_STAYS_BAND);
  gsize above = 0, below = 0;

  g_return_val_if_fail (norms != NULL && lag >= 1 && lag <= norms->steps,
                        JAC_SEQUENCE_MIXED);

  for (gsize i = 0; i < norms->batch; i++)
    {
      double log_norm = jac_sequence_norms_get_log10 (norms, norm, lag, i);
      double rate = log_norm / lag;

      if (fabs (log_norm) <= band)
        continue;
      above += rate > tolerance;
      below += rate < -tolerance;
    }
  /* Rows that stay do not contradict the others' trend. */
  if (above == 0 && below == 0)
    return JAC_SEQUENCE_STAYS;
  if (above == 0)
    return JAC_SEQUENCE_VANISHES;
  if (below == 0)
    return JAC_SEQUENCE_EXPLODES;
  return JAC_SEQUENCE_MIXED;
}

double
jac_sequence_mean_slope (const JacSequence *self)
{
  g_return_val_if_fail (self != NULL, NAN);

  return self->mean_slope;
}

char *
jac_sequence_lesson (const JacSequence      *self,
                     const JacSequenceNorms *norms,
                     JacSequenceNorm         norm,
                     gsize                   lag)
{
  g_autoptr(GString) text = g_string_new (NULL);
  double low = INFINITY, high = -INFINITY;
  JacSequenceFate fate;

  g_return_val_if_fail (self != NULL && norms != NULL, NULL);
  g_return_val_if_fail (lag >= 1 && lag <= norms->steps, NULL);

  for (gsize i = 0; i < norms->batch; i++)
    {
      double rate = jac_sequence_norms_get_log10 (norms, norm, lag, i) / lag;

      low = MIN (low, rate);
      high = MAX (high, rate);
    }
  fate = jac_sequence_norms_fate (norms, norm, lag);
  g_string_append (text, fate == JAC_SEQUENCE_STAYS ? "stays ≈ 1"
                         : fate == JAC_SEQUENCE_VANISHES ? "< 1: vanishes"
                         : fate == JAC_SEQUENCE_EXPLODES ? "> 1: explodes"
                         : "rows on both sides of 1");
  if (isfinite (low) && isfinite (high))
    {
      g_string_append_printf (text, " (×%.3g", pow (10, low));
      if (high - low > 1e-3)
        g_string_append_printf (text, "–%.3g", pow (10, high));
      g_string_append (text, " per step)");
    }
  /* The gain says explode, the norms vanish: the activation's slope is what pulls them down. */
  if (self->config.cell == JAC_CELL_RNN && fate == JAC_SEQUENCE_VANISHES
      && self->spectral_radius > 1 + JAC_SEQUENCE_STAYS_TOLERANCE
      && self->config.config.activation != JAC_FUNC_IDENTITY)
    {
      double slope = jac_sequence_mean_slope (self);

      g_string_append_printf (text, " — ρ = %.3g > 1, but %s saturates: mean φ′ = %.2f, "
                              "ρ · φ′ = %.2f < 1; try identity",
                              self->spectral_radius, jac_func_name (self->config.config.activation),
                              slope, self->spectral_radius * slope);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

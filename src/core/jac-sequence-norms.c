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

/* Multiplies column l of every block i of @blocks by S[i,l] (the diag(S) of the next factor)
 * into @out (which may be @blocks) and, when the block drifts far from 1, by a power of two that
 * moves into @exponent: exact, so the stored products agree with the unscaled chain to rounding. */
static void
scale_columns (gsize         n,
               gsize         h,
               const double *slope,
               const double *max_abs,
               const double *blocks,
               double       *out,
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
          const double *row = blocks + (i * h + j) * h;
          double *row_out = out + (i * h + j) * h;

          for (gsize l = 0; l < h; l++)
            row_out[l] = row[l] * factor[l];
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
  JacTensor *swap, *scaled;

  g_return_if_fail (state->lag < self->config.steps);

  if (self->config.cell != JAC_CELL_RNN)
    {
      _jac_chain_gated_advance (state);
      return;
    }
  /* B^(lag+1) = B^(lag) · diag(S_{T−lag}) W_hhᵀ, all rows in one GEMM; B^(lag) scaled in place,
   * or into a buffer of its own when its blocks are kept. */
  scaled = state->scaled != NULL ? state->scaled : state->product;
  scale_columns (n, h, jac_sequence_slope (self, self->config.steps - state->lag),
                 state->max_abs, state->product->data, scaled->data, state->exponent,
                 state->factor);
  jac_gemm (FALSE, TRUE, n * h, h, h, 1.0, scaled->data, h, self->w_hh->data, h, 0.0,
            state->next->data, h);
  swap = state->product, state->product = state->next, state->next = swap;
  state->blocks = state->product;
  state->lag++;
  rnn_stats (state);
}

gboolean
_jac_chain_keep_blocks (JacSequenceChainState  *state,
                        GError                **error)
{
  if (state->keep_blocks)
    return TRUE;
  /* The RNN scales B^(lag) into a buffer of its own; a gated cell extracts into two in turn. */
  if (state->sequence->config.cell == JAC_CELL_RNN
      ? (state->scaled = jac_tensor_try_new (3, state->product->shape, error)) == NULL
      : (state->spare = jac_tensor_try_new (3, state->blocks->shape, error)) == NULL)
    return FALSE;
  state->keep_blocks = TRUE;
  return TRUE;
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
  g_clear_pointer (&state->spare, jac_tensor_free);
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
_jac_chain_save_into (JacSequenceChainState       *saved,
                      const JacSequenceChainState *from)
{
  gsize n = from->sequence->config.config.batch;

  g_return_if_fail (saved->sequence == from->sequence
                    && saved->product->size == from->product->size);

  saved->lag = from->lag;
  memcpy (saved->product->data, from->product->data, from->product->size * sizeof (double));
  memcpy (saved->exponent, from->exponent, n * sizeof (int));
  memcpy (saved->sum_squares, from->sum_squares, n * sizeof (double));
  memcpy (saved->max_abs, from->max_abs, n * sizeof (double));
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

/* The inner loops below run on whatever x86-64 this is: built for the baseline and for
 * x86-64-v3 (AVX2 and FMA) too, chosen when the program loads (GCC's and clang's target_clones,
 * through glibc's ifunc), since a distribution's build cannot assume AVX2. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__GLIBC__) \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 11))
#define VECTOR_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

/* One thread's scratch for the norms of a block. */
typedef struct
{
  double *basis;                /* (LANCZOS_MAX_STEPS + 1) × H: Lanczos vectors */
  double *alpha, *beta, *ritz, *ritz_work;  /* LANCZOS_MAX_STEPS + 1 each */
  double *right;                /* H */
  double *scratch;              /* H × H, for dgesvd_ */
  double *values;               /* H */
  gsize   n_lanczos_steps;
  gsize   n_svd;
} NormsWork;

typedef struct
{
  JacSequenceNorms *norms;
  gboolean          all_singular_values;
  double           *left;      /* N × H: each row's estimate of its block's top left vector */
  NormsWork         work[2];   /* one per thread */
  GCancellable     *cancellable;
  JacSequenceProgressFunc progress;
  gpointer          progress_data;
} NormsRun;

/* One lag's blocks as they were when the chain reached it: the blocks stay in place (the chain
 * keeps them), the per-row numbers are copied, since the chain's next step rewrites them. */
typedef struct
{
  NormsRun     *run;
  gsize         lag;
  const double *blocks;
  int          *exponent;
  double       *sum_squares;
  double       *max_abs;
  gint          next_row;      /* atomic: rows are taken one at a time by either thread */
  gint          failed;        /* atomic: a row failed, the others stop */
  GError       *error[2];      /* each thread's own */
} LagJob;

static double
vector_norm (const double *v,
             gsize         n)
{
  double sum = 0;

  for (gsize e = 0; e < n; e++)
    sum += v[e] * v[e];
  return sqrt (sum);
}

/* The largest eigenvalue of the symmetric tridiagonal matrix with @diag (n) and @off (n − 1),
 * by bisection on Sturm counts: robust, and n is small. */
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

/* Four doubles in one vector register (SSE2 pairs in the baseline clone, AVX2 in the other),
 * loaded from any double's address: GCC's and clang's vector extensions, since at -O2 GCC does
 * not vectorize a loop whose trip count it does not know. */
typedef double Vec4 __attribute__ ((vector_size (32), aligned (8), may_alias));

/* The dot product of two rows, in eight partial sums (one sum would wait on each addition). */
static inline double
row_dot (const double *a,
         const double *b,
         gsize         h)
{
  Vec4 s0 = { 0 }, s1 = { 0 };
  double sum = 0;
  gsize c = 0;

  for (; c + 8 <= h; c += 8)
    {
      s0 += *(const Vec4 *) (a + c) * *(const Vec4 *) (b + c);
      s1 += *(const Vec4 *) (a + c + 4) * *(const Vec4 *) (b + c + 4);
    }
  for (; c < h; c++)
    sum += a[c] * b[c];
  s0 += s1;
  return ((s0[0] + s0[1]) + (s0[2] + s0[3])) + sum;
}

/* w += t · row (h). */
static inline void
row_axpy (double       *w,
          double        t,
          const double *row,
          gsize         h)
{
  gsize c = 0;

  for (; c + 4 <= h; c += 4)
    *(Vec4 *) (w + c) += t * *(const Vec4 *) (row + c);
  for (; c < h; c++)
    w[c] += t * row[c];
}

/* Removes from @w (h) its components along the @count unit vectors of @basis (rows h apart),
 * twice, which keeps Lanczos vectors orthogonal to working precision. */
VECTOR_CLONES static void
orthogonalize (double       *w,
               const double *basis,
               gsize         count,
               gsize         h)
{
  for (guint pass = 0; pass < 2; pass++)
    for (gsize c = 0; c < count; c++)
      row_axpy (w, -row_dot (w, basis + c * h, h), basis + c * h, h);
}

/* w = Bᵀ u (h): the rows of B added up, along memory. */
VECTOR_CLONES static void
block_transpose_apply (const double *block,
                       gsize         h,
                       const double *u,
                       double       *w)
{
  memset (w, 0, h * sizeof (double));
  for (gsize r = 0; r < h; r++)
    {
      row_axpy (w, u[r], block + r * h, h);
    }
}

/* w = B v (h). */
VECTOR_CLONES static void
block_apply (const double *block,
             gsize         h,
             const double *v,
             double       *w)
{
  for (gsize r = 0; r < h; r++)
    w[r] = row_dot (block + r * h, v, h);
}

/* w = c Bᵀ B v (h) in one pass over B: each row's dot with v, then the row added in while it is
 * still in the first-level cache, where B v and then Bᵀ of it would read B twice. */
VECTOR_CLONES static void
block_gram_apply (const double *block,
                  gsize         h,
                  double        c,
                  const double *v,
                  double       *w)
{
  memset (w, 0, h * sizeof (double));
  for (gsize r = 0; r < h; r++)
    {
      const double *row = block + r * h;

      row_axpy (w, c * row_dot (row, v, h), row, h);
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

/* σ_max of the stored block B (max |entry| @max_abs > 0) by the Lanczos process on A = s² Bᵀ B,
 * with s the power of two that brings max |entry| into [1, 2) (so A's entries neither under- nor
 * overflow, whatever the block's scale), started from Bᵀ @left and fully reorthogonalized. Its
 * Krylov space is Golub–Kahan–Lanczos bidiagonalization's, and each step reads B once instead of
 * twice. The largest eigenvalue θ of the tridiagonal T_m approaches λ_max(A) = s² σ_max² from
 * below, fast even when σ₂ is close to σ_max; the run stops when √θ / s changes by less than a
 * relative 1e-14 between steps. On return @left holds the Ritz vector's image B y / ‖B y‖, the
 * warm start for the next lag, whose left singular vectors change little. FALSE when the
 * estimate has not settled within the allowed steps. */
static gboolean
lanczos (NormsWork    *work,
         gsize         h,
         const double *block,
         double        max_abs,
         double       *left,
         double       *sigma)
{
  gsize m_max = MIN (h, LANCZOS_MAX_STEPS), m;
  double *v = work->basis, *alpha = work->alpha, *beta = work->beta;
  double s = ldexp (1, -ilogb (max_abs)), previous = 0, estimate = 0, theta = 0;
  gboolean settled = FALSE;

  block_transpose_apply (block, h, left, v);
  if (normalize (v, h) == 0)
    return FALSE;
  for (m = 0; m < m_max; m++)
    {
      double *w = v + (m + 1) * h;

      /* w = A v_m − α_m v_m − β_{m−1} v_{m−1}, then against every earlier v. */
      block_gram_apply (block, h, s * s, v + m * h, w);
      alpha[m] = row_dot (v + m * h, w, h);
      for (gsize e = 0; e < h; e++)
        w[e] -= alpha[m] * v[m * h + e] + (m > 0 ? beta[m - 1] * v[(m - 1) * h + e] : 0);
      orthogonalize (w, v, m + 1, h);
      beta[m] = normalize (w, h);
      work->n_lanczos_steps++;

      theta = tridiagonal_max_eigenvalue (alpha, beta, m + 1);
      estimate = sqrt (theta) / s;
      if (m >= 1 && estimate - previous <= LANCZOS_TOLERANCE * estimate)
        {
          settled = TRUE;
          m++;
          break;
        }
      previous = estimate;
      if (beta[m] <= 1e-14 * theta || m + 1 == h)
        {
          /* An invariant subspace (or all of it): the estimate is exact. */
          settled = TRUE;
          m++;
          break;
        }
    }

  /* Ritz vector y = V_m z for the top eigenvector z of T_m; the next start is B y. */
  tridiagonal_eigenvector (alpha, beta, m, theta, work->ritz, work->ritz_work);
  memset (work->right, 0, h * sizeof (double));
  for (gsize c = 0; c < m; c++)
    for (gsize e = 0; e < h; e++)
      work->right[e] += work->ritz[c] * v[c * h + e];
  block_apply (block, h, work->right, v);
  if (normalize (v, h) > 0)
    memcpy (left, v, h * sizeof (double));
  *sigma = estimate;
  return settled;
}

static gboolean
block_singular_values (NormsWork     *work,
                       gsize          h,
                       const double  *block,
                       GError       **error)
{
  memcpy (work->scratch, block, h * h * sizeof (double));
  work->n_svd++;
  return _jac_lapack_singular_values (work->scratch, h, work->values, error);
}

/* Row i's norms at the job's lag. */
static gboolean
row_norms (LagJob    *job,
           NormsWork *work,
           gsize      i,
           GError   **error)
{
  NormsRun *run = job->run;
  JacSequenceNorms *norms = run->norms;
  gsize n = norms->batch, h = norms->hidden;
  const double *block = job->blocks + i * h * h;
  gsize at = (job->lag - 1) * n + i;
  double scale = job->exponent[i] * G_LN2 / G_LN10;
  double sigma = 0;

  norms->log10[JAC_SEQUENCE_NORM_FROBENIUS][at] = 0.5 * log10 (job->sum_squares[i]) + scale;
  norms->log10[JAC_SEQUENCE_NORM_MAX_ABS][at] = log10 (job->max_abs[i]) + scale;
  if (job->max_abs[i] == 0)
    sigma = 0;
  else if (run->all_singular_values)
    {
      if (!block_singular_values (work, h, block, error))
        return FALSE;
      sigma = work->values[0];
      for (gsize r = 0; r < h; r++)
        norms->singular_values[at * h + r] = ldexp (work->values[r], job->exponent[i]);
    }
  else if (!lanczos (work, h, block, job->max_abs[i], run->left + i * h, &sigma))
    {
      if (!block_singular_values (work, h, block, error))
        return FALSE;
      sigma = work->values[0];
    }
  norms->log10[JAC_SEQUENCE_NORM_SPECTRAL][at] = log10 (sigma) + scale;
  return TRUE;
}

/* Takes the job's rows one at a time until none is left (or one fails). */
static void
lag_job_run (LagJob *job,
             guint   thread)
{
  gsize n = job->run->norms->batch;
  gint i;

  while (!g_atomic_int_get (&job->failed)
         && (i = g_atomic_int_add (&job->next_row, 1)) < (gint) n)
    if (!row_norms (job, &job->run->work[thread], (gsize) i, &job->error[thread]))
      {
        g_atomic_int_set (&job->failed, TRUE);
        break;
      }
}

static gpointer
lag_job_thread (gpointer data)
{
  lag_job_run (data, 1);
  return NULL;
}

static void
lag_job_start (LagJob                      *job,
               NormsRun                    *run,
               const JacSequenceChainState *state)
{
  gsize n = run->norms->batch;

  job->run = run;
  job->lag = state->lag;
  job->blocks = state->blocks->data;
  memcpy (job->exponent, state->exponent, n * sizeof (int));
  memcpy (job->sum_squares, state->sum_squares, n * sizeof (double));
  memcpy (job->max_abs, state->max_abs, n * sizeof (double));
  job->next_row = 0;
  job->failed = FALSE;
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

static void
norms_work_init (NormsWork *work,
                 gsize      h)
{
  gsize steps = LANCZOS_MAX_STEPS + 1;

  memset (work, 0, sizeof *work);
  work->basis = g_new (double, steps * h);
  work->alpha = g_new0 (double, steps);
  work->beta = g_new0 (double, steps);
  work->ritz = g_new0 (double, steps);
  work->ritz_work = g_new0 (double, steps);
  work->right = g_new (double, h);
  work->scratch = g_new (double, h * h);
  work->values = g_new (double, h);
}

static void
norms_work_clear (NormsWork *work)
{
  g_free (work->basis);
  g_free (work->alpha);
  g_free (work->beta);
  g_free (work->ritz);
  g_free (work->ritz_work);
  g_free (work->right);
  g_free (work->scratch);
  g_free (work->values);
}

typedef enum
{
  NORMS_ONE_THREAD,  /* the rows, then the next lag, on this thread */
  NORMS_SPLIT,       /* the rows on two threads, then the next lag with BLAS's threads */
  NORMS_OVERLAP,     /* the rows on a second thread while this one forms the next lag */
} NormsThreads;

/* How the two threads --threads allows share a lag (one thread: no sharing; blocks too small
 * to pay for a thread a lag: neither). A second BLAS thread gains little on the chain's GEMM
 * while H is small (N = 16, H = 128: 75–96 ms against 80–84 ms for the 40 GEMMs, measured), so
 * there the rows run beside a one-thread GEMM; from H = 192 the GEMM, whose work grows as H³
 * while Lanczos' grows as H², gains nearly 2× from the second thread (N = 64, H = 256, T = 200:
 * 16.6 s overlapped on one BLAS thread), and takes both, the rows following on both. */
static NormsThreads
norms_threads (const JacSequence *self)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;

  if (n < 2 || n * h * h < 65536 || jac_parallel_ranges (2, 1) < 2)
    return NORMS_ONE_THREAD;
  return h < 192 ? NORMS_OVERLAP : NORMS_SPLIT;
}

/* Every lag's norms: the chain forms B^(k) for k = 1 … T; the rows' norms of lag k are taken
 * by two threads, either while lag k + 1 is formed (overlapped: by the second thread, and by
 * this one once its GEMM is done), so that the Lanczos runs, which read each block from cache
 * at a small fraction of the GEMM's rate, overlap the chain instead of following it; or before
 * it (split), when the GEMM itself wants both threads. */
static gboolean
norms_run_chain (const JacSequence  *self,
                 NormsRun           *run,
                 JacSequenceCursor  *seed,
                 GError            **error)
{
  JacSequenceChainState state;
  gsize n = self->config.config.batch;
  NormsThreads threads = norms_threads (self);
  gboolean ok = TRUE;
  int blas_threads = jac_blas_get_threads ();
  g_autofree int *exponent = g_new (int, n);
  g_autofree double *sum_squares = g_new (double, n);
  g_autofree double *max_abs = g_new (double, n);
  LagJob job = { 0 };

  job.exponent = exponent;
  job.sum_squares = sum_squares;
  job.max_abs = max_abs;
  if (!_jac_chain_init (&state, self, error))
    return FALSE;
  if (threads == NORMS_OVERLAP && !_jac_chain_keep_blocks (&state, NULL))
    threads = NORMS_SPLIT;
  if (threads == NORMS_OVERLAP)
    _jac_blas_set_gemm_threads (1);
  for (;;)
    {
      GThread *helper = NULL;

      /* Between lags: a lag is at most N small SVDs, so Cancel answers within one. */
      if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (run->progress != NULL)
        run->progress ((double) (state.lag - 1) / self->config.steps, run->progress_data);
      lag_job_start (&job, run, &state);
      if (threads != NORMS_ONE_THREAD)
        helper = g_thread_try_new ("jac-norms", lag_job_thread, &job, NULL);
      if (seed != NULL)
        _jac_sequence_cursor_offer (seed, &state);
      /* Overlapped, forming the next lag runs beside the helper's rows (the chain keeps these
       * blocks), then this thread takes the rows left; otherwise the rows come first. */
      if (helper == NULL || threads != NORMS_OVERLAP)
        {
          lag_job_run (&job, 0);
          if (helper != NULL)
            g_thread_join (helper);
          helper = NULL;
        }
      if (state.lag < self->config.steps)
        _jac_chain_advance (&state);
      lag_job_run (&job, 0);
      if (helper != NULL)
        g_thread_join (helper);
      for (guint t = 0; t < 2; t++)
        if (job.error[t] != NULL)
          {
            if (ok)
              g_propagate_error (error, job.error[t]);
            else
              g_error_free (job.error[t]);
            job.error[t] = NULL;
            ok = FALSE;
          }
      if (!ok || job.lag == self->config.steps)
        break;
    }
  if (threads == NORMS_OVERLAP)
    _jac_blas_set_gemm_threads (blas_threads);
  _jac_chain_clear (&state);
  return ok;
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
  NormsRun run;
  gsize entries, n_values;
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
  start_vectors (left, norms->batch, norms->hidden);
  run = (NormsRun) { norms, singular_values_for_all, left };
  run.cancellable = cancellable;
  run.progress = progress;
  run.progress_data = progress_data;
  for (guint t = 0; t < 2; t++)
    norms_work_init (&run.work[t], norms->hidden);
  ok = norms_run_chain (self, &run, seed, error);
  for (guint t = 0; t < 2; t++)
    {
      norms->n_lanczos_steps += run.work[t].n_lanczos_steps;
      norms->n_svd += run.work[t].n_svd;
      norms_work_clear (&run.work[t]);
    }
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

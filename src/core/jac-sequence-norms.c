/* jac-sequence-norms.c: the running products B^(k) for every lag, and their norms. */
#define G_LOG_DOMAIN "jac-sequence"

#include <float.h>
#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-sequence-private.h"

#define LANCZOS_MAX_STEPS 48
#define LANCZOS_TOLERANCE 1e-14
#define LANCZOS_GEOMETRIC_TOLERANCE 1e-13

/* ---- the chain ---- */

/* B^(1)_i = diag(S_T[i,:]) W_hhᵀ: [j, q] = S_T[i,j] W_hh[q,j], for the state's rows. */
static void
first_blocks (const JacSequenceChainState *state,
              double                      *blocks)
{
  const JacSequence *self = state->sequence;
  gsize n = state->rows, h = self->config.config.hidden;
  const double *slope = jac_sequence_slope (self, self->config.steps) + state->row0 * h;

  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      {
        double *row = blocks + (i * h + j) * h;
        double s = slope[i * h + j];

        for (gsize q = 0; q < h; q++)
          row[q] = s * JAC_AT2 (self->w_hh, q, j);
      }
}

/* Σ v² and max |v| over a block, in eight lanes. */
JAC_VECTOR_CLONES static void
block_stats (const double *block,
             gsize         n_entries,
             double       *sum_squares,
             double       *max_abs)
{
  const JacVec4i sign = { G_MININT64, G_MININT64, G_MININT64, G_MININT64 };
  JacVec4 s0 = { 0 }, s1 = { 0 }, m0 = { 0 }, m1 = { 0 };
  double sum = 0, best = 0;
  gsize e = 0;

  for (; e + 8 <= n_entries; e += 8)
    {
      JacVec4 a = *(const JacVec4 *) (block + e), b = *(const JacVec4 *) (block + e + 4);
      JacVec4 abs_a = (JacVec4) ((JacVec4i) a & ~sign), abs_b = (JacVec4) ((JacVec4i) b & ~sign);
      JacVec4i more_a = abs_a > m0, more_b = abs_b > m1;

      s0 += a * a;
      s1 += b * b;
      m0 = (JacVec4) (((JacVec4i) abs_a & more_a) | ((JacVec4i) m0 & ~more_a));
      m1 = (JacVec4) (((JacVec4i) abs_b & more_b) | ((JacVec4i) m1 & ~more_b));
    }
  for (; e < n_entries; e++)
    {
      double v = fabs (block[e]);

      sum += v * v;
      best = MAX (best, v);
    }
  s0 += s1;
  /* A NaN anywhere makes the sum NaN; the maximum then is NaN too, as fmax would not say. */
  sum += (s0[0] + s0[1]) + (s0[2] + s0[3]);
  for (guint lane = 0; lane < 4; lane++)
    best = MAX (best, MAX (m0[lane], m1[lane]));
  *sum_squares = sum;
  *max_abs = isnan (sum) ? sum : best;
}

/* (Not cloned itself: clang resolves a cloned function only within its own file.) */
void
_jac_chain_rows_stats (JacSequenceChainState *state,
                       const double          *blocks,
                       gsize                  begin,
                       gsize                  end)
{
  gsize h = state->sequence->config.config.hidden;

  for (gsize i = begin; i < end; i++)
    block_stats (blocks + i * h * h, h * h, &state->sum_squares[i], &state->max_abs[i]);
}

/* out = row ⊙ factor (h), @out possibly @row. */
JAC_VECTOR_CLONES static void
scale_row (const double *row,
           const double *factor,
           gsize         h,
           double       *out)
{
  gsize l = 0;

  for (; l + 4 <= h; l += 4)
    *(JacVec4 *) (out + l) = *(const JacVec4 *) (row + l) * *(const JacVec4 *) (factor + l);
  for (; l < h; l++)
    out[l] = row[l] * factor[l];
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
        scale_row (blocks + (i * h + j) * h, factor, h, out + (i * h + j) * h);
    }
}

/* B^(lag+1) = B^(lag) · diag(S_{T−lag}) W_hhᵀ for rows [begin, end) of the state: B^(lag)
 * scaled in place, one GEMM, the new blocks' statistics. */
static void
rnn_advance_rows (gsize    begin,
                  gsize    end,
                  guint    range,
                  gpointer data)
{
  JacSequenceChainState *state = data;
  const JacSequence *self = state->sequence;
  gsize h = self->config.config.hidden, n = end - begin;
  double *product = state->product->data + begin * h * h, *next = state->next->data + begin * h * h;

  g_assert (range < state->ranges);
  scale_columns (n, h, jac_sequence_slope (self, self->config.steps - state->lag)
                       + (state->row0 + begin) * h,
                 state->max_abs + begin, product, product, state->exponent + begin,
                 state->factor + range * h);
  jac_gemm (FALSE, TRUE, n * h, h, h, 1.0, product, h, self->w_hh->data, h, 0.0, next, h);
  _jac_chain_rows_stats (state, state->next->data, begin, end);
}

/* Rows [0, rows) of the state by rows_func, on one thread or, for a whole batch's state, in
 * state->ranges ranges at once. */
void
_jac_chain_advance_rows (JacSequenceChainState *state,
                         JacRangeFunc           rows_func)
{
  /* Exactly the ranges the scratch was sized for, whatever --threads says now. */
  if (state->ranges > 1)
    jac_parallel_for_ranges (state->rows, state->ranges, rows_func, state);
  else
    rows_func (0, state->rows, 0, state);
}

static gboolean
chain_init (JacSequenceChainState  *state,
            const JacSequence      *self,
            gsize                   row0,
            gsize                   rows,
            guint                   ranges,
            GError                **error)
{
  gsize n = rows, h = self->config.config.hidden;
  gsize shape[3] = { n, h, h };

  g_return_val_if_fail (rows >= 1 && row0 + rows <= self->config.config.batch, FALSE);

  memset (state, 0, sizeof *state);
  state->sequence = self;
  state->row0 = row0;
  state->rows = rows;
  state->ranges = MAX (ranges, 1);
  state->lag = 1;
  state->exponent = g_new0 (int, n);
  state->sum_squares = g_new0 (double, n);
  state->max_abs = g_new0 (double, n);
  if (self->config.cell != JAC_CELL_RNN)
    return _jac_chain_gated_init (state, error);
  state->factor = g_new (double, state->ranges * h);
  if ((state->product = jac_tensor_new (3, shape, error)) == NULL
      || (self->config.steps > 1 && (state->next = jac_tensor_new (3, shape, error)) == NULL))
    {
      _jac_chain_clear (state);
      return FALSE;
    }
  state->blocks = state->product;
  first_blocks (state, state->product->data);
  _jac_chain_rows_stats (state, state->product->data, 0, n);
  return TRUE;
}

gboolean
_jac_chain_init_rows (JacSequenceChainState  *state,
                      const JacSequence      *self,
                      gsize                   row0,
                      gsize                   rows,
                      GError                **error)
{
  return chain_init (state, self, row0, rows, 1, error);
}

gboolean
_jac_chain_init (JacSequenceChainState  *state,
                 const JacSequence      *self,
                 GError                **error)
{
  return chain_init (state, self, 0, self->config.config.batch,
                     jac_parallel_ranges (self->config.config.batch, 1), error);
}

void
_jac_chain_advance (JacSequenceChainState *state)
{
  const JacSequence *self = state->sequence;
  JacTensor *swap;

  g_return_if_fail (state->lag < self->config.steps);

  if (self->config.cell != JAC_CELL_RNN)
    {
      _jac_chain_gated_advance (state);
      return;
    }
  _jac_chain_advance_rows (state, rnn_advance_rows);
  swap = state->product, state->product = state->next, state->next = swap;
  state->blocks = state->product;
  state->lag++;
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
  g_clear_pointer (&state->folded, jac_tensor_free);
  g_clear_pointer (&state->exponent, g_free);
  g_clear_pointer (&state->sum_squares, g_free);
  g_clear_pointer (&state->max_abs, g_free);
  g_clear_pointer (&state->factor, g_free);
}

JacSequenceChainState *
_jac_chain_save (const JacSequenceChainState *from)
{
  JacSequenceChainState *saved = g_new0 (JacSequenceChainState, 1);
  gsize n = from->rows;

  saved->sequence = from->sequence;
  saved->row0 = from->row0;
  saved->rows = from->rows;
  saved->rows_filled = from->rows;
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
  gsize n = from->rows;

  g_return_if_fail (saved->sequence == from->sequence && saved->row0 == from->row0
                    && saved->product->size == from->product->size);

  saved->lag = from->lag;
  saved->rows_filled = from->rows;
  memcpy (saved->product->data, from->product->data, from->product->size * sizeof (double));
  memcpy (saved->exponent, from->exponent, n * sizeof (int));
  memcpy (saved->sum_squares, from->sum_squares, n * sizeof (double));
  memcpy (saved->max_abs, from->max_abs, n * sizeof (double));
}

JacSequenceChainState *
_jac_chain_saved_new (const JacSequence *self,
                      gsize              lag)
{
  JacSequenceChainState *saved;
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  gsize shape[3] = { n, h, self->config.cell == JAC_CELL_LSTM ? 2 * h : h };
  JacTensor *product = jac_tensor_try_new (3, shape, NULL);

  if (product == NULL)
    return NULL;
  saved = g_new0 (JacSequenceChainState, 1);
  saved->sequence = self;
  saved->rows = n;
  saved->lag = lag;
  saved->product = product;
  saved->exponent = g_new0 (int, n);
  saved->sum_squares = g_new0 (double, n);
  saved->max_abs = g_new0 (double, n);
  return saved;
}

void
_jac_chain_save_rows (JacSequenceChainState       *saved,
                      const JacSequenceChainState *from)
{
  gsize row_size = from->product->size / from->rows;

  g_return_if_fail (saved->sequence == from->sequence && saved->lag == from->lag
                    && saved->row0 <= from->row0
                    && from->row0 + from->rows <= saved->row0 + saved->rows
                    && saved->product->size / saved->rows == row_size);

  memcpy (saved->product->data + (from->row0 - saved->row0) * row_size, from->product->data,
          from->product->size * sizeof (double));
  memcpy (saved->exponent + from->row0 - saved->row0, from->exponent, from->rows * sizeof (int));
  memcpy (saved->sum_squares + from->row0 - saved->row0, from->sum_squares,
          from->rows * sizeof (double));
  memcpy (saved->max_abs + from->row0 - saved->row0, from->max_abs, from->rows * sizeof (double));
  saved->rows_filled += from->rows;
}

void
_jac_chain_restore (JacSequenceChainState       *state,
                    const JacSequenceChainState *saved)
{
  gsize n = state->rows;

  g_return_if_fail (saved->sequence == state->sequence && saved->row0 == state->row0
                    && saved->rows == state->rows && saved->rows_filled == saved->rows);

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


/* One thread's scratch for the norms of a block. */
typedef struct
{
  double *basis;                /* (LANCZOS_MAX_STEPS + 1) × H: Lanczos vectors */
  double *alpha, *beta, *ritz, *ritz_work;  /* LANCZOS_MAX_STEPS + 1 each */
  double *images;               /* LANCZOS_MAX_STEPS × H: B v of each Lanczos vector */
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

/* Whether @lambda lies above every eigenvalue of the tridiagonal matrix (every LDLᵀ pivot of
 * λ I − T positive), and then the Newton step f / f′ for f (λ) = det (λ I − T) into @step:
 * f′ / f = Σ d′_e / d_e over the pivots d_e and their derivatives. */
static gboolean
above_spectrum (const double *diag,
                const double *off,
                gsize         n,
                double        lambda,
                double       *step)
{
  double d = 1, d_prime = 0, sum = 0;

  for (gsize e = 0; e < n; e++)
    {
      double o2 = e > 0 ? off[e - 1] * off[e - 1] : 0;
      double ratio = e > 0 ? o2 / d : 0;

      d_prime = 1 + (e > 0 ? ratio * d_prime / d : 0);
      d = lambda - diag[e] - ratio;
      if (!(d > 0))
        return FALSE;
      sum += d_prime / d;
    }
  *step = 1 / sum;
  return TRUE;
}

/* The same largest eigenvalue, given @lower, that of T's leading (n − 1) × (n − 1) part (which
 * interlacing puts below it), and @increment, about how far above @lower it lies (the last
 * step's move): Newton's method on the characteristic polynomial, whose roots are all real,
 * descends monotonically onto the largest one from any point above it, in two or three steps
 * from a close start where bisection takes fifty. The start is @lower plus 2, 8, 32 … times
 * @increment, the first found above the spectrum, else Gershgorin's bound (bisection should
 * even that fail, or Newton not settle). */
static double
tridiagonal_top_eigenvalue (const double *diag,
                            const double *off,
                            gsize         n,
                            double        lower,
                            double        increment)
{
  double lambda = 0, step = 0, hi = -G_MAXDOUBLE;
  gboolean above = FALSE;

  if (n == 1)
    return diag[0];
  if (n == 2)
    {
      double mean = (diag[0] + diag[1]) / 2, half = (diag[0] - diag[1]) / 2;

      return mean + hypot (half, off[0]);
    }
  increment = MAX (increment, 4 * DBL_EPSILON * fabs (lower));
  for (guint k = 0; k < 5 && !above && isfinite (lower + increment); k++, increment *= 4)
    above = above_spectrum (diag, off, n, lambda = lower + 2 * increment, &step);
  if (!above)
    {
      for (gsize e = 0; e < n; e++)
        hi = MAX (hi, diag[e] + (e > 0 ? fabs (off[e - 1]) : 0) + (e + 1 < n ? fabs (off[e]) : 0));
      lambda = hi + 4 * DBL_EPSILON * fabs (hi) + G_MINDOUBLE;
      if (!above_spectrum (diag, off, n, lambda, &step))
        return tridiagonal_max_eigenvalue (diag, off, n);
    }
  for (guint it = 0; it < 100; it++)
    {
      double next = lambda - step, next_step;

      if (!(next < lambda))
        return lambda;
      /* Past the root: only rounding does that (Newton from above stays above, and above the
       * largest eigenvalue every pivot is positive), so next is within rounding of it. */
      if (!above_spectrum (diag, off, n, next, &next_step))
        return MAX (next, lower);
      lambda = next, step = next_step;
      if (step <= 2 * DBL_EPSILON * lambda)
        return lambda - step;
    }
  return tridiagonal_max_eigenvalue (diag, off, n);
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


/* The dot product of two rows, in eight partial sums (one sum would wait on each addition). */
static inline double
row_dot (const double *a,
         const double *b,
         gsize         h)
{
  JacVec4 s0 = { 0 }, s1 = { 0 };
  double sum = 0;
  gsize c = 0;

  for (; c + 8 <= h; c += 8)
    {
      s0 += *(const JacVec4 *) (a + c) * *(const JacVec4 *) (b + c);
      s1 += *(const JacVec4 *) (a + c + 4) * *(const JacVec4 *) (b + c + 4);
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
    *(JacVec4 *) (w + c) += t * *(const JacVec4 *) (row + c);
  for (; c < h; c++)
    w[c] += t * row[c];
}

/* Removes from @w (h) its components along the @count unit vectors of @basis (rows h apart),
 * twice, which keeps Lanczos vectors orthogonal to working precision. */
JAC_VECTOR_CLONES static void
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
JAC_VECTOR_CLONES static void
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

/* w = c Bᵀ B v (h) in one pass over B, B v kept in @bv, four rows at a time: their dots with v
 * (four independent sums, where one row's would wait on each addition), then the four rows
 * added into w at once while they are still in the first-level cache (B v and then Bᵀ of it
 * would read B twice). */
JAC_VECTOR_CLONES static void
block_gram_apply (const double *block,
                  gsize         h,
                  double        c,
                  const double *v,
                  double       *w,
                  double       *bv)
{
  gsize r = 0;

  memset (w, 0, h * sizeof (double));
  for (; r + 4 <= h; r += 4)
    {
      const double *r0 = block + r * h, *r1 = r0 + h, *r2 = r1 + h, *r3 = r2 + h;
      JacVec4 s0 = { 0 }, s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
      double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
      gsize l = 0;

      for (; l + 4 <= h; l += 4)
        {
          JacVec4 x = *(const JacVec4 *) (v + l);

          s0 += *(const JacVec4 *) (r0 + l) * x;
          s1 += *(const JacVec4 *) (r1 + l) * x;
          s2 += *(const JacVec4 *) (r2 + l) * x;
          s3 += *(const JacVec4 *) (r3 + l) * x;
        }
      for (gsize e = l; e < h; e++)
        {
          t0 += r0[e] * v[e];
          t1 += r1[e] * v[e];
          t2 += r2[e] * v[e];
          t3 += r3[e] * v[e];
        }
      t0 = ((s0[0] + s0[1]) + (s0[2] + s0[3])) + t0;
      t1 = ((s1[0] + s1[1]) + (s1[2] + s1[3])) + t1;
      t2 = ((s2[0] + s2[1]) + (s2[2] + s2[3])) + t2;
      t3 = ((s3[0] + s3[1]) + (s3[2] + s3[3])) + t3;
      bv[r] = t0, bv[r + 1] = t1, bv[r + 2] = t2, bv[r + 3] = t3;
      t0 *= c, t1 *= c, t2 *= c, t3 *= c;
      for (l = 0; l + 4 <= h; l += 4)
        *(JacVec4 *) (w + l) += (t0 * *(const JacVec4 *) (r0 + l) + t1 * *(const JacVec4 *) (r1 + l))
                             + (t2 * *(const JacVec4 *) (r2 + l) + t3 * *(const JacVec4 *) (r3 + l));
      for (gsize e = l; e < h; e++)
        w[e] += (t0 * r0[e] + t1 * r1[e]) + (t2 * r2[e] + t3 * r3[e]);
    }
  for (; r < h; r++)
    {
      const double *row = block + r * h;

      bv[r] = row_dot (row, v, h);
      row_axpy (w, c * bv[r], row, h);
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
  double change = 0, previous_change = 0, previous_theta = 0, theta_move = 0;
  gboolean settled = FALSE;

  block_transpose_apply (block, h, left, v);
  if (normalize (v, h) == 0)
    return FALSE;
  for (m = 0; m < m_max; m++)
    {
      double *w = v + (m + 1) * h;

      /* w = A v_m − α_m v_m − β_{m−1} v_{m−1}, then against every earlier v. */
      block_gram_apply (block, h, s * s, v + m * h, w, work->images + m * h);
      alpha[m] = row_dot (v + m * h, w, h);
      for (gsize e = 0; e < h; e++)
        w[e] -= alpha[m] * v[m * h + e] + (m > 0 ? beta[m - 1] * v[(m - 1) * h + e] : 0);
      orthogonalize (w, v, m + 1, h);
      beta[m] = normalize (w, h);
      work->n_lanczos_steps++;

      theta = tridiagonal_top_eigenvalue (alpha, beta, m + 1, theta, theta_move);
      estimate = sqrt (theta) / s;
      change = estimate - previous;
      /* Settled when the estimate moved by less than 1e-14 of itself, or when it converges
       * geometrically (each move at most half the one before) and the moves still to come, at
       * most change · r / (1 − r) with r the last ratio, are below 1e-12 of it. */
      if (m >= 1 && (change <= LANCZOS_TOLERANCE * estimate
                     || (m >= 2 && change <= 0.5 * previous_change
                         && change * change / (previous_change - change)
                            <= LANCZOS_GEOMETRIC_TOLERANCE * estimate)))
        {
          settled = TRUE;
          m++;
          break;
        }
      /* Next step's θ lies a little above this one: by about this step's move. */
      theta_move = theta - previous_theta;
      previous_theta = theta;
      previous_change = m >= 1 ? change : G_MAXDOUBLE;
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
  /* B y = Σ_c z_c B v_c, from the images each step's pass kept (a pass over B saved). */
  memset (v, 0, h * sizeof (double));
  for (gsize c = 0; c < m; c++)
    for (gsize e = 0; e < h; e++)
      v[e] += work->ritz[c] * work->images[c * h + e];
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

/* Batch row i's norms at @lag, from its stored block (times 2^@exponent). */
static gboolean
block_norms (NormsRun     *run,
             NormsWork    *work,
             gsize         lag,
             gsize         i,
             const double *block,
             int           exponent,
             double        sum_squares,
             double        max_abs,
             GError      **error)
{
  JacSequenceNorms *norms = run->norms;
  gsize n = norms->batch, h = norms->hidden;
  gsize at = (lag - 1) * n + i;
  double scale = exponent * G_LN2 / G_LN10;
  double sigma = 0;

  norms->log10[JAC_SEQUENCE_NORM_FROBENIUS][at] = 0.5 * log10 (sum_squares) + scale;
  norms->log10[JAC_SEQUENCE_NORM_MAX_ABS][at] = log10 (max_abs) + scale;
  if (max_abs == 0)
    sigma = 0;
  else if (run->all_singular_values)
    {
      if (!block_singular_values (work, h, block, error))
        return FALSE;
      sigma = work->values[0];
      for (gsize r = 0; r < h; r++)
        norms->singular_values[at * h + r] = ldexp (work->values[r], exponent);
    }
  else if (!lanczos (work, h, block, max_abs, run->left + i * h, &sigma))
    {
      if (!block_singular_values (work, h, block, error))
        return FALSE;
      sigma = work->values[0];
    }
  norms->log10[JAC_SEQUENCE_NORM_SPECTRAL][at] = log10 (sigma) + scale;
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
  work->images = g_new (double, steps * h);
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
  g_free (work->images);
  g_free (work->scratch);
  g_free (work->values);
}

/* ---- the batch in groups of rows, each group's chain on a thread of its own ---- */

typedef struct
{
  const JacSequence *sequence;
  NormsRun          *run;
  JacSequenceCursor *seed;
  gsize              group_rows, n_groups;
  gint               next_group;  /* atomic: groups are taken one at a time by any thread */
  gint               failed;      /* atomic: a group failed (or was cancelled), the others stop */
  gint               lags_done;   /* atomic: (group, lag) pairs done, for the progress */
  GError            *error[2];    /* each thread's own */
} GroupsJob;

/* One group's chain, lag after lag, each lag's rows' norms taken while its blocks are in cache. */
static gboolean
group_run (GroupsJob *job,
           guint      thread,
           gsize      row0,
           gsize      rows,
           GError   **error)
{
  const JacSequence *self = job->sequence;
  NormsRun *run = job->run;
  gsize h = self->config.config.hidden, steps = self->config.steps;
  JacSequenceChainState state;
  gboolean ok = TRUE;

  if (!_jac_chain_init_rows (&state, self, row0, rows, error))
    return FALSE;
  for (;;)
    {
      if (g_atomic_int_get (&job->failed)
          || g_cancellable_set_error_if_cancelled (run->cancellable, error))
        {
          ok = FALSE;
          break;
        }
      for (gsize r = 0; r < rows && ok; r++)
        ok = block_norms (run, &run->work[thread], state.lag, row0 + r,
                          state.blocks->data + r * h * h, state.exponent[r],
                          state.sum_squares[r], state.max_abs[r], error);
      if (!ok)
        break;
      if (job->seed != NULL)
        _jac_sequence_cursor_offer (job->seed, &state);
      g_atomic_int_inc (&job->lags_done);
      if (thread == 0 && run->progress != NULL)
        run->progress ((double) g_atomic_int_get (&job->lags_done) / (steps * job->n_groups),
                       run->progress_data);
      if (state.lag == steps)
        break;
      _jac_chain_advance (&state);
    }
  _jac_chain_clear (&state);
  return ok;
}

static void
groups_job_run (GroupsJob *job,
                guint      thread)
{
  gsize n = job->sequence->config.config.batch;
  /* One group a thread at a time: its GEMMs on this thread, whatever their size. */
  gboolean was = _jac_blas_set_serial (job->n_groups >= 2);
  gint g;

  while (!g_atomic_int_get (&job->failed)
         && (g = g_atomic_int_add (&job->next_group, 1)) < (gint) job->n_groups)
    {
      gsize row0 = (gsize) g * job->group_rows;

      if (!group_run (job, thread, row0, MIN (job->group_rows, n - row0), &job->error[thread]))
        {
          g_atomic_int_set (&job->failed, TRUE);
          break;
        }
    }
  _jac_blas_set_serial (was);
}

static gpointer
groups_job_thread (gpointer data)
{
  groups_job_run (data, 1);
  return NULL;
}

/* Rows per group: as many as keep a group's product and the next one within a quarter of a
 * megabyte (a core's second-level cache holds them and W_hh), at least one, and at least four
 * groups, so that two threads end together even when the rows' Lanczos runs differ in length. */
static gsize
group_rows (const JacSequence *self)
{
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  gsize m = self->config.cell == JAC_CELL_LSTM ? 2 * h : h;
  gsize row_bytes = 2 * h * m * sizeof (double);

  return CLAMP ((gsize) (1024 << 10) / row_bytes, 1, MAX (n / 4, 1));
}

/* Every lag's norms. Each row's products B^(1) … B^(T) depend on that row alone, so the batch
 * goes in groups of rows (group_rows ()), and each group's whole chain runs on one thread, lag
 * after lag, each lag's Lanczos runs reading the group's blocks while the GEMM that formed them
 * left them in cache; two threads take the groups in turn, each GEMM on one BLAS thread, and no
 * thread waits on another until the last group. (Lag by lag over the whole batch, with the
 * rows' norms on a second thread beside one GEMM on both, took 2.0–4.4× the floor's GEMMs at
 * N = 16, H = 128, T = 40; this 1.2–1.7×, measured.) A batch of one row is one group, its
 * GEMMs on BLAS's threads. */
static gboolean
norms_run_groups (const JacSequence  *self,
                  NormsRun           *run,
                  JacSequenceCursor  *seed,
                  GError            **error)
{
  GroupsJob job = { self, run, seed };
  gsize n = self->config.config.batch, h = self->config.config.hidden;
  GThread *helper = NULL;
  gboolean ok = TRUE;

  job.group_rows = group_rows (self);
  job.n_groups = (n + job.group_rows - 1) / job.group_rows;
  if (run->progress != NULL)
    run->progress (0.0, run->progress_data);
  /* Blocks too small to pay for a thread: all groups on this one. */
  if (job.n_groups >= 2 && n * h * h >= 65536 && jac_parallel_ranges (2, 1) >= 2)
    helper = g_thread_try_new ("jac-norms", groups_job_thread, &job, NULL);
  groups_job_run (&job, 0);
  if (helper != NULL)
    g_thread_join (helper);
  for (guint t = 0; t < 2; t++)
    if (job.error[t] != NULL)
      {
        if (ok)
          g_propagate_error (error, job.error[t]);
        else
          g_error_free (job.error[t]);
        ok = FALSE;
      }
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
  ok = norms_run_groups (self, &run, seed, error);
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

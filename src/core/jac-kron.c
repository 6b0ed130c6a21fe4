/* jac-kron.c: the matricized Jacobian and its Kronecker form, found from the δs and the core. */
#define G_LOG_DOMAIN "jac-kron"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-derive-private.h"
#include "jac-kron.h"

/* ---- the one place that reads a structured Jacobian ----
 *
 * A KronView is one δ term seen as J[i, j, p, q] with the output and the variable padded to
 * matrices. Only kron_view_init () looks inside JacStructured; everything after reads the core
 * through the view's strides (kron_view_get (), split_row ()), so that each δ term can get its
 * own view (and a Jacobian of several terms has no Kronecker form unless it merges into one). */
typedef struct
{
  const JacStructured *term;
  gsize    n, h, p, q;     /* out N×H, variable P×Q */
  gboolean tie_rows;       /* δ_ip */
  gboolean tie_cols;       /* δ_jq */
  gboolean crossed;        /* a δ between a row and a column index (δ_iq, δ_jp) */
  /* On the δs' support the entry (i, j, p, q) is data[i·si + j·sj + p·sp + q·sq]: a tied or
   * padded index has stride 0, so the core is read in place instead of through
   * jac_structured_get (), which costs a stride walk per entry (seconds on 64 M entries). */
  const double *data;
  gsize    si, sj, sp, sq;
} KronView;

static void
kron_view_init (KronView            *view,
                const JacStructured *term)
{
  guint out_offset = 2 - term->out_rank;
  guint wrt_offset = 2 - term->wrt_rank;
  gsize out_shape[2] = { 1, 1 };
  gsize wrt_shape[2] = { 1, 1 };
  gsize out_stride[2] = { 0, 0 };
  gsize wrt_stride[2] = { 0, 0 };
  guint c = 0;

  memset (view, 0, sizeof *view);
  view->term = term;
  for (guint a = 0; a < term->out_rank; a++)
    out_shape[a + out_offset] = term->out_shape[a];
  for (guint t = 0; t < term->wrt_rank; t++)
    wrt_shape[t + wrt_offset] = term->wrt_shape[t];
  view->n = out_shape[0];
  view->h = out_shape[1];
  view->p = wrt_shape[0];
  view->q = wrt_shape[1];

  for (guint a = 0; a < term->out_rank; a++)
    {
      guint out_axis = a + out_offset;
      guint wrt_axis;

      if (term->pair[a] < 0)
        continue;
      wrt_axis = (guint) term->pair[a] + wrt_offset;
      if (out_axis == 0 && wrt_axis == 0)
        view->tie_rows = TRUE;
      else if (out_axis == 1 && wrt_axis == 1)
        view->tie_cols = TRUE;
      else
        view->crossed = TRUE;
    }

  if (term->n_terms != 1 || term->core == NULL)
    return;
  view->data = term->core->data;
  for (guint a = 0; a < term->out_rank; a++)
    out_stride[a + out_offset] = term->core->strides[c++];
  for (guint t = 0; t < term->wrt_rank; t++)
    if (jac_structured_wrt_axis_is_free (term, 0, t))
      wrt_stride[t + wrt_offset] = term->core->strides[c++];
  view->si = out_stride[0];
  view->sj = out_stride[1];
  view->sp = wrt_stride[0];
  view->sq = wrt_stride[1];
}

/* J[i, j, p, q] on the δs' support (p = i under δ_ip, q = j under δ_jq); every caller stays on
 * it, and jac_structured_get () is the reference the tests hold this against. */
static inline double
kron_view_get (const KronView *view,
               gsize           i,
               gsize           j,
               gsize           p,
               gsize           q)
{
  return view->data[i * view->si + j * view->sj + p * view->sp + q * view->sq];
}

/* ---- splitting the core ----
 *
 * Both one-δ forms are the same problem: for every value g of the untied index (j for δ_ip, i
 * for δ_jq) the entries c[t, f] (t the tied index, f the variable's free index) must form a
 * rank-1 matrix s[t] a[f]. Row t of group g starts at data + g·sg + t·st and steps by sf. */
typedef struct
{
  const KronView *view;
  gboolean        left;   /* δ_ip: g = j, t = i, f = q; else δ_jq: g = i, t = j, f = p */
  gsize           n_groups, n_tied, n_free;
  gsize           sg, st, sf;
} KronSplit;

static void
split_init (KronSplit      *split,
            const KronView *view)
{
  split->view = view;
  split->left = view->tie_rows;
  split->n_groups = split->left ? view->h : view->n;
  split->n_tied = split->left ? view->n : view->h;
  split->n_free = split->left ? view->q : view->p;
  split->sg = split->left ? view->sj : view->si;
  split->st = split->left ? view->si + view->sp : view->sj + view->sq;
  split->sf = split->left ? view->sq : view->sp;
}

static inline const double *
split_row (const KronSplit *split,
           gsize            g,
           gsize            t)
{
  return split->view->data + g * split->sg + t * split->st;
}

static double *
scale_at (JacTensor       *scale,
          const KronSplit *split,
          gsize            g,
          gsize            t)
{
  return split->left ? &JAC_AT2 (scale, t, g) : &JAC_AT2 (scale, g, t);
}

static double
row_max_abs (const double *row,
             gsize         n,
             gsize         stride)
{
  double m[4] = { 0, 0, 0, 0 };
  gsize f = 0;

  if (stride == 1)
    for (; f + 4 <= n; f += 4)
      for (guint k = 0; k < 4; k++)
        m[k] = MAX (m[k], fabs (row[f + k]));
  for (; f < n; f++)
    m[0] = MAX (m[0], fabs (row[f * stride]));
  return MAX (MAX (m[0], m[1]), MAX (m[2], m[3]));
}

static double
row_dot (const double *row,
         gsize         stride,
         const double *a,
         gsize         n)
{
  double d[4] = { 0, 0, 0, 0 };
  gsize f = 0;

  if (stride == 1)
    for (; f + 4 <= n; f += 4)
      for (guint k = 0; k < 4; k++)
        d[k] += row[f + k] * a[f + k];
  for (; f < n; f++)
    d[0] += row[f * stride] * a[f];
  return (d[0] + d[1]) + (d[2] + d[3]);
}

/* max_f |row[f] − s a[f]|, for finite entries (row_dot () has caught the others). */
static double
row_residual (const double *row,
              gsize         stride,
              double        s,
              const double *a,
              gsize         n)
{
  double r[4] = { 0, 0, 0, 0 };
  gsize f = 0;

  if (stride == 1)
    for (; f + 4 <= n; f += 4)
      for (guint k = 0; k < 4; k++)
        r[k] = MAX (r[k], fabs (row[f + k] - s * a[f + k]));
  for (; f < n; f++)
    r[0] = MAX (r[0], fabs (row[f * stride] - s * a[f]));
  return MAX (MAX (r[0], r[1]), MAX (r[2], r[3]));
}

/* Row @t of group @g against the group's reference a: sets s[t], returns the residual, NaN
 * when an entry is not finite. */
static double
check_row (const KronSplit *split,
           gsize            g,
           gsize            t,
           const double    *a,
           double           norm2,
           JacTensor       *scale)
{
  const double *row = split_row (split, g, t);
  double dot = row_dot (row, split->sf, a, split->n_free);
  double s = norm2 > 0 ? dot / norm2 : 0.0;

  /* A NaN or an infinity anywhere in the row makes its dot with a finite a not finite. */
  if (!isfinite (dot) || !isfinite (norm2))
    return NAN;
  *scale_at (scale, split, g, t) = s;
  return row_residual (row, split->sf, s, a, split->n_free);
}

/* Group @g's reference: its row of largest |entry| (the first of them), copied into @factor. */
static double
take_reference (const KronSplit *split,
                gsize            g,
                gsize            best,
                JacTensor       *factor)
{
  double *a = &JAC_AT2 (factor, g, 0);
  double norm2 = 0;

  for (gsize f = 0; f < split->n_free; f++)
    {
      a[f] = split_row (split, g, best)[f * split->sf];
      norm2 += a[f] * a[f];
    }
  return norm2;
}

/* When a group's rows lie together (δ_jq: group i holds core[i, :, :]) one group at a time:
 * its rows are read from memory once and from cache after. */
static double
split_by_group (const KronSplit *split,
                JacTensor       *scale,
                JacTensor       *factor,
                double          *max_abs)
{
  double residual = 0;

  for (gsize g = 0; g < split->n_groups; g++)
    {
      gsize best = 0;
      double best_norm = -1, norm2;

      for (gsize t = 0; t < split->n_tied; t++)
        {
          double norm = row_max_abs (split_row (split, g, t), split->n_free, split->sf);

          if (norm > best_norm)
            {
              best_norm = norm;
              best = t;
            }
        }
      *max_abs = MAX (*max_abs, best_norm);
      norm2 = take_reference (split, g, best, factor);
      for (gsize t = 0; t < split->n_tied; t++)
        residual = MAX (residual, check_row (split, g, t, &JAC_AT2 (factor, g, 0), norm2,
                                             scale));
      if (isnan (residual))
        return NAN;
    }
  return residual;
}

/* When they do not (δ_ip: group j's rows core[i, j, :] lie H·Q apart, 8 MiB at H = 1024, so
 * on huge pages they all fall into the same cache sets and evict each other), in memory order:
 * one pass for the references, one for the check. */
static double
split_in_memory_order (const KronSplit *split,
                       JacTensor       *scale,
                       JacTensor       *factor,
                       double          *max_abs)
{
  g_autofree gsize *best = g_new0 (gsize, split->n_groups);
  g_autofree double *best_norm = g_new (double, split->n_groups);
  g_autofree double *norm2 = g_new (double, split->n_groups);
  double residual = 0;

  for (gsize g = 0; g < split->n_groups; g++)
    best_norm[g] = -1;
  for (gsize t = 0; t < split->n_tied; t++)
    for (gsize g = 0; g < split->n_groups; g++)
      {
        double norm = row_max_abs (split_row (split, g, t), split->n_free, split->sf);

        if (norm > best_norm[g])
          {
            best_norm[g] = norm;
            best[g] = t;
          }
      }
  for (gsize g = 0; g < split->n_groups; g++)
    {
      *max_abs = MAX (*max_abs, best_norm[g]);
      norm2[g] = take_reference (split, g, best[g], factor);
    }
  for (gsize t = 0; t < split->n_tied; t++)
    {
      for (gsize g = 0; g < split->n_groups; g++)
        residual = MAX (residual, check_row (split, g, t, &JAC_AT2 (factor, g, 0), norm2[g],
                                             scale));
      if (isnan (residual))
        return NAN;
    }
  return residual;
}

/* One pass in memory order, the threads sharing the groups: each group's reference is its
 * first row that is not all zero, so that it is known before the rows after it are read (the
 * rows before it are zero, s = 0 fits them exactly). A row's s is read off the reference's
 * largest entry, s = row[f*] / a[f*], so that the row is swept once: its largest entry, its
 * residual against s a, and its sum (not finite when an entry is not). A reference much smaller
 * than the group's largest row can fail a split that holds; split_rank_one () then tries the
 * largest row, with least-squares s. */
typedef struct
{
  const KronSplit *split;
  JacTensor       *scale;
  JacTensor       *factor;
  double          *norm2;    /* per group; −1 until its reference is taken */
  gsize           *peak;     /* per group: f* */
  double           max_abs[16];
  double           residual[16];
} OnePassJob;

/* max |row[f]| into *norm, and max |row[f] − s a[f]|; NaN when an entry is not finite. */
static double
sweep_row (const double *row,
           gsize         stride,
           double        s,
           const double *a,
           gsize         n,
           double       *norm)
{
  double m[2] = { 0, 0 }, r[2] = { 0, 0 }, sum[2] = { 0, 0 };
  gsize f = 0;

  if (stride == 1)
    for (; f + 2 <= n; f += 2)
      for (guint k = 0; k < 2; k++)
        {
          double c = row[f + k];

          m[k] = MAX (m[k], fabs (c));
          r[k] = MAX (r[k], fabs (c - s * a[f + k]));
          sum[k] += c;
        }
  for (; f < n; f++)
    {
      double c = row[f * stride];

      m[0] = MAX (m[0], fabs (c));
      r[0] = MAX (r[0], fabs (c - s * a[f]));
      sum[0] += c;
    }
  *norm = MAX (m[0], m[1]);
  return isfinite (sum[0] + sum[1]) ? MAX (r[0], r[1]) : NAN;
}

static void
one_pass_cb (gsize    begin,
             gsize    end,
             guint    range,
             gpointer data)
{
  OnePassJob *job = data;
  const KronSplit *split = job->split;
  double max_abs = 0, residual = 0;

  for (gsize t = 0; t < split->n_tied && !isnan (residual); t++)
    for (gsize g = begin; g < end; g++)
      {
        const double *row = split_row (split, g, t);
        const double *a = &JAC_AT2 (job->factor, g, 0);
        double norm, s;

        if (job->norm2[g] < 0)
          {
            norm = row_max_abs (row, split->n_free, split->sf);
            max_abs = MAX (max_abs, norm);
            *scale_at (job->scale, split, g, t) = 0;
            if (norm > 0)
              {
                gsize peak = 0;

                job->norm2[g] = take_reference (split, g, t, job->factor);
                for (gsize f = 1; f < split->n_free; f++)
                  if (fabs (a[f]) > fabs (a[peak]))
                    peak = f;
                job->peak[g] = peak;
                residual = MAX (residual, check_row (split, g, t, a, job->norm2[g],
                                                     job->scale));
              }
            continue;
          }
        s = row[job->peak[g] * split->sf] / a[job->peak[g]];
        *scale_at (job->scale, split, g, t) = s;
        residual = MAX (residual, sweep_row (row, split->sf, s, a, split->n_free, &norm));
        if (isnan (residual))
          break;
        max_abs = MAX (max_abs, norm);
      }
  job->max_abs[range] = max_abs;
  job->residual[range] = residual;
}

static double
split_one_pass (const KronSplit *split,
                JacTensor       *scale,
                JacTensor       *factor,
                double          *max_abs)
{
  g_autofree double *norm2 = g_new (double, MAX (split->n_groups, 1));
  g_autofree gsize *peak = g_new0 (gsize, MAX (split->n_groups, 1));
  OnePassJob job = { split, scale, factor, norm2, peak, { 0 }, { 0 } };
  gsize per_group = MAX (split->n_tied * split->n_free, 1);
  double residual = 0;

  for (gsize g = 0; g < split->n_groups; g++)
    norm2[g] = -1;
  jac_parallel_for (split->n_groups, MAX (((gsize) 1 << 20) / per_group, 1), one_pass_cb, &job);
  *max_abs = 0;
  for (guint r = 0; r < G_N_ELEMENTS (job.max_abs); r++)
    {
      *max_abs = MAX (*max_abs, job.max_abs[r]);
      residual = isnan (job.residual[r]) ? NAN : MAX (residual, job.residual[r]);
      if (isnan (residual))
        break;
    }
  return residual;
}

/* Splits into @scale (N×H) and @factor (groups × free). Sets *max_abs to the largest |entry|
 * and returns the largest |entry − s[t] a[f]|, NaN when some entry is not finite. */
static double
split_rank_one (const KronSplit *split,
                double           tolerance,
                JacTensor       *scale,
                JacTensor       *factor,
                double          *max_abs)
{
  double residual = split_one_pass (split, scale, factor, max_abs);

  if (isnan (residual) || residual <= tolerance * *max_abs)
    return residual;
  *max_abs = 0;
  if (split->sg >= split->st)
    return split_by_group (split, scale, factor, max_abs);
  return split_in_memory_order (split, scale, factor, max_abs);
}

/* Whether every row of @factor is a multiple of the same row of @candidate (a zero row of @factor
 * matches anything); the multiples go to @ratio. */
static gboolean
rows_proportional (const JacTensor *factor,
                   const JacTensor *candidate,
                   gboolean         transposed,
                   double          *ratio)
{
  gsize rows = factor->shape[0], cols = factor->shape[1];

  for (gsize g = 0; g < rows; g++)
    {
      double dot = 0, norm2 = 0, row_max = 0;

      for (gsize f = 0; f < cols; f++)
        {
          double c = transposed ? JAC_AT2 (candidate, f, g) : JAC_AT2 (candidate, g, f);

          dot += c * JAC_AT2 (factor, g, f);
          norm2 += c * c;
          row_max = MAX (row_max, fabs (JAC_AT2 (factor, g, f)));
        }
      ratio[g] = 1.0;
      if (row_max == 0)
        continue;
      if (norm2 == 0)
        return FALSE;
      ratio[g] = dot / norm2;
      for (gsize f = 0; f < cols; f++)
        {
          double c = transposed ? JAC_AT2 (candidate, f, g) : JAC_AT2 (candidate, g, f);

          if (fabs (JAC_AT2 (factor, g, f) - ratio[g] * c) > 1e-9 * row_max)
            return FALSE;
        }
    }
  return TRUE;
}

static gboolean
name_taken (const JacGraph *graph,
            const char     *name)
{
  return graph != NULL && jac_graph_find_variable (graph, name) >= 0;
}

static const char *
free_name (const JacGraph *graph,
           const char     *first,
           const char     *second)
{
  return name_taken (graph, first) ? second : first;
}

static gboolean
tensor_near (const JacTensor *a,
             const JacTensor *b,
             double           tolerance)
{
  return jac_tensor_same_shape (a, b) && jac_tensor_max_abs_diff (a, b) <= tolerance;
}

/* @value seen as an N×H matrix, or NULL when it is not of that shape (a vector only for N = 1). */
static JacTensor *
as_output_matrix (const JacTensor *value,
                  guint            rank,
                  gsize            n_rows,
                  gsize            n_cols)
{
  JacTensor *matrix;

  if (value == NULL || value->size != n_rows * n_cols)
    return NULL;
  if (!(rank == 2 && value->shape[0] == n_rows) && !(rank == 1 && n_rows == 1))
    return NULL;
  matrix = jac_tensor_copy (value);
  matrix->rank = 2;
  matrix->shape[0] = n_rows;
  matrix->shape[1] = n_cols;
  matrix->strides[0] = n_cols;
  matrix->strides[1] = 1;
  return matrix;
}

typedef enum
{
  SCALE_ONES,      /* no scale at all */
  SCALE_NAMED,     /* a variable, or the RNN's slope */
  SCALE_GENERIC,   /* called S, "the element-wise factor" */
} ScaleTier;

/* How @scale would be named; @name (nullable) gets the name of a named one. */
static ScaleTier
scale_tier (const JacTensor  *scale,
            const JacGraph   *graph,
            const JacTensor  *slope,
            double            tolerance,
            char            **name)
{
  gsize n_rows = scale->shape[0], n_cols = scale->shape[1];
  double size = MAX (jac_tensor_max_abs (scale), 1.0) * tolerance;
  g_autoptr(JacTensor) ones = jac_tensor_new_matrix (n_rows, n_cols);
  g_autoptr(JacTensor) slope_matrix = NULL;

  jac_tensor_fill (ones, 1.0);
  if (tensor_near (scale, ones, size))
    return SCALE_ONES;
  for (guint n = 0; graph != NULL && n < graph->nodes->len; n++)
    {
      const JacNode *node = &g_array_index (graph->nodes, JacNode, n);
      g_autoptr(JacTensor) matrix = NULL;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      matrix = as_output_matrix (node->value, node->rank, n_rows, n_cols);
      if (matrix != NULL && tensor_near (scale, matrix, size))
        {
          if (name != NULL)
            *name = g_strdup (node->name);
          return SCALE_NAMED;
        }
    }
  slope_matrix = slope != NULL ? as_output_matrix (slope, slope->rank, n_rows, n_cols) : NULL;
  if (slope_matrix != NULL && tensor_near (scale, slope_matrix, size))
    {
      if (name != NULL)
        *name = g_strdup ("S");
      return SCALE_NAMED;
    }
  return SCALE_GENERIC;
}

#define TRANSPOSE_ENTRIES ((gsize) 1 << 16)

/* @m transposed in tiles that stay in cache on both sides. */
static JacTensor *
transpose_blocked (const JacTensor *m)
{
  gsize rows = m->shape[0], cols = m->shape[1];
  JacTensor *t = jac_tensor_new_uninitialized (2, (gsize[2]) { cols, rows }, NULL);

  for (gsize r0 = 0; r0 < rows; r0 += 32)
    for (gsize c0 = 0; c0 < cols; c0 += 32)
      for (gsize r = r0; r < MIN (r0 + 32, rows); r++)
        for (gsize c = c0; c < MIN (c0 + 32, cols); c++)
          JAC_AT2 (t, c, r) = JAC_AT2 (m, r, c);
  return t;
}

/* Renames A after a variable (or its transpose, or a matrix of ones) its rows are proportional
 * to, moving the proportions into S. The split S ⊙ A is unique only up to a factor per row of A
 * (and any A fits when A has one column), so among the candidates that fit, the one that leaves
 * no S wins, then one that leaves a named S, then the first variable. */
static void
name_factor (JacKron         *self,
             const KronSplit *split,
             const JacGraph  *graph,
             const JacTensor *slope,
             double           tolerance)
{
  gsize rows = self->factor->shape[0], cols = self->factor->shape[1];
  g_autofree double *ratio = g_new (double, rows);
  g_autoptr(JacTensor) ones = jac_tensor_new_matrix (rows, cols);
  g_autoptr(JacTensor) best_scale = NULL;
  g_autoptr(JacTensor) best_factor = NULL;
  const char *best_name = NULL;
  gboolean best_transposed = FALSE;
  ScaleTier best_tier = SCALE_GENERIC + 1;
  guint n_nodes = graph != NULL ? graph->nodes->len : 0;

  jac_tensor_fill (ones, 1.0);
  for (guint n = 0; n <= n_nodes; n++)
    {
      /* The variables in graph order, then the matrix of ones. */
      const JacNode *node = n < n_nodes
        ? &g_array_index (graph->nodes, JacNode, n) : NULL;
      const JacTensor *candidate = node != NULL ? node->value : ones;

      if (node != NULL && (node->op != JAC_OP_VARIABLE || node->value == NULL || node->rank != 2))
        continue;
      for (int flip = 0; flip < 2; flip++)
        {
          g_autoptr(JacTensor) scale = NULL;
          g_autoptr(JacTensor) transposed = NULL;
          ScaleTier tier;

          if ((node == NULL && flip) || candidate->shape[flip] != rows
              || candidate->shape[1 - flip] != cols)
            continue;
          /* Against the transpose, a row at a time: read down the columns of a large
           * candidate (W_hh, 8 MiB at H = 1024), each entry would be a cache miss. */
          if (flip && rows * cols >= TRANSPOSE_ENTRIES)
            transposed = transpose_blocked (candidate);
          if (!rows_proportional (self->factor, transposed != NULL ? transposed : candidate,
                                  flip && transposed == NULL, ratio))
            continue;
          scale = jac_tensor_copy (self->scale);
          for (gsize g = 0; g < rows; g++)
            for (gsize t = 0; t < split->n_tied; t++)
              *scale_at (scale, split, g, t) *= ratio[g];
          tier = scale_tier (scale, graph, slope, tolerance, NULL);
          if (tier >= best_tier)
            continue;
          best_tier = tier;
          g_clear_pointer (&best_scale, jac_tensor_free);
          best_scale = g_steal_pointer (&scale);
          g_clear_pointer (&best_factor, jac_tensor_free);
          if (transposed != NULL)
            best_factor = g_steal_pointer (&transposed);
          else
            {
              best_factor = jac_tensor_new_matrix (rows, cols);
              for (gsize g = 0; g < rows; g++)
                for (gsize f = 0; f < cols; f++)
                  JAC_AT2 (best_factor, g, f) = flip ? JAC_AT2 (candidate, f, g)
                                                     : JAC_AT2 (candidate, g, f);
            }
          best_name = node != NULL ? node->name : "1";
          best_transposed = flip;
        }
    }

  if (best_name != NULL)
    {
      jac_tensor_free (self->scale);
      self->scale = g_steal_pointer (&best_scale);
      jac_tensor_free (self->factor);
      self->factor = g_steal_pointer (&best_factor);
      self->factor_name = g_strdup (best_name);
      self->factor_transposed = best_transposed;
      return;
    }

  /* No variable: a scale that does not depend on the tied index folds into A. */
  self->factor_name = g_strdup (free_name (graph, "M", "K"));
  self->factor_generic = TRUE;
  for (gsize g = 0; g < rows; g++)
    {
      double s0 = *scale_at (self->scale, split, g, 0);
      gboolean constant = TRUE;

      for (gsize t = 1; t < split->n_tied; t++)
        constant &= *scale_at (self->scale, split, g, t) == s0;
      if (!constant)
        return;
    }
  for (gsize g = 0; g < rows; g++)
    {
      double s0 = *scale_at (self->scale, split, g, 0);

      for (gsize f = 0; f < cols; f++)
        JAC_AT2 (self->factor, g, f) *= s0;
      for (gsize t = 0; t < split->n_tied; t++)
        *scale_at (self->scale, split, g, t) = 1.0;
    }
}

static void
name_scale (JacKron         *self,
            const JacGraph  *graph,
            const JacTensor *slope,
            double           tolerance)
{
  switch (scale_tier (self->scale, graph, slope, tolerance, &self->scale_name))
    {
    case SCALE_ONES:
      g_clear_pointer (&self->scale, jac_tensor_free);
      break;
    case SCALE_NAMED:
      break;
    case SCALE_GENERIC:
    default:
      self->scale_name = g_strdup (free_name (graph, "S", "D"));
      self->scale_generic = TRUE;
      break;
    }
}

static JacKron *
kron_none (JacKron *self)
{
  g_clear_pointer (&self->scale, jac_tensor_free);
  g_clear_pointer (&self->factor, jac_tensor_free);
  g_clear_pointer (&self->scale_name, g_free);
  g_clear_pointer (&self->factor_name, g_free);
  for (guint k = 0; k < G_N_ELEMENTS (self->factor_forms); k++)
    g_clear_pointer (&self->factor_forms[k], g_free);
  self->kind = JAC_KRON_NONE;
  self->factor_transposed = FALSE;
  self->scale_generic = FALSE;
  self->factor_generic = FALSE;
  return self;
}

/* S[i,j] · A[…] of the form at an entry on the δs' support. */
static double
form_entry (const JacKron *self,
            gsize          i,
            gsize          j,
            gsize          p,
            gsize          q)
{
  double scale = self->scale != NULL ? JAC_AT2 (self->scale, i, j) : 1.0;

  switch (self->kind)
    {
    case JAC_KRON_IDENTITY_LEFT:
      return scale * JAC_AT2 (self->factor, j, q);
    case JAC_KRON_IDENTITY_RIGHT:
      return scale * JAC_AT2 (self->factor, i, p);
    case JAC_KRON_DIAGONAL:
    case JAC_KRON_NONE:
    default:
      return scale;
    }
}

/* Off the δs' support both are zero by construction; on it, every entry is compared. */
static gboolean
form_reproduces (const JacKron  *self,
                 const KronView *view,
                 double          tolerance)
{
  for (gsize i = 0; i < view->n; i++)
    for (gsize j = 0; j < view->h; j++)
      {
        gsize p0 = view->tie_rows ? i : 0, p1 = view->tie_rows ? i + 1 : view->p;
        gsize q0 = view->tie_cols ? j : 0, q1 = view->tie_cols ? j + 1 : view->q;

        for (gsize p = p0; p < p1; p++)
          for (gsize q = q0; q < q1; q++)
            if (fabs (kron_view_get (view, i, j, p, q) - form_entry (self, i, j, p, q))
                > tolerance)
              return FALSE;
      }
  return TRUE;
}

/* An upper bound on max |s₀[t] a₀[f] − s[t] a[f]| over every group: what renaming moved the
 * form by. Renaming trades a factor ρ per group between the two (a = a₀/ρ, s = ρ s₀), so with
 * any ρ, s₀ a₀ᵀ − s aᵀ = s₀ (a₀ − ρ a)ᵀ + (ρ s₀ − s) aᵀ bounds it by
 * max|s₀| max|a₀ − ρ a| + max|ρ s₀ − s| max|a|; ρ from least squares makes both small. O(N·H +
 * H·Q) instead of a pass over the core. */
static double
renaming_bound (const JacKron   *self,
                const KronSplit *split,
                JacTensor       *scale0,
                const JacTensor *factor0)
{
  double bound = 0;

  for (gsize g = 0; g < split->n_groups; g++)
    {
      const double *a0 = &JAC_AT2 (factor0, g, 0), *a = &JAC_AT2 (self->factor, g, 0);
      double dot = 0, norm2 = 0, rho, ms0 = 0, da = 0, ma = 0, ds = 0;

      for (gsize f = 0; f < split->n_free; f++)
        {
          dot += a0[f] * a[f];
          norm2 += a[f] * a[f];
        }
      rho = norm2 > 0 ? dot / norm2 : 0.0;
      for (gsize f = 0; f < split->n_free; f++)
        {
          da = MAX (da, fabs (a0[f] - rho * a[f]));
          ma = MAX (ma, fabs (a[f]));
        }
      for (gsize t = 0; t < split->n_tied; t++)
        {
          double s0 = *scale_at (scale0, split, g, t);
          double s = self->scale != NULL ? *scale_at (self->scale, split, g, t) : 1.0;

          ms0 = MAX (ms0, fabs (s0));
          ds = MAX (ds, fabs (rho * s0 - s));
        }
      bound = MAX (bound, ms0 * da + ds * ma);
    }
  return bound;
}

static JacKron *
recognize_diagonal (JacKron        *self,
                    const KronView *view,
                    const JacGraph *graph,
                    const JacTensor *slope,
                    double          tolerance)
{
  double max_abs = jac_tensor_max_abs (view->term->core);

  if (max_abs == 0)
    return kron_none (self);
  self->kind = JAC_KRON_DIAGONAL;
  self->scale = jac_tensor_new_matrix (view->n, view->h);
  for (gsize i = 0; i < view->n; i++)
    for (gsize j = 0; j < view->h; j++)
      JAC_AT2 (self->scale, i, j) = kron_view_get (view, i, j, i, j);
  name_scale (self, graph, slope, tolerance);
  /* N·H entries: checked one by one. */
  if (!form_reproduces (self, view, tolerance * max_abs * 4))
    return kron_none (self);
  return self;
}

JacKron *
jac_kron_recognize (const JacStructured *jacobian,
                    const JacGraph      *graph,
                    const JacTensor     *slope,
                    double               tolerance)
{
  g_autoptr(JacTensor) scale0 = NULL;
  g_autoptr(JacTensor) factor0 = NULL;
  JacKron *self;
  KronView view;
  KronSplit split;
  double max_abs, residual;

  g_return_val_if_fail (jacobian != NULL, NULL);

  self = g_new0 (JacKron, 1);
  kron_view_init (&view, jacobian);
  self->n_rows = view.n;
  self->n_cols = view.h;
  self->wrt_rows = view.p;
  self->wrt_cols = view.q;

  /* A sum of δ patterns (Xᵀ X) is not one Kronecker product; the empty sum has no core. */
  if (jacobian->n_terms != 1 || view.crossed || (!view.tie_rows && !view.tie_cols))
    return kron_none (self);
  if (view.tie_rows && view.tie_cols)
    return recognize_diagonal (self, &view, graph, slope, tolerance);

  split_init (&split, &view);
  self->kind = view.tie_rows ? JAC_KRON_IDENTITY_LEFT : JAC_KRON_IDENTITY_RIGHT;
  self->scale = jac_tensor_new_matrix (view.n, view.h);
  self->factor = jac_tensor_new_matrix (split.n_groups, split.n_free);
  residual = split_rank_one (&split, tolerance, self->scale, self->factor, &max_abs);
  /* A Jacobian that is zero everywhere has no form worth stating. */
  if (max_abs == 0 || !(residual <= tolerance * max_abs))
    return kron_none (self);
  scale0 = jac_tensor_copy (self->scale);
  factor0 = jac_tensor_copy (self->factor);
  name_factor (self, &split, graph, slope, tolerance);
  name_scale (self, graph, slope, tolerance);

  /* The split is only a claim until it gives back every entry the δs leave: the split itself
   * is within @residual of each, and renaming moved it by at most the bound. When the bound is
   * too loose to tell (a scale folded into a generic factor), every entry is compared. */
  if (residual + renaming_bound (self, &split, scale0, factor0) * (1 + 1e-12)
      <= tolerance * max_abs * 4)
    return self;
  if (!form_reproduces (self, &view, tolerance * max_abs * 4))
    return kron_none (self);
  return self;
}

static JacKron *
kron_copy (const JacKron *self)
{
  JacKron *copy = g_memdup2 (self, sizeof *self);

  copy->scale = self->scale != NULL ? jac_tensor_copy (self->scale) : NULL;
  copy->factor = self->factor != NULL ? jac_tensor_copy (self->factor) : NULL;
  copy->scale_name = g_strdup (self->scale_name);
  copy->factor_name = g_strdup (self->factor_name);
  for (guint k = 0; k < G_N_ELEMENTS (self->factor_forms); k++)
    copy->factor_forms[k] = g_strdup (self->factor_forms[k]);
  return copy;
}

/* ---- one analysis's form, found once ----
 *
 * The window asks for it on every restyle (the derivation's "As one matrix" line) and the vec
 * figure on every draw, while finding it is a pass over the core (512 MiB at N = 64, H = 1024).
 * An analysis does not change once built, so the form of the last one asked about is kept,
 * keyed by its core's allocation serial (an address can be reused, a serial cannot). */

G_LOCK_DEFINE_STATIC (kron_cache);
static guint64  cached_serial;
static JacKron *cached_kron;

static guint64
analysis_serial (const JacAnalysis *analysis)
{
  const JacStructured *jac = analysis->jacobian;

  return jac != NULL && jac->n_terms == 1 && jac->core != NULL ? jac->core->serial : 0;
}

/* Whether @factor is @candidate entry for entry, within @tolerance of the largest. */
static gboolean
same_matrix (const JacTensor *factor,
             const JacTensor *candidate,
             double           tolerance)
{
  double bound = tolerance * MAX (1.0, jac_tensor_max_abs (candidate));

  if (candidate == NULL || candidate->rank != 2 || candidate->shape[0] != factor->shape[0] ||
      candidate->shape[1] != factor->shape[1])
    return FALSE;
  for (gsize e = 0; e < factor->size; e++)
    if (fabs (factor->data[e] - candidate->data[e]) > bound)
      return FALSE;
  return TRUE;
}

/* A product of single letters (Xᵀ X, X⁻ᵀ A) reads as one symbol written tight, XᵀX; anything
 * else (A + Aᵀ) is set in parentheses beside ⊗. */
static gboolean
is_tight_product (const char *text)
{
  g_auto(GStrv) pieces = g_strsplit (text, " ", -1);

  for (guint k = 0; pieces[k] != NULL; k++)
    {
      if (!g_unichar_isalpha (g_utf8_get_char (pieces[k])))
        return FALSE;
      for (const char *c = g_utf8_next_char (pieces[k]); *c != '\0'; c = g_utf8_next_char (c))
        {
          gunichar u = g_utf8_get_char (c);

          if (u != 0x1D40 && u != 0x207B && u != 0x00B9)   /* ᵀ, ⁻, ¹ */
            return FALSE;
        }
    }
  return TRUE;
}

static char *
without_spaces (const char *text)
{
  g_auto(GStrv) pieces = g_strsplit (text, " ", -1);

  return g_strjoinv ("", pieces);
}

/* The generic factor M of a Kronecker form, named after the contracted form's factor that it
 * is (the Hessian of ½‖X W − Y‖²: (XᵀX ⊗ I_2), for the contracted form Xᵀ X V). */
static void
name_from_contraction (JacKron           *self,
                       const JacAnalysis *analysis,
                       double             tolerance)
{
  const JacDerivation *d = analysis->derivation;

  if (self->kind == JAC_KRON_NONE || !self->factor_generic || d == NULL || d->factors_op != '@')
    return;
  for (guint k = 0; k < 2; k++)
    {
      const char *text = d->factor_text[k];

      if (text == NULL || d->factor_markup[k] == NULL || d->factor_latex[k] == NULL ||
          !same_matrix (self->factor, analysis->factors[k], tolerance))
        continue;
      if (strchr (text, ' ') == NULL)
        {
          self->factor_forms[JAC_KRON_TEXT] = g_strdup (text);
          self->factor_forms[JAC_KRON_MARKUP] = g_strdup (d->factor_markup[k]);
          self->factor_forms[JAC_KRON_LATEX] = g_strdup (d->factor_latex[k]);
        }
      else if (is_tight_product (text))
        {
          self->factor_forms[JAC_KRON_TEXT] = without_spaces (text);
          self->factor_forms[JAC_KRON_MARKUP] = without_spaces (d->factor_markup[k]);
          self->factor_forms[JAC_KRON_LATEX] = g_strdup (d->factor_latex[k]);
        }
      else
        {
          self->factor_forms[JAC_KRON_TEXT] = g_strdup_printf ("(%s)", text);
          self->factor_forms[JAC_KRON_MARKUP] = g_strdup_printf ("(%s)", d->factor_markup[k]);
          self->factor_forms[JAC_KRON_LATEX] = g_strdup_printf ("(%s)", d->factor_latex[k]);
        }
      self->factor_generic = FALSE;
      return;
    }
}

static JacKron *
cache_lookup (const JacAnalysis *analysis)
{
  guint64 serial = analysis_serial (analysis);
  JacKron *kron = NULL;

  G_LOCK (kron_cache);
  if (serial != 0 && serial == cached_serial)
    kron = kron_copy (cached_kron);
  G_UNLOCK (kron_cache);
  return kron;
}

static void
cache_store (const JacAnalysis *analysis,
             const JacKron     *kron)
{
  guint64 serial = analysis_serial (analysis);
  JacKron *copy;

  if (serial == 0)
    return;
  copy = kron_copy (kron);
  G_LOCK (kron_cache);
  jac_kron_free (cached_kron);
  cached_kron = copy;
  cached_serial = serial;
  G_UNLOCK (kron_cache);
}

JacKron *
jac_kron_from_analysis (const JacAnalysis *analysis)
{
  JacKron *kron;

  g_return_val_if_fail (analysis != NULL, NULL);

  kron = cache_lookup (analysis);
  if (kron != NULL)
    return kron;
  kron = jac_kron_recognize (analysis->jacobian, analysis->graph,
                             analysis->slope, 1e-12);
  name_from_contraction (kron, analysis, 1e-12);
  cache_store (analysis, kron);
  return kron;
}

gboolean
jac_kron_analysis_pending (const JacAnalysis *analysis)
{
  g_autoptr(JacKron) kron = NULL;

  g_return_val_if_fail (analysis != NULL, FALSE);

  if (analysis->jacobian == NULL || analysis->jacobian->n_terms != 1
      || jac_structured_stored_count (analysis->jacobian) <= JAC_KRON_PROMPT_ENTRIES)
    return FALSE;
  kron = cache_lookup (analysis);
  return kron == NULL;
}

void
jac_kron_analysis_prepare (const JacAnalysis *analysis)
{
  g_autoptr(JacKron) kron = NULL;

  g_return_if_fail (analysis != NULL);

  kron = jac_kron_from_analysis (analysis);
}

char *
jac_kron_analysis_identity (const JacAnalysis *analysis,
                            JacKronNotation    notation)
{
  g_autoptr(JacKron) kron = NULL;

  g_return_val_if_fail (analysis != NULL, NULL);

  if (jac_kron_analysis_pending (analysis))
    return NULL;
  kron = jac_kron_from_analysis (analysis);
  return jac_kron_identity (kron, analysis->output_name, analysis->wrt_name, notation);
}

void
jac_kron_free (JacKron *self)
{
  if (self == NULL)
    return;
  kron_none (self);
  g_free (self);
}

/* ---- matrices ---- */

JacTensor *
jac_kron_matricize (const JacStructured  *jacobian,
                    gboolean              column_major,
                    gsize                 budget_bytes,
                    GError              **error)
{
  g_autoptr(JacTensor) dense = NULL;
  JacTensor *matrix;
  KronView view;

  g_return_val_if_fail (jacobian != NULL, NULL);

  dense = jac_structured_to_dense (jacobian, budget_bytes, error);
  if (dense == NULL)
    return NULL;
  kron_view_init (&view, jacobian);
  matrix = jac_tensor_new_matrix (view.n * view.h, view.p * view.q);
  /* The dense tensor in C order is already the row-major vec matrix. */
  if (!column_major)
    {
      memcpy (matrix->data, dense->data, dense->size * sizeof (double));
      return matrix;
    }
  for (gsize i = 0; i < view.n; i++)
    for (gsize j = 0; j < view.h; j++)
      for (gsize p = 0; p < view.p; p++)
        for (gsize q = 0; q < view.q; q++)
          JAC_AT2 (matrix, j * view.n + i, q * view.p + p) =
            dense->data[((i * view.h + j) * view.p + p) * view.q + q];
  return matrix;
}

JacTensor *
jac_kron_product (const JacTensor *a,
                  const JacTensor *b)
{
  gsize m, n, r, s;
  JacTensor *product;

  g_return_val_if_fail (a != NULL && a->rank == 2, NULL);
  g_return_val_if_fail (b != NULL && b->rank == 2, NULL);

  m = a->shape[0];
  n = a->shape[1];
  r = b->shape[0];
  s = b->shape[1];
  product = jac_tensor_new_matrix (m * r, n * s);
  for (gsize ai = 0; ai < m; ai++)
    for (gsize bi = 0; bi < r; bi++)
      for (gsize aj = 0; aj < n; aj++)
        for (gsize bj = 0; bj < s; bj++)
          JAC_AT2 (product, ai * r + bi, aj * s + bj) = JAC_AT2 (a, ai, aj) * JAC_AT2 (b, bi, bj);
  return product;
}

static JacTensor *
identity_new (gsize n)
{
  JacTensor *identity = jac_tensor_new_matrix (n, n);

  for (gsize k = 0; k < n; k++)
    JAC_AT2 (identity, k, k) = 1.0;
  return identity;
}

JacTensor *
jac_kron_to_matrix (const JacKron *self,
                    gboolean       column_major)
{
  g_autoptr(JacTensor) identity = NULL;
  JacTensor *matrix;

  g_return_val_if_fail (self != NULL, NULL);

  switch (self->kind)
    {
    case JAC_KRON_DIAGONAL:
      matrix = identity_new (self->n_rows * self->n_cols);
      break;
    case JAC_KRON_IDENTITY_LEFT:
      identity = identity_new (self->n_rows);
      matrix = column_major ? jac_kron_product (self->factor, identity)
                            : jac_kron_product (identity, self->factor);
      break;
    case JAC_KRON_IDENTITY_RIGHT:
      identity = identity_new (self->n_cols);
      matrix = column_major ? jac_kron_product (identity, self->factor)
                            : jac_kron_product (self->factor, identity);
      break;
    case JAC_KRON_NONE:
    default:
      return NULL;
    }

  /* diag(vec S) from the left scales row (i, j), wherever that row sits in the convention. */
  if (self->scale != NULL)
    for (gsize i = 0; i < self->n_rows; i++)
      for (gsize j = 0; j < self->n_cols; j++)
        {
          gsize row = column_major ? j * self->n_rows + i : i * self->n_cols + j;

          for (gsize c = 0; c < matrix->shape[1]; c++)
            JAC_AT2 (matrix, row, c) *= JAC_AT2 (self->scale, i, j);
        }
  return matrix;
}

/* ---- text ---- */

static void
append_name (GString         *s,
             const char      *name,
             gboolean         transposed,
             JacKronNotation  notation)
{
  const char *underscore = strchr (name, '_');

  if (notation == JAC_KRON_LATEX)
    {
      g_autofree char *latex = _jac_latex_name (name, FALSE);

      g_string_append (s, latex);
      if (transposed)
        g_string_append (s, "^{\\top}");
      return;
    }
  if (notation == JAC_KRON_MARKUP && underscore != NULL && underscore != name
      && underscore[1] != '\0')
    {
      g_autofree char *base = g_markup_escape_text (name, underscore - name);
      g_autofree char *suffix = g_markup_escape_text (underscore + 1, -1);

      g_string_append_printf (s, "%s<sub>%s</sub>", base, suffix);
    }
  else if (notation == JAC_KRON_MARKUP)
    {
      g_autofree char *escaped = g_markup_escape_text (name, -1);

      g_string_append (s, escaped);
    }
  else
    g_string_append (s, name);
  if (transposed)
    g_string_append (s, "ᵀ");
}

/* I_n, the n×n identity, or 1_n (ones) with its size. */
static void
append_sized (GString         *s,
              const char      *symbol,
              const char      *size,
              JacKronNotation  notation)
{
  switch (notation)
    {
    case JAC_KRON_TEXT:
      g_string_append_printf (s, "%s_%s", symbol, size);
      break;
    case JAC_KRON_MARKUP:
      g_string_append_printf (s, "%s<sub>%s</sub>", symbol, size);
      break;
    case JAC_KRON_LATEX:
      g_string_append_printf (s, "%s_{%s}", g_str_equal (symbol, "1") ? "\\mathbf{1}" : symbol,
                              size);
      break;
    }
}

static void
append_factor (GString         *s,
               const JacKron   *self,
               JacKronNotation  notation)
{
  if (g_str_equal (self->factor_name, "1"))
    {
      gsize rows = self->factor->shape[0], cols = self->factor->shape[1];
      g_autofree char *size = cols == 1 ? g_strdup_printf ("%" G_GSIZE_FORMAT, rows)
                                        : g_strdup_printf ("%" G_GSIZE_FORMAT "%s%" G_GSIZE_FORMAT,
                                                           rows,
                                                           notation == JAC_KRON_LATEX ? "\\times "
                                                                                     : "×",
                                                           cols);

      append_sized (s, "1", size, notation);
      return;
    }
  if (self->factor_forms[notation] != NULL)
    {
      g_string_append (s, self->factor_forms[notation]);
      return;
    }
  append_name (s, self->factor_name, self->factor_transposed, notation);
}

static void
append_identity (GString         *s,
                 gsize            n,
                 JacKronNotation  notation)
{
  g_autofree char *size = g_strdup_printf ("%" G_GSIZE_FORMAT, n);

  append_sized (s, "I", size, notation);
}

char *
jac_kron_form (const JacKron   *self,
               gboolean         column_major,
               JacKronNotation  notation)
{
  GString *s;
  const char *otimes = notation == JAC_KRON_LATEX ? " \\otimes " : " ⊗ ";
  gboolean identity_first;
  gsize identity_size;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->kind == JAC_KRON_NONE)
    return NULL;
  s = g_string_new (NULL);
  if (self->scale != NULL)
    {
      if (notation == JAC_KRON_LATEX)
        g_string_append (s, "\\operatorname{diag}(\\operatorname{vec} ");
      else
        g_string_append (s, "diag(vec ");
      append_name (s, self->scale_name, FALSE, notation);
      g_string_append (s, ")");
    }
  if (self->kind == JAC_KRON_DIAGONAL)
    {
      if (self->scale == NULL)
        append_identity (s, self->n_rows * self->n_cols, notation);
      return g_string_free (s, FALSE);
    }
  if (self->scale != NULL)
    g_string_append (s, notation == JAC_KRON_LATEX ? " \\, (" : " (");
  else
    g_string_append (s, "(");

  /* Row-major vec puts the identity on the side of the tied index: I_N ⊗ A for δ_ip, A ⊗ I_H
   * for δ_jq; column-major vec swaps the factors. */
  identity_first = (self->kind == JAC_KRON_IDENTITY_LEFT) != column_major;
  identity_size = self->kind == JAC_KRON_IDENTITY_LEFT ? self->n_rows : self->n_cols;
  if (identity_first)
    {
      append_identity (s, identity_size, notation);
      g_string_append (s, otimes);
      append_factor (s, self, notation);
    }
  else
    {
      append_factor (s, self, notation);
      g_string_append (s, otimes);
      append_identity (s, identity_size, notation);
    }
  g_string_append (s, ")");
  return g_string_free (s, FALSE);
}

char *
jac_kron_identity (const JacKron   *self,
                   const char      *out_name,
                   const char      *wrt_name,
                   JacKronNotation  notation)
{
  g_autofree char *row_form = NULL;
  g_autofree char *column_form = NULL;
  g_autoptr(GString) lhs = g_string_new (NULL);
  GString *s;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (out_name != NULL && wrt_name != NULL, NULL);

  if (self->kind == JAC_KRON_NONE)
    return NULL;
  row_form = jac_kron_form (self, FALSE, notation);
  column_form = jac_kron_form (self, TRUE, notation);

  if (notation == JAC_KRON_LATEX)
    {
      g_string_append (lhs, "\\partial \\operatorname{vec}(");
      append_name (lhs, out_name, FALSE, notation);
      g_string_append (lhs, ") / \\partial \\operatorname{vec}(");
      append_name (lhs, wrt_name, FALSE, notation);
      g_string_append (lhs, ")");
    }
  else
    {
      g_string_append (lhs, "∂vec(");
      append_name (lhs, out_name, FALSE, notation);
      g_string_append (lhs, ")/∂vec(");
      append_name (lhs, wrt_name, FALSE, notation);
      g_string_append (lhs, ")");
    }

  s = g_string_new (NULL);
  if (notation == JAC_KRON_LATEX)
    {
      if (g_str_equal (row_form, column_form))
        g_string_append_printf (s, "$%s = %s$ (either vec order)", lhs->str, row_form);
      else
        g_string_append_printf (s, "$%s = %s$ (row-major vec) $= %s$ (column-major vec, "
                                "Magnus--Neudecker)", lhs->str, row_form, column_form);
    }
  else if (g_str_equal (row_form, column_form))
    g_string_append_printf (s, "%s = %s (either vec order)", lhs->str, row_form);
  else
    g_string_append_printf (s, "%s = %s (row-major vec) = %s (column-major vec, "
                            "Magnus–Neudecker)", lhs->str, row_form, column_form);

  if (self->scale != NULL && self->scale_generic)
    {
      g_string_append (s, notation == JAC_KRON_LATEX ? "; $" : "; ");
      append_name (s, self->scale_name, FALSE, notation);
      g_string_append (s, notation == JAC_KRON_LATEX ? "$" : "");
      g_string_append (s, " is the element-wise factor");
    }
  if (self->factor != NULL && self->factor_generic)
    {
      g_string_append (s, notation == JAC_KRON_LATEX ? "; $" : "; ");
      append_name (s, self->factor_name, FALSE, notation);
      g_string_append (s, notation == JAC_KRON_LATEX ? "$" : "");
      g_string_append (s, " is the core's matrix, the same for every ");
      if (notation == JAC_KRON_MARKUP)
        g_string_append (s, self->kind == JAC_KRON_IDENTITY_LEFT ? "<i>i</i>" : "<i>j</i>");
      else if (notation == JAC_KRON_LATEX)
        g_string_append (s, self->kind == JAC_KRON_IDENTITY_LEFT ? "$i$" : "$j$");
      else
        g_string_append (s, self->kind == JAC_KRON_IDENTITY_LEFT ? "i" : "j");
    }
  return g_string_free (s, FALSE);
}

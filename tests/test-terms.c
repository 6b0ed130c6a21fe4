/* test-terms.c: Jacobians as sums of δ terms against the dense tensor, over several draws.
 *
 * The structural-zero mask must be exactly the entries that are zero in the dense tensor for
 * every draw of the variables: no δ claimed where a value can appear, none missed. */
#define G_LOG_DOMAIN "test-terms"

#include <math.h>
#include <string.h>

#include "core/jac-analysis.h"
#include "core/jac-error.h"
#include "core/jac-rnn.h"
#include "core/jac-structured-private.h"
#include "render/jac-figure.h"

#define N_SEEDS 3

static const char declarations[] =
  "N = 2, D = 3, H = 4;"
  "h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H, B: N×H,"
  "X: 3×2, S: 3×3, A: 3×3, T: 3×3, W: 2×2, Z: 3×4, U: 4×4,"
  "r: (1, 3), c: (3, 1), v: (3,)";

typedef struct
{
  const char *source;
  const char *wrt;   /* NULL: every variable */
} Case;

/* Repeated variables, sums of terms with different δs, transposes on either side. */
static const Case cases[] = {
  { "Y = X.T @ X", NULL },
  { "Y = X @ X.T", NULL },
  { "Y = S @ S", NULL },
  { "Y = S @ S @ S", NULL },
  { "Y = r @ A @ r.T", NULL },
  { "Y = c.T @ A @ c", NULL },
  { "Y = S + S.T", NULL },
  { "Y = A @ S + S @ T", NULL },
  { "Y = S * S.T", NULL },
  { "Y = sum(S) * S", NULL },
  { "Y = X @ X.T @ X", NULL },
  { "Y = softmax(S) * S", NULL },
  { "Y = softmax(S @ S)", NULL },
  { "Y = tanh(S @ S)", NULL },
  { "Y = S.T @ S", NULL },
  { "Y = S @ S.T + S", NULL },
  { "Y = X.T @ X + W", NULL },
  { "Y = S * S", NULL },
  { "Y = S.T * S + S", NULL },
  { "Y = (S + S.T) @ S", NULL },
  { "Y = sigmoid(S) * S.T", NULL },
  { "Y = sum(S * S.T)", NULL },
  { "Y = sum(S @ S)", NULL },
  { "Y = S @ A @ S", NULL },
  { "Y = S.T @ A @ S", NULL },
  { "Y = exp(S) @ S.T", NULL },
  { "Y = 2 * S + S.T / 3", NULL },
  { "Y = (S @ S).T", NULL },
  { "Y = S.T @ S.T", NULL },
  { "Y = X.T @ S @ X", NULL },
  { "Y = softmax(X.T @ X)", NULL },
  { "Y = tanh(X @ W) @ X.T", NULL },
  { "Y = v * S + S.T", NULL },
  { "Y = S.T * v", NULL },
  { "Y = c.T @ c", NULL },
  { "Y = c @ c.T", NULL },
  { "Y = r.T @ r + A", NULL },
  { "Y = S @ S + S.T @ S.T", NULL },
  { "Y = square(S) @ S.T", NULL },
  { "Y = sin(S.T) * cos(S)", NULL },
  { "Y = Z + (Z * 0) @ U", NULL },
  { "Y = S @ (S * 0) + S.T", NULL },
  { "Y = sum(S) * S.T", NULL },
  { "Y = softmax(S.T) + S", NULL },
  { "Y = S.T @ softmax(S)", NULL },
  { "Y = S - S", NULL },
  { "Y = (S - S) @ A + S.T", NULL },
  { "h = tanh(h_prev @ W_hh + x @ W_xh + b)", NULL },
  { "h = sigmoid(h_prev @ W_hh + x @ W_xh + B)", NULL },
  { "Y = abs(S) @ S", NULL },
  { "Y = tan(S) * S.T", NULL },
  { "Y = arcsin(S) @ A", NULL },
  { "Y = arccos(S.T) * S", NULL },
  { "Y = arctan(S @ S)", NULL },
  { "Y = sinh(S) + cosh(S.T)", NULL },
  { "Y = S ** 0.5 * S.T", NULL },
  { "Y = (S @ S) ** 3", NULL },
  { "Y = S ** -1 @ A", NULL },
  { "Y = sum(X ** 1.5) * X", NULL },
  /* Reductions along an axis keep the other axis's δ; det, logdet and inv mix everything. A
   * trace or a diagonal of the variable itself (δ_pq, δ_jp δ_jq) ties two variable axes, which
   * a term cannot say: those are checked in test-derive and /terms/matrix-functions. */
  { "Y = sum(S, 0)", NULL },
  { "Y = sum(S @ A, 1) * v", NULL },
  { "Y = mean(Z, 1)", NULL },
  { "Y = logsumexp(Z, 1)", NULL },
  { "Y = logsumexp(Z.T, 0) + mean(Z, 1)", NULL },
  { "Y = norm(S) * S", NULL },
  { "Y = det(S) * A", NULL },
  { "Y = logdet(S) + tr(A @ S)", NULL },
  { "Y = inv(S)", NULL },
  { "Y = inv(S) @ A + S", NULL },
  { "Y = diag(S @ A)", NULL },
  { "Y = diag(v) @ A", NULL },
  { "Y = tr(S @ S) * S", NULL },
  { "Y = v @ S @ v", NULL },
  { "Y = S @ v", NULL },
  { "Y = v @ A", NULL },
  { "Y = (S @ v) * (A @ v) + v @ S.T", NULL },
  { "Y = r @ (S @ v)", NULL },
  { "Y = (Z - mean(Z, 1, keepdims=True)) / sqrt(mean((Z - mean(Z, 1, keepdims=True)) ** 2, 1, "
    "keepdims=True) + 0.00001)", NULL },
  { "Y = Z - mean(Z, 0, keepdims=True)", NULL },
  /* Terms that cancel where their δs meet, for every value: at i = j = p = q, at i = p = q. */
  { "Y = S - S.T", NULL },
  { "Y = 2 * S - S.T - S", NULL },
  { "Y = S.T - S + A", NULL },
  { "Y = (S - S.T) @ A", NULL },
  { "Y = A @ (S - S.T)", NULL },
  { "Y = tanh(S - S.T)", NULL },
  { "Y = (S - S.T) * A", NULL },
  { "Y = v * (S - S.T)", NULL },
  /* δs between two variable axes: δ_pq (a trace of the variable), δ_jp δ_jq (its diagonal). */
  { "Y = tr(S) * A", NULL },
  { "Y = diag(S)", NULL },
  { "Y = tr(S) * S", NULL },
  { "Y = sum(diag(S) * v)", NULL },
  /* kron's δs tie composite indices, ⌊i/2⌋ = p and i mod 2 = p: bounds the supports state. */
  { "Y = kron(X, W)", NULL },
  { "Y = kron(W, W)", NULL },
  { "Y = kron(W, W) @ U", NULL },
  { "Y = U @ kron(W, W)", NULL },
  { "Y = tanh(kron(X, W))", NULL },
  { "Y = kron(W, X) * 2 + kron(X, W)", NULL },
  { "Y = kron(W, W).T", NULL },
  { "Y = kron(W, W) + U", NULL },
  { "Y = sum(kron(X, W) ** 2)", NULL },
};

static JacExpr *
parse (const char *source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  JacExpr *expr;

  g_assert_true (jac_shape_env_parse_declarations (env, declarations, NULL, &error));
  g_assert_no_error (error);
  expr = jac_expr_parse (source, env, NULL, &error);
  g_assert_no_error (error);
  return expr;
}

static JacAnalysis *
analyse (const char *source,
         const char *wrt,
         guint32     seed)
{
  g_autoptr(GError) error = NULL;
  JacExpr *expr = parse (source);
  JacAnalysis *analysis;

  g_assert_true (jac_expr_draw_variables (expr, NULL, seed, &error));
  g_assert_no_error (error);
  analysis = jac_analysis_new_expr (expr, wrt, JAC_UPSTREAM_RANDOM, NULL, seed, &error);
  g_assert_no_error (error);
  return analysis;
}

/* The output and variable index of dense entry @e. */
static void
split_index (const JacStructured *jac,
             gsize                e,
             gsize               *out,
             gsize               *wrt)
{
  for (guint t = jac->wrt_rank; t-- > 0;)
    {
      wrt[t] = e % jac->wrt_shape[t];
      e /= jac->wrt_shape[t];
    }
  for (guint a = jac->out_rank; a-- > 0;)
    {
      out[a] = e % jac->out_shape[a];
      e /= jac->out_shape[a];
    }
}

/* One draw: dense = finite differences = jac_structured_get, Σ G·J three ways, every
 * structural zero exactly 0, the counts and the empty blocks from the mask. */
static void
check_draw (const JacAnalysis *a,
            gboolean          *zero_in_every_draw,
            const char        *what)
{
  const JacStructured *jac = a->jacobian;
  const JacSparsity *sp = &a->sparsity;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
  g_autoptr(JacTensor) fd = jac_graph_finite_difference (a->graph, a->wrt_node, 1e-6);
  g_autoptr(JacTensor) from_dense = jac_dense_contract (dense, jac->out_rank, a->upstream);
  g_autoptr(JacTensor) backprop = jac_graph_vjp (a->graph, a->wrt_node, a->upstream);
  double scale = MAX (1.0, jac_tensor_max_abs (fd));
  gsize n_free = 0;

  if (!(jac_tensor_max_abs_diff (dense, fd) < 1e-6 * scale))
    g_error ("%s: |dense − finite differences| = %g", what, jac_tensor_max_abs_diff (dense, fd));
  /* The analysis's check perturbs the entries that reach disjoint outputs together, by the
   * structural-zero mask: the same differences as one entry at a time. */
  {
    guint rank;
    gsize shape[JAC_MAX_RANK * 2];
    g_autofree guint8 *mask = jac_analysis_structural_zero_mask (a, &rank, shape, NULL);
    g_autoptr(JacTensor) grouped = jac_graph_finite_difference_grouped (a->graph, a->wrt_node,
                                                                        1e-6, mask);

    if (!(jac_tensor_max_abs_diff (grouped, fd) < 1e-8 * scale))
      g_error ("%s: grouped finite differences differ by %g", what,
               jac_tensor_max_abs_diff (grouped, fd));
    if (a->fd_max_diff >= 0 && !(a->fd_max_diff < 1e-6 * a->fd_scale))
      g_error ("%s: the analysis's finite-difference check says %g", what, a->fd_max_diff);
  }
  if (!(jac_tensor_max_abs_diff (a->contract_tensor, from_dense) < 1e-10 * scale) ||
      !(jac_tensor_max_abs_diff (a->contract_tensor, backprop) < 1e-10 * scale))
    g_error ("%s: Σ G·J from the terms ≠ from the dense tensor or back-prop", what);

  for (gsize e = 0; e < dense->size; e++)
    {
      gsize out[2] = { 0, 0 }, wrt[2] = { 0, 0 };
      gboolean structural = FALSE;
      double value;

      split_index (jac, e, out, wrt);
      value = jac_structured_get (jac, out, wrt, &structural);
      g_assert_cmpint (structural, ==, jac_structured_is_structural_zero (jac, out, wrt));
      g_assert_cmpfloat (fabs (value - dense->data[e]), <=, 1e-14 * scale);
      if (structural && (dense->data[e] != 0.0 || !(fabs (fd->data[e]) < 1e-9)))
        g_error ("%s: entry %zu is a structural zero but %g", what, e, fd->data[e]);
      n_free += !structural;
      zero_in_every_draw[e] &= dense->data[e] == 0.0;
    }
  g_assert_cmpuint (sp->n_free_entries, ==, n_free);
  g_assert_cmpuint (sp->n_entries, ==, dense->size);

  /* A block is empty exactly when every one of its entries is a structural zero. */
  for (gsize i = 0; i < sp->n_block_rows; i++)
    for (gsize p = 0; p < sp->n_block_cols; p++)
      {
        gboolean all_zero = TRUE;

        for (gsize j = 0; j < sp->block_height; j++)
          for (gsize q = 0; q < sp->block_width; q++)
            {
              gboolean structural = FALSE;

              jac_analysis_block_entry (a, i, p, j, q, &structural);
              all_zero &= structural;
            }
        g_assert_cmpint (jac_analysis_block_is_zero (a, i, p), ==, all_zero);
      }
}

/* The derivation states one δ pattern: the δs every term has. For one term, it is the term's,
 * and the sentence begins with the derivation's. */
static void
check_derivation (const JacAnalysis *a,
                  const char        *what)
{
  const JacStructured *jac = a->jacobian;
  const JacDerivation *d = a->derivation;
  int common[2];

  jac_structured_common_pairs (jac, common);
  if (d->pair[0] != common[0] || d->pair[1] != common[1])
    g_error ("%s: derivation δ pairs (%d, %d), terms' common (%d, %d)", what, d->pair[0],
             d->pair[1], common[0], common[1]);
  if (jac->n_terms == 1 && (common[0] >= 0 || common[1] >= 0) &&
      !g_str_has_prefix (a->sparsity.sentence, d->sparsity))
    g_error ("%s: derivation “%s”, sparsity “%s”", what, d->sparsity, a->sparsity.sentence);
}

static void
check_case (const char *source,
            const char *wrt,
            guint      *n_multi)
{
  g_autofree char *what = g_strdup_printf ("%s wrt %s", source, wrt);
  g_autofree gboolean *zero_in_every_draw = NULL;
  g_autoptr(JacAnalysis) first = analyse (source, wrt, 1);
  gsize n = jac_structured_dense_count (first->jacobian);

  zero_in_every_draw = g_new (gboolean, n);
  for (gsize e = 0; e < n; e++)
    zero_in_every_draw[e] = TRUE;
  check_draw (first, zero_in_every_draw, what);
  check_derivation (first, what);
  *n_multi += first->jacobian->n_terms > 1;
  for (guint32 seed = 2; seed <= N_SEEDS; seed++)
    {
      g_autoptr(JacAnalysis) a = analyse (source, wrt, seed);

      g_assert_cmpuint (a->jacobian->n_terms, ==, first->jacobian->n_terms);
      check_draw (a, zero_in_every_draw, what);
    }

  /* An entry zero in every draw is a structural zero, and only those are. */
  for (gsize e = 0; e < n; e++)
    {
      gsize out[2] = { 0, 0 }, wrt_index[2] = { 0, 0 };

      split_index (first->jacobian, e, out, wrt_index);
      if (zero_in_every_draw[e] !=
          jac_structured_is_structural_zero (first->jacobian, out, wrt_index))
        g_error ("%s: entry %zu is 0 in every draw: %d, a structural zero: %d (%s)", what, e,
                 zero_in_every_draw[e], !zero_in_every_draw[e], first->sparsity.sentence);
    }
  if (g_test_verbose ())
    g_test_message ("%s: %u terms, %s", what, first->jacobian->n_terms,
                    first->sparsity.sentence);
}

static void
test_masks (void)
{
  guint n_checked = 0, n_multi = 0;

  g_assert_cmpuint (G_N_ELEMENTS (cases), >=, 40);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(JacExpr) expr = parse (cases[c].source);
      const JacGraph *graph = expr->graph;

      for (guint n = 0; n < graph->nodes->len; n++)
        {
          const JacNode *node = jac_graph_node (graph, n);

          if (node->op != JAC_OP_VARIABLE ||
              (cases[c].wrt != NULL && g_strcmp0 (cases[c].wrt, node->name) != 0))
            continue;
          check_case (cases[c].source, node->name, &n_multi);
          n_checked++;
        }
    }
  g_test_message ("%u Jacobians, %u of them sums of several δ patterns", n_checked, n_multi);
  g_assert_cmpuint (n_multi, >=, 20);
}

/* Grouped finite differences trust the mask for which entries to perturb together, not for
 * what they find: a zero it claims falsely shows as a difference from the Jacobian, whether
 * the output is reached by another entry of its group or by none. */
static void
test_grouped_differences (void)
{
  static const char *sources[] = { "Y = X @ W", "Y = S + S.T",
                                   "h = tanh(h_prev @ W_hh + x @ W_xh + b)" };
  static const char *wrts[] = { "X", "S", "h_prev" };

  for (guint c = 0; c < G_N_ELEMENTS (sources); c++)
    {
      g_autoptr(JacAnalysis) a = analyse (sources[c], wrts[c], 3);
      g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, 0, NULL);
      guint rank;
      gsize shape[JAC_MAX_RANK * 2], n_claims = 0;
      g_autofree guint8 *mask = jac_analysis_structural_zero_mask (a, &rank, shape, NULL);
      g_autoptr(JacTensor) honest = jac_graph_finite_difference_grouped (a->graph, a->wrt_node,
                                                                         1e-6, mask);
      double scale = MAX (1.0, jac_tensor_max_abs (dense));

      g_assert_cmpfloat (jac_tensor_max_abs_diff (honest, dense), <, 1e-6 * scale);
      /* Claim each entry larger than 0.1 a zero, one at a time. */
      for (gsize e = 0; e < dense->size; e++)
        if (!mask[e] && fabs (dense->data[e]) > 0.1)
          {
            g_autoptr(JacTensor) lied = NULL;
            g_autoptr(JacTensor) claimed = jac_tensor_copy (dense);

            mask[e] = 1;
            claimed->data[e] = 0;
            lied = jac_graph_finite_difference_grouped (a->graph, a->wrt_node, 1e-6, mask);
            g_assert_cmpfloat (jac_tensor_max_abs_diff (lied, claimed), >,
                               0.5 * fabs (dense->data[e]));
            mask[e] = 0;
            n_claims++;
          }
      g_assert_cmpuint (n_claims, >, 0);
    }
}

/* J[i,j,p,q] = δ_iq X_pj + X_pi δ_jq: zero where q ≠ i and q ≠ j, for every X. */
static void
test_gram (void)
{
  g_autoptr(JacAnalysis) a = analyse ("Y = X.T @ X", "X", 1);
  const JacStructured *jac = a->jacobian;

  g_assert_cmpuint (jac->n_terms, ==, 2);
  g_assert_cmpint (jac->terms[0].pair[0], ==, 1);
  g_assert_cmpint (jac->terms[0].pair[1], ==, -1);
  g_assert_cmpint (jac->terms[1].pair[0], ==, -1);
  g_assert_cmpint (jac->terms[1].pair[1], ==, 1);
  g_assert_cmpuint (a->sparsity.n_entries, ==, 24);
  g_assert_cmpuint (a->sparsity.n_free_entries, ==, 18);
  g_assert_cmpuint (a->sparsity.n_zero_blocks, ==, 0);
  g_assert_cmpstr (a->sparsity.sentence, ==, "nonzero only where q = i or q = j: 18 of 24 entries");
  /* Two cores of 2·2·3 entries, not one dense core of 24. */
  g_assert_cmpuint (jac_structured_stored_count (jac), ==, 24);
}

/* Hovering a structural zero of a sum names the δ each term breaks; a value, the sum. */
static void
test_hover (void)
{
  g_autoptr(JacAnalysis) a = analyse ("Y = X.T @ X", "X", 1);
  JacFigureHit zero = { .panel = JAC_PANEL_JACOBIAN, .block_row = 0, .block_col = 2, .row = 0,
                        .col = 1 };
  JacFigureHit tied = zero;
  g_autofree char *zero_text = jac_figure_describe_hit (a, &zero);
  g_autofree char *tied_text = NULL;
  gsize out[2] = { 1, 0 }, wrt[2] = { 2, 1 };

  g_assert_cmpstr (zero_text, ==, "J[0,0,2,1] = ∂Y[0,0]/∂X[2,1] = 0 (δ_iq δ_jq: i ≠ q, j ≠ q)");
  /* J[1,0,2,1] = δ_iq X_pj (q = i only): X[2,0]. */
  tied.block_row = 1;
  tied_text = jac_figure_describe_hit (a, &tied);
  g_assert_true (g_str_has_prefix (tied_text, "J[1,0,2,1] = ∂Y[1,0]/∂X[2,1] = "));
  g_assert_null (strstr (tied_text, "δ"));
  g_assert_true (fabs (jac_structured_get (a->jacobian, out, wrt, NULL) -
                       JAC_AT2 (jac_graph_node (a->graph, a->wrt_node)->value, 2, 0)) < 1e-15);
  g_test_message ("%s; %s", zero_text, tied_text);
}

/* Y = S + Sᵀ: δ_ip δ_jq + δ_iq δ_jp, two patterns with two δs each. */
static void
test_symmetric_sum (void)
{
  g_autoptr(JacAnalysis) a = analyse ("Y = S + S.T", "S", 1);

  g_assert_cmpuint (a->jacobian->n_terms, ==, 2);
  g_assert_cmpuint (a->sparsity.n_free_entries, ==, 9 + 9 - 3);
  g_assert_cmpstr (a->sparsity.sentence, ==,
                   "nonzero only where (p = i and q = j) or (q = i and p = j): 15 of 81 entries");
}

/* (Z * 0) @ U is 0 for every value: it adds no term, and δ_ip δ_jq survives alone, as the
 * derivation, which cancels exact zeros, says. */
static void
test_exact_zero_factor (void)
{
  g_autoptr(JacAnalysis) a = analyse ("Y = Z + (Z * 0) @ U", "Z", 1);
  g_autoptr(JacAnalysis) wrt_u = analyse ("Y = Z + (Z * 0) @ U", "U", 1);

  g_assert_cmpuint (a->jacobian->n_terms, ==, 1);
  g_assert_cmpint (a->jacobian->pair[0], ==, 0);
  g_assert_cmpint (a->jacobian->pair[1], ==, 1);
  g_assert_cmpint (a->derivation->pair[0], ==, 0);
  g_assert_cmpint (a->derivation->pair[1], ==, 1);
  g_assert_true (g_str_has_prefix (a->sparsity.sentence,
                                   "nonzero only where p = i and q = j: 3 of 9 blocks"));
  /* Through U only the zero product depends on it: the empty sum, every entry forced to 0. */
  g_assert_cmpuint (wrt_u->jacobian->n_terms, ==, 0);
  g_assert_cmpuint (wrt_u->sparsity.n_free_entries, ==, 0);
  g_assert_cmpuint (wrt_u->sparsity.n_zero_blocks, ==, wrt_u->sparsity.n_blocks);
}

/* The evaluator cancels what the derivation cancels for every value: X − X, and products with it. */
static void
test_cancellation (void)
{
  static const char * const sources[] = { "Y = S - S", "Y = tanh(S - S) * A", "Y = sum(S - S)" };
  g_autoptr(JacAnalysis) rest = analyse ("Y = (S - S) @ A + S.T", "S", 1);

  for (guint k = 0; k < G_N_ELEMENTS (sources); k++)
    {
      g_autoptr(JacAnalysis) a = analyse (sources[k], "S", 1);

      g_assert_cmpuint (a->jacobian->n_terms, ==, 0);
      g_assert_cmpuint (a->sparsity.n_free_entries, ==, 0);
      g_assert_true (g_str_has_prefix (a->derivation->sparsity, "identically zero"));
      g_assert_true (g_str_has_prefix (a->sparsity.sentence, "identically zero"));
    }
  g_assert_cmpuint (rest->jacobian->n_terms, ==, 1);
  g_assert_cmpint (rest->jacobian->pair[0], ==, 1);
  g_assert_cmpint (rest->jacobian->pair[1], ==, 0);
  g_assert_cmpint (rest->derivation->pair[0], ==, 1);
  g_assert_cmpint (rest->derivation->pair[1], ==, 0);
}

/* Zeros the δ patterns cannot say, proved by the derivation on partitions of the indices: terms
 * that cancel where their δs meet (S − Sᵀ at i = j = p = q for every S, (S − Sᵀ) A at i = p = q,
 * A_kj − A_kj) and δs between two variable axes (δ_pq of tr S, δ_jp δ_jq of diag S). The
 * evaluator takes the same partitions, and both sentences are the same words; the counts are
 * those of the mask. */
static void
test_zero_partitions (void)
{
  static const struct
  {
    const char *source;
    const char *sentence;
    gsize       n_free;
    gsize       n_entries;
  } meet[] = {
    { "Y = S - S.T", "nonzero only where (p = i and q = j) or (q = i and p = j), except where "
      "i = j = p = q", 81 - 69, 81 },
    { "Y = 2 * S - S.T - S", "nonzero only where (p = i and q = j) or (q = i and p = j), except "
      "where i = j = p = q", 12, 81 },
    /* p = i or q = i: 27 + 27 − 9 entries, less the 9 where i = p = q. */
    { "Y = (S - S.T) @ A", "nonzero only where q = i or p = i, except where i = p = q", 36, 81 },
    { "Y = tr(S)", "nonzero only where p = q", 3, 9 },
    { "Y = diag(S)", "nonzero only where j = p = q", 3, 27 },
    { "Y = diag(diag(S))", "nonzero only where i = j = p = q", 3, 81 },
    /* δ_pq tr-part everywhere p = q (27), plus S's own δs off it (9 − 3). */
    { "Y = tr(S) * S", "nonzero only where p = q or (p = i and q = j)", 33, 81 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (meet); c++)
    {
      g_autoptr(JacAnalysis) a = analyse (meet[c].source, "S", 1);
      g_autofree char *counted = g_strdup_printf ("%s: %zu of %zu entries", meet[c].sentence,
                                                  meet[c].n_free, meet[c].n_entries);

      g_assert_cmpstr (a->derivation->partition_sentence, ==, meet[c].sentence);
      g_assert_cmpstr (a->derivation->sparsity, ==, meet[c].sentence);
      g_assert_cmpuint (a->jacobian->n_zero_partitions, ==, a->derivation->n_zero_partitions);
      g_assert_cmpstr (a->sparsity.sentence, ==, counted);
      g_assert_cmpuint (a->sparsity.n_free_entries, ==, meet[c].n_free);
      /* No entry is a zero of these values only: every zero is proved. */
      g_assert_cmpuint (jac_analysis_count_value_zeros (a), ==, 0);
    }

  /* A sum whose terms meet but do not cancel claims nothing more. */
  {
    g_autoptr(JacAnalysis) a = analyse ("Y = S - S.T + S * S", "S", 1);

    g_assert_null (a->derivation->partition_sentence);
    g_assert_cmpuint (a->jacobian->n_zero_partitions, ==, 0);
    g_assert_cmpuint (a->sparsity.n_free_entries, ==, 15);
  }
}

/* kron(X, W)[i, j] = X[⌊i/2⌋, ⌊j/2⌋] W[i mod 2, j mod 2]: ∂/∂X is zero for every value unless
 * ⌊i/2⌋ = p and ⌊j/2⌋ = q, ∂/∂W unless i mod 2 = k and j mod 2 = l; both are stated, counted,
 * hatched and kept out of the value zeros. Checked against the definition, entry by entry. */
static void
test_kron_supports (void)
{
  g_autoptr(JacAnalysis) a = analyse ("Y = kron(X, W)", "X", 1);
  g_autoptr(JacAnalysis) b = analyse ("Y = kron(X, W)", "W", 1);
  g_autoptr(JacAnalysis) both = analyse ("Y = kron(W, W)", "W", 1);
  const JacTensor *w = jac_graph_node (a->graph, jac_graph_find_variable (a->graph, "W"))->value;

  g_assert_cmpstr (a->sparsity.sentence, ==,
                   "nonzero only where ⌊i/2⌋ = p and ⌊j/2⌋ = q: 24 of 144 entries");
  g_assert_cmpstr (a->derivation->sparsity, ==, "nonzero only where ⌊i/2⌋ = p and ⌊j/2⌋ = q");
  g_assert_cmpstr (b->sparsity.sentence, ==,
                   "nonzero only where i mod 2 = k and j mod 2 = l: 24 of 96 entries");
  g_assert_cmpstr (both->sparsity.sentence, ==, "nonzero only where (⌊i/2⌋ = k and ⌊j/2⌋ = l) "
                   "or (i mod 2 = k and j mod 2 = l): 28 of 64 entries");
  /* Blocks (i, p) of ∂Y/∂X: p = ⌊i/2⌋ only, 6 of 18. */
  g_assert_cmpuint (a->sparsity.n_blocks - a->sparsity.n_zero_blocks, ==, 6);
  g_assert_cmpuint (jac_analysis_count_value_zeros (a), ==, 0);
  g_assert_cmpuint (jac_analysis_count_value_zeros (b), ==, 0);
  for (gsize i = 0; i < 6; i++)
    for (gsize j = 0; j < 4; j++)
      for (gsize p = 0; p < 3; p++)
        for (gsize q = 0; q < 2; q++)
          {
            gsize out[2] = { i, j }, wrt[2] = { p, q };
            gboolean structural;
            double value = jac_structured_get (a->jacobian, out, wrt, &structural);
            gboolean tied = i / 2 == p && j / 2 == q;

            g_assert_cmpint (structural, ==, !tied);
            g_assert_cmpfloat (value, ==, tied ? JAC_AT2 (w, i % 2, j % 2) : 0.0);
          }
}

/* The RNN step's ∂h/∂h_prev is contracted with G, and its colour range read, as its core is
 * written: the same numbers as the separate pass over the core, at a small size and at one whose
 * core is written with streaming stores (past 16 MiB, into a buffer used before); and not taken
 * where the output is not that product's Jacobian alone. */
static void
test_fused_contraction (void)
{
  static const struct
  {
    const char *declarations;
    const char *source;
    gboolean    fused;
  } fuse[] = {
    { "N = 3, D = 2, H = 5, h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H",
      "h = tanh(h_prev @ W_hh + x @ W_xh + b)", TRUE },
    { "N = 16, D = 8, H = 384, h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H",
      "h = tanh(h_prev @ W_hh + x @ W_xh + b)", TRUE },
    { "N = 3, D = 2, H = 5, h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H",
      "h = sigmoid(h_prev @ W_hh - x @ W_xh)", TRUE },
    { "N = 3, D = 2, H = 5, h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H",
      "h = 2 * tanh(h_prev @ W_hh + b)", FALSE },
    { "N = 3, D = 2, H = 5, h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H",
      "h = tanh(h_prev @ W_hh) + h_prev", FALSE },
  };

  for (guint c = 0; c < G_N_ELEMENTS (fuse); c++)
    for (guint round = 0; round < 2; round++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
        g_autoptr(JacExpr) expr = NULL;
        g_autoptr(JacStructured) jac = NULL;
        g_autoptr(JacTensor) vjp = NULL;
        g_autoptr(JacTensor) separate = NULL;
        g_autoptr(JacTensor) upstream = NULL;
        g_autoptr(GRand) rand = g_rand_new_with_seed (7 + round);
        const JacNode *out;
        double max_abs = -2, separate_max = -2;
        int h_prev = -1;

        g_assert_true (jac_shape_env_parse_declarations (env, fuse[c].declarations, NULL,
                                                         &error));
        expr = jac_expr_parse (fuse[c].source, env, NULL, &error);
        g_assert_no_error (error);
        g_assert_true (jac_expr_draw_variables (expr, NULL, 1 + round, &error));
        jac_graph_forward (expr->graph);
        for (guint n = 0; n < expr->graph->nodes->len; n++)
          if (g_strcmp0 (jac_graph_node (expr->graph, n)->name, "h_prev") == 0)
            h_prev = (int) n;
        out = jac_graph_node (expr->graph, expr->graph->output);
        upstream = jac_tensor_new (out->rank, out->shape, NULL);
        jac_tensor_fill_uniform (upstream, rand, 1.0);

        jac = jac_graph_jacobian_contract_try (expr->graph, h_prev, upstream, &vjp, &max_abs,
                                               &error);
        g_assert_no_error (error);
        g_assert_cmpint (vjp != NULL, ==, fuse[c].fused);
        separate = jac_structured_contract_max_abs (jac, upstream, &separate_max);
        if (!fuse[c].fused)
          {
            g_assert_cmpfloat (max_abs, ==, -1);
            continue;
          }
        /* The same products added in the same order: equal, not merely close. */
        g_assert_cmpfloat (jac_tensor_max_abs_diff (vjp, separate), ==, 0.0);
        g_assert_cmpfloat (max_abs, ==, separate_max);
        g_assert_cmpfloat (max_abs, ==, jac_tensor_max_abs (jac->core));
      }
}

/* Adding terms: one with fewer δs absorbs one with more, same patterns merge, and the values
 * are those of the sum. */
static void
test_add_absorbs (void)
{
  gsize shape[2] = { 2, 3 };
  int row[2] = { 0, -1 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  JacStructured *identity = jac_structured_new_identity (2, shape);
  JacStructured *tied = jac_structured_new (2, shape, 2, shape, row, NULL);
  JacStructured *again = NULL;
  g_autoptr(JacStructured) sum = NULL;
  g_autoptr(JacTensor) expected = NULL;
  g_autoptr(JacTensor) dense = NULL;

  jac_tensor_fill_uniform (tied->core, rand, 1.0);
  again = jac_structured_copy (tied);
  expected = jac_structured_to_dense (tied, 0, NULL);
  for (gsize e = 0; e < expected->size; e++)
    expected->data[e] *= 2.0;
  for (gsize i = 0; i < 2; i++)
    for (gsize j = 0; j < 3; j++)
      expected->data[((i * 3 + j) * 2 + i) * 3 + j] -= 1.0;

  sum = _jac_structured_add (_jac_structured_add (tied, identity, -1.0, NULL), again, 1.0, NULL);
  dense = jac_structured_to_dense (sum, 0, NULL);
  g_assert_cmpuint (sum->n_terms, ==, 1);
  g_assert_cmpint (sum->pair[0], ==, 0);
  g_assert_cmpint (sum->pair[1], ==, -1);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (dense, expected), <, 1e-15);
}

/* The RNN step itself, every variable and activation but relu (whose zeros depend on the
 * values): one δ pattern each, the mask exactly the dense tensor's zeros. */
static void
test_rnn (void)
{
  static const JacFunc activations[] = { JAC_FUNC_TANH, JAC_FUNC_SIGMOID, JAC_FUNC_IDENTITY };

  for (guint f = 0; f < G_N_ELEMENTS (activations); f++)
    for (JacVariable v = 0; v < JAC_N_VARS; v++)
      {
        g_autoptr(JacTensor) ever_nonzero = NULL;
        g_autoptr(JacStructured) first = NULL;

        for (guint32 seed = 1; seed <= N_SEEDS; seed++)
          {
            g_autoptr(GError) error = NULL;
            JacRnnConfig config;
            g_autoptr(JacRnn) rnn = NULL;
            g_autoptr(JacStructured) jac = NULL;
            g_autoptr(JacTensor) dense = NULL;

            jac_rnn_config_init_default (&config);
            config.activation = activations[f];
            config.seed = seed;
            rnn = jac_rnn_new (&config, NULL, &error);
            g_assert_no_error (error);
            jac = jac_rnn_jacobian (rnn, v);
            dense = jac_structured_to_dense (jac, 0, NULL);
            g_assert_cmpuint (jac->n_terms, ==, 1);
            if (ever_nonzero == NULL)
              ever_nonzero = jac_tensor_new (dense->rank, dense->shape, NULL);
            for (gsize e = 0; e < dense->size; e++)
              {
                gsize out[2] = { 0, 0 }, wrt[2] = { 0, 0 };

                split_index (jac, e, out, wrt);
                if (jac_structured_is_structural_zero (jac, out, wrt))
                  g_assert_cmpfloat (dense->data[e], ==, 0.0);
                if (dense->data[e] != 0.0)
                  ever_nonzero->data[e] = 1.0;
              }
            if (first == NULL)
              first = g_steal_pointer (&jac);
          }
        for (gsize e = 0; e < ever_nonzero->size; e++)
          {
            gsize out[2] = { 0, 0 }, wrt[2] = { 0, 0 };

            split_index (first, e, out, wrt);
            g_assert_cmpint (ever_nonzero->data[e] == 0.0, ==,
                             jac_structured_is_structural_zero (first, out, wrt));
          }
      }
}

/* The Jacobians whose zeros a term cannot hold (tr X, diag X, diag v, kron), and kron, which has
 * no derivation yet: the terms against the dense tensor, finite differences and back-propagation
 * at every entry, every structural zero exactly zero. */
static void
test_matrix_functions (void)
{
  static const char * const sources[] = {
    "Y = tr(S)", "Y = diag(S)", "Y = diag(v)", "Y = kron(A, S)", "Y = kron(X, W) @ kron(W, W).T",
    "Y = kron(v, v) * 2", "Y = sum(kron(S, S.T) * kron(A, A))", "Y = diag(diag(S))",
  };

  for (guint k = 0; k < G_N_ELEMENTS (sources); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JacExpr) expr = parse (sources[k]);
      JacGraph *graph = expr->graph;

      g_assert_true (jac_expr_draw_variables (expr, NULL, 7, &error));
      g_assert_no_error (error);
      for (guint n = 0; n < graph->nodes->len; n++)
        {
          const JacNode *out = jac_graph_node (graph, graph->output);
          g_autoptr(JacStructured) jac = NULL;
          g_autoptr(JacTensor) dense = NULL;
          g_autoptr(JacTensor) fd = NULL;
          g_autoptr(JacTensor) upstream = NULL;
          g_autoptr(JacTensor) from_terms = NULL;
          g_autoptr(JacTensor) backprop = NULL;
          g_autoptr(GRand) rand = g_rand_new_with_seed (n + 1);
          double scale;

          if (jac_graph_node (graph, n)->op != JAC_OP_VARIABLE)
            continue;
          jac = jac_graph_jacobian (graph, n);
          dense = jac_structured_to_dense (jac, 0, NULL);
          fd = jac_graph_finite_difference (graph, n, 1e-6);
          upstream = jac_tensor_new (out->rank, out->shape, NULL);
          jac_tensor_fill_uniform (upstream, rand, 1.0);
          from_terms = jac_structured_contract (jac, upstream);
          backprop = jac_graph_vjp (graph, n, upstream);
          scale = MAX (1.0, jac_tensor_max_abs (fd));
          if (!(jac_tensor_max_abs_diff (dense, fd) < 1e-6 * scale) ||
              !(jac_tensor_max_abs_diff (from_terms, backprop) < 1e-12 * scale))
            g_error ("%s wrt %s: |dense − fd| = %g, |Σ G·J − back-prop| = %g", sources[k],
                     jac_graph_node (graph, n)->name, jac_tensor_max_abs_diff (dense, fd),
                     jac_tensor_max_abs_diff (from_terms, backprop));
          for (gsize e = 0; e < dense->size; e++)
            {
              gsize o[2] = { 0, 0 }, w[2] = { 0, 0 };

              split_index (jac, e, o, w);
              if (jac_structured_is_structural_zero (jac, o, w))
                g_assert_cmpfloat (fd->data[e], ==, 0.0);
            }
        }
    }
  {
    /* The δ a term can keep: ∂(diag S)_j/∂S_pq = δ_jp δ_jq keeps δ_jp, ∂ diag(v)_ij/∂v_q keeps
     * δ_iq, so whole blocks are structural zeros. */
    g_autoptr(JacExpr) diag = parse ("Y = diag(S)");
    g_autoptr(JacExpr) embed = parse ("Y = diag(v)");
    g_autoptr(JacStructured) jd = jac_graph_jacobian (diag->graph, jac_graph_find_variable (diag->graph, "S"));
    g_autoptr(JacStructured) je = jac_graph_jacobian (embed->graph, jac_graph_find_variable (embed->graph, "v"));

    g_assert_cmpuint (jd->n_terms, ==, 1);
    g_assert_cmpint (jd->pair[0], ==, 0);
    g_assert_cmpuint (je->n_terms, ==, 1);
    g_assert_cmpint (je->pair[0], ==, 0);
    g_assert_cmpint (je->pair[1], ==, -1);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/terms/masks", test_masks);
  g_test_add_func ("/terms/gram", test_gram);
  g_test_add_func ("/terms/grouped-differences", test_grouped_differences);
  g_test_add_func ("/terms/hover", test_hover);
  g_test_add_func ("/terms/symmetric-sum", test_symmetric_sum);
  g_test_add_func ("/terms/exact-zero-factor", test_exact_zero_factor);
  g_test_add_func ("/terms/cancellation", test_cancellation);
  g_test_add_func ("/terms/zero-partitions", test_zero_partitions);
  g_test_add_func ("/terms/kron-supports", test_kron_supports);
  g_test_add_func ("/terms/fused-contraction", test_fused_contraction);
  g_test_add_func ("/terms/add-absorbs", test_add_absorbs);
  g_test_add_func ("/terms/rnn", test_rnn);
  g_test_add_func ("/terms/matrix-functions", test_matrix_functions);
  return g_test_run ();
}

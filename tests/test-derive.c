/* test-derive.c: index-notation derivations against structured Jacobians and finite differences.
 *
 * For every variable of many expressions, and for the texts a teacher would write. */
#define G_LOG_DOMAIN "test-derive"

#include <math.h>
#include <string.h>

#include <pango/pango.h>

#include "core/jac-derive.h"
#include "core/jac-error.h"

static const char declarations[] =
  "N = 2, D = 3, H = 4;"
  "h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H, B: N×H,"
  "V: 2x3, A: 3x4, R: 2x3, X: 3x2, W: 2x4, C: 3x4, P: 3x4, Q: 3x4,"
  "c: (3, 1), r: (1, 4), v: (4,), w: (4,), s: (), Z: 3x3";

typedef struct
{
  const char *source;
  gboolean    positive;   /* inputs in (0.5, 1.5), for log, sqrt and division */
} Case;

/* Every operator and function, broadcasting both ways, transposes on either side, nested and
 * repeated products, softmax, sum, and ranks 0 to 2 for outputs and variables. */
static const Case cases[] = {
  { "U = V @ A", FALSE },
  { "h = tanh(h_prev @ W_hh + x @ W_xh + b)", FALSE },
  { "h = tanh(h_prev @ W_hh + x @ W_xh + B)", FALSE },
  { "h = sigmoid(h_prev @ W_hh + x @ W_xh + b)", FALSE },
  { "h = relu(h_prev @ W_hh + x @ W_xh + b)", FALSE },
  { "h = h_prev @ W_hh + x @ W_xh + b", FALSE },
  { "R @ A @ A.T", FALSE },
  { "X.T @ X", FALSE },
  { "X @ X.T", FALSE },
  { "Xᵀ @ X + X.T @ X", FALSE },
  { "softmax(X @ W)", FALSE },
  { "sum(P)", FALSE },
  { "sum(X @ W)", FALSE },
  { "sigmoid(X @ W + v) * C", FALSE },
  { "P + v", FALSE },
  { "2 * P + 1 - P / 4", FALSE },
  { "2 / P", TRUE },
  { "P / c", TRUE },
  { "P * r - c", FALSE },
  { "-(P - Q)", FALSE },
  { "exp(P) * Q", FALSE },
  { "log(P) + sqrt(Q)", TRUE },
  { "sin(P) * cos(Q)", FALSE },
  { "softplus(P) - square(Q)", FALSE },
  { "identity(X) @ W", FALSE },
  { "P ** 2 / (v + 2)", TRUE },
  { "(X @ W).T", FALSE },
  { "W.T @ X.T", FALSE },
  { "s * P + s", FALSE },
  { "tanh(tanh(X @ W))", FALSE },
  { "softmax(P) * Q", FALSE },
  { "sum(softmax(X @ W) * C)", FALSE },
  { "v * w", FALSE },
  { "sum(v * v) + s", FALSE },
  { "relu(P) ⊙ Q − P", FALSE },
  { "sigmoid(P) / (1 + exp(Q))", FALSE },
  { "sqrt(P * P + 1)", FALSE },
  { "-(P / (c + 2) - v) / (square(v) + 2)", TRUE },
  { "sum(tanh(P) * P)", FALSE },
  { "softmax(P + v)", FALSE },
  { "exp(-P) @ Q.T", FALSE },
  { "(P - Q).T @ (P + Q)", FALSE },
  { "cos(X @ W) @ W.T", FALSE },
  { "log(sigmoid(P)) * Q", FALSE },
  { "tanh(X @ W) * sigmoid(X @ W)", FALSE },
  { "v / w - sum(v)", TRUE },
  { "A.T", FALSE },
  /* Like terms: powers, coefficients, repeated variables across a matrix product. */
  { "P * P * P", FALSE },
  { "P * Q * P / 3 + Q * Q", FALSE },
  { "P + P", FALSE },
  { "sum(P * P * P) + s * s", FALSE },
  { "(P * P) @ A.T + P @ (A * A).T", FALSE },
  { "tanh(P * P) * P", FALSE },
  { "Z @ Z @ Z", FALSE },
  /* The Cookbook's element-wise functions and powers. */
  { "abs(P) * Q", FALSE },
  { "tan(X @ W)", FALSE },
  { "arcsin(P / 2) + arccos(Q / 2)", FALSE },
  { "arctan(P) @ A.T", FALSE },
  { "sinh(P) - cosh(Q)", FALSE },
  { "P ** 0.5 + Q ** -1", TRUE },
  { "(X @ W) ** 3", FALSE },
  { "sum(P ** 1.5) * s", TRUE },
  { "P ** (1/3) * abs(Q)", TRUE },
  /* Traces, determinants, inverses, diagonals and reductions along an axis. */
  { "tr(Z)", FALSE },
  { "tr(Z @ Z)", FALSE },
  { "tr(A.T @ P)", FALSE },
  { "trace(X @ W @ W.T @ X.T)", FALSE },
  { "det(Z)", FALSE },
  { "logdet(Z)", FALSE },
  { "log(det(Z)) - logdet(Z) + s", FALSE },
  { "inv(Z)", FALSE },
  { "inv(Z) @ A", FALSE },
  { "tr(inv(Z))", FALSE },
  { "diag(v)", FALSE },
  { "diag(w) * v", FALSE },
  { "diag(Z)", FALSE },
  { "diag(Z @ Z) * c", FALSE },
  { "sum(P, 0)", FALSE },
  { "sum(P, 1) * c", FALSE },
  { "sum(v, 0) * v", FALSE },
  { "mean(P)", FALSE },
  { "mean(P, 0) + v", FALSE },
  { "mean(P, axis=1)", FALSE },
  { "norm(P)", FALSE },
  { "norm(X @ W - C)", FALSE },
  { "logsumexp(P)", FALSE },
  { "logsumexp(P, 1)", FALSE },
  { "logsumexp(P, -2)", FALSE },
  /* @ with vectors, as NumPy: x @ A @ x, A @ x, x @ y. */
  { "v @ w", FALSE },
  { "v @ W.T @ W @ w", FALSE },
  { "W @ v", FALSE },
  { "tanh(W @ v) @ tanh(W @ w)", FALSE },
  { "X.T @ (X @ W @ v)", FALSE },
  { "A @ v + c.T @ A @ w", FALSE },
  /* Layer norm and the cross-entropy of a softmax. */
  { "(P - mean(P, 1, keepdims=True)) / sqrt(mean((P - mean(P, 1, keepdims=True)) ** 2, 1, "
    "keepdims=True) + 0.00001)", FALSE },
  { "-sum(Q * log(softmax(P)))", FALSE },
  { "sum(P, 0, keepdims=True) * Q", FALSE },
  /* Kronecker products: composite indices ⌊i/p⌋ and i mod p. */
  { "kron(X, W)", FALSE },
  { "kron(X @ W, Z) @ kron(A, R).T", FALSE },
  { "kron(v, w) * 2 + kron(w, v)", FALSE },
  { "tanh(kron(s * Z, X.T @ X))", FALSE },
  /* Programs: named values are shared sub-graphs, used several times and through each other. */
  { "a = tanh(X @ W); Y = a * a + a", FALSE },
  { "a = X @ W\ne = sigmoid(a) * P\nY = e @ A.T + a @ A.T", FALSE },
  { "i = sigmoid(P + Q); f = sigmoid(P - Q); g = tanh(C); cs = f * C + i * g; "
    "hs = i * tanh(cs)", FALSE },
  { "a = P; e = a * 2; Y = e + a;", FALSE },
  { "k = 3; Y = k * P + k", FALSE },
  { "u = v * w; t = sum(u); Y = t * u", FALSE },
};

static JacExpr *
parse (const char *source)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  JacExpr *expr;
  gsize pos = 0;

  g_assert_true (jac_shape_env_parse_declarations (env, declarations, &pos, &error));
  expr = jac_expr_parse (source, env, &pos, &error);
  if (expr == NULL)
    g_error ("“%s” at %zu: %s", source, pos, error->message);
  return expr;
}

static void
draw (JacGraph *graph,
      guint32   seed,
      gboolean  positive)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (guint n = 0; n < graph->nodes->len; n++)
    {
      JacNode *node = jac_graph_node (graph, n);

      if (node->op != JAC_OP_VARIABLE)
        continue;
      jac_tensor_fill_uniform (node->value, rand, positive ? 0.5 : 1.0);
      if (positive)
        for (gsize e = 0; e < node->value->size; e++)
          node->value->data[e] += 1.0;
      /* The operand of det, logdet or inv: + n I, diagonally dominant, so well invertible. */
      for (guint u = n + 1; u < graph->nodes->len; u++)
        {
          const JacNode *user = jac_graph_node (graph, u);

          if ((user->op == JAC_OP_DET || user->op == JAC_OP_LOGDET || user->op == JAC_OP_INV) &&
              user->lhs == (int) n)
            {
              for (gsize i = 0; i < node->shape[0]; i++)
                JAC_AT2 (node->value, i, i) += (double) node->shape[0];
              break;
            }
        }
    }
  jac_graph_forward (graph);
}

static JacDerivation *
derive (const JacExpr  *expr,
        const char     *variable,
        JacDeriveFlags  flags)
{
  g_autoptr(GError) error = NULL;
  JacDerivation *d = jac_derive (expr, variable, flags, &error);

  g_assert_no_error (error);
  g_assert_nonnull (d);
  return d;
}

/* ---- checks ---- */

static void
check_markup (const char *markup,
              const char *where)
{
  g_autoptr(GError) error = NULL;

  if (markup != NULL && !pango_parse_markup (markup, -1, 0, NULL, NULL, NULL, &error))
    g_error ("%s: bad markup “%s”: %s", where, markup, error->message);
}

static void
check_latex (const char *latex,
             const char *where)
{
  int depth = 0;

  if (latex == NULL)
    return;
  for (const char *c = latex; *c != '\0'; c++)
    {
      if (*c == '{')
        depth++;
      else if (*c == '}' && --depth < 0)
        break;
    }
  if (depth != 0)
    g_error ("%s: unbalanced braces in “%s”", where, latex);
}

static void
check_texts (const JacDerivation *d,
             const char          *what)
{
  g_assert_cmpuint (d->steps->len, >=, 4);
  for (guint s = 0; s < d->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (d->steps, s);

      g_assert_true (step->title != NULL && step->text != NULL && *step->text != '\0');
      g_assert_true (g_utf8_validate (step->text, -1, NULL));
      check_markup (step->markup, what);
      check_latex (step->latex, what);
    }
  g_assert_nonnull (jac_derivation_find_step (d, "Definition"));
  g_assert_nonnull (jac_derivation_find_step (d, "Structure"));
  g_assert_nonnull (jac_derivation_find_step (d, "Contract with G"));
  check_markup (d->result_markup, what);
  check_markup (d->contracted_markup, what);
  check_markup (d->where_markup, what);
  check_latex (d->result_latex, what);
  check_latex (d->contracted_latex, what);
  check_latex (d->where_latex, what);
}

/* The δ patterns a sentence claims: "nonzero only where p = i and q = j" → {0, 1};
 * "nonzero only where q = i or q = j" → {1, -1}, {-1, 1}. Returns how many (0: dense or zero). */
static guint
parse_sentence (const JacDerivation *d,
                int                (*patterns)[2])
{
  const char *prefix = "nonzero only where ";
  g_auto(GStrv) alternatives = NULL;
  guint n = 0;

  if (!g_str_has_prefix (d->sparsity, prefix))
    {
      g_assert_true (g_str_has_prefix (d->sparsity, "dense") ||
                     g_str_has_prefix (d->sparsity, "identically zero"));
      return 0;
    }
  alternatives = g_strsplit (d->sparsity + strlen (prefix), " or ", -1);
  for (guint k = 0; alternatives[k] != NULL; k++, n++)
    {
      char *alternative = alternatives[k];
      g_auto(GStrv) parts = NULL;
      gsize len = strlen (alternative);

      g_assert_cmpuint (n, <, JAC_DERIVE_MAX_PATTERNS);
      /* Parentheses exactly around the alternatives of two δs in a union. */
      if (alternative[0] == '(')
        {
          g_assert_true (alternatives[1] != NULL && alternative[len - 1] == ')');
          alternative[len - 1] = '\0';
          alternative++;
        }
      parts = g_strsplit (alternative, " and ", -1);
      g_assert_true (alternatives[1] == NULL || parts[1] == NULL ||
                     alternatives[k][0] == '(');
      patterns[n][0] = patterns[n][1] = -1;
      for (guint p = 0; parts[p] != NULL; p++)
        {
          const char *var = strchr (d->wrt_letters, parts[p][0]);
          const char *out = strchr (d->out_letters, parts[p][4]);

          g_assert_cmpuint (strlen (parts[p]), ==, 5);
          g_assert_true (var != NULL && out != NULL);
          g_assert_true (strncmp (parts[p] + 1, " = ", 3) == 0);
          patterns[n][out - d->out_letters] = var - d->wrt_letters;
        }
    }
  return n;
}

/* The sentence says what the δ patterns say, every entry outside all of them is zero in the
 * finite differences, and the patterns leave some entry that is not. */
static void
check_sparsity (const JacDerivation *d,
                const JacStructured *jac,
                const JacTensor     *dense,
                const JacTensor     *fd,
                const char          *what)
{
  int patterns[JAC_DERIVE_MAX_PATTERNS][2];
  guint n_patterns;
  gboolean allowed_nonzero = FALSE;
  int common[2] = { -1, -1 };

  /* Zeros the δ patterns do not say: the sentence is the partitions', and every entry of a zero
   * partition is zero in the finite differences. */
  if (d->partition_sentence != NULL)
    {
      g_assert_cmpstr (d->sparsity, ==, d->partition_sentence);
      g_assert_cmpuint (d->n_zero_partitions, >, 0);
      for (gsize e = 0; e < dense->size; e++)
        {
          gsize index[4], rest = e;
          guint code;
          gboolean zero = FALSE;

          for (guint a = dense->rank; a-- > 0;)
            {
              index[a] = rest % dense->shape[a];
              rest /= dense->shape[a];
            }
          code = jac_entry_partition (jac->out_rank, jac->wrt_rank, index,
                                      index + jac->out_rank);
          for (guint z = 0; z < d->n_zero_partitions; z++)
            zero |= d->zero_partitions[z] == code;
          if (zero && !(fabs (fd->data[e]) < 1e-9 && dense->data[e] == 0.0))
            g_error ("%s wrt %s: “%s” but entry %zu is %g", what, d->variable_name, d->sparsity,
                     e, fd->data[e]);
          allowed_nonzero |= !zero && fabs (dense->data[e]) > 1e-12;
        }
      g_assert_true (allowed_nonzero);
      return;
    }
  /* kron's composite δs: the sentence is the supports', and every entry outside them is zero in
   * the finite differences. */
  if (d->support_sentence != NULL)
    {
      g_assert_cmpstr (d->sparsity, ==, d->support_sentence);
      g_assert_cmpuint (d->n_supports, >, 0);
      for (gsize e = 0; e < dense->size; e++)
        {
          gsize index[4], rest = e;
          gboolean zero;

          for (guint a = dense->rank; a-- > 0;)
            {
              index[a] = rest % dense->shape[a];
              rest /= dense->shape[a];
            }
          zero = !jac_entry_in_supports (d->n_supports, d->supports, index,
                                         index + jac->out_rank);
          if (zero && !(fabs (fd->data[e]) < 1e-9 && dense->data[e] == 0.0))
            g_error ("%s wrt %s: “%s” but entry %zu is %g", what, d->variable_name, d->sparsity,
                     e, fd->data[e]);
          allowed_nonzero |= !zero && fabs (dense->data[e]) > 1e-12;
        }
      g_assert_true (allowed_nonzero);
      return;
    }
  n_patterns = parse_sentence (d, patterns);

  if (n_patterns > 0)
    {
      g_assert_cmpuint (n_patterns, ==, d->n_patterns);
      for (guint k = 0; k < n_patterns; k++)
        {
          g_assert_cmpint (patterns[k][0], ==, d->patterns[k][0]);
          g_assert_cmpint (patterns[k][1], ==, d->patterns[k][1]);
        }
    }
  else if (g_str_has_prefix (d->sparsity, "dense"))
    g_assert_cmpuint (d->n_patterns, <=, 1);
  /* pair is the δs every pattern has. */
  for (guint a = 0; a < 2 && d->n_patterns > 0; a++)
    {
      common[a] = d->patterns[0][a];
      for (guint k = 1; k < d->n_patterns; k++)
        if (d->patterns[k][a] != common[a])
          common[a] = -1;
    }
  g_assert_cmpint (d->pair[0], ==, common[0]);
  g_assert_cmpint (d->pair[1], ==, common[1]);
  if (g_str_has_prefix (d->sparsity, "identically zero"))
    {
      g_assert_cmpuint (d->n_patterns, ==, 0);
      g_assert_cmpfloat (jac_tensor_max_abs (fd), ==, 0.0);
    }

  for (gsize e = 0; e < dense->size; e++)
    {
      gsize index[4], rest = e;
      gboolean forbidden = n_patterns > 0;

      for (guint a = dense->rank; a-- > 0;)
        {
          index[a] = rest % dense->shape[a];
          rest /= dense->shape[a];
        }
      for (guint k = 0; k < n_patterns && forbidden; k++)
        {
          gboolean holds = TRUE;

          for (guint a = 0; a < jac->out_rank; a++)
            if (patterns[k][a] >= 0)
              holds &= index[a] == index[jac->out_rank + patterns[k][a]];
          forbidden = !holds;
        }
      if (forbidden && !(fabs (fd->data[e]) < 1e-9 && dense->data[e] == 0.0))
        g_error ("%s wrt %s: “%s” but entry %zu is %g", what, d->variable_name, d->sparsity, e,
                 fd->data[e]);
      if (!forbidden && fabs (dense->data[e]) > 1e-12)
        allowed_nonzero = TRUE;
    }
  if (n_patterns > 0)
    g_assert_true (allowed_nonzero);
}

static void
check_contraction (JacGraph            *graph,
                   const JacDerivation *d,
                   const JacStructured *jac,
                   GRand               *rand,
                   const char          *what)
{
  const JacNode *out = jac_graph_node (graph, graph->output);
  g_autoptr(JacTensor) upstream = jac_tensor_new (out->rank, out->shape, NULL);
  g_autoptr(JacTensor) expected = NULL;
  g_autoptr(JacTensor) value = NULL;
  g_autoptr(GError) error = NULL;
  double scale, err;

  jac_tensor_fill_uniform (upstream, rand, 1.0);
  expected = jac_structured_contract (jac, upstream);
  value = jac_derivation_evaluate (d, graph, upstream, &error);
  g_assert_no_error (error);
  g_assert_true (jac_tensor_same_shape (value, expected));
  scale = MAX (1.0, jac_tensor_max_abs (expected));
  err = jac_tensor_max_abs_diff (value, expected);
  if (!(err < 1e-10 * scale))
    g_error ("%s wrt %s: |%s − Σ G·J| = %g", what, d->variable_name, d->contracted_text, err);
}

static void
check_variable (JacExpr    *expr,
                int         variable,
                const char *what)
{
  JacGraph *graph = expr->graph;
  const char *name = jac_graph_node (graph, variable)->name;
  g_autoptr(JacStructured) jac = jac_graph_jacobian (graph, variable);
  g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
  g_autoptr(JacTensor) fd = jac_graph_finite_difference (graph, variable, 1e-6);
  g_autoptr(JacDerivation) d = derive (expr, name, JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) named = derive (expr, name, JAC_DERIVE_NAME_SLOPES);
  g_autoptr(GRand) rand = g_rand_new_with_seed (variable + 100);
  double scale = MAX (1.0, jac_tensor_max_abs (fd));
  double err = jac_tensor_max_abs_diff (dense, fd);
  int pair[2];

  if (!(err < 1e-6 * scale))
    g_error ("%s wrt %s: |structured − finite differences| = %g", what, name, err);
  jac_structured_common_pairs (jac, pair);
  for (guint a = 0; a < 2; a++)
    if (d->pair[a] != pair[a] || named->pair[a] != pair[a])
      g_error ("%s wrt %s: symbolic δ pairs (%d, %d), structured (%d, %d)", what, name,
               d->pair[0], d->pair[1], pair[0], pair[1]);
  check_sparsity (d, jac, dense, fd, what);
  check_contraction (graph, d, jac, rand, what);
  check_contraction (graph, named, jac, rand, what);
  check_texts (d, what);
  check_texts (named, what);
  if (g_test_verbose ())
    g_test_message ("%s wrt %s: %s; %s", what, name, d->sparsity, d->contracted_text);
}

static void
test_all_expressions (void)
{
  guint n_checked = 0;

  g_assert_cmpuint (G_N_ELEMENTS (cases), >=, 30);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(JacExpr) expr = parse (cases[c].source);

      draw (expr->graph, c + 1, cases[c].positive);
      for (guint n = 0; n < expr->graph->nodes->len; n++)
        if (jac_graph_node (expr->graph, n)->op == JAC_OP_VARIABLE)
          {
            check_variable (expr, n, cases[c].source);
            n_checked++;
          }
    }
  g_test_message ("%u expressions, %u variables", (guint) G_N_ELEMENTS (cases), n_checked);
}

/* ---- the texts ---- */

static void
assert_step (const JacDerivation *d,
             guint                index,
             const char          *title,
             const char          *text)
{
  const JacDerivationStep *step;

  g_assert_cmpuint (index, <, d->steps->len);
  step = g_ptr_array_index (d->steps, index);
  g_assert_cmpstr (step->title, ==, title);
  g_assert_cmpstr (step->text, ==, text);
}

static const JacDerivationStep *
step_at (const JacDerivation *d,
         guint                index)
{
  g_assert_cmpuint (index, <, d->steps->len);
  return g_ptr_array_index (d->steps, index);
}

static void
test_text_matmul (void)
{
  g_autoptr(JacExpr) expr = parse ("U = V @ A");
  g_autoptr(JacDerivation) dv = derive (expr, "V", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) da = derive (expr, "A", JAC_DERIVE_DEFAULT);

  g_assert_cmpuint (dv->steps->len, ==, 5);
  assert_step (dv, 0, "Definition", "U_ij = Σ_k V_ik A_kj");
  assert_step (dv, 1, "Differentiate", "∂U_ij/∂V_pq = Σ_k δ_ip δ_kq A_kj");
  assert_step (dv, 2, "Kronecker δ rule", "∂U_ij/∂V_pq = δ_ip A_qj");
  assert_step (dv, 3, "Structure", "nonzero only where p = i (row i of U depends only on row "
               "p = i of V, dense within each row block)");
  assert_step (dv, 4, "Contract with G", "Σ_ij G_ij ∂U_ij/∂V_pq = Σ_j G_pj A_qj = (G Aᵀ)_pq");
  g_assert_cmpstr (step_at (dv, 0)->markup, ==,
                   "U<sub>ij</sub> = Σ<sub>k</sub> V<sub>ik</sub> A<sub>kj</sub>");
  g_assert_cmpstr (step_at (dv, 1)->markup, ==,
                   "∂U<sub>ij</sub>/∂V<sub>pq</sub> = Σ<sub>k</sub> δ<sub>ip</sub> δ<sub>kq</sub> "
                   "A<sub>kj</sub>");
  g_assert_cmpstr (step_at (dv, 2)->markup, ==,
                   "∂U<sub>ij</sub>/∂V<sub>pq</sub> = δ<sub>ip</sub> A<sub>qj</sub>");
  g_assert_cmpstr (step_at (dv, 1)->latex, ==,
                   "\\frac{\\partial U_{ij}}{\\partial V_{pq}} = \\sum_{k} \\delta_{ip} "
                   "\\delta_{kq} A_{kj}");
  g_assert_cmpstr (step_at (dv, 2)->latex, ==,
                   "\\frac{\\partial U_{ij}}{\\partial V_{pq}} = \\delta_{ip} A_{qj}");
  g_assert_cmpstr (step_at (dv, 4)->latex, ==,
                   "\\sum_{ij} G_{ij} \\frac{\\partial U_{ij}}{\\partial V_{pq}} = \\sum_{j} "
                   "G_{pj} A_{qj} = (G A^{\\top})_{pq}");
  g_assert_cmpstr (dv->result_text, ==, "δ_ip A_qj");
  g_assert_cmpstr (dv->sparsity, ==, "nonzero only where p = i");
  g_assert_cmpstr (dv->contracted_text, ==, "G Aᵀ");
  g_assert_cmpstr (dv->contracted_markup, ==, "G Aᵀ");
  g_assert_cmpstr (dv->contracted_latex, ==, "G A^{\\top}");
  g_assert_null (dv->where_text);
  g_assert_cmpstr (dv->out_letters, ==, "ij");
  g_assert_cmpstr (dv->wrt_letters, ==, "pq");
  g_assert_cmpint (dv->pair[0], ==, 0);
  g_assert_cmpint (dv->pair[1], ==, -1);

  assert_step (da, 1, "Differentiate", "∂U_ij/∂A_pq = Σ_k V_ik δ_kp δ_jq");
  assert_step (da, 2, "Kronecker δ rule", "∂U_ij/∂A_pq = V_ip δ_jq");
  assert_step (da, 4, "Contract with G", "Σ_ij G_ij ∂U_ij/∂A_pq = Σ_i G_iq V_ip = (Vᵀ G)_pq");
  g_assert_cmpstr (da->sparsity, ==, "nonzero only where q = j");
  g_assert_cmpstr (da->contracted_text, ==, "Vᵀ G");
  g_assert_cmpstr (da->contracted_latex, ==, "V^{\\top} G");
}

static void
test_text_rnn (void)
{
  g_autoptr(JacExpr) expr = parse ("h = tanh(h_prev @ W_hh + x @ W_xh + b)");
  g_autoptr(JacDerivation) dh = derive (expr, "h_prev", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dw = derive (expr, "W_hh", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dx = derive (expr, "x", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dwx = derive (expr, "W_xh", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) db = derive (expr, "b", JAC_DERIVE_DEFAULT);

  g_assert_cmpuint (dh->steps->len, ==, 8);
  assert_step (dh, 0, "Definition", "Z_ij = Σ_k h_prev_ik W_hh_kj + Σ_k x_ik W_xh_kj + b_j");
  assert_step (dh, 1, "Definition", "h_ij = tanh(Z_ij)");
  assert_step (dh, 2, "Chain rule", "∂h_ij/∂h_prev_pq = (1 − h_ij²) ∂Z_ij/∂h_prev_pq");
  assert_step (dh, 3, "Differentiate", "∂Z_ij/∂h_prev_pq = Σ_k δ_ip δ_kq W_hh_kj");
  assert_step (dh, 4, "Kronecker δ rule", "∂Z_ij/∂h_prev_pq = δ_ip W_hh_qj");
  assert_step (dh, 5, "Substitute", "∂h_ij/∂h_prev_pq = (1 − h_ij²) δ_ip W_hh_qj");
  assert_step (dh, 6, "Structure", "nonzero only where p = i (row i of h depends only on row "
               "p = i of h_prev, dense within each row block)");
  assert_step (dh, 7, "Contract with G", "Σ_ij G_ij ∂h_ij/∂h_prev_pq = Σ_j G_pj (1 − h_pj²) "
               "W_hh_qj = ((G ⊙ (1 − h ⊙ h)) W_hhᵀ)_pq");
  g_assert_cmpstr (step_at (dh, 5)->markup, ==,
                   "∂h<sub>ij</sub>/∂h<sup>prev</sup><sub>pq</sub> = (1 − h<sub>ij</sub><sup>2</sup>) "
                   "δ<sub>ip</sub> W<sup>hh</sup><sub>qj</sub>");
  g_assert_cmpstr (step_at (dh, 5)->latex, ==,
                   "\\frac{\\partial h_{ij}}{\\partial {h^{\\mathrm{prev}}_{pq}}} = "
                   "\\left(1 - h_{ij}^{2}\\right) \\delta_{ip} {W^{hh}_{qj}}");
  g_assert_cmpstr (dh->result_text, ==, "(1 − h_ij²) δ_ip W_hh_qj");
  g_assert_cmpstr (dh->sparsity, ==, "nonzero only where p = i");
  g_assert_cmpstr (dh->contracted_text, ==, "(G ⊙ (1 − h ⊙ h)) W_hhᵀ");
  g_assert_cmpstr (dh->contracted_markup, ==, "(G ⊙ (1 − h ⊙ h)) W<sub>hh</sub>ᵀ");
  g_assert_cmpstr (dh->contracted_latex, ==,
                   "(G \\odot (1 - h \\odot h)) W_{hh}^{\\top}");
  g_assert_cmpstr (dh->where_text, ==, NULL);

  /* A weight takes k, l, so the sums move on to m. */
  g_assert_cmpstr (dw->wrt_letters, ==, "kl");
  assert_step (dw, 0, "Definition", "Z_ij = Σ_m h_prev_im W_hh_mj + Σ_m x_im W_xh_mj + b_j");
  assert_step (dw, 3, "Differentiate", "∂Z_ij/∂W_hh_kl = Σ_m h_prev_im δ_mk δ_jl");
  assert_step (dw, 4, "Kronecker δ rule", "∂Z_ij/∂W_hh_kl = h_prev_ik δ_jl");
  g_assert_cmpstr (dw->result_text, ==, "(1 − h_ij²) h_prev_ik δ_jl");
  g_assert_cmpstr (dw->sparsity, ==, "nonzero only where l = j");
  g_assert_cmpstr (dw->contracted_text, ==, "h_prevᵀ (G ⊙ (1 − h ⊙ h))");
  g_assert_cmpstr (dw->contracted_markup, ==, "h<sub>prev</sub>ᵀ (G ⊙ (1 − h ⊙ h))");

  g_assert_cmpstr (dx->result_text, ==, "(1 − h_ij²) δ_ip W_xh_qj");
  g_assert_cmpstr (dx->contracted_text, ==, "(G ⊙ (1 − h ⊙ h)) W_xhᵀ");
  g_assert_cmpstr (dwx->contracted_text, ==, "xᵀ (G ⊙ (1 − h ⊙ h))");

  /* b is a vector: one index, the second letter, tied to j; its gradient sums the columns. */
  g_assert_cmpstr (db->wrt_letters, ==, "q");
  assert_step (db, 3, "Differentiate", "∂Z_ij/∂b_q = δ_jq");
  g_assert_cmpstr (db->result_text, ==, "(1 − h_ij²) δ_jq");
  g_assert_cmpstr (db->sparsity, ==, "nonzero only where q = j");
  g_assert_cmpstr (db->contracted_text, ==, "1ᵀ (G ⊙ (1 − h ⊙ h))");
  g_assert_cmpstr (db->contracted_markup, ==, "<b>1</b>ᵀ (G ⊙ (1 − h ⊙ h))");
  g_assert_cmpstr (db->contracted_latex, ==,
                   "\\mathbf{1}^{\\top} (G \\odot (1 - h \\odot h))");
  assert_step (db, 6, "Contract with G", "Σ_ij G_ij ∂h_ij/∂b_q = Σ_i G_iq (1 − h_iq²) "
               "= (1ᵀ (G ⊙ (1 − h ⊙ h)))_q");
}

static void
test_text_rnn_named_slope (void)
{
  g_autoptr(JacExpr) expr = parse ("h = tanh(h_prev @ W_hh + x @ W_xh + b)");
  g_autoptr(JacDerivation) dh = derive (expr, "h_prev", JAC_DERIVE_NAME_SLOPES);
  g_autoptr(JacDerivation) dw = derive (expr, "W_hh", JAC_DERIVE_NAME_SLOPES);
  const JacDerivationStep *slope = jac_derivation_find_step (dh, "Slope");

  g_assert_nonnull (slope);
  g_assert_cmpstr (slope->text, ==, "S_ij = 1 − h_ij²");
  g_assert_cmpstr (dh->result_text, ==, "S_ij δ_ip W_hh_qj");
  g_assert_cmpstr (dh->contracted_text, ==, "(G ⊙ S) W_hhᵀ");
  g_assert_cmpstr (dh->where_text, ==, "S = 1 − h ⊙ h");
  g_assert_cmpstr (dw->result_text, ==, "S_ij h_prev_ik δ_jl");
  g_assert_cmpstr (dw->contracted_text, ==, "h_prevᵀ (G ⊙ S)");
}

static void
test_text_gate (void)
{
  g_autoptr(JacExpr) expr = parse ("sigmoid(X @ W + v) * C");
  g_autoptr(JacDerivation) dx = derive (expr, "X", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dc = derive (expr, "C", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dv = derive (expr, "v", JAC_DERIVE_DEFAULT);

  g_assert_cmpstr (jac_derivation_find_step (dx, "Slope")->text, ==,
                   "S_ij = σ(Z_ij) (1 − σ(Z_ij))");
  g_assert_cmpstr (jac_derivation_find_step (dx, "Chain rule")->text, ==,
                   "∂Y_ij/∂X_pq = S_ij C_ij ∂Z_ij/∂X_pq");
  g_assert_cmpstr (dx->result_text, ==, "S_ij C_ij δ_ip W_qj");
  g_assert_cmpstr (dx->contracted_text, ==, "(G ⊙ C ⊙ S) Wᵀ");
  g_assert_cmpstr (dx->where_text, ==, "Z = X W + v, S = σ(Z) ⊙ (1 − σ(Z))");
  g_assert_cmpstr (dx->where_latex, ==,
                   "Z = X W + v,\\quad S = \\sigma(Z) \\odot (1 - \\sigma(Z))");
  g_assert_cmpstr (dc->sparsity, ==, "nonzero only where p = i and q = j");
  g_assert_cmpstr (dc->contracted_text, ==, "G ⊙ σ(Z)");
  g_assert_cmpstr (dv->contracted_text, ==, "1ᵀ (G ⊙ C ⊙ S)");
}

static void
test_text_softmax (void)
{
  g_autoptr(JacExpr) expr = parse ("softmax(X @ W)");
  g_autoptr(JacDerivation) dx = derive (expr, "X", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dw = derive (expr, "W", JAC_DERIVE_DEFAULT);

  g_assert_cmpstr (jac_derivation_find_step (dx, "Chain rule")->text, ==,
                   "∂Y_ij/∂X_pq = Σ_k Y_ij δ_jk ∂Z_ik/∂X_pq − Σ_k Y_ij Y_ik ∂Z_ik/∂X_pq");
  g_assert_cmpstr (dx->result_text, ==, "Y_ij δ_ip W_qj − Σ_k Y_ij Y_ik δ_ip W_qk");
  g_assert_cmpstr (dx->sparsity, ==, "nonzero only where p = i");
  g_assert_nonnull (strstr (dx->sparsity_detail, "dense within each row block"));
  g_assert_cmpstr (dx->contracted_text, ==, "(Y ⊙ (G − (G ⊙ Y) 1)) Wᵀ");
  g_assert_cmpstr (dw->sparsity, ==,
                   "dense: no Kronecker δ survives, so every entry can be nonzero");
  g_assert_cmpstr (dw->contracted_text, ==, "Xᵀ (Y ⊙ (G − (G ⊙ Y) 1))");
}

static void
test_text_more (void)
{
  struct { const char *source, *wrt, *result, *contracted; } expected[] = {
    { "X.T @ X", "X", "δ_iq X_pj + X_pi δ_jq", "X Gᵀ + X G" },
    { "R @ A @ A.T", "R", "Σ_k δ_ip A_qk A_jk", "G A Aᵀ" },
    { "R @ A @ A.T", "A", "R_ip A_jq + Σ_k R_ik A_kq δ_jp", "Rᵀ G A + Gᵀ R A" },
    { "sum(P)", "P", "1", "G 1" },
    { "s * P + s", "s", "P_ij + 1", "sum(G ⊙ P) + sum(G)" },
    { "P / c", "c", "−P_ij δ_ip / c_i0²", "−(G ⊙ P ⊘ (c ⊙ c)) 1" },
    { "relu(X @ W) * C", "W", "[Z_ij > 0] C_ij X_ik δ_jl", "Xᵀ (G ⊙ C ⊙ [Z > 0])" },
    { "v * w", "v", "δ_jq w_j", "G ⊙ w" },
    { "exp(P) * Q", "P", "exp(P_ij) δ_ip δ_jq Q_ij", "G ⊙ Q ⊙ exp(P)" },
    { "sum(v * v) + s", "v", "2 v_q", "2 G v" },
    { "-(P - Q)", "Q", "δ_ip δ_jq", "G" },
    { "(X @ W).T", "X", "δ_jp W_qi", "Gᵀ Wᵀ" },
    { "abs(P)", "P", "sign(P_ij) δ_ip δ_jq", "G ⊙ sign(P)" },
    { "abs(P) * Q", "P", "sign(P_ij) δ_ip δ_jq Q_ij", "G ⊙ Q ⊙ sign(P)" },
    { "arctan(P)", "P", "(1 / (1 + P_ij²)) δ_ip δ_jq", "G ⊘ (1 + P ⊙ P)" },
    { "arcsin(P)", "P", "(1 / sqrt(1 − P_ij²)) δ_ip δ_jq", "G ⊘ sqrt(1 − P ⊙ P)" },
    { "arccos(P)", "P", "(−(1 / sqrt(1 − P_ij²))) δ_ip δ_jq", "−(G ⊘ sqrt(1 − P ⊙ P))" },
    { "sinh(P) + cosh(Q)", "Q", "sinh(Q_ij) δ_ip δ_jq", "G ⊙ sinh(Q)" },
    { "tan(P) * Q", "P", "S_ij δ_ip δ_jq Q_ij", "G ⊙ Q ⊙ S" },
    { "P ** -1", "P", "(−P_ij^(−2)) δ_ip δ_jq", "−(G ⊙ P^(−2))" },
    { "P ** 0.5", "P", "0.5 P_ij^(−0.5) δ_ip δ_jq", "G ⊙ 0.5 P^(−0.5)" },
    { "sum(P ** 3)", "P", "3 P_pq²", "3 G P ⊙ P" },
    /* The Cookbook's identities, (100), (101), (49), (57) and (59)'s inverse. */
    { "tr(A.T @ P)", "P", "A_pq", "G A" },
    { "tr(Z)", "Z", "δ_pq", "G I" },
    { "tr(Z @ A @ P.T)", "Z", "Σ_k A_qk P_pk", "G P Aᵀ" },
    { "det(Z)", "Z", "det(Z) (Z⁻¹)_qp", "G Y Z⁻ᵀ" },
    { "logdet(Z)", "Z", "(Z⁻¹)_qp", "G Z⁻ᵀ" },
    { "inv(Z)", "Z", "−(Z⁻¹)_ip (Z⁻¹)_qj", "−Yᵀ G Yᵀ" },
    { "diag(v)", "v", "δ_ij δ_iq", "diag(G)" },
    { "sum(P, 1)", "P", "δ_jp", "G 1ᵀ" },
    { "sum(P, 0)", "P", "δ_jq", "1 Gᵀ" },
    { "kron(X, W)", "X", "δ_⌊i/2⌋ p δ_⌊j/4⌋ q W_(i mod 2) (j mod 4)", "blocksum(G ⊙ (1 ⊗ W))" },
    { "kron(X, W)", "W", "X_⌊i/2⌋ ⌊j/4⌋ δ_(i mod 2) k δ_(j mod 4) l", "sumblocks(G ⊙ (X ⊗ 1))" },
    { "v @ w", "v", "w_q", "w G" },
    /* The Cookbook's (A + Aᵀ) x and (A + Aᵀ) X, U inferred square. */
    { "v @ U @ v", "v", "Σ_k U_qk v_k + Σ_k v_k U_kq", "(U + Uᵀ) v G" },
    { "tr(X.T @ Z @ X)", "X", "Σ_k Z_pk X_kq + Σ_k X_kq Z_kp", "G (Z + Zᵀ) X" },
    { "tr(A @ W.T @ X.T)", "X", "Σ_k A_pk W_qk", "G A Wᵀ" },
    { "W @ v", "v", "W_jq", "Wᵀ G" },
    { "v @ W.T @ W @ v", "W", "Σ_m v_l W_km v_m + Σ_m v_m W_km v_l", "2 W v G vᵀ" },
  };

  for (guint e = 0; e < G_N_ELEMENTS (expected); e++)
    {
      g_autoptr(JacExpr) expr = parse (expected[e].source);
      g_autoptr(JacDerivation) d = derive (expr, expected[e].wrt, JAC_DERIVE_DEFAULT);

      if (g_strcmp0 (d->result_text, expected[e].result) != 0 ||
          g_strcmp0 (d->contracted_text, expected[e].contracted) != 0)
        g_error ("%s wrt %s: “%s” and “%s”", expected[e].source, expected[e].wrt,
                 d->result_text, d->contracted_text);
    }
}

static void
test_letters (void)
{
  g_autoptr(JacExpr) vec = parse ("v * w");
  g_autoptr(JacExpr) scalar = parse ("sum(v * v) + s");
  g_autoptr(JacDerivation) dv = derive (vec, "v", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) ds = derive (scalar, "s", JAC_DERIVE_DEFAULT);
  g_autoptr(JacDerivation) dsv = derive (scalar, "v", JAC_DERIVE_DEFAULT);

  g_assert_cmpstr (dv->out_letters, ==, "j");
  g_assert_cmpstr (dv->wrt_letters, ==, "q");
  g_assert_cmpstr (dv->sparsity, ==, "nonzero only where q = j");
  g_assert_cmpstr (ds->out_letters, ==, "");
  g_assert_cmpstr (ds->wrt_letters, ==, "");
  g_assert_cmpstr (ds->result_text, ==, "1");
  g_assert_cmpstr (dsv->sparsity, ==,
                   "dense: a scalar output has no index for a Kronecker δ to tie");
  assert_step (dsv, 0, "Definition", "Y = Σ_k v_k² + s");
  g_assert_cmpstr (dsv->result_text, ==, "2 v_q");
}

/* A variable the output does not use: a zero derivative, said so, and evaluated as zeros. */
static void
test_independent_variable (void)
{
  g_autoptr(JacGraph) graph = jac_graph_new ();
  gsize shape[2] = { 2, 3 };
  int x = jac_graph_add_variable (graph, "X", 2, shape);
  int y = jac_graph_add_variable (graph, "Y", 2, shape);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacDerivation) d = NULL;
  g_autoptr(JacTensor) upstream = jac_tensor_new_matrix (2, 3);
  g_autoptr(JacTensor) value = NULL;
  g_autoptr(JacStructured) jac = NULL;

  jac_graph_add_unary (graph, JAC_OP_APPLY, JAC_FUNC_TANH, x, &error);
  g_assert_no_error (error);
  draw (graph, 7, FALSE);
  d = jac_derive_graph (graph, y, "h", JAC_DERIVE_DEFAULT);
  jac = jac_graph_jacobian (graph, y);
  g_assert_false (d->depends);
  g_assert_cmpstr (d->sparsity, ==, "identically zero: h does not depend on Y");
  g_assert_cmpstr (d->result_text, ==, "0");
  g_assert_cmpstr (d->contracted_text, ==, "0");
  g_assert_cmpint (d->pair[0], ==, jac->pair[0]);
  g_assert_cmpint (d->pair[1], ==, jac->pair[1]);
  jac_tensor_fill (upstream, 1.0);
  value = jac_derivation_evaluate (d, graph, upstream, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (value->rank, ==, 2);
  g_assert_cmpfloat (jac_tensor_max_abs (value), ==, 0.0);
}

/* An output that is a variable itself: Y = V, so ∂Y/∂V = δ_ip δ_jq and Σ G·J = G. (Checked
 * against the structured Jacobian only: jac_graph_finite_difference () restores the variable
 * before it reads the output of the backward step, so on this graph it returns half of J.) */
static void
test_output_is_variable (void)
{
  g_autoptr(JacExpr) expr = parse ("T = V");
  g_autoptr(JacDerivation) d = derive (expr, "V", JAC_DERIVE_DEFAULT);
  g_autoptr(JacStructured) jac = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);

  draw (expr->graph, 5, FALSE);
  jac = jac_graph_jacobian (expr->graph, jac_graph_find_variable (expr->graph, "V"));
  assert_step (d, 0, "Definition", "T_ij = V_ij");
  g_assert_cmpstr (d->result_text, ==, "δ_ip δ_jq");
  g_assert_cmpstr (d->contracted_text, ==, "G");
  g_assert_cmpint (d->pair[0], ==, jac->pair[0]);
  g_assert_cmpint (d->pair[1], ==, jac->pair[1]);
  check_contraction (expr->graph, d, jac, rand, "T = V");
  check_texts (d, "T = V");
}

static void
test_errors (void)
{
  g_autoptr(JacExpr) expr = parse ("U = V @ A");
  g_autoptr(GError) error = NULL;
  g_autoptr(JacDerivation) missing = jac_derive (expr, "Q", JAC_DERIVE_DEFAULT, &error);
  g_autoptr(JacDerivation) d = NULL;
  g_autoptr(JacTensor) wrong = jac_tensor_new_matrix (4, 2);
  g_autoptr(JacTensor) value = NULL;

  g_assert_null (missing);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“Q” is not a variable"));
  g_clear_error (&error);

  d = derive (expr, "V", JAC_DERIVE_DEFAULT);
  draw (expr->graph, 3, FALSE);
  value = jac_derivation_evaluate (d, expr->graph, wrong, &error);
  g_assert_null (value);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "(4, 2)"));
  g_assert_nonnull (strstr (error->message, "(2, 4)"));
}

/* ---- like terms ---- */

static void
assert_steps (const JacDerivation *d,
              const char * const  *expected)
{
  guint n = 0;

  for (; expected[2 * n] != NULL; n++)
    assert_step (d, n, expected[2 * n], expected[2 * n + 1]);
  g_assert_cmpuint (d->steps->len, ==, n);
}

/* The contracted form, evaluated from its own tree, against the contraction of the structured
 * Jacobian with a random G, on values drawn from @seed. */
static void
assert_contraction (JacExpr             *expr,
                    const JacDerivation *d,
                    guint32              seed)
{
  g_autoptr(JacStructured) jac = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  draw (expr->graph, seed, FALSE);
  jac = jac_graph_jacobian (expr->graph, d->variable);
  check_contraction (expr->graph, d, jac, rand, expr->source);
}

/* Repeated factors become powers, equal terms one term with the sum of their coefficients, in the
 * index form, the contracted form and LaTeX; X − X is identically zero. */
static void
test_like_terms (void)
{
  static const char * const cube[] = {
    "Definition", "Y_ij = P_ij³",
    "Differentiate", "∂Y_ij/∂P_pq = 3 P_ij² δ_ip δ_jq",
    "Structure", "nonzero only where p = i and q = j (diagonal: each entry of Y depends only on "
    "the same entry of P)",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 3 G_pq P_pq² = (3 G ⊙ P ⊙ P)_pq",
    NULL,
  };
  static const char * const fifth[] = {
    "Definition", "Y_ij = P_ij⁵",
    "Differentiate", "∂Y_ij/∂P_pq = 5 P_ij⁴ δ_ip δ_jq",
    "Structure", "nonzero only where p = i and q = j (diagonal: each entry of Y depends only on "
    "the same entry of P)",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 5 G_pq P_pq⁴ = (5 G ⊙ P ⊙ P ⊙ P ⊙ P)_pq",
    NULL,
  };
  static const char * const sandwich[] = {
    "Definition", "Y_ij = P_ij² Q_ij",
    "Differentiate", "∂Y_ij/∂P_pq = 2 P_ij δ_ip δ_jq Q_ij",
    "Structure", "nonzero only where p = i and q = j (diagonal: each entry of Y depends only on "
    "the same entry of P)",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 2 G_pq P_pq Q_pq = (2 G ⊙ P ⊙ Q)_pq",
    NULL,
  };
  static const char * const twice[] = {
    "Definition", "Y_ij = P_ij + P_ij",
    "Differentiate", "∂Y_ij/∂P_pq = δ_ip δ_jq + δ_ip δ_jq",
    "Substitute", "∂Y_ij/∂P_pq = 2 δ_ip δ_jq",
    "Structure", "nonzero only where p = i and q = j (diagonal: each entry of Y depends only on "
    "the same entry of P)",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 2 G_pq = (2 G)_pq",
    NULL,
  };
  static const char * const cancelled[] = {
    "Definition", "Y_ij = P_ij − P_ij",
    "Differentiate", "∂Y_ij/∂P_pq = δ_ip δ_jq − δ_ip δ_jq",
    "Substitute", "∂Y_ij/∂P_pq = 0",
    "Structure", "identically zero: Y does not depend on P",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 0",
    NULL,
  };
  static const char * const third[] = {
    "Definition", "Y_ij = 1/9 P_ij³",
    "Differentiate", "∂Y_ij/∂P_pq = 1/3 P_ij² δ_ip δ_jq",
    "Structure", "nonzero only where p = i and q = j (diagonal: each entry of Y depends only on "
    "the same entry of P)",
    "Contract with G", "Σ_ij G_ij ∂Y_ij/∂P_pq = 1/3 G_pq P_pq² = (1/3 G ⊙ P ⊙ P)_pq",
    NULL,
  };
  struct { const char *source; const char * const *steps; const char *latex, *markup; } cases_[] = {
    { "P * P * P", cube, "3 P_{ij}^{2} \\delta_{ip} \\delta_{jq}",
      "3 P<sub>ij</sub><sup>2</sup> δ<sub>ip</sub> δ<sub>jq</sub>" },
    { "P * P * P * P * P", fifth, "5 P_{ij}^{4} \\delta_{ip} \\delta_{jq}", NULL },
    { "P * Q * P", sandwich, "2 P_{ij} \\delta_{ip} \\delta_{jq} Q_{ij}", NULL },
    { "P + P", twice, "2 \\delta_{ip} \\delta_{jq}", NULL },
    { "P - P", cancelled, "0", "0" },
    { "P * P * P / 9", third, "\\frac{1}{3} P_{ij}^{2} \\delta_{ip} \\delta_{jq}",
      "1/3 P<sub>ij</sub><sup>2</sup> δ<sub>ip</sub> δ<sub>jq</sub>" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases_); c++)
    {
      g_autoptr(JacExpr) expr = parse (cases_[c].source);
      g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);

      assert_steps (d, cases_[c].steps);
      g_assert_cmpstr (d->result_latex, ==, cases_[c].latex);
      if (cases_[c].markup != NULL)
        g_assert_cmpstr (d->result_markup, ==, cases_[c].markup);
      check_markup (d->result_markup, cases_[c].source);
      check_markup (d->contracted_markup, cases_[c].source);
      assert_contraction (expr, d, c + 11);
    }

  {
    g_autoptr(JacExpr) expr = parse ("P - P");
    g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);

    g_assert_false (d->depends);
    g_assert_cmpstr (d->sparsity, ==, "identically zero: Y does not depend on P");
    g_assert_cmpstr (d->contracted_text, ==, "0");
  }
  {
    /* The matrix form's LaTeX of a merged term, and a sum whose terms partly cancel. */
    g_autoptr(JacExpr) expr = parse ("P * P * P + P * Q - Q * P");
    g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);

    g_assert_cmpstr (d->result_text, ==, "3 P_ij² δ_ip δ_jq");
    g_assert_cmpstr (d->contracted_text, ==, "3 G ⊙ P ⊙ P");
    g_assert_cmpstr (d->contracted_latex, ==, "3 G \\odot P \\odot P");
    assert_contraction (expr, d, 5);
  }
  {
    /* A term scaled by an exact 0 is dropped from the matrix form as from the index form: the
     * contracted form of P + Z (P * 0) is G, not "Zᵀ 0 G + G" or "0 Zᵀ G + G". */
    static const struct { const char *source, *contracted; } zeros[] = {
      { "P + Z @ (P * 0)", "G" },
      { "Z @ (P * 0) - P", "−G" },
      { "P * 0 + 0 * P", "0" },
    };

    for (guint z = 0; z < G_N_ELEMENTS (zeros); z++)
      {
        g_autoptr(JacExpr) expr = parse (zeros[z].source);
        g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);

        g_assert_cmpstr (d->contracted_text, ==, zeros[z].contracted);
        assert_contraction (expr, d, 40 + z);
      }
  }
  {
    /* An integer power differentiates to a coefficient and a power of the entry, so ½ · 2 P
     * folds to P; a slope written with a leading number (0.5 P^(−0.5) of P ** 0.5) is set off
     * by a dot from the coefficient before it: "3 0.5 P" would read as 30.5 P in LaTeX. */
    g_autoptr(JacExpr) expr = parse ("sum(P ** 2) / 2");
    g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);
    g_autoptr(JacExpr) root = parse ("3 * sum(P ** 0.5)");
    g_autoptr(JacDerivation) r = derive (root, "P", JAC_DERIVE_DEFAULT);
    const JacDerivationStep *contract = jac_derivation_find_step (d, "Contract with G");

    g_assert_cmpstr (d->result_text, ==, "P_pq");
    g_assert_nonnull (contract);
    g_assert_cmpstr (contract->text, ==, "G ∂Y/∂P_pq = G P_pq = (G P)_pq");
    assert_contraction (expr, d, 6);
    g_assert_cmpstr (r->result_text, ==, "3 · 0.5 P_pq^(−0.5)");
    g_assert_true (g_str_has_prefix (r->result_latex, "3 \\cdot 0.5 "));
    g_assert_true (g_str_has_prefix (r->result_markup, "3 · 0.5 "));
  }
  {
    /* Forms without like terms are written as before: nothing is reordered. */
    g_autoptr(JacExpr) expr = parse ("exp(P) * Q");
    g_autoptr(JacDerivation) d = derive (expr, "P", JAC_DERIVE_DEFAULT);

    g_assert_cmpstr (d->contracted_text, ==, "G ⊙ Q ⊙ exp(P)");
  }
}

/* A product of 2048 factors is one power: the derivation is two terms long, not 2048² factors. */
static void
test_long_product (void)
{
  g_autoptr(GString) source = g_string_new ("P");
  g_autoptr(JacExpr) expr = NULL;
  g_autoptr(JacDerivation) d = NULL;
  g_autoptr(JacTensor) upstream = jac_tensor_new_matrix (3, 4);
  g_autoptr(JacTensor) value = NULL;
  g_autoptr(GError) error = NULL;
  JacNode *p;
  guint n_factors = 0;

  for (guint f = 1; f < 2048; f++)
    g_string_append (source, " * P");
  expr = parse (source->str);
  d = derive (expr, "P", JAC_DERIVE_DEFAULT);
  assert_step (d, 0, "Definition", "Y_ij = P_ij²⁰⁴⁸");
  g_assert_cmpstr (d->result_text, ==, "2048 P_ij²⁰⁴⁷ δ_ip δ_jq");
  g_assert_cmpstr (d->result_latex, ==, "2048 P_{ij}^{2047} \\delta_{ip} \\delta_{jq}");
  g_assert_true (g_str_has_prefix (d->contracted_text, "2048 G ⊙ P ⊙ P"));
  for (const char *c = d->contracted_text; (c = strstr (c, "P")) != NULL; c++)
    n_factors++;
  g_assert_cmpuint (n_factors, ==, 2047);

  /* P^2047 G stays finite near 1: P = 1 + t / 2047, so that P^2047 ≈ e^t. */
  p = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "P"));
  for (gsize e = 0; e < p->value->size; e++)
    p->value->data[e] = 1.0 + (double) e / (p->value->size * 2047.0);
  jac_graph_forward (expr->graph);
  jac_tensor_fill (upstream, 1.0);
  value = jac_derivation_evaluate (d, expr->graph, upstream, &error);
  g_assert_no_error (error);
  for (gsize e = 0; e < value->size; e++)
    g_assert_cmpfloat_with_epsilon (value->data[e], 2048.0 * pow (p->value->data[e], 2047),
                                    1e-9 * value->data[e]);
}

/* The summed indices of "Z_ik Z_kl …": one letter each (k₁ counts as one), none repeated within
 * a Σ, and every entry of Z with two. */
static void
check_index_letters (const char *text,
                     const char *what)
{
  for (const char *c = text; *c != '\0'; c = g_utf8_next_char (c))
    {
      gboolean sigma = g_str_has_prefix (c, "Σ_"), entry = g_str_has_prefix (c, "Z_");
      g_autoptr(GPtrArray) letters = NULL;
      const char *at;

      if (!sigma && !entry)
        continue;
      letters = g_ptr_array_new_with_free_func (g_free);
      at = c + (sigma ? strlen ("Σ_") : 2);
      while (g_ascii_isalpha (*at))
        {
          const char *start = at++;

          /* Subscript digits ₀…₉ are three bytes each, E2 82 80…89. */
          while ((guchar) at[0] == 0xE2 && (guchar) at[1] == 0x82 && (guchar) at[2] >= 0x80 &&
                 (guchar) at[2] <= 0x89)
            at += 3;
          g_ptr_array_add (letters, g_strndup (start, at - start));
        }
      if (entry && letters->len != 2)
        g_error ("%s: an entry of Z without two indices in “%.40s”", what, c);
      if (sigma)
        {
          g_assert_cmpuint (letters->len, >, 0);
          for (guint a = 0; a < letters->len; a++)
            for (guint b = a + 1; b < letters->len; b++)
              if (g_str_equal (letters->pdata[a], letters->pdata[b]))
                g_error ("%s: Σ sums %s twice in “%.80s”", what, (char *) letters->pdata[a], c);
        }
      c = at - 1;
    }
}

/* Z @ Z @ … @ Z needs more summed indices than there are letters: k₁, k₂, … follow, written
 * k_{1} in LaTeX, and the contracted form still equals the tensor's contraction. */
static void
test_many_sums (void)
{
  static const guint lengths[] = { 18, 40 };

  for (guint l = 0; l < G_N_ELEMENTS (lengths); l++)
    {
      g_autoptr(GString) source = g_string_new ("Z");
      g_autoptr(JacExpr) expr = NULL;
      g_autoptr(JacDerivation) d = NULL;

      for (guint f = 1; f < lengths[l]; f++)
        g_string_append (source, " @ Z");
      expr = parse (source->str);
      d = derive (expr, "Z", JAC_DERIVE_DEFAULT);
      for (guint s = 0; s < d->steps->len; s++)
        {
          const JacDerivationStep *step = step_at (d, s);

          check_index_letters (step->text, source->str);
          check_markup (step->markup, source->str);
          check_latex (step->latex, source->str);
          g_assert_null (strstr (step->latex, "₁"));
        }
      if (lengths[l] == 18)
        {
          /* 17 sums: exactly the single letters, the last one h. */
          assert_step (d, 0, "Definition", "Y_ij = Σ_klmnrstuvabcdefgh Z_ik Z_kl Z_lm Z_mn Z_nr "
                       "Z_rs Z_st Z_tu Z_uv Z_va Z_ab Z_bc Z_cd Z_de Z_ef Z_fg Z_gh Z_hj");
        }
      else
        {
          const JacDerivationStep *definition = step_at (d, 0);

          g_assert_nonnull (strstr (definition->text, "Z_hk₁ Z_k₁k₂ "));
          g_assert_nonnull (strstr (definition->text, " Z_k₂₁k₂₂ Z_k₂₂j"));
          g_assert_nonnull (strstr (definition->latex, "Z_{hk_{1}} Z_{k_{1}k_{2}}"));
          g_assert_nonnull (strstr (definition->markup, "Z<sub>k₁k₂</sub>"));
        }
      assert_contraction (expr, d, lengths[l]);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/derive/all-expressions", test_all_expressions);
  g_test_add_func ("/derive/text-matmul", test_text_matmul);
  g_test_add_func ("/derive/text-rnn", test_text_rnn);
  g_test_add_func ("/derive/text-rnn-named-slope", test_text_rnn_named_slope);
  g_test_add_func ("/derive/text-gate", test_text_gate);
  g_test_add_func ("/derive/text-softmax", test_text_softmax);
  g_test_add_func ("/derive/text-more", test_text_more);
  g_test_add_func ("/derive/letters", test_letters);
  g_test_add_func ("/derive/independent-variable", test_independent_variable);
  g_test_add_func ("/derive/output-is-variable", test_output_is_variable);
  g_test_add_func ("/derive/errors", test_errors);
  g_test_add_func ("/derive/like-terms", test_like_terms);
  g_test_add_func ("/derive/long-product", test_long_product);
  g_test_add_func ("/derive/many-sums", test_many_sums);
  return g_test_run ();
}

/* test-expr.c: the expression language: shapes, declarations, parsing, every kind of bad input. */
#define G_LOG_DOMAIN "test-expr"

#include <math.h>
#include <string.h>

#include "core/jac-error.h"
#include "core/jac-expr.h"

static JacShapeEnv *
default_env (void)
{
  JacShapeEnv *env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  gsize pos = 0;

  jac_shape_env_parse_declarations (env, "N = 2, D = 3, H = 4;"
                                    "h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H,"
                                    "A: (2, 3), B: 2x3, X: 3x4, Y: 3x4, W: 4x2, v: (4,), s: ()",
                                    &pos, &error);
  g_assert_no_error (error);
  return env;
}

static JacExpr *
parse_ok (const char *source)
{
  g_autoptr(JacShapeEnv) env = default_env ();
  g_autoptr(GError) error = NULL;
  gsize pos = 0;
  JacExpr *expr = jac_expr_parse (source, env, &pos, &error);

  if (expr == NULL)
    g_error ("“%s” failed at %zu: %s", source, pos, error->message);
  return expr;
}

/* Parsing @source fails with @code at character @pos, with @fragment in the message. */
static void
assert_rejects (const char *source,
                int         code,
                gsize       pos,
                const char *fragment)
{
  g_autoptr(JacShapeEnv) env = default_env ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JacExpr) expr = NULL;
  gsize at = G_MAXSIZE;

  expr = jac_expr_parse (source, env, &at, &error);
  if (expr != NULL)
    g_error ("“%s” was accepted", source);
  g_assert_error (error, JAC_ERROR, code);
  if (at != pos || strstr (error->message, fragment) == NULL)
    g_error ("“%s”: got “%s” at %zu, expected “%s” at %zu", source, error->message, at,
             fragment, pos);
}

static const JacNode *
output_node (const JacExpr *expr)
{
  return jac_graph_node (expr->graph, expr->graph->output);
}

static const JacNode *
operand (const JacExpr *expr,
         const JacNode *node,
         gboolean       right)
{
  return jac_graph_node (expr->graph, right ? node->rhs : node->lhs);
}

/* ---- shapes ---- */

static void
assert_dims (const JacShapeEnv *env,
             const char        *dims,
             guint              rank,
             gsize              rows,
             gsize              cols)
{
  g_autoptr(GError) error = NULL;
  guint r = 99;
  gsize shape[2] = { 0, 0 };

  if (!jac_shape_env_parse_dims (env, dims, &r, shape, NULL, &error))
    g_error ("dims “%s”: %s", dims, error->message);
  g_assert_cmpuint (r, ==, rank);
  if (rank > 0)
    g_assert_cmpuint (shape[0], ==, rows);
  if (rank > 1)
    g_assert_cmpuint (shape[1], ==, cols);
}

static void
assert_dims_rejected (const JacShapeEnv *env,
                      const char        *dims,
                      gsize              pos,
                      const char        *fragment)
{
  g_autoptr(GError) error = NULL;
  guint rank;
  gsize shape[2], at = G_MAXSIZE;

  if (jac_shape_env_parse_dims (env, dims, &rank, shape, &at, &error))
    g_error ("dims “%s” were accepted", dims);
  g_assert_nonnull (error);
  if (at != pos || strstr (error->message, fragment) == NULL)
    g_error ("dims “%s”: got “%s” at %zu", dims, error->message, at);
}

static void
test_dims (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();

  jac_shape_env_set_size (env, "N", 2);
  jac_shape_env_set_size (env, "H", 4);
  assert_dims (env, "H,H", 2, 4, 4);
  assert_dims (env, "H×N", 2, 4, 2);
  assert_dims (env, "HxN", 2, 4, 2);
  assert_dims (env, "H x N", 2, 4, 2);
  assert_dims (env, "H*N", 2, 4, 2);
  assert_dims (env, "4,3", 2, 4, 3);
  assert_dims (env, "4x3", 2, 4, 3);
  assert_dims (env, "(H, N)", 2, 4, 2);
  assert_dims (env, " H ", 1, 4, 0);
  assert_dims (env, "(H,)", 1, 4, 0);
  assert_dims (env, "()", 0, 0, 0);
  assert_dims (env, "( )", 0, 0, 0);

  assert_dims_rejected (env, "K,H", 0, "unbound size symbol “K”");
  assert_dims_rejected (env, "H,Kx", 2, "unbound size symbol “Kx”");
  assert_dims_rejected (env, "H,H,H", 4, "at most 2 dimensions");
  assert_dims_rejected (env, "0,H", 0, "at least 1");
  assert_dims_rejected (env, "H,", 2, "expected a size");
  assert_dims_rejected (env, "(H, N", 5, "expected “)”");
  assert_dims_rejected (env, "H N", 2, "unexpected “N”");
  assert_dims_rejected (env, "", 0, "empty dims");
  assert_dims_rejected (env, "99999999999999999999999", 0, "out of range");
}

static void
test_declarations (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  g_autofree char *joined = NULL;
  gsize shape[2] = { 0, 0 }, size = 0, pos = 0;
  guint rank = 9;

  g_assert_true (jac_shape_env_parse_declarations (env,
                                                   "N=2; H = 4\n W_hh: H×H, h_prev: N×H,"
                                                   " W: H, H, b: H, c: (N, 1); s: ()\n",
                                                   &pos, &error));
  g_assert_no_error (error);
  g_assert_true (jac_shape_env_get_size (env, "H", &size));
  g_assert_cmpuint (size, ==, 4);
  g_assert_true (jac_shape_env_lookup (env, "W", &rank, shape));
  g_assert_cmpuint (rank, ==, 2);
  g_assert_true (jac_shape_env_lookup (env, "b", &rank, shape));
  g_assert_cmpuint (rank, ==, 1);
  g_assert_cmpuint (shape[0], ==, 4);
  g_assert_true (jac_shape_env_lookup (env, "c", &rank, shape));
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 1);
  g_assert_true (jac_shape_env_lookup (env, "s", &rank, shape));
  g_assert_cmpuint (rank, ==, 0);
  g_assert_true (jac_shape_env_lookup (env, "h_prev", &rank, shape));
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 4);
  names = jac_shape_env_dup_names (env);
  joined = g_strjoinv (" ", names);
  g_assert_cmpstr (joined, ==, "W W_hh b c h_prev s");

  /* "W: H, b: H" is two entries, "W: H, H" one. */
  g_assert_true (jac_shape_env_parse_declarations (env, "W: H, b: H", &pos, &error));
  g_assert_true (jac_shape_env_lookup (env, "W", &rank, shape));
  g_assert_cmpuint (rank, ==, 1);

  /* A size may be bound after the declaration that uses it, or never (inference settles it). */
  g_assert_true (jac_shape_env_parse_declarations (env, "x: N×D", &pos, &error));
  g_assert_false (jac_shape_env_lookup (env, "x", &rank, shape));
  g_assert_true (jac_shape_env_parse_declarations (env, "D = 5", &pos, &error));
  g_assert_true (jac_shape_env_lookup (env, "x", &rank, shape));
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 5);
  g_assert_true (jac_shape_env_parse_declarations (env, "y: M×K, K = 3, M = 2", &pos, &error));
  g_assert_true (jac_shape_env_lookup (env, "y", &rank, shape));
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 3);
  g_assert_true (jac_shape_env_parse_shape (env, "z=L,K", &error));
  g_assert_true (jac_shape_env_parse_size (env, "L=7", &error));
  g_assert_true (jac_shape_env_lookup (env, "z", &rank, shape));
  g_assert_cmpuint (shape[0], ==, 7);
  g_assert_cmpuint (shape[1], ==, 3);
  g_assert_no_error (error);
  g_assert_false (jac_shape_env_parse_declarations (env, "x N", &pos, &error));
  g_assert_cmpuint (pos, ==, 2);
  g_assert_nonnull (strstr (error->message, "expected “:”"));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_declarations (env, "x: N ) y: N", &pos, &error));
  g_assert_cmpuint (pos, ==, 5);
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_declarations (env, "K = two", &pos, &error));
  g_assert_cmpuint (pos, ==, 4);
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_declarations (env, "3: H", &pos, &error));
  g_assert_cmpuint (pos, ==, 0);
}

static void
test_cli_forms (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  gsize shape[2] = { 0, 0 }, size = 0;
  guint rank = 9;

  g_assert_true (jac_shape_env_parse_size (env, "H=3", &error));
  g_assert_true (jac_shape_env_parse_size (env, " N = 2 ", &error));
  g_assert_no_error (error);
  g_assert_true (jac_shape_env_get_size (env, "N", &size));
  g_assert_cmpuint (size, ==, 2);
  g_assert_true (jac_shape_env_parse_shape (env, "W_hh=H,H", &error));
  g_assert_true (jac_shape_env_parse_shape (env, "h_prev=N×H", &error));
  g_assert_true (jac_shape_env_parse_shape (env, "b=H", &error));
  g_assert_true (jac_shape_env_parse_shape (env, "s=()", &error));
  g_assert_no_error (error);
  g_assert_true (jac_shape_env_lookup (env, "h_prev", &rank, shape));
  g_assert_cmpuint (rank, ==, 2);
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 3);

  g_assert_false (jac_shape_env_parse_size (env, "N=0", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_size (env, "N=2x", &error));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_size (env, "N", &error));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_size (env, "2=N", &error));
  g_clear_error (&error);
  /* K unbound: a free size until --size binds it, in either order. */
  g_assert_true (jac_shape_env_parse_shape (env, "W=H,K", &error));
  g_assert_false (jac_shape_env_lookup (env, "W", &rank, shape));
  g_assert_false (jac_shape_env_parse_shape (env, "W=H,0", &error));
  g_assert_nonnull (strstr (error->message, "shape of “W”"));
  g_assert_nonnull (strstr (error->message, "at least 1"));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_shape (env, "W=", &error));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_shape (env, "W-1=H", &error));
}

/* ---- parsing ---- */

static void
test_parse_rnn (void)
{
  g_autoptr(JacExpr) expr = parse_ok ("h = tanh(h_prev @ W_hh + x @ W_xh + b)");
  const JacNode *out = output_node (expr), *z, *sum, *left;
  g_autofree char *text = NULL;

  g_assert_cmpstr (expr->output_name, ==, "h");
  g_assert_true (expr->output_named);
  g_assert_cmpint (out->op, ==, JAC_OP_APPLY);
  g_assert_cmpint (out->func, ==, JAC_FUNC_TANH);
  g_assert_cmpuint (out->rank, ==, 2);
  g_assert_cmpuint (out->shape[0], ==, 2);
  g_assert_cmpuint (out->shape[1], ==, 4);
  z = operand (expr, out, FALSE);
  g_assert_cmpint (z->op, ==, JAC_OP_ADD);                 /* (… + …) + b: left-associative */
  g_assert_cmpstr (operand (expr, z, TRUE)->name, ==, "b");
  sum = operand (expr, z, FALSE);
  left = operand (expr, sum, FALSE);
  g_assert_cmpint (left->op, ==, JAC_OP_MATMUL);
  g_assert_cmpstr (operand (expr, left, FALSE)->name, ==, "h_prev");
  g_assert_cmpstr (operand (expr, left, TRUE)->name, ==, "W_hh");

  /* Every node has a span; the tanh call covers the call, the sum its operands. */
  g_assert_cmpuint (expr->spans->len, ==, expr->graph->nodes->len);
  text = jac_expr_dup_node_text (expr, expr->graph->output);
  g_assert_cmpstr (text, ==, "tanh(h_prev @ W_hh + x @ W_xh + b)");
  g_clear_pointer (&text, g_free);
  text = jac_expr_dup_node_text (expr, z->lhs);
  g_assert_cmpstr (text, ==, "h_prev @ W_hh + x @ W_xh");
  g_assert_cmpuint (jac_expr_span (expr, z->lhs)->op, ==, 23);   /* the first “+” */
  for (guint n = 0; n < expr->graph->nodes->len; n++)
    if (jac_graph_node (expr->graph, n)->op == JAC_OP_VARIABLE)
      g_assert_nonnull (jac_graph_node (expr->graph, n)->name);
}

static void
test_parse_defaults (void)
{
  g_autoptr(JacExpr) plain = parse_ok ("W.T @ X.T");
  g_autoptr(JacExpr) named = parse_ok ("  U=A");
  g_autoptr(JacExpr) clash = NULL;
  g_autoptr(JacShapeEnv) env = default_env ();
  gsize shape[2] = { 3, 2 };

  g_assert_cmpstr (plain->output_name, ==, "Y");
  g_assert_false (plain->output_named);
  g_assert_cmpstr (named->output_name, ==, "U");
  g_assert_cmpint (output_node (named)->op, ==, JAC_OP_VARIABLE);
  /* A variable called Y pushes the default name aside. */
  jac_shape_env_declare (env, "Y", 2, shape);
  clash = jac_expr_parse ("Y * 2", env, NULL, NULL);
  g_assert_cmpstr (clash->output_name, ==, "F");
  /* "==" is not an assignment. */
  assert_rejects ("X == Y", JAC_ERROR_INVALID, 2, "unexpected “=”: only an output name");
}

static void
test_parse_precedence (void)
{
  g_autoptr(JacExpr) a = parse_ok ("-X @ W");
  g_autoptr(JacExpr) b = parse_ok ("X + Y * X");
  g_autoptr(JacExpr) c = parse_ok ("X - Y - X");
  g_autoptr(JacExpr) d = parse_ok ("-X ** 2");
  g_autoptr(JacExpr) e = parse_ok ("X @ W * 2");
  const JacNode *n;

  n = output_node (a);
  g_assert_cmpint (n->op, ==, JAC_OP_MATMUL);             /* (−X) @ W, as in Python */
  g_assert_cmpint (operand (a, n, FALSE)->op, ==, JAC_OP_NEGATE);
  n = output_node (b);
  g_assert_cmpint (n->op, ==, JAC_OP_ADD);
  g_assert_cmpint (operand (b, n, TRUE)->op, ==, JAC_OP_MUL);
  n = output_node (c);
  g_assert_cmpint (n->op, ==, JAC_OP_SUB);                /* (X − Y) − X */
  g_assert_cmpint (operand (c, n, FALSE)->op, ==, JAC_OP_SUB);
  n = output_node (d);
  g_assert_cmpint (n->op, ==, JAC_OP_NEGATE);             /* −(X²) */
  g_assert_cmpint (operand (d, n, FALSE)->func, ==, JAC_FUNC_SQUARE);
  n = output_node (e);
  g_assert_cmpint (n->op, ==, JAC_OP_MUL);                /* @ and * share a level, left to right */
  g_assert_cmpint (operand (e, n, FALSE)->op, ==, JAC_OP_MATMUL);
}

static void
test_parse_unicode (void)
{
  g_autoptr(JacExpr) a = parse_ok ("Xᵀ @ X");
  g_autoptr(JacExpr) b = parse_ok ("X ⊙ Y − X");
  g_autoptr(JacExpr) c = parse_ok ("(X @ W)ᵀᵀ");
  const JacNode *n;

  n = output_node (a);
  g_assert_cmpint (operand (a, n, FALSE)->op, ==, JAC_OP_TRANSPOSE);
  g_assert_cmpuint (n->shape[0], ==, 4);
  n = output_node (b);
  g_assert_cmpint (n->op, ==, JAC_OP_SUB);
  g_assert_cmpint (operand (b, n, FALSE)->op, ==, JAC_OP_MUL);
  n = output_node (c);
  g_assert_cmpint (n->op, ==, JAC_OP_TRANSPOSE);
  g_assert_cmpuint (n->shape[0], ==, 3);
  /* Positions count characters, not bytes. */
  assert_rejects ("Xᵀ @ W", JAC_ERROR_SHAPE, 3, "(4, 3) @ (4, 2)");
  assert_rejects ("X × Y", JAC_ERROR_INVALID, 2, "“×” is ambiguous");
  assert_rejects ("X · Y", JAC_ERROR_INVALID, 2, "“·” is ambiguous");
}

static void
test_parse_constants (void)
{
  g_autoptr(JacExpr) a = parse_ok ("2 * 3 * X - -1.5e1");
  g_autoptr(JacExpr) b = parse_ok ("X / (1 + tanh(0))");
  g_autoptr(JacExpr) c = parse_ok ("X ** 2 + .5");
  const JacNode *n;

  n = output_node (a);
  g_assert_cmpint (n->op, ==, JAC_OP_SUB);
  g_assert_cmpint (operand (a, n, TRUE)->op, ==, JAC_OP_CONSTANT);
  g_assert_cmpfloat (operand (a, n, TRUE)->constant, ==, -15.0);
  n = operand (a, n, FALSE);
  g_assert_cmpfloat (operand (a, n, FALSE)->constant, ==, 6.0);   /* 2 * 3 folded */
  n = output_node (b);
  g_assert_cmpfloat (operand (b, n, TRUE)->constant, ==, 1.0);
  n = output_node (c);
  g_assert_cmpfloat (operand (c, n, TRUE)->constant, ==, 0.5);
  g_assert_cmpint (a->graph->nodes->len, ==, 5);   /* X, 6, 6 X, −15, … − −15: nothing wasted */
}

static void
test_parse_functions (void)
{
  const char *names[] = { "identity", "tanh", "sigmoid", "relu", "exp", "log", "sqrt", "sin",
                          "cos", "softplus", "square", "abs", "tan", "arcsin", "arccos",
                          "arctan", "sinh", "cosh", "sign" };

  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      g_autofree char *source = g_strdup_printf ("%s(X) * Y", names[f]);
      g_autoptr(JacExpr) expr = parse_ok (source);
      const JacNode *apply = operand (expr, output_node (expr), FALSE);

      g_assert_cmpint (apply->op, ==, JAC_OP_APPLY);
      g_assert_cmpstr (jac_func_name (apply->func), ==, names[f]);
    }
  {
    g_autoptr(JacExpr) sum = parse_ok ("sum(X @ W)");
    g_autoptr(JacExpr) softmax = parse_ok ("softmax(X @ W)");

    g_assert_cmpint (output_node (sum)->op, ==, JAC_OP_SUM);
    g_assert_cmpuint (output_node (sum)->rank, ==, 0);
    g_assert_cmpint (output_node (softmax)->op, ==, JAC_OP_SOFTMAX);
  }
}

/* @ follows NumPy for vectors: promoted to a row on the left, a column on the right, and the
 * added axis removed again. */
static void
test_parse_vector_products (void)
{
  struct { const char *source; guint rank; gsize shape0; } products[] = {
    { "v @ W", 1, 2 }, { "X @ v", 1, 3 }, { "v @ v", 0, 0 }, { "v @ W_hh @ v", 0, 0 },
    { "(X @ v) @ (X @ v)", 0, 0 }, { "X.T @ (X @ v)", 1, 4 }, { "b @ W_hh", 1, 4 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (products); k++)
    {
      g_autoptr(JacExpr) expr = parse_ok (products[k].source);
      const JacNode *out = output_node (expr);

      g_assert_cmpuint (out->rank, ==, products[k].rank);
      if (out->rank == 1)
        g_assert_cmpuint (out->shape[0], ==, products[k].shape0);
    }
  {
    /* x @ A @ x against Σ x_k A_kl x_l. */
    g_autoptr(JacExpr) expr = parse_ok ("v @ W_hh @ v");
    JacTensor *v = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "v"))->value;
    JacTensor *a = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "W_hh"))->value;
    double expected = 0.0;

    for (gsize e = 0; e < v->size; e++)
      v->data[e] = 0.5 + e;
    for (gsize e = 0; e < a->size; e++)
      a->data[e] = cos (e);
    jac_graph_forward (expr->graph);
    for (gsize k = 0; k < 4; k++)
      for (gsize l = 0; l < 4; l++)
        expected += v->data[k] * JAC_AT2 (a, k, l) * v->data[l];
    g_assert_cmpfloat (fabs (output_node (expr)->value->data[0] - expected), <, 1e-13);
  }
}

/* keepdims=True keeps the summed axis with extent 1, so that it broadcasts back. */
static void
test_parse_keepdims (void)
{
  struct { const char *source; gsize rows, cols; } cases[] = {
    { "sum(X, 0, keepdims=True)", 1, 4 }, { "mean(X, 1, keepdims = True)", 3, 1 },
    { "logsumexp(X, axis=1, keepdims=True)", 3, 1 }, { "X - mean(X, 1, keepdims=True)", 3, 4 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(JacExpr) expr = parse_ok (cases[k].source);
      const JacNode *out = output_node (expr);

      g_assert_cmpuint (out->rank, ==, 2);
      g_assert_cmpuint (out->shape[0], ==, cases[k].rows);
      g_assert_cmpuint (out->shape[1], ==, cases[k].cols);
    }
  {
    g_autoptr(JacExpr) flat = parse_ok ("sum(X, 1, keepdims=False)");

    g_assert_cmpuint (output_node (flat)->rank, ==, 1);
  }
  {
    /* Rows centred: every row of X − mean(X, 1, keepdims=True) sums to 0. */
    g_autoptr(JacExpr) expr = parse_ok ("X - mean(X, 1, keepdims=True)");
    JacTensor *x = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "X"))->value;
    const JacTensor *out;

    for (gsize e = 0; e < x->size; e++)
      x->data[e] = sin (2.0 * e + 1.0);
    jac_graph_forward (expr->graph);
    out = output_node (expr)->value;
    for (gsize i = 0; i < 3; i++)
      {
        double total = 0.0;

        for (gsize j = 0; j < 4; j++)
          total += JAC_AT2 (out, i, j);
        g_assert_cmpfloat (fabs (total), <, 1e-15);
      }
  }
}

/* X ** p: the exponent a folded constant with its own sign; p = 2 is square; a constant base
 * folds. */
static void
test_parse_powers (void)
{
  struct { const char *source; double p; } powers[] = {
    { "X ** 0.5", 0.5 }, { "X ** -1", -1.0 }, { "X ** (1/3)", 1.0 / 3.0 }, { "X**3", 3.0 },
    { "X ** -0.5", -0.5 }, { "X ** 2 ** 0.5", M_SQRT2 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (powers); k++)
    {
      g_autoptr(JacExpr) expr = parse_ok (powers[k].source);
      const JacNode *power = output_node (expr);

      g_assert_cmpint (power->op, ==, JAC_OP_APPLY);
      g_assert_cmpint (power->func, ==, JAC_FUNC_POWER);
      g_assert_cmpfloat_with_epsilon (power->constant, powers[k].p, 1e-15);
      g_assert_cmpint (operand (expr, power, FALSE)->op, ==, JAC_OP_VARIABLE);
    }
  {
    g_autoptr(JacExpr) square = parse_ok ("X ** 2");
    g_autoptr(JacExpr) negated = parse_ok ("-X ** 0.5");
    g_autoptr(JacExpr) folded = parse_ok ("X * 4 ** 0.5");
    g_autoptr(JacExpr) scaled = parse_ok ("X ** 0.5 * Y");

    g_assert_cmpint (output_node (square)->func, ==, JAC_FUNC_SQUARE);
    /* ** binds tighter than the prefix minus: −(X^0.5). */
    g_assert_cmpint (output_node (negated)->op, ==, JAC_OP_NEGATE);
    g_assert_cmpint (operand (negated, output_node (negated), FALSE)->func, ==, JAC_FUNC_POWER);
    g_assert_cmpfloat (operand (folded, output_node (folded), TRUE)->constant, ==, 2.0);
    g_assert_cmpint (output_node (scaled)->op, ==, JAC_OP_MUL);
  }
}

/* The forward values of the new element-wise functions against libm, entry by entry. */
static void
test_forward_functions (void)
{
  static const struct { const char *source; double (*f) (double); } functions[] = {
    { "abs(X)", fabs }, { "tan(X)", tan }, { "arcsin(X)", asin }, { "arccos(X)", acos },
    { "arctan(X)", atan }, { "sinh(X)", sinh }, { "cosh(X)", cosh },
  };

  {
    g_autoptr(JacExpr) sign = parse_ok ("sign(X)");
    JacTensor *value = jac_graph_node (sign->graph, jac_graph_find_variable (sign->graph, "X"))->value;

    value->data[0] = -0.5;
    value->data[1] = 0.0;
    value->data[2] = 2.0;
    jac_graph_forward (sign->graph);
    g_assert_cmpfloat (output_node (sign)->value->data[0], ==, -1.0);
    g_assert_cmpfloat (output_node (sign)->value->data[1], ==, 0.0);
    g_assert_cmpfloat (output_node (sign)->value->data[2], ==, 1.0);
  }

  for (guint k = 0; k < G_N_ELEMENTS (functions) + 3; k++)
    {
      const char *source = k < G_N_ELEMENTS (functions) ? functions[k].source :
                           k == G_N_ELEMENTS (functions) ? "X ** 0.5" :
                           k == G_N_ELEMENTS (functions) + 1 ? "X ** -1" : "X ** 3";
      g_autoptr(JacExpr) expr = parse_ok (source);
      int x = jac_graph_find_variable (expr->graph, "X");
      JacTensor *value = jac_graph_node (expr->graph, x)->value;
      const JacTensor *out;

      for (gsize e = 0; e < value->size; e++)
        value->data[e] = 0.05 + 0.9 * (double) e / value->size;   /* in (0, 1): every domain */
      jac_graph_forward (expr->graph);
      out = output_node (expr)->value;
      for (gsize e = 0; e < value->size; e++)
        {
          double z = value->data[e];
          double expected = k < G_N_ELEMENTS (functions) ? functions[k].f (z) :
                            k == G_N_ELEMENTS (functions) ? sqrt (z) :
                            k == G_N_ELEMENTS (functions) + 1 ? 1.0 / z : z * z * z;

          if (!(fabs (out->data[e] - expected) <= 1e-15 * MAX (1.0, fabs (expected))))
            g_error ("%s at %g: %.17g, expected %.17g", source, z, out->data[e], expected);
        }
    }
  {
    /* abs on the negative side too. */
    g_autoptr(JacExpr) expr = parse_ok ("abs(X)");
    JacTensor *value = jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, "X"))->value;

    value->data[0] = -0.25;
    jac_graph_forward (expr->graph);
    g_assert_cmpfloat (output_node (expr)->value->data[0], ==, 0.25);
  }
}

/* LAPACK, which OpenBLAS ships: the independent path for det and inv. */
extern void dgetrf_ (const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
extern void dgetri_ (const int *n, double *a, const int *lda, const int *ipiv, double *work,
                     const int *lwork, int *info);

static JacExpr *
parse_with (const char *declarations,
            const char *source)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  JacExpr *expr;

  g_assert_true (jac_shape_env_parse_declarations (env, declarations, NULL, &error));
  expr = jac_expr_parse (source, env, NULL, &error);
  g_assert_no_error (error);
  return expr;
}

/* Fills every variable of @expr with distinct values, M shifted by 4 I so that it is invertible,
 * and runs the forward pass; returns the output. */
static const JacTensor *
forward_with_values (JacExpr *expr)
{
  JacGraph *graph = expr->graph;

  for (guint n = 0; n < graph->nodes->len; n++)
    {
      JacNode *node = jac_graph_node (graph, n);

      if (node->op != JAC_OP_VARIABLE)
        continue;
      for (gsize e = 0; e < node->value->size; e++)
        node->value->data[e] = sin (1.0 + 3.7 * e + n);
      if (g_str_equal (node->name, "M"))
        for (gsize i = 0; i < node->shape[0]; i++)
          JAC_AT2 (node->value, i, i) += 4.0;
    }
  jac_graph_forward (graph);
  return jac_graph_node (graph, graph->output)->value;
}

static const JacTensor *
value_of (const JacExpr *expr,
          const char    *name)
{
  return jac_graph_node (expr->graph, jac_graph_find_variable (expr->graph, name))->value;
}

/* det, logdet and inv against LAPACK's LU (dgetrf, dgetri); tr, diag, kron and the reductions
 * against loops over their definitions. */
static void
test_forward_matrix_functions (void)
{
  static const char declarations[] = "M: 4x4, P: 3x4, Q: 2x3, v: (3,), w: (2,)";
  int n = 4, info = 0, ipiv[4], lwork = 64;
  double lu[16], work[64], det = 1.0;
  const JacTensor *m;

  {
    g_autoptr(JacExpr) expr = parse_with (declarations, "det(M)");
    g_autoptr(JacExpr) log_expr = parse_with (declarations, "logdet(M)");
    g_autoptr(JacExpr) inv_expr = parse_with (declarations, "inv(M)");
    const JacTensor *out = forward_with_values (expr);
    const JacTensor *inverse = forward_with_values (inv_expr);

    m = value_of (expr, "M");
    /* Row-major M is column-major Mᵀ: the same determinant, and (Mᵀ)⁻¹ column-major is M⁻¹
     * row-major. */
    memcpy (lu, m->data, sizeof lu);
    dgetrf_ (&n, &n, lu, &n, ipiv, &info);
    g_assert_cmpint (info, ==, 0);
    for (int i = 0; i < n; i++)
      det *= (ipiv[i] != i + 1 ? -1.0 : 1.0) * lu[i * n + i];
    g_assert_cmpfloat (fabs (out->data[0] - det), <, 1e-12 * fabs (det));
    g_assert_cmpfloat (fabs (forward_with_values (log_expr)->data[0] - log (fabs (det))), <,
                       1e-13);
    dgetri_ (&n, lu, &n, ipiv, work, &lwork, &info);
    g_assert_cmpint (info, ==, 0);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        g_assert_cmpfloat (fabs (JAC_AT2 (inverse, i, j) - lu[i * n + j]), <, 1e-13);
  }
  {
    g_autoptr(JacExpr) singular = parse_with (declarations, "det(M - M)");
    g_autoptr(JacExpr) negative = parse_with (declarations, "logdet(-M)");
    g_autoptr(JacExpr) plain = parse_with (declarations, "logdet(M)");

    g_assert_cmpfloat (forward_with_values (singular)->data[0], ==, 0.0);
    /* log |det X|: the sign does not matter (det(−M) = det M for n = 4, but the LU differs). */
    g_assert_cmpfloat (fabs (forward_with_values (negative)->data[0] -
                             forward_with_values (plain)->data[0]), <, 1e-13);
  }
  {
    g_autoptr(JacExpr) tr = parse_with (declarations, "tr(M)");
    g_autoptr(JacExpr) trace = parse_with (declarations, "trace(M.T)");
    g_autoptr(JacExpr) diag_m = parse_with (declarations, "diag(M)");
    g_autoptr(JacExpr) diag_v = parse_with (declarations, "diag(v)");
    const JacTensor *t = forward_with_values (tr), *dm = forward_with_values (diag_m);
    const JacTensor *dv = forward_with_values (diag_v);
    double expected = 0.0;

    m = value_of (tr, "M");
    for (gsize i = 0; i < 4; i++)
      {
        expected += JAC_AT2 (m, i, i);
        g_assert_cmpfloat (dm->data[i], ==, JAC_AT2 (value_of (diag_m, "M"), i, i));
      }
    g_assert_cmpfloat (fabs (t->data[0] - expected), <, 1e-15);
    g_assert_cmpfloat (fabs (forward_with_values (trace)->data[0] - expected), <, 1e-15);
    g_assert_cmpuint (dv->rank, ==, 2);
    for (gsize i = 0; i < 3; i++)
      for (gsize j = 0; j < 3; j++)
        g_assert_cmpfloat (JAC_AT2 (dv, i, j), ==, i == j ? value_of (diag_v, "v")->data[i] : 0.0);
  }
  {
    g_autoptr(JacExpr) kron = parse_with (declarations, "kron(Q, P)");
    g_autoptr(JacExpr) kron_v = parse_with (declarations, "kron(v, w)");
    const JacTensor *k = forward_with_values (kron), *kv = forward_with_values (kron_v);
    const JacTensor *q = value_of (kron, "Q"), *p = value_of (kron, "P");

    g_assert_cmpuint (k->shape[0], ==, 6);
    g_assert_cmpuint (k->shape[1], ==, 12);
    for (gsize i = 0; i < 2; i++)
      for (gsize j = 0; j < 3; j++)
        for (gsize a = 0; a < 3; a++)
          for (gsize b = 0; b < 4; b++)
            g_assert_cmpfloat (JAC_AT2 (k, i * 3 + a, j * 4 + b), ==,
                               JAC_AT2 (q, i, j) * JAC_AT2 (p, a, b));
    g_assert_cmpuint (kv->rank, ==, 1);
    for (gsize i = 0; i < 3; i++)
      for (gsize a = 0; a < 2; a++)
        g_assert_cmpfloat (kv->data[i * 2 + a], ==,
                           value_of (kron_v, "v")->data[i] * value_of (kron_v, "w")->data[a]);
  }
  {
    /* NumPy: the axis is removed; mean divides by its extent; logsumexp = log Σ exp. */
    static const char * const sources[] = {
      "sum(P, 0)", "sum(P, 1)", "sum(P, axis=-1)", "mean(P)", "mean(P, 0)", "mean(P, 1)",
      "norm(P)", "logsumexp(P)", "logsumexp(P, 0)", "logsumexp(P, 1)", "sum(v, 0)",
    };

    for (guint s = 0; s < G_N_ELEMENTS (sources); s++)
      {
        g_autoptr(JacExpr) expr = parse_with (declarations, sources[s]);
        const JacTensor *out = forward_with_values (expr);
        const JacTensor *x = jac_graph_node (expr->graph, 0)->value;
        gboolean vector = x->rank == 1;
        int axis = vector ? 0 : strstr (sources[s], ", 0") != NULL ? 0 :
                   strstr (sources[s], ", 1") != NULL || strstr (sources[s], "-1") != NULL ? 1 : -1;
        gsize rows = vector ? 1 : x->shape[0], cols = vector ? x->shape[0] : x->shape[1];
        gsize n_out = axis < 0 || vector ? 1 : axis == 0 ? cols : rows;

        g_assert_cmpuint (out->size, ==, n_out);
        for (gsize o = 0; o < n_out; o++)
          {
            double total = 0.0, count = 0.0;

            for (gsize i = 0; i < rows; i++)
              for (gsize j = 0; j < cols; j++)
                if (axis < 0 || vector || (axis == 0 ? j == o : i == o))
                  {
                    double e = x->data[i * cols + j];

                    total += g_str_has_prefix (sources[s], "norm") ? e * e :
                             g_str_has_prefix (sources[s], "logsumexp") ? exp (e) : e;
                    count += 1.0;
                  }
            if (g_str_has_prefix (sources[s], "mean"))
              total /= count;
            else if (g_str_has_prefix (sources[s], "norm"))
              total = sqrt (total);
            else if (g_str_has_prefix (sources[s], "logsumexp"))
              total = log (total);
            if (!(fabs (out->data[o] - total) < 1e-14))
              g_error ("%s[%zu] = %.17g, expected %.17g", sources[s], o, out->data[o], total);
          }
      }
  }
}

static void
test_repeated_variables (void)
{
  g_autoptr(JacExpr) expr = parse_ok ("X.T @ X + X.T @ X");
  guint n_variables = 0;

  for (guint n = 0; n < expr->graph->nodes->len; n++)
    n_variables += jac_graph_node (expr->graph, n)->op == JAC_OP_VARIABLE;
  g_assert_cmpuint (n_variables, ==, 1);
  g_assert_cmpuint (jac_expr_span (expr, jac_graph_find_variable (expr->graph, "X"))->start, ==, 0);
}

/* ---- rejections ---- */

static void
test_reject_unbalanced (void)
{
  assert_rejects ("tanh(X", JAC_ERROR_INVALID, 4,
                  "unbalanced parenthesis: “(” at column 5 is never closed");
  assert_rejects ("((X @ W) + 1", JAC_ERROR_INVALID, 0, "“(” at column 1 is never closed");
  assert_rejects ("X + Y)", JAC_ERROR_INVALID, 5,
                  "unbalanced parenthesis: “)” at column 6 has no matching “(”");
  assert_rejects (")X(", JAC_ERROR_INVALID, 0, "has no matching");
  assert_rejects ("()", JAC_ERROR_INVALID, 1, "expected an operand, found “)”");
}

static void
test_reject_unknown_function (void)
{
  assert_rejects ("tanhh(X)", JAC_ERROR_INVALID, 0, "unknown function “tanhh”");
  assert_rejects ("X + foo (Y)", JAC_ERROR_INVALID, 4, "unknown function “foo”");
  assert_rejects ("tanh + X", JAC_ERROR_INVALID, 0, "“tanh” is a function: write tanh(…)");
  assert_rejects ("sum(X, 2)", JAC_ERROR_SHAPE, 7, "bad axis 2 for “sum”: its argument has 2 axes");
  assert_rejects ("mean(v, 1)", JAC_ERROR_SHAPE, 8, "bad axis 1 for “mean”: its argument has 1 axis");
  assert_rejects ("sum(X, 0.5)", JAC_ERROR_INVALID, 7, "must be a whole number (0 or 1), not “0.5”");
  assert_rejects ("sum(X, Y)", JAC_ERROR_INVALID, 7, "must be a whole number (0 or 1), not “Y”");
  assert_rejects ("sum(s, 0)", JAC_ERROR_SHAPE, 7, "is a scalar, it has no axis");
  assert_rejects ("sum(X, 0, keepdims=Yes)", JAC_ERROR_INVALID, 19, "keepdims is True or False");
  assert_rejects ("sum(X, 0, keepdims 1)", JAC_ERROR_INVALID, 19, "expected “=” after “keepdims”");
  assert_rejects ("sum(v, 0, keepdims=True)", JAC_ERROR_SHAPE, 10, "keepdims=True needs a matrix");
  assert_rejects ("mean(X, 0, keepdims=True, 1)", JAC_ERROR_INVALID, 24, "at most three arguments");
  assert_rejects ("sum(X, 0, 1)", JAC_ERROR_INVALID, 8, "“sum” takes at most two arguments");
  assert_rejects ("sum(X, )", JAC_ERROR_INVALID, 7, "expected an argument after “,”");
  assert_rejects ("tr(X, X)", JAC_ERROR_INVALID, 4, "“tr” takes one argument");
  assert_rejects ("norm(X, 1)", JAC_ERROR_INVALID, 6, "“norm” takes one argument");
  assert_rejects ("kron(X)", JAC_ERROR_INVALID, 6, "“kron” takes two arguments");
  assert_rejects ("kron()", JAC_ERROR_INVALID, 5, "“kron” takes two arguments");
  assert_rejects ("inv()", JAC_ERROR_INVALID, 4, "“inv” takes one argument");
  assert_rejects ("mean()", JAC_ERROR_INVALID, 5, "“mean” takes one or two arguments");
  assert_rejects ("tr(X)", JAC_ERROR_SHAPE, 0, "tr takes a square matrix, not shape (3, 4)");
  assert_rejects ("Y + det(v)", JAC_ERROR_SHAPE, 4, "det takes a square matrix, not shape (4,)");
  assert_rejects ("logdet(X @ X.T) + inv(s)", JAC_ERROR_SHAPE, 18,
                  "inv takes a square matrix, not shape ()");
  assert_rejects ("diag(X)", JAC_ERROR_SHAPE, 0, "diag takes a vector (to a diagonal matrix) or a square matrix");
  assert_rejects ("kron(X, s)", JAC_ERROR_SHAPE, 0, "kron takes two matrices or two vectors, not (3, 4) and ()");
  assert_rejects ("kron(X, v)", JAC_ERROR_SHAPE, 0, "not (3, 4) and (4,)");
  assert_rejects ("kron(X, 2)", JAC_ERROR_SHAPE, 0, "use * to scale");
  assert_rejects ("det", JAC_ERROR_INVALID, 0, "“det” is a function: write det(…)");
  assert_rejects ("tanh()", JAC_ERROR_INVALID, 5, "takes one argument");
  assert_rejects ("tanh(X Y)", JAC_ERROR_INVALID, 7, "expected an operator or “)”");
}

static void
test_reject_shape_mismatch (void)
{
  assert_rejects ("A @ B", JAC_ERROR_SHAPE, 2,
                  "shape mismatch: (2, 3) @ (2, 3) (inner sizes differ)");
  assert_rejects ("X + v @ W", JAC_ERROR_SHAPE, 2, "shape mismatch: (3, 4) + (2,)");
  assert_rejects ("W @ v", JAC_ERROR_SHAPE, 2, "shape mismatch: (4, 2) @ (4,) (inner sizes differ)");
  assert_rejects ("v @ X", JAC_ERROR_SHAPE, 2, "shape mismatch: (4,) @ (3, 4) (inner sizes differ)");
  assert_rejects ("s @ X", JAC_ERROR_SHAPE, 2, "“s” is a scalar");
  assert_rejects ("2 @ X", JAC_ERROR_SHAPE, 2, "“2” is a number");
  assert_rejects ("X + A", JAC_ERROR_SHAPE, 2, "shape mismatch: (3, 4) + (2, 3)");
  assert_rejects ("W * b", JAC_ERROR_SHAPE, 2, "(4, 2) * (4,)");
  assert_rejects ("softmax(v)", JAC_ERROR_SHAPE, 0, "softmax works on the rows of a matrix");
  assert_rejects ("h_prev @ W_xh", JAC_ERROR_SHAPE, 7, "(2, 4) @ (3, 4)");
}

static void
assert_inferred (const char *declarations,
                 const char *source,
                 const char *inferred)
{
  g_autoptr(JacShapeEnv) env = default_env ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JacExpr) expr = NULL;
  gsize pos = 0;

  if (declarations != NULL)
    {
      g_clear_pointer (&env, jac_shape_env_free);
      env = jac_shape_env_new ();
      g_assert_true (jac_shape_env_parse_declarations (env, declarations, &pos, &error));
    }
  expr = jac_expr_parse (source, env, &pos, &error);
  if (expr == NULL)
    g_error ("“%s” failed at %zu: %s", source, pos, error->message);
  if (g_strcmp0 (expr->inferred, inferred) != 0)
    g_error ("“%s”: inferred “%s”, expected “%s”", source, expr->inferred, inferred);
}

/* Undeclared variables: x a vector, X a matrix, sizes tied by @, broadcasting, the square-only
 * functions and kron; free sizes 2, 3, 4, … avoiding the expression's own sizes. */
static void
test_infer_shapes (void)
{
  assert_inferred ("", "X @ W", "X: (2, 3), W: (3, 4)");
  assert_inferred ("", "tr(A @ X)", "A: (2, 3), X: (3, 2)");
  assert_inferred ("", "x @ A @ x", "x: (2,), A: (2, 2)");
  assert_inferred ("", "logdet(X)", "X: (2, 2)");
  assert_inferred ("", "sum((X @ W - Y) ** 2) / 2", "X: (2, 3), W: (3, 4), Y: (2, 4)");
  assert_inferred ("", "tr(A @ X @ B)", "A: (2, 3), X: (3, 4), B: (4, 2)");
  assert_inferred ("", "X @ W + b", "X: (2, 3), W: (3, 4), b: (4,)");
  assert_inferred ("", "inv(M) @ y + diag(d)", "M: (2, 2), y: (2,), d: (2,)");
  assert_inferred ("", "kron(A, B) @ v", "A: (2, 4), B: (3, 5), v: (20,)");
  assert_inferred ("", "softmax(Q @ K.T / 2) @ V", "Q: (2, 3), K: (4, 3), V: (4, 5)");
  assert_inferred ("", "sum(X, 0) @ W", "X: (2, 3), W: (3, 4)");
  assert_inferred ("", "A @ v * c", "A: (2, 3), v: (3,), c: (2,)");
  /* Declared sizes are kept and skipped as defaults; a free size symbol is shared. */
  assert_inferred (NULL, "X @ Q + Wrong", "Q: (4, 2), Wrong: (3, 2)");
  assert_inferred ("X: (3, 4)", "X @ G", "G: (4, 2)");
  assert_inferred ("G: K×L", "X @ G", "X: (2, 3), G: (3, 4)");
  assert_inferred ("P: N×K, Q: K×N", "P @ Q", "P: (2, 3), Q: (3, 2)");
  assert_inferred ("P: N×K, K = 4", "P", "P: (2, 4)");
  assert_inferred ("K = 4, P: N×K", "P", "P: (2, 4)");
  assert_inferred ("P: (2, 5), Q: (5, 3)", "P @ Q", NULL);
  /* A size symbol is not a variable; a real contradiction names both shapes. */
  assert_rejects ("N * X", JAC_ERROR_INVALID, 0, "“N” is a size (N = 2), not a variable");
  assert_rejects ("X @ X", JAC_ERROR_SHAPE, 2, "shape mismatch: (3, 4) @ (3, 4)");
  assert_rejects ("X @ Q + Q @ W", JAC_ERROR_SHAPE, 6, "shape mismatch: (3, 4) + (4, 2)");
  assert_rejects ("tr(X) + q @ X", JAC_ERROR_SHAPE, 0, "tr takes a square matrix, not shape (3, 4)");
}

static void
test_reject_trailing (void)
{
  assert_rejects ("X @ W Y", JAC_ERROR_INVALID, 6, "unexpected “Y” after a complete expression");
  assert_rejects ("X 2", JAC_ERROR_INVALID, 2, "unexpected “2”");
  assert_rejects ("X = Y = X", JAC_ERROR_INVALID, 6, "unexpected “=”");
  assert_rejects ("X +", JAC_ERROR_INVALID, 3, "expected an operand at the end of the expression");
  assert_rejects ("X * / Y", JAC_ERROR_INVALID, 4, "expected an operand, found “/”");
  assert_rejects ("X ** Y", JAC_ERROR_INVALID, 5, "the exponent of ** must be a constant number");
  assert_rejects ("X ** (Y + 1)", JAC_ERROR_INVALID, 5, "not “(Y + 1)”");
  assert_rejects ("X ** ", JAC_ERROR_INVALID, 5, "expected an operand at the end");
  assert_rejects ("power(X)", JAC_ERROR_INVALID, 0, "unknown function “power”");
  assert_rejects ("X.shape", JAC_ERROR_INVALID, 1, "expected “T” after “.”");
}

static void
test_reject_empty (void)
{
  assert_rejects ("", JAC_ERROR_INVALID, 0, "empty expression");
  assert_rejects (" \t\n", JAC_ERROR_INVALID, 0, "empty expression");
  assert_rejects ("h = ", JAC_ERROR_INVALID, 3, "expected an expression after “=”");
  assert_rejects ("2 * 3", JAC_ERROR_INVALID, 0, "no variable");
  assert_rejects ("X = X @ W", JAC_ERROR_INVALID, 0, "“X” cannot also be a variable");
}

static void
test_reject_bad_number (void)
{
  assert_rejects ("X * 1.2.3", JAC_ERROR_INVALID, 4, "bad number “1.2.3”");
  assert_rejects ("X * 1e", JAC_ERROR_INVALID, 4, "bad number “1e”");
  assert_rejects ("X + 2Y", JAC_ERROR_INVALID, 4, "bad number “2Y”");
  assert_rejects ("3e+ * X", JAC_ERROR_INVALID, 0, "bad number “3e+”");
}

static void
test_reject_transpose_of_nothing (void)
{
  assert_rejects (".T", JAC_ERROR_INVALID, 0, "“.T” has nothing to transpose");
  assert_rejects ("X + .T", JAC_ERROR_INVALID, 4, "“.T” has nothing to transpose");
  assert_rejects ("(.T @ X)", JAC_ERROR_INVALID, 1, "nothing to transpose");
  assert_rejects ("ᵀX", JAC_ERROR_INVALID, 0, "“ᵀ” has nothing to transpose");
}

static void
test_reject_unknown_character (void)
{
  assert_rejects ("X $ Y", JAC_ERROR_INVALID, 2, "unknown character “$”");
  assert_rejects ("X # Y", JAC_ERROR_INVALID, 2, "unknown character “#”");
  assert_rejects ("X + €", JAC_ERROR_INVALID, 4, "unknown character “€”");
  /* ';' separates the statements of a program: a first one without a name is the error. */
  assert_rejects ("tanh(X) ; Y", JAC_ERROR_INVALID, 0, "every statement but the last assigns");
  assert_rejects ("[X]", JAC_ERROR_INVALID, 0, "unknown character “[”");
}

static void
test_reject_invalid_utf8 (void)
{
  assert_rejects ("X + \xff", JAC_ERROR_INVALID, 4, "not valid UTF-8");
}

/* ---- programs ---- */

static const char *
assigned_name (const JacExpr *expr,
               guint          k)
{
  g_assert_cmpuint (k, <, expr->assignments->len);
  return g_array_index (expr->assignments, JacAssignment, k).name;
}

static int
labelled (const JacExpr *expr,
          const char    *label)
{
  for (guint n = 0; n < expr->graph->nodes->len; n++)
    if (g_strcmp0 (jac_graph_node (expr->graph, n)->label, label) == 0)
      return (int) n;
  return -1;
}

static void
test_program_parse (void)
{
  g_autoptr(JacExpr) semi = parse_ok ("a = X @ W; Z = tanh(a) * a");
  g_autoptr(JacExpr) lines = parse_ok ("a = X @ W\n\n  Z = tanh(a) * a\n");
  g_autoptr(JacExpr) inline_ = parse_ok ("Z = tanh(X @ W) * (X @ W)");
  g_autoptr(JacExpr) continued = parse_ok ("Z = tanh(X @ W\n  + X @ W)\n  * 2");
  g_autoptr(JacExpr) trailing = parse_ok ("a = X @ W; Z = a;  \n");
  g_autoptr(JacExpr) unnamed = parse_ok ("a = X @ W; tanh(a)");
  g_autoptr(JacExpr) alias = parse_ok ("a = X; e = a; k = 2; Z = e * k");
  const JacNode *out = output_node (semi);
  g_autofree char *names = jac_expr_dup_assigned_names (semi);

  /* a is one node, used twice: the program is the inlined expression with a shared product. */
  g_assert_cmpstr (semi->output_name, ==, "Z");
  g_assert_true (semi->output_named);
  g_assert_cmpstr (names, ==, "a, Z");
  g_assert_cmpint (g_array_index (semi->assignments, JacAssignment, 0).node, ==,
                   labelled (semi, "a"));
  g_assert_cmpuint (g_array_index (semi->assignments, JacAssignment, 1).position, ==, 11);
  g_assert_cmpint (out->op, ==, JAC_OP_MUL);
  g_assert_cmpint (out->rhs, ==, labelled (semi, "a"));
  g_assert_cmpint (operand (semi, out, FALSE)->lhs, ==, labelled (semi, "a"));
  g_assert_cmpuint (semi->graph->nodes->len, ==, inline_->graph->nodes->len - 1);
  g_assert_cmpuint (lines->graph->nodes->len, ==, semi->graph->nodes->len);
  g_assert_cmpstr (assigned_name (lines, 1), ==, "Z");
  /* A new line that no assignment follows continues the expression. */
  g_assert_cmpuint (continued->assignments->len, ==, 1);
  g_assert_cmpint (output_node (continued)->op, ==, JAC_OP_MUL);
  g_assert_cmpstr (trailing->output_name, ==, "Z");
  g_assert_cmpstr (unnamed->output_name, ==, "Y" );
  g_assert_false (unnamed->output_named);
  /* An alias adds no node; a constant folds. */
  g_assert_cmpuint (alias->graph->nodes->len, ==, 3);
  g_assert_cmpint (output_node (alias)->op, ==, JAC_OP_MUL);
  g_assert_cmpint (operand (alias, output_node (alias), FALSE)->op, ==, JAC_OP_VARIABLE);
  g_assert_cmpint (operand (alias, output_node (alias), TRUE)->op, ==, JAC_OP_CONSTANT);
  /* The node a names spans its definition. */
  {
    g_autofree char *text = jac_expr_dup_node_text (semi, labelled (semi, "a"));

    g_assert_cmpstr (text, ==, "X @ W");
  }
}

static void
test_program_output (void)
{
  static const char lstm[] =
    "i = sigmoid(x @ W_xh + h_prev @ W_hh); f = sigmoid(x @ W_xh - h_prev @ W_hh)\n"
    "g = tanh(h_prev @ W_hh); o = sigmoid(x @ W_xh)\n"
    "cs = f * h_prev + i * g\n"
    "hs = o * tanh(cs)";
  g_autoptr(JacExpr) full = parse_ok (lstm);
  g_autoptr(JacExpr) cell = parse_ok (lstm);
  g_autoptr(JacExpr) gate = parse_ok (lstm);
  g_autoptr(JacExpr) dead = parse_ok ("a = X @ W; e = tanh(h_prev); Z = a * 2");
  g_autoptr(GError) error = NULL;
  g_autofree char *names = jac_expr_dup_assigned_names (full);
  g_autofree char *cell_names = NULL;

  g_assert_cmpstr (names, ==, "i, f, g, o, cs, hs");
  g_assert_cmpstr (full->output_name, ==, "hs");
  g_assert_true (jac_expr_set_output (cell, "cs", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cell->output_name, ==, "cs");
  g_assert_cmpint (cell->graph->output, ==, (int) cell->graph->nodes->len - 1);
  g_assert_cmpstr (output_node (cell)->label, ==, "cs");
  /* o and hs are not part of c: dropped, with their nodes. */
  cell_names = jac_expr_dup_assigned_names (cell);
  g_assert_cmpstr (cell_names, ==, "i, f, g, cs");
  g_assert_cmpint (labelled (cell, "o"), <, 0);
  g_assert_cmpuint (cell->spans->len, ==, cell->graph->nodes->len);
  for (guint n = 0; n < cell->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (cell->graph, n);

      g_assert_cmpint (node->lhs, <, (int) n);
      g_assert_cmpint (node->rhs, <, (int) n);
      if (node->label != NULL)
        {
          g_autofree char *text = jac_expr_dup_node_text (cell, n);

          g_assert_nonnull (strstr (lstm, text));
        }
    }
  /* g uses only h_prev: x and W_xh are no variables of it. */
  g_assert_true (jac_expr_set_output (gate, "g", &error));
  g_assert_cmpint (jac_graph_find_variable (gate->graph, "x"), <, 0);
  g_assert_cmpint (jac_graph_find_variable (gate->graph, "W_hh"), >=, 0);
  g_assert_false (jac_expr_set_output (gate, "hs", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "(its names: g)"));
  g_clear_error (&error);
  /* A statement the output does not use is no part of it. */
  g_assert_cmpint (jac_graph_find_variable (dead->graph, "h_prev"), <, 0);
  g_assert_false (jac_expr_set_output (dead, "e", &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
}

static void
test_program_reject (void)
{
  assert_rejects ("a = X; a = X * 2", JAC_ERROR_INVALID, 7,
                  "“a” is assigned twice (first in statement 1)");
  assert_rejects ("Z = a @ W; a = X", JAC_ERROR_INVALID, 4,
                  "“a” is used before it is assigned (statement 2 assigns it)");
  assert_rejects ("c = 2 * c + X", JAC_ERROR_INVALID, 8, "“c” is used in its own assignment");
  assert_rejects ("a = X @ W; W = a", JAC_ERROR_INVALID, 11,
                  "“W” cannot also be a variable: it is assigned here and declared as an input");
  assert_rejects ("a = X;; Z = a", JAC_ERROR_INVALID, 6, "empty statement");
  assert_rejects ("; Z = X", JAC_ERROR_INVALID, 0, "empty statement");
  assert_rejects ("a = X @ W; tanh(a); Z = a", JAC_ERROR_INVALID, 11,
                  "every statement but the last assigns a name");
  assert_rejects ("a = X @ W\nZ = ", JAC_ERROR_INVALID, 13, "expected an expression after “=”");
  assert_rejects ("tanh = X; Z = tanh", JAC_ERROR_INVALID, 0, "“tanh” is a function");
  assert_rejects ("a = X @ W; Z = tanh(a", JAC_ERROR_INVALID, 19, "“(” at column 20 is never closed");
  assert_rejects ("a = X @ W\nZ = a @@ W", JAC_ERROR_INVALID, 17, "expected an operand");
  assert_rejects ("a = 2; Z = a + 1", JAC_ERROR_INVALID, 7, "the expression has no variable");
  assert_rejects ("a = X @ W; Z = a = X", JAC_ERROR_INVALID, 17, "unexpected “=”");
  assert_rejects ("a = X @ W; Z = (a;)", JAC_ERROR_INVALID, 15, "is never closed");
}

/* The caret goes under the culprit on its own line of a program. */
static void
test_program_caret (void)
{
  static const char source[] = "a = X @ W\nZ = tanh(a)\nZ = a";
  g_autoptr(JacShapeEnv) env = default_env ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JacExpr) expr = NULL;
  g_autofree char *caret = NULL;
  gsize at = 0;

  expr = jac_expr_parse (source, env, &at, &error);
  g_assert_null (expr);
  g_assert_cmpuint (at, ==, 22);
  caret = jac_expr_format_caret (source, at);
  g_assert_cmpstr (caret, ==, "  Z = a\n  ^");
}

static void
test_caret (void)
{
  g_autofree char *a = jac_expr_format_caret ("tanhh(X)", 0);
  g_autofree char *b = jac_expr_format_caret ("A @ B", 2);
  g_autofree char *c = jac_expr_format_caret ("Xᵀ @ Q", 5);
  g_autofree char *d = jac_expr_format_caret ("X +\n  Q", 6);
  g_autofree char *e = jac_expr_format_caret ("X +", 3);
  g_autofree char *f = jac_expr_format_caret ("\tX $", 3);

  g_assert_cmpstr (a, ==, "  tanhh(X)\n  ^");
  g_assert_cmpstr (b, ==, "  A @ B\n    ^");
  g_assert_cmpstr (c, ==, "  Xᵀ @ Q\n       ^");
  g_assert_cmpstr (d, ==, "    Q\n    ^");
  g_assert_cmpstr (e, ==, "  X +\n     ^");
  g_assert_cmpstr (f, ==, "  \tX $\n  \t  ^");
}

/* A long line is cut to a window around the caret, the cuts marked, the caret still under the
 * culprit (an error in a 100 kB expression is two short lines, not 200 kB). */
static void
test_caret_long_line (void)
{
  g_autoptr(GString) source = g_string_new (NULL);
  g_autofree char *middle = NULL, *start = NULL, *end = NULL, *exact = NULL;
  g_auto(GStrv) lines = NULL;
  gsize at;

  for (guint n = 0; n < 30000; n++)
    g_string_append (source, "X + ");
  at = source->len;
  g_string_append (source, "Q $ R");
  for (guint n = 0; n < 30000; n++)
    g_string_append (source, " + X");

  middle = jac_expr_format_caret (source->str, at + 2);
  lines = g_strsplit (middle, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  /* "  …" + 36 characters before the caret + 36 from it + "…" */
  g_assert_cmpint (g_utf8_strlen (lines[0], -1), ==, 2 + 1 + 72 + 1);
  g_assert_true (g_str_has_prefix (lines[0], "  …"));
  g_assert_true (g_str_has_suffix (lines[0], "…"));
  g_assert_cmpuint (strlen (lines[1]), ==, 2 + 1 + 36 + 1);
  g_assert_cmpint (lines[1][strlen (lines[1]) - 1], ==, '^');
  /* The caret's column holds the culprit. */
  g_assert_cmpint (g_utf8_get_char (g_utf8_offset_to_pointer (lines[0], 2 + 1 + 36)), ==, '$');

  /* Near the start only the end is cut; near the end only the start. */
  start = jac_expr_format_caret (source->str, 4);
  g_assert_cmpstr (start, ==, "  X + X + X + X + X + X + X + X + X + X + X + X + X + X + X + X + X + X + …\n      ^");
  end = jac_expr_format_caret (source->str, source->len);
  g_assert_true (g_str_has_prefix (end, "  … + X + X"));
  g_assert_true (g_str_has_suffix (end, "+ X\n  " "                                                                         ^"));

  /* 72 characters exactly are not cut. */
  exact = jac_expr_format_caret ("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", 71);
  g_assert_false (strstr (exact, "…") != NULL);
}

/* Malformed input of every kind ends in an error, never a crash. */
static void
test_fuzz (void)
{
  static const char alphabet[] = "XYAWvbsa()+-*/@.T_ 0123456789e,;=\n";
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autoptr(JacShapeEnv) env = default_env ();

  for (guint round = 0; round < 20000; round++)
    {
      char source[16];
      guint len = g_rand_int_range (rand, 0, sizeof source);
      g_autoptr(GError) error = NULL;
      g_autoptr(JacExpr) expr = NULL;
      gsize pos = G_MAXSIZE;

      for (guint c = 0; c < len; c++)
        source[c] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      source[len] = '\0';
      expr = jac_expr_parse (source, env, &pos, &error);
      g_assert_true ((expr == NULL) == (error != NULL));
      if (expr == NULL)
        g_assert_cmpuint (pos, <=, len);
      else
        g_assert_cmpuint (expr->spans->len, ==, expr->graph->nodes->len);
    }
}

/* Nesting is bounded, so deep input is an error rather than a stack overflow. */
static void
test_reject_deep_nesting (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  gsize shape[2] = { 2, 2 };
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) fine = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacExpr) ok = NULL;
  JacExpr *bad;

  jac_shape_env_declare (env, "X", 2, shape);
  for (guint n = 0; n < 50000; n++)
    g_string_append_c (deep, '(');
  g_string_append_c (deep, 'X');
  for (guint n = 0; n < 50000; n++)
    g_string_append_c (deep, ')');
  bad = jac_expr_parse (deep->str, env, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "too deeply nested"));

  for (guint n = 0; n < 60; n++)
    g_string_append (fine, "-tanh(");
  g_string_append_c (fine, 'X');
  for (guint n = 0; n < 60; n++)
    g_string_append_c (fine, ')');
  ok = jac_expr_parse (fine->str, env, NULL, NULL);
  g_assert_nonnull (ok);
}

static char *
nested (guint levels)
{
  GString *s = g_string_new (NULL);

  for (guint n = 0; n < levels; n++)
    g_string_append_c (s, '(');
  g_string_append_c (s, 'X');
  for (guint n = 0; n < levels; n++)
    g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static char *
repeated (const char *first,
          const char *each,
          guint       n)
{
  GString *s = g_string_new (first);

  for (guint k = 0; k < n; k++)
    g_string_append (s, each);
  return g_string_free (s, FALSE);
}

/* The limits are exact and stated; nothing deep or long overflows the stack or takes long. */
static void
test_depth_limits (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  gsize shape[2] = { 2, 2 };
  g_autofree char *at_limit = nested (200);
  g_autofree char *past_limit = nested (201);
  g_autofree char *minus_at_limit = repeated ("", "-", 200);
  g_autofree char *minus_past_limit = repeated ("", "-", 201);
  g_autofree char *transposes = repeated ("X", "ᵀ", 20000);
  g_autofree char *dot_transposes = repeated ("X", ".T", 50000);
  g_autofree char *differences = repeated ("X", "-X", 29999);
  g_autofree char *product = repeated ("X", "*X", 2047);
  g_autofree char *minus_x = NULL, *minus_x_past = NULL;
  gint64 start;

  jac_shape_env_declare (env, "X", 2, shape);
  minus_x = g_strconcat (minus_at_limit, "X", NULL);
  minus_x_past = g_strconcat (minus_past_limit, "X", NULL);
  {
    g_autoptr(JacExpr) ok = jac_expr_parse (at_limit, env, NULL, NULL);
    g_autoptr(JacExpr) ok_minus = jac_expr_parse (minus_x, env, NULL, NULL);
    g_autoptr(JacExpr) ok_product = jac_expr_parse (product, env, NULL, NULL);

    g_assert_nonnull (ok);
    g_assert_nonnull (ok_minus);
    g_assert_nonnull (ok_product);
  }
  {
    const char *bad[] = { past_limit, minus_x_past, transposes, dot_transposes, differences };

    for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
      {
        g_autoptr(GError) error = NULL;
        gsize pos = G_MAXSIZE;

        start = g_get_monotonic_time ();
        g_assert_null (jac_expr_parse (bad[k], env, &pos, &error));
        g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
        g_assert_nonnull (strstr (error->message, "too deeply nested"));
        g_assert_cmpuint (pos, <=, g_utf8_strlen (bad[k], -1));
        /* Not a timing test: a quadratic parse of these takes minutes, not seconds. */
        g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC);
      }
  }
}

/* A 100 kB expression parses in linear time: 25 000 terms of a sum, each X.T. */
static void
test_long_expression (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  gsize shape[2] = { 2, 2 };
  g_autoptr(GString) s = g_string_new ("X");
  g_autoptr(JacExpr) expr = NULL;
  g_autoptr(GError) error = NULL;

  jac_shape_env_declare (env, "X", 2, shape);
  /* Balanced, so that it is long but not deep: (X + X.T) * (X + X.T) … in groups. */
  while (s->len < 100000)
    g_string_append (s, " + (X.T * X + X)");
  expr = jac_expr_parse (s->str, env, NULL, &error);
  /* 6 000 terms in a left-deep sum are deeper than the limit: refused, quickly, with a caret. */
  g_assert_null (expr);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_clear_error (&error);

  /* The same 100 kB in parenthesized groups of 500 terms is not deep: it parses. */
  g_string_assign (s, "X");
  while (s->len < 100000)
    {
      g_string_append (s, " + (X");
      for (guint k = 0; k < 500; k++)
        g_string_append (s, " + X.T * X");
      g_string_append (s, ")");
    }
  expr = jac_expr_parse (s->str, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (expr);
}

/* An invalid byte is named, not echoed, and the caret points at it. */
static void
test_invalid_utf8_caret (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  gsize pos = G_MAXSIZE;

  g_assert_null (jac_expr_parse ("Wᵀ @ \xff X", env, &pos, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_cmpuint (pos, ==, 5);
  g_assert_nonnull (strstr (error->message, "\\xff"));
  g_assert_null (strchr (error->message, '\xff'));
}

/* A size with more digits than a gsize holds is out of range, said so. */
static void
test_size_out_of_range (void)
{
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (jac_shape_env_parse_size (env, "K=18446744073709551616", &error));
  g_assert_nonnull (strstr (error->message, "out of range"));
  g_clear_error (&error);
  g_assert_false (jac_shape_env_parse_size (env, "K=0", &error));
  g_assert_nonnull (strstr (error->message, "positive whole number"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/expr/dims", test_dims);
  g_test_add_func ("/expr/declarations", test_declarations);
  g_test_add_func ("/expr/cli-forms", test_cli_forms);
  g_test_add_func ("/expr/parse-rnn", test_parse_rnn);
  g_test_add_func ("/expr/parse-defaults", test_parse_defaults);
  g_test_add_func ("/expr/parse-precedence", test_parse_precedence);
  g_test_add_func ("/expr/parse-unicode", test_parse_unicode);
  g_test_add_func ("/expr/parse-constants", test_parse_constants);
  g_test_add_func ("/expr/parse-functions", test_parse_functions);
  g_test_add_func ("/expr/parse-powers", test_parse_powers);
  g_test_add_func ("/expr/parse-vector-products", test_parse_vector_products);
  g_test_add_func ("/expr/parse-keepdims", test_parse_keepdims);
  g_test_add_func ("/expr/forward-functions", test_forward_functions);
  g_test_add_func ("/expr/forward-matrix-functions", test_forward_matrix_functions);
  g_test_add_func ("/expr/repeated-variables", test_repeated_variables);
  g_test_add_func ("/expr/reject-unbalanced", test_reject_unbalanced);
  g_test_add_func ("/expr/reject-unknown-function", test_reject_unknown_function);
  g_test_add_func ("/expr/reject-shape-mismatch", test_reject_shape_mismatch);
  g_test_add_func ("/expr/infer-shapes", test_infer_shapes);
  g_test_add_func ("/expr/reject-trailing", test_reject_trailing);
  g_test_add_func ("/expr/reject-empty", test_reject_empty);
  g_test_add_func ("/expr/reject-bad-number", test_reject_bad_number);
  g_test_add_func ("/expr/reject-transpose-of-nothing", test_reject_transpose_of_nothing);
  g_test_add_func ("/expr/reject-unknown-character", test_reject_unknown_character);
  g_test_add_func ("/expr/reject-invalid-utf8", test_reject_invalid_utf8);
  g_test_add_func ("/expr/caret", test_caret);
  g_test_add_func ("/expr/caret-long-line", test_caret_long_line);
  g_test_add_func ("/expr/program-parse", test_program_parse);
  g_test_add_func ("/expr/program-output", test_program_output);
  g_test_add_func ("/expr/program-reject", test_program_reject);
  g_test_add_func ("/expr/program-caret", test_program_caret);
  g_test_add_func ("/expr/fuzz", test_fuzz);
  g_test_add_func ("/expr/reject-deep-nesting", test_reject_deep_nesting);
  g_test_add_func ("/expr/depth-limits", test_depth_limits);
  g_test_add_func ("/expr/long-expression", test_long_expression);
  g_test_add_func ("/expr/invalid-utf8-caret", test_invalid_utf8_caret);
  g_test_add_func ("/expr/size-out-of-range", test_size_out_of_range);
  return g_test_run ();
}

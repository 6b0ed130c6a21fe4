/* test-structured.c: the graph's structured Jacobians on expressions beyond the RNN step. */
#define G_LOG_DOMAIN "test-structured"

#include <math.h>
#include <string.h>

#include "core/jac-analysis.h"
#include "core/jac-error.h"
#include "core/jac-graph.h"
#include "core/jac-rnn.h"
#include "core/jac-structured-private.h"

static int
var (JacGraph   *g,
     const char *name,
     gsize       rows,
     gsize       cols)
{
  gsize shape[2] = { rows, cols };

  return jac_graph_add_variable (g, name, cols == 0 ? 1 : 2, shape);
}

static int
bin (JacGraph *g,
     JacOp     op,
     int       a,
     int       b)
{
  g_autoptr(GError) error = NULL;
  int n = jac_graph_add_binary (g, op, a, b, &error);

  g_assert_no_error (error);
  return n;
}

static int
un (JacGraph *g,
    JacOp     op,
    JacFunc   func,
    int       a)
{
  g_autoptr(GError) error = NULL;
  int n = jac_graph_add_unary (g, op, func, a, &error);

  g_assert_no_error (error);
  return n;
}

/* Draws every variable; @positive keeps them in (0.5, 1.5) for log and sqrt. */
static void
draw (JacGraph *g,
      guint32   seed,
      gboolean  positive)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (guint n = 0; n < g->nodes->len; n++)
    {
      JacNode *node = jac_graph_node (g, n);

      if (node->op != JAC_OP_VARIABLE)
        continue;
      jac_tensor_fill_uniform (node->value, rand, positive ? 0.5 : 1.0);
      if (positive)
        for (gsize e = 0; e < node->value->size; e++)
          node->value->data[e] += 1.0;
    }
  jac_graph_forward (g);
}

/* For every variable: structured = finite differences, the δs hold, and Σ G·J = back-prop. */
static void
check_graph (JacGraph   *g,
             const char *what)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  const JacNode *out = jac_graph_node (g, g->output);

  for (guint n = 0; n < g->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (g, n);
      g_autoptr(JacStructured) jac = NULL;
      g_autoptr(JacTensor) dense = NULL;
      g_autoptr(JacTensor) fd = NULL;
      g_autoptr(JacTensor) upstream = NULL;
      g_autoptr(JacTensor) contracted = NULL;
      g_autoptr(JacTensor) from_dense = NULL;
      g_autoptr(JacTensor) backprop = NULL;
      double scale, err;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      jac = jac_graph_jacobian (g, n);
      dense = jac_structured_to_dense (jac, 0, NULL);
      fd = jac_graph_finite_difference (g, n, 1e-6);
      scale = MAX (1.0, jac_tensor_max_abs (fd));
      err = jac_tensor_max_abs_diff (dense, fd);
      if (!(err < 1e-6 * scale))
        g_error ("%s wrt %s: |structured − fd| = %g", what, node->name, err);

      upstream = jac_tensor_new (out->rank, out->shape, NULL);
      jac_tensor_fill_uniform (upstream, rand, 1.0);
      contracted = jac_structured_contract (jac, upstream);
      from_dense = jac_dense_contract (dense, out->rank, upstream);
      backprop = jac_graph_vjp (g, n, upstream);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (contracted, from_dense), <, 1e-10 * scale);
      if (!(jac_tensor_max_abs_diff (contracted, backprop) < 1e-10 * scale))
        g_error ("%s wrt %s: Σ G·J ≠ back-prop", what, node->name);

      /* The structure stores no more than the dense tensor has room for. */
      g_assert_cmpuint (jac_structured_stored_count (jac), <=, jac_structured_dense_count (jac));
    }
}

static void
test_matmul_chain (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int a = var (g, "A", 2, 3), x = var (g, "X", 3, 4), b = var (g, "B", 4, 2);
  int ax = bin (g, JAC_OP_MATMUL, a, x);

  bin (g, JAC_OP_MATMUL, ax, b);
  draw (g, 1, FALSE);
  check_graph (g, "A @ X @ B");
  {
    /* ∂(AXB)/∂X = A[i,p] B[q,j]: dense; ∂/∂A keeps δ_ip, ∂/∂B keeps δ_jq. */
    g_autoptr(JacStructured) jx = jac_graph_jacobian (g, x);
    g_autoptr(JacStructured) ja = jac_graph_jacobian (g, a);
    g_autoptr(JacStructured) jb = jac_graph_jacobian (g, b);

    g_assert_cmpint (jx->pair[0], ==, -1);
    g_assert_cmpint (jx->pair[1], ==, -1);
    g_assert_cmpint (ja->pair[0], ==, 0);
    g_assert_cmpint (ja->pair[1], ==, -1);
    g_assert_cmpint (jb->pair[0], ==, -1);
    g_assert_cmpint (jb->pair[1], ==, 1);
  }
}

static void
test_gram (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int x = var (g, "X", 4, 3);
  int xt = un (g, JAC_OP_TRANSPOSE, 0, x);

  bin (g, JAC_OP_MATMUL, xt, x);
  draw (g, 2, FALSE);
  check_graph (g, "X.T @ X");
}

static void
test_gate (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int x = var (g, "X", 3, 2), w = var (g, "W", 2, 4), b = var (g, "b", 4, 0);
  int c = var (g, "C", 3, 4);
  int xw = bin (g, JAC_OP_MATMUL, x, w);
  int z = bin (g, JAC_OP_ADD, xw, b);
  int s = un (g, JAC_OP_APPLY, JAC_FUNC_SIGMOID, z);

  bin (g, JAC_OP_MUL, s, c);
  draw (g, 3, FALSE);
  check_graph (g, "sigmoid(X @ W + b) * C");
  {
    g_autoptr(JacStructured) jc = jac_graph_jacobian (g, c);

    g_assert_cmpint (jc->pair[0], ==, 0);   /* element-wise: δ on both indices */
    g_assert_cmpint (jc->pair[1], ==, 1);
  }
}

static void
test_softmax (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int x = var (g, "X", 3, 2), w = var (g, "W", 2, 4);
  int xw = bin (g, JAC_OP_MATMUL, x, w);
  g_autoptr(JacStructured) jx = NULL;

  un (g, JAC_OP_SOFTMAX, 0, xw);
  draw (g, 4, FALSE);
  check_graph (g, "softmax(X @ W)");
  /* Rows stay apart (δ_ip), but within a row block everything mixes. */
  jx = jac_graph_jacobian (g, x);
  g_assert_cmpint (jx->pair[0], ==, 0);
  g_assert_cmpint (jx->pair[1], ==, -1);
}

static void
test_elementwise_functions (void)
{
  for (guint f = 0; f < JAC_N_FUNCS; f++)
    {
      g_autoptr(JacGraph) g = jac_graph_new ();
      int x = var (g, "X", 2, 3);
      int y = var (g, "Y", 2, 3);
      int fx = un (g, JAC_OP_APPLY, f, x);

      bin (g, JAC_OP_MUL, fx, y);
      draw (g, 5 + f, TRUE);
      if (f == JAC_FUNC_ARCSIN || f == JAC_FUNC_ARCCOS)
        {
          /* Into (−1, 1), where they are defined: [0.25, 0.75]. */
          JacTensor *value = jac_graph_node (g, x)->value;

          for (gsize e = 0; e < value->size; e++)
            value->data[e] *= 0.5;
          jac_graph_forward (g);
        }
      check_graph (g, jac_func_name (f));
    }
}

static void
test_broadcast_and_division (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int x = var (g, "X", 3, 4), v = var (g, "v", 4, 0), col = var (g, "c", 3, 1);
  int two = jac_graph_add_constant (g, 2.0);
  int denom = bin (g, JAC_OP_ADD, col, two);
  int q = bin (g, JAC_OP_DIV, x, denom);
  int d = bin (g, JAC_OP_SUB, q, v);
  int n = un (g, JAC_OP_NEGATE, 0, d);

  bin (g, JAC_OP_DIV, n, bin (g, JAC_OP_ADD, un (g, JAC_OP_APPLY, JAC_FUNC_SQUARE, v), two));
  draw (g, 30, TRUE);
  check_graph (g, "-(X / (c + 2) - v) / (v² + 2)");
}

static void
test_sum_and_repeats (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int x = var (g, "X", 2, 3);
  int t = un (g, JAC_OP_APPLY, JAC_FUNC_TANH, x);
  int m = bin (g, JAC_OP_MUL, t, x);
  int xt = un (g, JAC_OP_TRANSPOSE, 0, x);
  int mm = bin (g, JAC_OP_MATMUL, m, xt);

  un (g, JAC_OP_SUM, 0, bin (g, JAC_OP_ADD, mm, un (g, JAC_OP_TRANSPOSE, 0, mm)));
  draw (g, 31, FALSE);
  check_graph (g, "sum(M + M.T), M = (tanh(X) * X) @ X.T");
}

/* Every subset of the seven δ patterns of a (3, 3) output and variable, added in a shuffled order:
 * the sum is the sum of the dense tensors, no pattern is left inside another, the entries no δ
 * forces to 0 are counted exactly, and Σ G·J agrees with the dense contraction. */
static void
test_sums_of_patterns (void)
{
  static const int patterns[7][2] = {
    { -1, -1 }, { 0, -1 }, { 1, -1 }, { -1, 0 }, { -1, 1 }, { 0, 1 }, { 1, 0 },
  };
  gsize shape[2] = { 3, 3 };
  g_autoptr(GRand) rand = g_rand_new_with_seed (41);

  for (guint subset = 1; subset < (1u << 7); subset++)
    {
      g_autoptr(JacTensor) expected = jac_tensor_new (4, (gsize[]) { 3, 3, 3, 3 }, NULL);
      g_autoptr(JacTensor) upstream = jac_tensor_new_matrix (3, 3);
      g_autoptr(JacTensor) dense = NULL;
      g_autoptr(JacTensor) contracted = NULL;
      g_autoptr(JacTensor) from_dense = NULL;
      JacStructured *sum = NULL;
      guint order[7], n = 0;
      gsize n_free = 0;

      for (guint k = 0; k < 7; k++)
        if (subset & (1u << k))
          order[n++] = k;
      for (guint k = n; k-- > 1;)
        {
          guint other = g_rand_int_range (rand, 0, k + 1), swap = order[k];

          order[k] = order[other];
          order[other] = swap;
        }
      for (guint k = 0; k < n; k++)
        {
          JacStructured *term = jac_structured_new (2, shape, 2, shape, patterns[order[k]], NULL);
          g_autoptr(JacTensor) part = NULL;

          jac_tensor_fill_uniform (term->core, rand, 1.0);
          part = jac_structured_to_dense (term, 0, NULL);
          for (gsize e = 0; e < part->size; e++)
            expected->data[e] += part->data[e];
          sum = _jac_structured_add (sum, term, 1.0, NULL);
        }

      for (guint a = 0; a < sum->n_terms; a++)
        for (guint b = 0; b < sum->n_terms; b++)
          if (a != b)
            g_assert_false ((sum->terms[a].pair[0] < 0 ||
                             sum->terms[a].pair[0] == sum->terms[b].pair[0]) &&
                            (sum->terms[a].pair[1] < 0 ||
                             sum->terms[a].pair[1] == sum->terms[b].pair[1]));
      g_assert_cmpuint (sum->n_terms, <=, 4);
      /* The pattern without δs takes in every other. */
      if (subset & 1)
        g_assert_cmpuint (sum->n_terms, ==, 1);
      dense = jac_structured_to_dense (sum, 0, NULL);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (dense, expected), <, 1e-14);
      for (gsize e = 0; e < dense->size; e++)
        {
          gsize out[2] = { e / 27, (e / 9) % 3 }, wrt[2] = { (e / 3) % 3, e % 3 };
          gboolean structural = jac_structured_is_structural_zero (sum, out, wrt);

          n_free += !structural;
          if (structural)
            g_assert_cmpfloat (expected->data[e], ==, 0.0);
          else
            g_assert_cmpfloat (expected->data[e], !=, 0.0);
        }
      g_assert_cmpuint (jac_structured_free_count (sum), ==, n_free);

      jac_tensor_fill_uniform (upstream, rand, 1.0);
      contracted = jac_structured_contract (sum, upstream);
      from_dense = jac_dense_contract (dense, 2, upstream);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (contracted, from_dense), <, 1e-13);
      jac_structured_free (sum);
    }
}

static void
test_shape_errors (void)
{
  g_autoptr(JacGraph) g = jac_graph_new ();
  int a = var (g, "A", 2, 3), b = var (g, "B", 2, 3), v = var (g, "v", 5, 0);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (jac_graph_add_binary (g, JAC_OP_MATMUL, a, b, &error), ==, -1);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "(2, 3) @ (2, 3)"));
  g_clear_error (&error);
  g_assert_cmpint (jac_graph_add_binary (g, JAC_OP_ADD, a, v, &error), ==, -1);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "(2, 3) + (5,)"));
}

/* The core's rows written four at a time (AVX2, where the processor has it) are the numbers the
 * two-lane writer gives, bit for bit, with the contraction and the largest entry taken as they
 * are written; odd sizes give the writer a head and a tail. */
static void
test_row_writers (void)
{
  static const gsize hidden[] = { 1, 3, 37, 64 };

  for (guint c = 0; c < G_N_ELEMENTS (hidden); c++)
    {
      g_autoptr(JacAnalysis) wide = NULL;
      g_autoptr(JacAnalysis) narrow = NULL;
      JacRnnConfig config;
      gboolean was;

      jac_rnn_config_init_default (&config);
      config.batch = 3, config.input = 5, config.hidden = hidden[c], config.seed = 7 + c;
      was = _jac_structured_set_avx2 (TRUE);
      wide = jac_analysis_new (jac_rnn_new (&config, NULL, NULL), JAC_VAR_H_PREV,
                               JAC_UPSTREAM_RANDOM, NULL, NULL);
      _jac_structured_set_avx2 (FALSE);
      narrow = jac_analysis_new (jac_rnn_new (&config, NULL, NULL), JAC_VAR_H_PREV,
                                 JAC_UPSTREAM_RANDOM, NULL, NULL);
      _jac_structured_set_avx2 (was);
      g_assert_nonnull (wide);
      g_assert_nonnull (narrow);
      g_assert_cmpuint (wide->jacobian->core->size, ==, narrow->jacobian->core->size);
      g_assert_true (memcmp (wide->jacobian->core->data, narrow->jacobian->core->data,
                             wide->jacobian->core->size * sizeof (double)) == 0);
      g_assert_true (memcmp (wide->contract_tensor->data, narrow->contract_tensor->data,
                             wide->contract_tensor->size * sizeof (double)) == 0);
      g_assert_cmpfloat (wide->jacobian_max_abs, ==, narrow->jacobian_max_abs);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/structured/matmul-chain", test_matmul_chain);
  g_test_add_func ("/structured/gram", test_gram);
  g_test_add_func ("/structured/row-writers", test_row_writers);
  g_test_add_func ("/structured/gate", test_gate);
  g_test_add_func ("/structured/softmax", test_softmax);
  g_test_add_func ("/structured/elementwise-functions", test_elementwise_functions);
  g_test_add_func ("/structured/broadcast-division", test_broadcast_and_division);
  g_test_add_func ("/structured/sum-repeats", test_sum_and_repeats);
  g_test_add_func ("/structured/sums-of-patterns", test_sums_of_patterns);
  g_test_add_func ("/structured/shape-errors", test_shape_errors);
  return g_test_run ();
}

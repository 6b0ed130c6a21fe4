/* test-rnn.c: the engine's Jacobians of the RNN step against closed forms and finite differences. */
#define G_LOG_DOMAIN "test-rnn"

#include <math.h>
#include <string.h>

#include "core/jac-analysis.h"
#include "core/jac-error.h"

typedef struct
{
  gsize    n, d, h;
  gboolean b_per_row;
} Sizes;

static const Sizes sizes[] = {
  { 2, 3, 3, FALSE },
  { 2, 3, 3, TRUE },
  { 1, 1, 1, FALSE },
  { 1, 1, 1, TRUE },
  { 3, 5, 2, FALSE },   /* D ≠ H, N > H */
  { 2, 2, 4, TRUE },
};

static const JacFunc activations[] = {
  JAC_FUNC_TANH, JAC_FUNC_SIGMOID, JAC_FUNC_RELU, JAC_FUNC_IDENTITY,
};

static JacRnn *
make_rnn (const Sizes *s,
          JacFunc      activation,
          guint32      seed)
{
  JacRnnConfig config;
  g_autoptr(GError) error = NULL;
  JacRnn *rnn;

  jac_rnn_config_init_default (&config);
  config.batch = s->n;
  config.input = s->d;
  config.hidden = s->h;
  config.b_per_row = s->b_per_row;
  config.activation = activation;
  config.seed = seed;
  rnn = jac_rnn_new (&config, NULL, &error);
  g_assert_no_error (error);
  return rnn;
}

/* Engine = closed form = central finite differences, for every variable, activation and size. */
static void
test_engine_matches_closed_form_and_fd (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      for (guint v = 0; v < JAC_N_VARS; v++)
        {
          g_autoptr(JacRnn) rnn = make_rnn (&sizes[s], activations[a], 7 + s);
          g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, v);
          g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
          g_autoptr(JacTensor) closed = jac_rnn_closed_form_dense (rnn, v);
          g_autoptr(JacTensor) fd = jac_graph_finite_difference (rnn->graph,
                                                                 rnn->variable_node[v], 1e-6);
          double err_closed = jac_tensor_max_abs_diff (dense, closed);
          double err_fd = jac_tensor_max_abs_diff (dense, fd);

          g_assert_true (jac_tensor_same_shape (dense, closed));
          g_assert_true (jac_tensor_same_shape (dense, fd));
          if (err_closed > 1e-12 || err_fd > 1e-6)
            g_error ("%s wrt %s, sizes #%u: |engine − closed| = %g, |engine − fd| = %g",
                     jac_func_name (activations[a]), jac_variable_name (v), s, err_closed, err_fd);
        }
}

/* The dense shape is out.shape + wrt.shape, like torch.autograd.functional.jacobian. */
static void
test_dense_shape (void)
{
  Sizes s = { 2, 5, 3, FALSE };
  g_autoptr(JacRnn) rnn = make_rnn (&s, JAC_FUNC_TANH, 1);
  const gsize expected[JAC_N_VARS][4] = {
    { 2, 3, 2, 3 }, { 2, 3, 2, 5 }, { 2, 3, 3, 3 }, { 2, 3, 5, 3 }, { 2, 3, 3, 0 },
  };

  for (guint v = 0; v < JAC_N_VARS; v++)
    {
      g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, v);
      gsize shape[4];
      guint rank = jac_structured_dense_shape (jac, shape);

      g_assert_cmpuint (rank, ==, v == JAC_VAR_B ? 3 : 4);
      for (guint a = 0; a < rank; a++)
        g_assert_cmpuint (shape[a], ==, expected[v][a]);
    }
}

/* The δ pattern each variable must have, and that the structure stores only what it allows. */
static void
test_structural_zeros (void)
{
  Sizes s = { 3, 2, 4, FALSE };
  g_autoptr(JacRnn) rnn = make_rnn (&s, JAC_FUNC_TANH, 3);
  struct { JacVariable v; int pair0, pair1; gsize stored; } expected[] = {
    { JAC_VAR_H_PREV, 0, -1, 3 * 4 * 4 },  /* δ_ip */
    { JAC_VAR_X, 0, -1, 3 * 4 * 2 },       /* δ_ip */
    { JAC_VAR_W_HH, -1, 1, 3 * 4 * 4 },    /* δ_jl */
    { JAC_VAR_W_XH, -1, 1, 3 * 4 * 2 },    /* δ_jl */
    { JAC_VAR_B, -1, 0, 3 * 4 },           /* δ_jl */
  };

  for (guint e = 0; e < G_N_ELEMENTS (expected); e++)
    {
      g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, expected[e].v);
      g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
      gsize wrt_size = dense->size / (3 * 4);

      g_assert_cmpint (jac->pair[0], ==, expected[e].pair0);
      g_assert_cmpint (jac->pair[1], ==, expected[e].pair1);
      g_assert_cmpuint (jac_structured_stored_count (jac), ==, expected[e].stored);

      /* Every entry a δ forbids is exactly zero in the dense tensor. */
      for (gsize o = 0; o < 3 * 4; o++)
        for (gsize w = 0; w < wrt_size; w++)
          {
            gsize oi[2] = { o / 4, o % 4 };
            gsize wi[2];

            if (jac->wrt_rank == 2)
              {
                wi[0] = w / jac->wrt_shape[1];
                wi[1] = w % jac->wrt_shape[1];
              }
            else
              wi[0] = w;
            if (jac_structured_is_structural_zero (jac, oi, wi))
              g_assert_cmpfloat (dense->data[o * wrt_size + w], ==, 0.0);
          }
    }

  {
    g_autoptr(JacRnn) rnn2 = make_rnn (&(Sizes) { 3, 2, 4, TRUE }, JAC_FUNC_TANH, 3);
    g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn2, JAC_VAR_B);

    g_assert_cmpint (jac->pair[0], ==, 0);   /* δ_ip δ_jq */
    g_assert_cmpint (jac->pair[1], ==, 1);
    g_assert_cmpuint (jac_structured_stored_count (jac), ==, 12);
  }
}

/* Σ G J from the structured tensor = from the dense tensor = the matrix formula = back-prop. */
static void
test_vjp_two_ways (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    for (guint v = 0; v < JAC_N_VARS; v++)
      {
        g_autoptr(JacRnn) rnn = make_rnn (&sizes[s], JAC_FUNC_SIGMOID, 11);
        g_autoptr(JacTensor) g = jac_tensor_new_matrix (sizes[s].n, sizes[s].h);
        g_autoptr(GRand) rand = g_rand_new_with_seed (5);
        g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, v);
        g_autoptr(JacTensor) dense = jac_structured_to_dense (jac, 0, NULL);
        g_autoptr(JacTensor) from_structured = NULL;
        g_autoptr(JacTensor) from_dense = NULL;
        g_autoptr(JacTensor) formula = NULL;
        g_autoptr(JacTensor) backprop = NULL;

        jac_tensor_fill_uniform (g, rand, 1.0);
        from_structured = jac_structured_contract (jac, g);
        from_dense = jac_dense_contract (dense, 2, g);
        formula = jac_rnn_contract_formula (rnn, v, g);
        backprop = jac_graph_vjp (rnn->graph, rnn->variable_node[v], g);

        g_assert_true (jac_tensor_same_shape (from_structured, jac_rnn_value (rnn, v)));
        g_assert_cmpfloat (jac_tensor_max_abs_diff (from_structured, from_dense), <, 1e-12);
        g_assert_cmpfloat (jac_tensor_max_abs_diff (from_structured, formula), <, 1e-12);
        g_assert_cmpfloat (jac_tensor_max_abs_diff (from_structured, backprop), <, 1e-12);
      }
}

/* The worked example of DESIGN.md: block (i, i) of ∂h/∂h_prev, rows j, columns q, is
 * diag(S[i,:]) W_hhᵀ. */
static void
test_block_is_diag_s_times_w_transpose (void)
{
  Sizes s = { 2, 3, 3, FALSE };
  g_autoptr(JacRnn) rnn = make_rnn (&s, JAC_FUNC_TANH, 1);
  g_autoptr(JacAnalysis) an = jac_analysis_new (make_rnn (&s, JAC_FUNC_TANH, 1), JAC_VAR_H_PREV,
                                                JAC_UPSTREAM_ONES, NULL, NULL);
  const JacTensor *w = jac_rnn_value (rnn, JAC_VAR_W_HH);
  const JacTensor *h = jac_rnn_output (rnn);

  for (gsize i = 0; i < 2; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize q = 0; q < 3; q++)
        {
          gboolean zero;
          double slope = 1.0 - JAC_AT2 (h, i, j) * JAC_AT2 (h, i, j);
          double value = jac_analysis_block_entry (an, i, i, j, q, &zero);

          g_assert_false (zero);
          g_assert_cmpfloat (fabs (value - slope * JAC_AT2 (w, q, j)), <, 1e-14);
          jac_analysis_block_entry (an, i, 1 - i, j, q, &zero);
          g_assert_true (zero);
        }
  g_assert_true (jac_analysis_block_is_zero (an, 0, 1));
  g_assert_false (jac_analysis_block_is_zero (an, 1, 1));
}

static void
test_sparsity_sentences (void)
{
  struct { JacVariable v; gboolean per_row; const char *sentence; } cases[] = {
    { JAC_VAR_H_PREV, FALSE, "nonzero only where p = i: 2 of 4 blocks" },
    { JAC_VAR_X, FALSE, "nonzero only where p = i: 2 of 4 blocks" },
    { JAC_VAR_W_HH, FALSE, "nonzero only where l = j: 3 of 9 entries in each block" },
    { JAC_VAR_W_XH, FALSE, "nonzero only where l = j: 3 of 9 entries in each block" },
    { JAC_VAR_B, FALSE, "nonzero only where q = j: 3 of 9 entries in each block" },
    { JAC_VAR_B, TRUE,
      "nonzero only where p = i and q = j: 2 of 4 blocks, each with 3 of 9 entries" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      Sizes s = { 2, 3, 3, cases[c].per_row };
      g_autoptr(GError) error = NULL;
      g_autoptr(JacAnalysis) an = jac_analysis_new (make_rnn (&s, JAC_FUNC_TANH, 1), cases[c].v,
                                                    JAC_UPSTREAM_RANDOM, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (an->sparsity.sentence, ==, cases[c].sentence);
      g_assert_cmpfloat (an->contract_max_diff, <, 1e-12);
    }
}

/* The three kinds of upstream gradient, and a given one of the wrong shape. */
static void
test_upstream (void)
{
  Sizes s = { 2, 3, 3, FALSE };
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) loss = jac_analysis_new (make_rnn (&s, JAC_FUNC_TANH, 4), JAC_VAR_X,
                                                  JAC_UPSTREAM_LOSS, NULL, &error);
  g_autoptr(JacTensor) wrong = jac_tensor_new_matrix (3, 2);
  g_autoptr(JacRnn) rnn = make_rnn (&s, JAC_FUNC_TANH, 4);
  JacAnalysis *bad;

  g_assert_no_error (error);
  g_assert_cmpfloat (loss->contract_max_diff, <, 1e-12);
  bad = jac_analysis_new (g_steal_pointer (&rnn), JAC_VAR_X, JAC_UPSTREAM_GIVEN, wrong, &error);
  g_assert_null (bad);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "(3, 2)"));
  g_assert_nonnull (strstr (error->message, "(2, 3)"));
}

/* Sizes follow loaded tensors; disagreeing shapes are an error naming both. */
static void
test_loaded_shapes (void)
{
  JacRnnConfig config;
  JacTensor *loaded[JAC_N_VARS] = { NULL };
  g_autoptr(JacTensor) w = jac_tensor_new_matrix (4, 4);
  g_autoptr(JacTensor) h_prev = jac_tensor_new_matrix (5, 4);
  g_autoptr(JacTensor) bad_x = jac_tensor_new_matrix (2, 7);
  g_autoptr(JacTensor) b = jac_tensor_new_vector (3);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacRnn) rnn = NULL;

  jac_rnn_config_init_default (&config);
  loaded[JAC_VAR_W_HH] = w;
  loaded[JAC_VAR_H_PREV] = h_prev;
  rnn = jac_rnn_new (&config, loaded, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rnn->config.batch, ==, 5);
  g_assert_cmpuint (rnn->config.hidden, ==, 4);
  g_assert_cmpuint (rnn->config.input, ==, 3);

  loaded[JAC_VAR_X] = bad_x;
  g_assert_null (jac_rnn_new (&config, loaded, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "x has shape (2, 7)"));
  g_assert_nonnull (strstr (error->message, "h_prev has shape (5, 4)"));
  g_clear_error (&error);

  loaded[JAC_VAR_X] = NULL;
  loaded[JAC_VAR_B] = b;
  g_assert_null (jac_rnn_new (&config, loaded, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "b has shape (3,)"));
}

/* The dense tensor past a budget is refused with its size. */
static void
test_dense_budget (void)
{
  Sizes s = { 8, 4, 16, FALSE };
  g_autoptr(JacRnn) rnn = make_rnn (&s, JAC_FUNC_TANH, 1);
  g_autoptr(JacStructured) jac = jac_rnn_jacobian (rnn, JAC_VAR_H_PREV);
  g_autoptr(GError) error = NULL;
  JacTensor *dense = jac_structured_to_dense (jac, 1024, &error);

  g_assert_null (dense);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "131072 bytes"));
  g_assert_nonnull (strstr (error->message, "(8, 16, 8, 16)"));
}

/* Seeds are reproducible, and loading one variable leaves the others' draws alone. */
static void
test_seeded (void)
{
  Sizes s = { 2, 3, 3, FALSE };
  g_autoptr(JacRnn) a = make_rnn (&s, JAC_FUNC_TANH, 9);
  g_autoptr(JacRnn) b = make_rnn (&s, JAC_FUNC_TANH, 9);
  g_autoptr(JacRnn) c = make_rnn (&s, JAC_FUNC_TANH, 10);

  for (guint v = 0; v < JAC_N_VARS; v++)
    g_assert_cmpfloat (jac_tensor_max_abs_diff (jac_rnn_value (a, v), jac_rnn_value (b, v)), ==,
                       0.0);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (jac_rnn_value (a, JAC_VAR_W_HH),
                                              jac_rnn_value (c, JAC_VAR_W_HH)), >, 0.0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rnn/engine-closed-form-fd", test_engine_matches_closed_form_and_fd);
  g_test_add_func ("/rnn/dense-shape", test_dense_shape);
  g_test_add_func ("/rnn/structural-zeros", test_structural_zeros);
  g_test_add_func ("/rnn/vjp-two-ways", test_vjp_two_ways);
  g_test_add_func ("/rnn/block-diag-s-w-transpose", test_block_is_diag_s_times_w_transpose);
  g_test_add_func ("/rnn/sparsity-sentences", test_sparsity_sentences);
  g_test_add_func ("/rnn/upstream", test_upstream);
  g_test_add_func ("/rnn/loaded-shapes", test_loaded_shapes);
  g_test_add_func ("/rnn/dense-budget", test_dense_budget);
  g_test_add_func ("/rnn/seeded", test_seeded);
  return g_test_run ();
}

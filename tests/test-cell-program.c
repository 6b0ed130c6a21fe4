/* test-cell-program.c: one LSTM or GRU step as a program of the language (the gallery's "lstm"
 * and "gru"), against independent paths: its forward pass = the through-time cell's step; its
 * Jacobians ∂h/∂h_prev, ∂c/∂c_prev, ∂h/∂c_prev, ∂c/∂h_prev = central finite differences = the
 * closed-form one-step state Jacobian of jac-sequence-cell.c, at the same weights (PyTorch's, in
 * the program's variables); their δ structure and derivations; and the PyTorch layout
 * conversion on hand-computed cases. */
#define G_LOG_DOMAIN "test-cell-program"

#include <math.h>
#include <string.h>

#include "core/jac-derive.h"
#include "core/jac-error.h"
#include "core/jac-presets.h"
#include "core/jac-sequence.h"

typedef struct
{
  JacCell  cell;
  gsize    n, d, h;
  double   gain;
  double   carry_bias;
  guint32  seed;
} Case;

static const Case cases[] = {
  { JAC_CELL_LSTM, 2, 3, 3, 1.0, 0.0, 1 },
  { JAC_CELL_LSTM, 3, 2, 4, 2.5, 1.0, 7 },
  { JAC_CELL_GRU, 2, 3, 3, 1.0, 0.0, 1 },
  { JAC_CELL_GRU, 1, 4, 2, 3.0, 2.0, 4 },
};

/* One (output, wrt) pair: where its block sits in the state Jacobian, and its δ pattern. */
typedef struct
{
  const char *output;
  const char *wrt;
  guint       out_part;   /* 0: h's rows, 1: c's */
  guint       wrt_part;
  gboolean    diagonal;   /* δ_ip δ_jq (∂c/∂c_prev), else δ_ip alone */
} Pair;

static const Pair lstm_pairs[] = {
  { "h", "h_prev", 0, 0, FALSE },
  { "c", "c_prev", 1, 1, TRUE },
  { "h", "c_prev", 0, 1, TRUE },
  { "c", "h_prev", 1, 0, FALSE },
};

static const Pair gru_pairs[] = {
  { "h", "h_prev", 0, 0, FALSE },
};

/* The through-time cell, one step: its drawn weights are the oracle's and the program's. */
static JacSequence *
one_step (const Case *c)
{
  JacSequenceConfig config;
  g_autoptr(GError) error = NULL;
  JacSequence *seq;

  jac_sequence_config_init_default (&config);
  config.cell = c->cell;
  config.config.batch = c->n;
  config.config.input = c->d;
  config.config.hidden = c->h;
  config.config.seed = c->seed;
  config.steps = 1;
  config.gain = c->gain;
  config.carry_bias = c->carry_bias;
  seq = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  return seq;
}

static JacExpr *
parse_program (const Case *c,
               const char *output)
{
  const JacPreset *preset = jac_preset_find (c->cell == JAC_CELL_LSTM ? "lstm" : "gru");
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  g_autoptr(GError) error = NULL;
  JacExpr *expr;

  g_assert_nonnull (preset);
  g_assert_cmpstr (preset->expression, ==, jac_cell_program (c->cell));
  jac_shape_env_set_size (env, "N", c->n);
  jac_shape_env_set_size (env, "D", c->d);
  jac_shape_env_set_size (env, "H", c->h);
  g_assert_true (jac_shape_env_parse_declarations (env, preset->shapes, NULL, &error));
  expr = jac_expr_parse (preset->expression, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (jac_expr_set_output (expr, output, &error));
  g_assert_no_error (error);
  return expr;
}

static JacTensor *
matrix_from (const double *data,
             gsize         rows,
             gsize         cols)
{
  JacTensor *m = jac_tensor_new_matrix (rows, cols);

  memcpy (m->data, data, rows * cols * sizeof (double));
  return m;
}

/* The program's variables at the sequence's weights and its x_1, h_0, c_0. */
static GHashTable *
program_variables (const JacSequence *seq)
{
  const JacSequenceConfig *config = &seq->config;
  gsize n = config->config.batch, d = config->config.input, h = config->config.hidden;
  GHashTable *values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) jac_tensor_free);
  g_autoptr(GError) error = NULL;

  g_assert_true (jac_cell_program_variables_from_pytorch (config->cell, seq->weight_ih,
                                                          seq->weight_hh, seq->bias_ih,
                                                          seq->bias_hh, values, &error));
  g_assert_no_error (error);
  g_hash_table_insert (values, g_strdup ("x"), matrix_from (jac_sequence_input (seq, 1), n, d));
  g_hash_table_insert (values, g_strdup ("h_prev"),
                       matrix_from (jac_sequence_state (seq, 0), n, h));
  if (config->cell == JAC_CELL_LSTM)
    g_hash_table_insert (values, g_strdup ("c_prev"),
                         matrix_from (jac_sequence_cell_state (seq, 0), n, h));
  return values;
}

static void
set_variables (JacExpr    *expr,
               GHashTable *values)
{
  for (guint k = 0; k < expr->graph->nodes->len; k++)
    {
      const JacNode *node = jac_graph_node (expr->graph, k);
      g_autoptr(GError) error = NULL;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      g_assert_nonnull (g_hash_table_lookup (values, node->name));
      g_assert_true (jac_graph_set_value (expr->graph, k, g_hash_table_lookup (values,
                                                                                node->name),
                                          &error));
      g_assert_no_error (error);
    }
  jac_graph_forward (expr->graph);
}

static double
max_abs (const JacTensor *t)
{
  return jac_tensor_max_abs (t);
}

/* The program's output is the through-time cell's h_1 (or c_1). */
static void
check_forward (const JacExpr     *expr,
               const JacSequence *seq,
               const Pair        *pair)
{
  const JacTensor *out = jac_graph_node (expr->graph, expr->graph->output)->value;
  const double *want = pair->out_part == 1 ? jac_sequence_cell_state (seq, 1)
                                           : jac_sequence_state (seq, 1);

  for (gsize e = 0; e < out->size; e++)
    g_assert_cmpfloat_with_epsilon (out->data[e], want[e], 1e-14);
}

/* dense = finite differences; every block p ≠ i zero; block (i, i) = the state Jacobian's. */
static void
check_jacobian (JacExpr           *expr,
                const JacSequence *seq,
                const Pair        *pair)
{
  gsize n = seq->config.config.batch, h = seq->config.config.hidden;
  int wrt = jac_graph_find_variable (expr->graph, pair->wrt);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacStructured) jac = NULL;
  g_autoptr(JacTensor) dense = NULL;
  g_autoptr(JacTensor) fd = NULL;
  g_autoptr(JacTensor) closed = jac_sequence_step_state_jacobian (seq, 1, &error);
  gsize m;

  g_assert_no_error (error);
  g_assert_cmpint (wrt, >=, 0);
  jac = jac_graph_jacobian (expr->graph, wrt);
  dense = jac_structured_to_dense (jac, 0, &error);
  g_assert_no_error (error);
  fd = jac_graph_finite_difference (expr->graph, wrt, 1e-6);
  g_assert_cmpuint (dense->rank, ==, 4);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (dense, fd), <=, 1e-8 * MAX (1.0, max_abs (dense)));
  m = closed->shape[1];
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      for (gsize p = 0; p < n; p++)
        for (gsize q = 0; q < h; q++)
          {
            double got = dense->data[((i * h + j) * n + p) * h + q];
            double want = p != i ? 0.0 : closed->data[(i * m + pair->out_part * h + j) * m
                                                      + pair->wrt_part * h + q];

            if (fabs (got - want) > 1e-13)
              g_error ("∂%s/∂%s[%zu,%zu,%zu,%zu] = %.17g, the closed form %.17g", pair->output,
                       pair->wrt, i, j, p, q, got, want);
          }
}

/* The δs as the derivation states them, its contraction = the structured one, and the names
 * of the program in its definitions. */
static void
check_derivation (JacExpr    *expr,
                  const Pair *pair,
                  JacCell     cell)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacDerivation) d = jac_derive (expr, pair->wrt, JAC_DERIVE_DEFAULT, &error);
  int wrt = jac_graph_find_variable (expr->graph, pair->wrt);
  const JacNode *out = jac_graph_node (expr->graph, expr->graph->output);
  g_autoptr(JacStructured) jac = jac_graph_jacobian (expr->graph, wrt);
  g_autoptr(JacTensor) g = jac_tensor_new (out->rank, out->shape, NULL);
  g_autoptr(JacTensor) symbolic = NULL;
  g_autoptr(JacTensor) contracted = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  g_autofree char *definitions = NULL;
  GString *all = g_string_new (NULL);
  const char *const lstm_names[] = { "i_ij = σ(", "f_ij = σ(", "g_ij = tanh(", NULL };
  const char *const gru_names[] = { "r_ij = σ(", "z_ij = σ(", "n_ij = tanh(", NULL };

  g_assert_no_error (error);
  g_assert_nonnull (d);
  if (pair->diagonal)
    g_assert_cmpstr (d->sparsity, ==, "nonzero only where p = i and q = j");
  else
    g_assert_cmpstr (d->sparsity, ==, "nonzero only where p = i");
  jac_tensor_fill_uniform (g, rand, 1.0);
  symbolic = jac_derivation_evaluate (d, expr->graph, g, NULL);
  contracted = jac_structured_contract (jac, g);
  g_assert_nonnull (symbolic);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (symbolic, contracted), <=, 1e-13);
  for (guint s = 0; s < d->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (d->steps, s);

      if (g_str_equal (step->title, "Definition"))
        g_string_append_printf (all, "%s\n", step->text);
    }
  definitions = g_string_free (all, FALSE);
  for (const char *const *name = cell == JAC_CELL_LSTM ? lstm_names : gru_names; *name != NULL;
       name++)
    if (strstr (definitions, *name) == NULL)
      g_error ("∂%s/∂%s: no definition “%s…” in\n%s", pair->output, pair->wrt, *name,
               definitions);
  /* The gate c = f ⊙ c_prev + … is named, never inlined as its formula. */
  if (cell == JAC_CELL_LSTM && g_str_equal (pair->output, "h"))
    g_assert_nonnull (strstr (definitions, "c_ij = f_ij c_prev_ij + i_ij g_ij"));
  if (pair->diagonal && g_str_equal (pair->output, "c"))
    g_assert_cmpstr (d->contracted_text, ==, "G ⊙ f");
}

static void
test_cell_program (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(JacSequence) seq = one_step (c);
  g_autoptr(GHashTable) values = program_variables (seq);
  const Pair *pairs = c->cell == JAC_CELL_LSTM ? lstm_pairs : gru_pairs;
  guint n_pairs = c->cell == JAC_CELL_LSTM ? G_N_ELEMENTS (lstm_pairs) : G_N_ELEMENTS (gru_pairs);

  for (guint k = 0; k < n_pairs; k++)
    {
      g_autoptr(JacExpr) expr = parse_program (c, pairs[k].output);

      set_variables (expr, values);
      check_forward (expr, seq, &pairs[k]);
      check_jacobian (expr, seq, &pairs[k]);
      check_derivation (expr, &pairs[k], c->cell);
    }
}

/* ---- PyTorch's layout, by hand ---- */

static JacTensor *
tensor_of (guint          rank,
           gsize          rows,
           gsize          cols,
           const double  *values)
{
  gsize shape[2] = { rows, cols };
  JacTensor *t = jac_tensor_new (rank, shape, NULL);

  memcpy (t->data, values, t->size * sizeof (double));
  return t;
}

static void
assert_values (GHashTable   *variables,
               const char   *name,
               guint         rank,
               gsize         rows,
               gsize         cols,
               const double *want)
{
  const JacTensor *t = g_hash_table_lookup (variables, name);

  if (t == NULL)
    g_error ("no variable %s", name);
  g_assert_cmpuint (t->rank, ==, rank);
  g_assert_cmpuint (t->shape[0], ==, rows);
  if (rank == 2)
    g_assert_cmpuint (t->shape[1], ==, cols);
  for (gsize e = 0; e < t->size; e++)
    g_assert_cmpfloat (t->data[e], ==, want[e]);
}

/* LSTM, H = 1, D = 2: gate k's row of weight_ih is W_i?ᵀ, a (2, 1) column; biases add. */
static void
test_lstm_layout_by_hand (void)
{
  static const double ih[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  static const double hh[] = { 9, 10, 11, 12 };
  static const double b_ih[] = { 1, 2, 3, 4 }, b_hh[] = { 10, 20, 30, 40 };
  g_autoptr(JacTensor) weight_ih = tensor_of (2, 4, 2, ih);
  g_autoptr(JacTensor) weight_hh = tensor_of (2, 4, 1, hh);
  g_autoptr(JacTensor) bias_ih = tensor_of (1, 4, 0, b_ih);
  g_autoptr(JacTensor) bias_hh = tensor_of (1, 4, 0, b_hh);
  g_autoptr(GHashTable) v = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) jac_tensor_free);
  g_autoptr(GError) error = NULL;

  g_assert_true (jac_cell_program_variables_from_pytorch (JAC_CELL_LSTM, weight_ih, weight_hh,
                                                          bias_ih, bias_hh, v, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (v), ==, 12);
  assert_values (v, "W_ii", 2, 2, 1, (double[]) { 1, 2 });
  assert_values (v, "W_if", 2, 2, 1, (double[]) { 3, 4 });
  assert_values (v, "W_ig", 2, 2, 1, (double[]) { 5, 6 });
  assert_values (v, "W_io", 2, 2, 1, (double[]) { 7, 8 });
  assert_values (v, "W_hi", 2, 1, 1, (double[]) { 9 });
  assert_values (v, "W_ho", 2, 1, 1, (double[]) { 12 });
  assert_values (v, "b_i", 1, 1, 0, (double[]) { 11 });
  assert_values (v, "b_f", 1, 1, 0, (double[]) { 22 });
  assert_values (v, "b_g", 1, 1, 0, (double[]) { 33 });
  assert_values (v, "b_o", 1, 1, 0, (double[]) { 44 });

  /* bias=False: no bias keys, zero biases. */
  g_hash_table_remove_all (v);
  g_assert_true (jac_cell_program_variables_from_pytorch (JAC_CELL_LSTM, weight_ih, weight_hh,
                                                          NULL, NULL, v, &error));
  assert_values (v, "b_o", 1, 1, 0, (double[]) { 0 });
}

/* GRU, H = 2, D = 1: W_h? is the transpose of its 2 × 2 block; n keeps its two biases apart. */
static void
test_gru_layout_by_hand (void)
{
  static const double ih[] = { 1, 2, 3, 4, 5, 6 };
  static const double hh[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
  static const double b_ih[] = { 1, 2, 3, 4, 5, 6 }, b_hh[] = { 10, 20, 30, 40, 50, 60 };
  g_autoptr(JacTensor) weight_ih = tensor_of (2, 6, 1, ih);
  g_autoptr(JacTensor) weight_hh = tensor_of (2, 6, 2, hh);
  g_autoptr(JacTensor) bias_ih = tensor_of (1, 6, 0, b_ih);
  g_autoptr(JacTensor) bias_hh = tensor_of (1, 6, 0, b_hh);
  g_autoptr(GHashTable) v = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) jac_tensor_free);
  g_autoptr(GError) error = NULL;

  g_assert_true (jac_cell_program_variables_from_pytorch (JAC_CELL_GRU, weight_ih, weight_hh,
                                                          bias_ih, bias_hh, v, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (v), ==, 10);
  assert_values (v, "W_ir", 2, 1, 2, (double[]) { 1, 2 });
  assert_values (v, "W_iz", 2, 1, 2, (double[]) { 3, 4 });
  assert_values (v, "W_in", 2, 1, 2, (double[]) { 5, 6 });
  assert_values (v, "W_hr", 2, 2, 2, (double[]) { 1, 3, 2, 4 });
  assert_values (v, "W_hz", 2, 2, 2, (double[]) { 5, 7, 6, 8 });
  assert_values (v, "W_hn", 2, 2, 2, (double[]) { 9, 11, 10, 12 });
  assert_values (v, "b_r", 1, 2, 0, (double[]) { 11, 22 });
  assert_values (v, "b_z", 1, 2, 0, (double[]) { 33, 44 });
  assert_values (v, "b_in", 1, 2, 0, (double[]) { 5, 6 });
  assert_values (v, "b_hn", 1, 2, 0, (double[]) { 50, 60 });
}

static void
assert_fails (JacCell          cell,
              const JacTensor *weight_ih,
              const JacTensor *weight_hh,
              const JacTensor *bias_ih,
              const JacTensor *bias_hh,
              const char      *fragment)
{
  g_autoptr(GHashTable) v = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                   (GDestroyNotify) jac_tensor_free);
  g_autoptr(GError) error = NULL;

  g_assert_false (jac_cell_program_variables_from_pytorch (cell, weight_ih, weight_hh, bias_ih,
                                                           bias_hh, v, &error));
  g_assert_nonnull (error);
  if (strstr (error->message, fragment) == NULL)
    g_error ("“%s” does not say “%s”", error->message, fragment);
}

static void
test_layout_errors (void)
{
  static const double zeros[64] = { 0 };
  g_autoptr(JacTensor) ih_12x2 = tensor_of (2, 12, 2, zeros);
  g_autoptr(JacTensor) ih_9x2 = tensor_of (2, 9, 2, zeros);
  g_autoptr(JacTensor) hh_12x3 = tensor_of (2, 12, 3, zeros);
  g_autoptr(JacTensor) hh_9x3 = tensor_of (2, 9, 3, zeros);
  g_autoptr(JacTensor) hh_15x3 = tensor_of (2, 15, 3, zeros);
  g_autoptr(JacTensor) b12 = tensor_of (1, 12, 0, zeros);
  g_autoptr(JacTensor) b9 = tensor_of (1, 9, 0, zeros);
  g_autoptr(GHashTable) dict = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  JacCell cell;

  assert_fails (JAC_CELL_LSTM, ih_12x2, hh_9x3, NULL, NULL,
                "weight_hh_l0 has shape (9, 3); it should be (4·H, H)");
  assert_fails (JAC_CELL_GRU, ih_12x2, hh_9x3, NULL, NULL,
                "weight_ih_l0 has shape (12, 2); it should be (9, D)");
  assert_fails (JAC_CELL_LSTM, ih_12x2, hh_12x3, b12, NULL, "bias_hh_l0 is missing");
  assert_fails (JAC_CELL_LSTM, ih_12x2, hh_12x3, b9, b12,
                "bias_ih_l0 has shape (9,); it should be (12,)");
  assert_fails (JAC_CELL_GRU, ih_9x2, hh_9x3, b9, b12,
                "bias_hh_l0 has shape (12,); it should be (9,)");

  /* Which cell a state dict is: from weight_hh_l0's rows per column. */
  g_hash_table_insert (dict, (char *) "weight_hh_l0", hh_12x3);
  g_assert_true (jac_cell_from_state_dict (dict, &cell, &error));
  g_assert_cmpint (cell, ==, JAC_CELL_LSTM);
  g_hash_table_insert (dict, (char *) "weight_hh_l0", hh_9x3);
  g_assert_true (jac_cell_from_state_dict (dict, &cell, &error));
  g_assert_cmpint (cell, ==, JAC_CELL_GRU);
  g_hash_table_insert (dict, (char *) "weight_hh_l0", hh_15x3);
  g_assert_false (jac_cell_from_state_dict (dict, &cell, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "weight_hh_l0 has shape (15, 3)"));
  g_clear_error (&error);
  g_hash_table_remove (dict, "weight_hh_l0");
  g_assert_false (jac_cell_from_state_dict (dict, &cell, &error));
  g_assert_nonnull (strstr (error->message, "“weight_hh_l0” is missing"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autofree char *name = g_strdup_printf ("/cell-program/%s-%zu-%zu-%zu-gain%g",
                                               jac_cell_name (cases[k].cell), cases[k].n,
                                               cases[k].d, cases[k].h, cases[k].gain);

      g_test_add_data_func (name, &cases[k], test_cell_program);
    }
  g_test_add_func ("/cell-program/lstm-layout-by-hand", test_lstm_layout_by_hand);
  g_test_add_func ("/cell-program/gru-layout-by-hand", test_gru_layout_by_hand);
  g_test_add_func ("/cell-program/layout-errors", test_layout_errors);
  return g_test_run ();
}

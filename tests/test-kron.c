/* test-kron.c: the matricized Jacobian and its Kronecker identities, against the dense tensor and
 * against closed forms built here from the RNN's own values. */
#define G_LOG_DOMAIN "test-kron"

#include <math.h>
#include <string.h>

#include "jac-test-util.h"
#include "core/jac-analysis.h"
#include "core/jac-error.h"
#include "core/jac-kron.h"

static JacAnalysis *
make_rnn (gsize       batch,
          gsize       input,
          gsize       hidden,
          JacFunc     activation,
          gboolean    b_per_row,
          JacVariable wrt)
{
  return jac_test_rnn_analysis (batch, input, hidden, activation, b_per_row, wrt);
}

static JacAnalysis *
make_expr (const char *source,
           const char *shapes,
           const char *wrt,
           guint32     seed)
{
  return jac_test_expr_analysis_seeded (source, shapes, wrt, seed);
}

/* Row (i, j), column (p, q) of the column-major (Magnus–Neudecker) matrix, from the row-major. */
static JacTensor *
to_column_major (const JacTensor *row_major,
                 gsize            n,
                 gsize            h,
                 gsize            p,
                 gsize            q)
{
  JacTensor *m = jac_tensor_new_matrix (n * h, p * q);

  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      for (gsize a = 0; a < p; a++)
        for (gsize b = 0; b < q; b++)
          JAC_AT2 (m, j * n + i, b * p + a) = JAC_AT2 (row_major, i * h + j, a * q + b);
  return m;
}

/* Both conventions: the form's matrix = the dense tensor reshaped (and = @oracle if given). */
static void
check_matrices (const JacAnalysis *analysis,
                const JacKron     *kron,
                const JacTensor   *oracle)
{
  g_autoptr(GError) error = NULL;
  double tolerance = 1e-12 * MAX (analysis->jacobian_max_abs, 1.0);

  for (int column_major = 0; column_major < 2; column_major++)
    {
      g_autoptr(JacTensor) dense = jac_kron_matricize (analysis->jacobian, column_major, 0,
                                                       &error);
      g_autoptr(JacTensor) form = jac_kron_to_matrix (kron, column_major);

      g_assert_no_error (error);
      g_assert_nonnull (form);
      g_assert_cmpuint (form->shape[0], ==, kron->n_rows * kron->n_cols);
      g_assert_cmpuint (form->shape[1], ==, kron->wrt_rows * kron->wrt_cols);
      g_assert_true (jac_tensor_same_shape (form, dense));
      g_assert_cmpfloat (jac_tensor_max_abs_diff (form, dense), <=, tolerance);
      if (oracle != NULL)
        {
          g_autoptr(JacTensor) expected = column_major
            ? to_column_major (oracle, kron->n_rows, kron->n_cols, kron->wrt_rows, kron->wrt_cols)
            : jac_tensor_copy (oracle);

          g_assert_cmpfloat (jac_tensor_max_abs_diff (dense, expected), <=, tolerance);
          g_assert_cmpfloat (jac_tensor_max_abs_diff (form, expected), <=, tolerance);
        }
    }
}

/* DESIGN.md's closed forms, as the (N·H)×(P·Q) row-major matrix. */
/* The step's own JacRnn on the same values: the closed forms' source, apart from the analysis. */
static JacRnn *
make_oracle (gsize    batch,
             gsize    input,
             gsize    hidden,
             JacFunc  activation,
             gboolean b_per_row)
{
  return jac_test_rnn (batch, input, hidden, activation, b_per_row);
}

static JacTensor *
rnn_oracle (const JacRnn *rnn,
            JacVariable   wrt)
{
  g_autoptr(JacTensor) s = jac_rnn_slope (rnn);
  gsize n = rnn->config.batch, h = rnn->config.hidden;
  const JacTensor *w;
  JacTensor *m;

  switch (wrt)
    {
    case JAC_VAR_H_PREV:
    case JAC_VAR_X:
      w = jac_rnn_value (rnn, wrt == JAC_VAR_H_PREV ? JAC_VAR_W_HH : JAC_VAR_W_XH);
      m = jac_tensor_new_matrix (n * h, n * w->shape[0]);
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < h; j++)
          for (gsize q = 0; q < w->shape[0]; q++)
            JAC_AT2 (m, i * h + j, i * w->shape[0] + q) = JAC_AT2 (s, i, j) * JAC_AT2 (w, q, j);
      return m;
    case JAC_VAR_W_HH:
    case JAC_VAR_W_XH:
      w = jac_rnn_value (rnn, wrt == JAC_VAR_W_HH ? JAC_VAR_H_PREV : JAC_VAR_X);
      m = jac_tensor_new_matrix (n * h, w->shape[1] * h);
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < h; j++)
          for (gsize k = 0; k < w->shape[1]; k++)
            JAC_AT2 (m, i * h + j, k * h + j) = JAC_AT2 (s, i, j) * JAC_AT2 (w, i, k);
      return m;
    case JAC_VAR_B:
      m = jac_tensor_new_matrix (n * h, rnn->config.b_per_row ? n * h : h);
      for (gsize i = 0; i < n; i++)
        for (gsize j = 0; j < h; j++)
          JAC_AT2 (m, i * h + j, rnn->config.b_per_row ? i * h + j : j) = JAC_AT2 (s, i, j);
      return m;
    case JAC_N_VARS:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
all_ones (const JacTensor *t)
{
  for (gsize e = 0; e < t->size; e++)
    if (t->data[e] != 1.0)
      return FALSE;
  return TRUE;
}

/* Every RNN wrt, activation and b shape at several sizes: the kind and names DESIGN.md states, and
 * the numbers of the closed form. */
static void
test_rnn (void)
{
  static const gsize sizes[][3] = { { 1, 2, 2 }, { 2, 3, 3 }, { 3, 2, 4 }, { 4, 5, 2 } };
  static const JacFunc activations[] = {
    JAC_FUNC_TANH, JAC_FUNC_SIGMOID, JAC_FUNC_RELU, JAC_FUNC_IDENTITY,
  };
  guint n_checked = 0;

  for (guint z = 0; z < G_N_ELEMENTS (sizes); z++)
    for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
      for (int b_per_row = 0; b_per_row < 2; b_per_row++)
        for (JacVariable wrt = 0; wrt < JAC_N_VARS; wrt++)
          {
            g_autoptr(JacAnalysis) analysis = make_rnn (sizes[z][0], sizes[z][1], sizes[z][2],
                                                        activations[a], b_per_row, wrt);
            g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);
            g_autoptr(JacRnn) rnn = make_oracle (sizes[z][0], sizes[z][1], sizes[z][2],
                                                 activations[a], b_per_row);
            g_autoptr(JacTensor) oracle = rnn_oracle (rnn, wrt);
            g_autoptr(JacTensor) rnn_slope = jac_rnn_slope (rnn);
            gboolean slope_ones = all_ones (rnn_slope);

            /* The slope the derivation names is the step's φ′(Z), found generically. */
            if (activations[a] != JAC_FUNC_IDENTITY)
              {
                g_assert_nonnull (analysis->slope);
                g_assert_cmpfloat (jac_tensor_max_abs_diff (analysis->slope, rnn_slope), ==, 0);
              }

            /* ReLU off everywhere: a zero Jacobian, no form worth stating. */
            if (analysis->jacobian_max_abs == 0)
              {
                g_assert_cmpint (kron->kind, ==, JAC_KRON_NONE);
                continue;
              }

            switch (wrt)
              {
              case JAC_VAR_H_PREV:
              case JAC_VAR_X:
                g_assert_cmpint (kron->kind, ==, JAC_KRON_IDENTITY_LEFT);
                g_assert_cmpstr (kron->factor_name, ==, wrt == JAC_VAR_X ? "W_xh" : "W_hh");
                g_assert_true (kron->factor_transposed);
                break;
              case JAC_VAR_W_HH:
              case JAC_VAR_W_XH:
                g_assert_cmpint (kron->kind, ==, JAC_KRON_IDENTITY_RIGHT);
                g_assert_cmpstr (kron->factor_name, ==, wrt == JAC_VAR_W_HH ? "h_prev" : "x");
                g_assert_false (kron->factor_transposed);
                break;
              case JAC_VAR_B:
                g_assert_cmpint (kron->kind, ==, b_per_row ? JAC_KRON_DIAGONAL
                                                           : JAC_KRON_IDENTITY_RIGHT);
                if (!b_per_row)
                  g_assert_cmpstr (kron->factor_name, ==, "1");
                break;
              case JAC_N_VARS:
              default:
                g_assert_not_reached ();
              }
            g_assert_false (kron->factor_generic);
            if (slope_ones)
              g_assert_null (kron->scale);
            else
              {
                g_assert_cmpstr (kron->scale_name, ==, "S");
                g_assert_false (kron->scale_generic);
                /* Named S, it is S: the split moved no proportion into the wrong factor. */
                g_assert_cmpfloat (jac_tensor_max_abs_diff (kron->scale, rnn_slope),
                                   <=, 1e-12);
              }
            check_matrices (analysis, kron, oracle);
            n_checked++;
          }
  g_assert_cmpuint (n_checked, >, 3 * 4 * 2 * JAC_N_VARS);
}

/* The texts for the default RNN (N = 2, D = 3, H = 3, tanh). */
static void
test_rnn_text (void)
{
  static const struct { JacVariable wrt; gboolean b_per_row; const char *row, *column; } cases[] = {
    { JAC_VAR_H_PREV, FALSE, "diag(vec S) (I_2 ⊗ W_hhᵀ)", "diag(vec S) (W_hhᵀ ⊗ I_2)" },
    { JAC_VAR_X, FALSE, "diag(vec S) (I_2 ⊗ W_xhᵀ)", "diag(vec S) (W_xhᵀ ⊗ I_2)" },
    { JAC_VAR_W_HH, FALSE, "diag(vec S) (h_prev ⊗ I_3)", "diag(vec S) (I_3 ⊗ h_prev)" },
    { JAC_VAR_W_XH, FALSE, "diag(vec S) (x ⊗ I_3)", "diag(vec S) (I_3 ⊗ x)" },
    { JAC_VAR_B, FALSE, "diag(vec S) (1_2 ⊗ I_3)", "diag(vec S) (I_3 ⊗ 1_2)" },
    { JAC_VAR_B, TRUE, "diag(vec S)", "diag(vec S)" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(JacAnalysis) analysis = make_rnn (2, 3, 3, JAC_FUNC_TANH, cases[c].b_per_row,
                                                  cases[c].wrt);
      g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);
      g_autofree char *row = jac_kron_form (kron, FALSE, JAC_KRON_TEXT);
      g_autofree char *column = jac_kron_form (kron, TRUE, JAC_KRON_TEXT);

      g_assert_cmpstr (row, ==, cases[c].row);
      g_assert_cmpstr (column, ==, cases[c].column);
    }

  {
    g_autoptr(JacAnalysis) analysis = make_rnn (2, 3, 3, JAC_FUNC_TANH, FALSE, JAC_VAR_H_PREV);
    g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);
    g_autofree char *text = jac_kron_identity (kron, "h", "h_prev", JAC_KRON_TEXT);
    g_autofree char *markup = jac_kron_identity (kron, "h", "h_prev", JAC_KRON_MARKUP);
    g_autofree char *latex = jac_kron_identity (kron, "h", "h_prev", JAC_KRON_LATEX);
    g_autofree char *wrapped = g_strdup_printf ("<markup>%s</markup>", markup);
    g_autoptr(GMarkupParseContext) context = NULL;
    static const GMarkupParser parser = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_cmpstr (text, ==,
                     "∂vec(h)/∂vec(h_prev) = diag(vec S) (I_2 ⊗ W_hhᵀ) (row-major vec) = "
                     "diag(vec S) (W_hhᵀ ⊗ I_2) (column-major vec, Magnus–Neudecker)");
    g_assert_cmpstr (markup, ==,
                     "∂vec(h)/∂vec(h<sub>prev</sub>) = diag(vec S) (I<sub>2</sub> ⊗ "
                     "W<sub>hh</sub>ᵀ) (row-major vec) = diag(vec S) (W<sub>hh</sub>ᵀ ⊗ "
                     "I<sub>2</sub>) (column-major vec, Magnus–Neudecker)");
    context = g_markup_parse_context_new (&parser, 0, NULL, NULL);
    g_assert_true (g_markup_parse_context_parse (context, wrapped, -1, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (latex, ==,
                     "$\\partial \\operatorname{vec}(h) / \\partial "
                     "\\operatorname{vec}(h_{\\mathrm{prev}}) = \\operatorname{diag}"
                     "(\\operatorname{vec} S) \\, (I_{2} \\otimes W_{hh}^{\\top})$ (row-major vec) "
                     "$= \\operatorname{diag}(\\operatorname{vec} S) \\, (W_{hh}^{\\top} "
                     "\\otimes I_{2})$ (column-major vec, Magnus--Neudecker)");
    for (const char *c = latex; *c != '\0'; c++)
      g_assert_cmpint ((guchar) *c, <, 128);
  }

  /* The derivation's entry point: the same text under the analysis's own names, or none. */
  {
    g_autoptr(JacAnalysis) analysis = make_rnn (2, 3, 3, JAC_FUNC_TANH, FALSE, JAC_VAR_W_HH);
    g_autoptr(JacAnalysis) softmax = make_expr ("softmax(X @ W)", "X: 2×3, W: 3×4", "X", 1);
    g_autofree char *text = jac_kron_analysis_identity (analysis, JAC_KRON_TEXT);

    g_assert_cmpstr (text, ==,
                     "∂vec(h)/∂vec(W_hh) = diag(vec S) (h_prev ⊗ I_3) (row-major vec) = "
                     "diag(vec S) (I_3 ⊗ h_prev) (column-major vec, Magnus–Neudecker)");
    g_assert_null (jac_kron_analysis_identity (softmax, JAC_KRON_LATEX));
  }
}

typedef struct
{
  const char *source;
  const char *shapes[2];   /* two sizes */
  const char *wrt;
  JacKronKind kind;
  const char *row;         /* the row-major form at the first size (NULL: kind NONE) */
} ExprCase;

static const ExprCase expr_cases[] = {
  { "U = V @ A", { "V: 2×4, A: 4×3", "V: 3×2, A: 2×5" }, "V",
    JAC_KRON_IDENTITY_LEFT, "(I_2 ⊗ Aᵀ)" },
  { "U = V @ A", { "V: 2×4, A: 4×3", "V: 3×2, A: 2×5" }, "A",
    JAC_KRON_IDENTITY_RIGHT, "(V ⊗ I_3)" },
  { "U = V @ A.T", { "V: 2×4, A: 3×4", "V: 3×2, A: 5×2" }, "V",
    JAC_KRON_IDENTITY_LEFT, "(I_2 ⊗ A)" },
  { "U = V.T @ A", { "V: 4×2, A: 4×3", "V: 2×3, A: 2×5" }, "A",
    JAC_KRON_IDENTITY_RIGHT, "(Vᵀ ⊗ I_3)" },
  { "X * Y", { "X: 2×3, Y: 2×3", "X: 4×1, Y: 4×1" }, "X", JAC_KRON_DIAGONAL, "diag(vec Y)" },
  { "2 * X", { "X: 2×3", "X: 3×3" }, "X", JAC_KRON_DIAGONAL, "diag(vec S)" },
  { "X + 1", { "X: 2×3", "X: 1×4" }, "X", JAC_KRON_DIAGONAL, "I_6" },
  { "tanh(V @ A)", { "V: 2×4, A: 4×3", "V: 3×3, A: 3×2" }, "V",
    JAC_KRON_IDENTITY_LEFT, "diag(vec S) (I_2 ⊗ Aᵀ)" },
  { "V @ A @ B", { "V: 2×3, A: 3×3, B: 3×2", "V: 3×2, A: 2×4, B: 4×4" }, "V",
    JAC_KRON_IDENTITY_LEFT, "(I_2 ⊗ M)" },
  { "V @ A @ B", { "V: 2×3, A: 3×3, B: 3×2", "V: 3×2, A: 2×4, B: 4×4" }, "B",
    JAC_KRON_IDENTITY_RIGHT, "(M ⊗ I_2)" },
  { "X.T", { "X: 2×3", "X: 3×3" }, "X", JAC_KRON_NONE, NULL },
  { "sum(X)", { "X: 2×3", "X: 1×3" }, "X", JAC_KRON_NONE, NULL },
  { "softmax(X @ W)", { "X: 2×3, W: 3×4", "X: 3×2, W: 2×3" }, "X", JAC_KRON_NONE, NULL },
  { "X.T @ X", { "X: 3×2", "X: 2×2" }, "X", JAC_KRON_NONE, NULL },
};

/* Expressions at two sizes and two draws: the kind, the text, and the numbers. */
static void
test_expr (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (expr_cases); c++)
    for (guint z = 0; z < 2; z++)
      for (guint32 seed = 1; seed <= 2; seed++)
        {
          const ExprCase *e = &expr_cases[c];
          g_autoptr(JacAnalysis) analysis = make_expr (e->source, e->shapes[z], e->wrt, seed);
          g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);

          g_test_message ("%s at %s wrt %s", e->source, e->shapes[z], e->wrt);
          g_assert_cmpint (kron->kind, ==, e->kind);
          if (e->kind == JAC_KRON_NONE)
            {
              g_assert_null (jac_kron_to_matrix (kron, FALSE));
              g_assert_null (jac_kron_form (kron, FALSE, JAC_KRON_TEXT));
              g_assert_null (jac_kron_identity (kron, "U", e->wrt, JAC_KRON_TEXT));
              continue;
            }
          if (z == 0)
            {
              g_autofree char *row = jac_kron_form (kron, FALSE, JAC_KRON_TEXT);

              g_assert_cmpstr (row, ==, e->row);
            }
          check_matrices (analysis, kron, NULL);
        }
}

/* U = V @ A: the identities against matrices built here from V and A themselves. */
static void
test_expr_oracle (void)
{
  g_autoptr(JacAnalysis) by_v = make_expr ("U = V @ A", "V: 3×4, A: 4×2", "V", 5);
  g_autoptr(JacAnalysis) by_a = make_expr ("U = V @ A", "V: 3×4, A: 4×2", "A", 5);
  g_autoptr(JacKron) kron_v = jac_kron_from_analysis (by_v);
  g_autoptr(JacKron) kron_a = jac_kron_from_analysis (by_a);
  const JacTensor *v = jac_graph_node (by_v->graph,
                                       jac_graph_find_variable (by_v->graph, "V"))->value;
  const JacTensor *a = jac_graph_node (by_v->graph,
                                       jac_graph_find_variable (by_v->graph, "A"))->value;
  g_autoptr(JacTensor) oracle_v = jac_tensor_new_matrix (3 * 2, 3 * 4);
  g_autoptr(JacTensor) oracle_a = jac_tensor_new_matrix (3 * 2, 4 * 2);
  g_autofree char *identity = jac_kron_identity (kron_a, "U", "A", JAC_KRON_TEXT);

  /* ∂U_ij/∂V_pq = δ_ip A_qj; ∂U_ij/∂A_kl = V_ik δ_jl. */
  for (gsize i = 0; i < 3; i++)
    for (gsize j = 0; j < 2; j++)
      {
        for (gsize q = 0; q < 4; q++)
          JAC_AT2 (oracle_v, i * 2 + j, i * 4 + q) = JAC_AT2 (a, q, j);
        for (gsize k = 0; k < 4; k++)
          JAC_AT2 (oracle_a, i * 2 + j, k * 2 + j) = JAC_AT2 (v, i, k);
      }
  check_matrices (by_v, kron_v, oracle_v);
  check_matrices (by_a, kron_a, oracle_a);
  g_assert_cmpstr (identity, ==,
                   "∂vec(U)/∂vec(A) = (V ⊗ I_2) (row-major vec) = (I_2 ⊗ V) (column-major vec, "
                   "Magnus–Neudecker)");
}

/* Generic names say what they stand for. */
static void
test_generic_names (void)
{
  g_autoptr(JacAnalysis) analysis = make_expr ("tanh(V @ A)", "V: 2×4, A: 4×3", "V", 1);
  g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);
  g_autofree char *text = jac_kron_identity (kron, "Y", "V", JAC_KRON_TEXT);

  g_assert_true (kron->scale_generic);
  g_assert_cmpstr (text, ==,
                   "∂vec(Y)/∂vec(V) = diag(vec S) (I_2 ⊗ Aᵀ) (row-major vec) = diag(vec S) "
                   "(Aᵀ ⊗ I_2) (column-major vec, Magnus–Neudecker); S is the element-wise factor");
}

static void
test_product (void)
{
  g_autoptr(JacTensor) a = jac_tensor_new_matrix (2, 2);
  g_autoptr(JacTensor) b = jac_tensor_new_matrix (1, 3);
  g_autoptr(JacTensor) product = NULL;
  static const double a_data[] = { 1, 2, 3, 4 };
  static const double b_data[] = { 0, 5, -1 };
  static const double expected[] = {
    0, 5, -1, 0, 10, -2,
    0, 15, -3, 0, 20, -4,
  };

  memcpy (a->data, a_data, sizeof a_data);
  memcpy (b->data, b_data, sizeof b_data);
  product = jac_kron_product (a, b);
  g_assert_cmpuint (product->shape[0], ==, 2);
  g_assert_cmpuint (product->shape[1], ==, 6);
  for (gsize e = 0; e < G_N_ELEMENTS (expected); e++)
    g_assert_cmpfloat (product->data[e], ==, expected[e]);
}

/* The column-major matrix is the row-major one with rows and columns permuted (i, j) → j·N + i. */
static void
test_matricize (void)
{
  g_autoptr(JacAnalysis) analysis = make_rnn (2, 3, 3, JAC_FUNC_TANH, FALSE, JAC_VAR_H_PREV);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (analysis->jacobian, 0, &error);
  g_autoptr(JacTensor) row = jac_kron_matricize (analysis->jacobian, FALSE, 0, &error);
  g_autoptr(JacTensor) column = jac_kron_matricize (analysis->jacobian, TRUE, 0, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (row->shape[0], ==, 6);
  g_assert_cmpuint (row->shape[1], ==, 6);
  for (gsize i = 0; i < 2; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize p = 0; p < 2; p++)
        for (gsize q = 0; q < 3; q++)
          {
            double value = dense->data[((i * 3 + j) * 2 + p) * 3 + q];

            g_assert_cmpfloat (JAC_AT2 (row, i * 3 + j, p * 3 + q), ==, value);
            g_assert_cmpfloat (JAC_AT2 (column, j * 2 + i, q * 2 + p), ==, value);
          }

  /* A budget the dense matrix does not fit refuses it. */
  g_assert_null (jac_kron_matricize (analysis->jacobian, FALSE, 64, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE);
}

/* Sizes where the passes over the core run on several threads (a million entries and more):
 * the core against the closed form entry by entry, the contraction against the matrix formula,
 * the colour range against a plain loop, and the form (found in one pass) against S and W. */
static void
test_large_threaded (void)
{
  static const JacFunc activations[] = { JAC_FUNC_TANH, JAC_FUNC_RELU };
  static const JacVariable wrts[] = { JAC_VAR_H_PREV, JAC_VAR_W_HH };
  gboolean streamed = FALSE;

  for (guint a = 0; a < G_N_ELEMENTS (activations); a++)
    for (guint w = 0; w < G_N_ELEMENTS (wrts); w++)
      {
        g_autoptr(JacAnalysis) analysis = make_rnn (8, 4, 512, activations[a], FALSE, wrts[w]);
        g_autoptr(JacKron) kron = jac_kron_from_analysis (analysis);
        g_autoptr(JacRnn) rnn = make_oracle (8, 4, 512, activations[a], FALSE);
        g_autoptr(JacTensor) rnn_slope = jac_rnn_slope (rnn);
        const JacTensor *core = analysis->jacobian->core;
        const JacTensor *other = jac_rnn_value (rnn, wrts[w] == JAC_VAR_H_PREV ? JAC_VAR_W_HH
                                                                               : JAC_VAR_H_PREV);
        double max_abs = 0;

        g_assert_cmpuint (core->size, ==, 8 * 512 * 512);
        /* 16 MiB in a buffer an earlier round freed: written with streaming stores. */
        streamed |= wrts[w] == JAC_VAR_H_PREV && jac_buffer_is_reused (core->data);
        for (gsize i = 0; i < 8; i++)
          for (gsize j = 0; j < 512; j++)
            for (gsize q = 0; q < 512; q++)
              {
                double s = JAC_AT2 (rnn_slope, i, j);
                /* ∂h/∂h_prev: S[i,j] W_hh[q,j] (δ_ip); ∂h/∂W_hh: S[i,j] h_prev[i,k] (δ_jl). */
                double expected = wrts[w] == JAC_VAR_H_PREV ? s * JAC_AT2 (other, q, j)
                                                            : s * JAC_AT2 (other, i, q);
                double value = core->data[(i * 512 + j) * 512 + q];

                g_assert_cmpfloat (fabs (value - expected), <=, 1e-15);
                max_abs = MAX (max_abs, fabs (value));
              }
        g_assert_cmpfloat (analysis->jacobian_max_abs, ==, max_abs);
        g_assert_cmpfloat (analysis->contract_max_diff, <=, 1e-12);
        g_assert_cmpint (kron->kind, ==, wrts[w] == JAC_VAR_H_PREV ? JAC_KRON_IDENTITY_LEFT
                                                                   : JAC_KRON_IDENTITY_RIGHT);
        g_assert_cmpstr (kron->factor_name, ==, wrts[w] == JAC_VAR_H_PREV ? "W_hh" : "h_prev");
        g_assert_cmpstr (kron->scale_name, ==, "S");
        g_assert_cmpfloat (jac_tensor_max_abs_diff (kron->scale, rnn_slope), <=, 1e-12);
      }
  g_assert_true (streamed);
}

/* A δ_ip Jacobian built by hand, core[i, j, q] = s[i, j] a[j, q]. */
static JacStructured *
hand_made (gsize         n,
           gsize         h,
           gsize         q_size,
           const double *s,
           const double *a)
{
  g_autoptr(GError) error = NULL;
  gsize out_shape[2] = { n, h }, wrt_shape[2] = { n, q_size };
  int pair[2] = { 0, -1 };
  JacStructured *jac = jac_structured_new (2, out_shape, 2, wrt_shape, pair, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < n; i++)
    for (gsize j = 0; j < h; j++)
      for (gsize q = 0; q < q_size; q++)
        jac->core->data[(i * h + j) * q_size + q] = s[i * h + j] * a[j * q_size + q];
  return jac;
}

/* The one pass takes each group's first row that is not zero as its reference. When that row
 * is too small to carry the others (here 1e-10 of them, off by 1e-20: a split of the others
 * against it misses by 1e-10), the largest row is tried and the split holds; zero rows before
 * the reference (ReLU off) fit with s = 0; a NaN means no form. */
static void
test_reference_rows (void)
{
  enum { N = 4, H = 3, Q = 5 };
  double s[N * H], a[H * Q];
  g_autoptr(JacStructured) jac = NULL;
  g_autoptr(JacKron) kron = NULL;
  g_autoptr(JacTensor) form = NULL;
  g_autoptr(JacTensor) dense = NULL;
  g_autoptr(GError) error = NULL;

  for (gsize k = 0; k < N * H; k++)
    s[k] = 0.5 + 0.1 * k;
  for (gsize k = 0; k < H * Q; k++)
    a[k] = sin (1.0 + k);
  for (gsize j = 0; j < H; j++)
    s[0 * H + j] = 0.0;       /* row i = 0: zero in every group */
  for (gsize j = 0; j < H; j++)
    s[1 * H + j] = 1e-10;     /* row i = 1: the first nonzero, tiny */
  jac = hand_made (N, H, Q, s, a);
  for (gsize j = 0; j < H; j++)
    jac->core->data[(1 * H + j) * Q + 2] += 1e-20;

  kron = jac_kron_recognize (jac, NULL, NULL, 1e-12);
  g_assert_cmpint (kron->kind, ==, JAC_KRON_IDENTITY_LEFT);
  form = jac_kron_to_matrix (kron, FALSE);
  dense = jac_kron_matricize (jac, FALSE, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (form, dense), <=, 4e-12 * jac_tensor_max_abs (dense));
  for (gsize j = 0; j < H; j++)
    g_assert_cmpfloat (JAC_AT2 (kron->scale, 0, j), ==, 0.0);

  /* Not rank 1 in one group: no form. */
  g_clear_pointer (&kron, jac_kron_free);
  jac->core->data[(3 * H + 1) * Q + 4] += 1e-3;
  kron = jac_kron_recognize (jac, NULL, NULL, 1e-12);
  g_assert_cmpint (kron->kind, ==, JAC_KRON_NONE);

  g_clear_pointer (&kron, jac_kron_free);
  jac->core->data[(3 * H + 1) * Q + 4] = NAN;
  kron = jac_kron_recognize (jac, NULL, NULL, 1e-12);
  g_assert_cmpint (kron->kind, ==, JAC_KRON_NONE);
}

/* The form of the last analysis asked about is kept, keyed by its core's serial: a later
 * analysis of the same shape (perhaps at the same address) gets its own. A large one is pending
 * until prepared, and its identity is NULL until then. */
static void
test_cache (void)
{
  g_autoptr(JacAnalysis) large = make_rnn (20, 2, 512, JAC_FUNC_TANH, FALSE, JAC_VAR_H_PREV);
  g_autofree char *identity = NULL;
  g_autofree char *pending_identity = NULL;

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(JacAnalysis) analysis = make_rnn (2, 3, 3, JAC_FUNC_TANH, FALSE,
                                                  JAC_VAR_H_PREV);
      g_autoptr(JacKron) first = NULL;
      g_autoptr(JacKron) again = NULL;

      first = jac_kron_from_analysis (analysis);
      again = jac_kron_from_analysis (analysis);
      g_assert_false (jac_kron_analysis_pending (analysis));
      g_assert_cmpfloat (jac_tensor_max_abs_diff (first->scale, again->scale), ==, 0);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (first->scale, analysis->slope), <=,
                         1e-12);
    }

  g_assert_cmpuint (jac_structured_stored_count (large->jacobian), >, JAC_KRON_PROMPT_ENTRIES);
  g_assert_true (jac_kron_analysis_pending (large));
  pending_identity = jac_kron_analysis_identity (large, JAC_KRON_TEXT);
  g_assert_null (pending_identity);
  jac_kron_analysis_prepare (large);
  g_assert_false (jac_kron_analysis_pending (large));
  identity = jac_kron_analysis_identity (large, JAC_KRON_TEXT);
  g_assert_nonnull (strstr (identity, "(I_20 ⊗ W_hhᵀ)"));

  /* Asking about another analysis replaces the kept form: the large one is pending again. */
  {
    g_autoptr(JacAnalysis) small = make_rnn (2, 3, 3, JAC_FUNC_TANH, FALSE, JAC_VAR_X);
    g_autoptr(JacKron) kron = jac_kron_from_analysis (small);

    g_assert_cmpstr (kron->factor_name, ==, "W_xh");
    g_assert_true (jac_kron_analysis_pending (large));
  }
}

/* Two analyses drawn from different seeds, one after the other at the same shape: each gets the
 * form of its own values. */
static void
test_cache_values (void)
{
  for (guint32 seed = 1; seed < 4; seed++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JacAnalysis) analysis = NULL;
      g_autoptr(JacKron) kron = NULL;
      JacRnnConfig config;
      JacRnn *rnn;

      jac_rnn_config_init_default (&config);
      config.seed = seed;
      rnn = jac_rnn_new (&config, NULL, &error);
      g_assert_no_error (error);
      analysis = jac_analysis_new (rnn, JAC_VAR_H_PREV, JAC_UPSTREAM_RANDOM, NULL, &error);
      g_assert_no_error (error);
      kron = jac_kron_from_analysis (analysis);
      g_assert_cmpfloat (jac_tensor_max_abs_diff (kron->scale, analysis->slope), <=, 1e-12);
      check_matrices (analysis, kron, NULL);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/kron/product", test_product);
  g_test_add_func ("/kron/matricize", test_matricize);
  g_test_add_func ("/kron/rnn", test_rnn);
  g_test_add_func ("/kron/rnn-text", test_rnn_text);
  g_test_add_func ("/kron/expr", test_expr);
  g_test_add_func ("/kron/expr-oracle", test_expr_oracle);
  g_test_add_func ("/kron/generic-names", test_generic_names);
  g_test_add_func ("/kron/large-threaded", test_large_threaded);
  g_test_add_func ("/kron/reference-rows", test_reference_rows);
  g_test_add_func ("/kron/cache", test_cache);
  g_test_add_func ("/kron/cache-values", test_cache_values);

  return g_test_run ();
}

/* test-hessian.c: second derivatives of scalar expressions (jac_analysis_new_hessian).
 *
 * Oracles, all independent of the printed gradient expression the Hessian is built from:
 * central finite differences of the engine's numeric back-propagation (jac_graph_vjp of f), the
 * dense tensor contracted by hand with V, and closed forms ((XᵀX)_ik δ_jl, (A + Aᵀ)_ik δ_jl,
 * −(X⁻¹)_jk (X⁻¹)_li). */
#define G_LOG_DOMAIN "test-hessian"

#include <math.h>
#include <string.h>

#include "core/jac-error.h"
#include "core/jac-hessian.h"
#include "core/jac-kron.h"

#define N_SEEDS 3

static const char declarations[] =
  "X: 4×3, W: 3×2, Y: 4×2, A: 4×4, S: 3×3, B: 3×3, T: 4×2, x: 3, M: 3×3, v: 4";

typedef struct
{
  const char *source;
  const char *wrt;
  const char *wrt2;   /* NULL: wrt */
} Case;

static const Case cases[] = {
  { "L = sum((X @ W - Y) ** 2) / 2", "W", NULL },
  { "L = sum((X @ W - Y) ** 2) / 2", "X", NULL },
  { "L = sum((X @ W - Y) ** 2) / 2", "X", "W" },      /* mixed */
  { "L = sum((X @ W - Y) ** 2) / 2", "W", "X" },      /* mixed, the other way */
  { "f = tr(X.T @ A @ X)", "X", NULL },
  { "f = x @ M @ x", "x", NULL },
  { "f = logdet(S)", "S", NULL },
  { "f = det(S)", "S", NULL },
  { "f = tr(inv(S))", "S", NULL },
  { "f = sum(exp(X @ W))", "X", NULL },
  { "f = sum(exp(X @ W))", "W", NULL },
  { "f = sum(exp(X @ W))", "X", "W" },
  { "f = logsumexp(X)", "X", NULL },
  { "f = logsumexp(X, 1) @ v", "X", NULL },
  { "f = norm(X) ** 2", "X", NULL },
  { "f = norm(X)", "X", NULL },
  { "L = -sum(T * log(softmax(X @ W)))", "W", NULL },
  { "L = -sum(T * log(softmax(X @ W)))", "X", NULL },
  { "f = sum(tanh(X @ W))", "W", "X" },
  { "f = sum(sigmoid(S) * S)", "S", NULL },
  { "f = sum(softmax(X))", "X", NULL },
  { "f = sum(mean(X, 1, keepdims=True) * X)", "X", NULL },
  { "f = sum(sqrt(S * S + 1))", "S", NULL },
  { "f = tr(S @ B @ S)", "S", "B" },
  { "f = sum(X)", "X", NULL },                         /* a constant gradient: H = 0 */
  /* kron's sums of blocks, spelled with selectors kron(I, ones) and kron(ones, I). */
  { "f = sum(kron(S, W) ** 2)", "S", NULL },
  { "f = sum(kron(S, W) ** 2)", "W", NULL },
  { "f = sum(kron(S, W) ** 2)", "S", "W" },
  { "f = sum(tanh(kron(W, X)))", "X", NULL },
  { "f = sum(kron(x, v) ** 2)", "x", NULL },
  { "f = sum(kron(x, v) ** 2)", "v", "x" },
};

static JacExpr *
parse (const char *source,
       guint32     seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  JacExpr *expr;

  g_assert_true (jac_shape_env_parse_declarations (env, declarations, NULL, &error));
  expr = jac_expr_parse (source, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (jac_expr_draw_variables (expr, NULL, seed, &error));
  g_assert_no_error (error);
  return expr;
}

static JacAnalysis *
hessian (const char      *source,
         const char      *wrt,
         const char      *wrt2,
         guint32          seed,
         const JacTensor *direction)
{
  g_autoptr(GError) error = NULL;
  JacAnalysis *a = jac_analysis_new_hessian (parse (source, seed), wrt, wrt2,
                                             direction != NULL ? JAC_UPSTREAM_GIVEN
                                                               : JAC_UPSTREAM_ONES,
                                             direction, seed, &error);

  g_assert_no_error (error);
  g_assert_nonnull (a);
  g_assert_nonnull (a->hessian);
  return a;
}

/* ∂/∂Y of f's gradient w.r.t. X by central differences of back-propagation: shape X + Y. */
static JacTensor *
fd_hessian (const char *source,
            const char *wrt,
            const char *wrt2,
            guint32     seed)
{
  g_autoptr(JacExpr) expr = parse (source, seed);
  JacGraph *graph = expr->graph;
  int x = jac_graph_find_variable (graph, wrt);
  int y = jac_graph_find_variable (graph, wrt2);
  JacNode *nx = jac_graph_node (graph, x), *ny = jac_graph_node (graph, y);
  g_autoptr(JacTensor) one = jac_tensor_new_scalar (1.0);
  gsize shape[4];
  guint rank = 0;
  JacTensor *h;
  const double step = 1e-5;

  for (guint a = 0; a < nx->rank; a++)
    shape[rank++] = nx->shape[a];
  for (guint a = 0; a < ny->rank; a++)
    shape[rank++] = ny->shape[a];
  h = jac_tensor_new (rank, shape, NULL);
  for (gsize k = 0; k < ny->value->size; k++)
    {
      double saved = ny->value->data[k];
      g_autoptr(JacTensor) plus = NULL;
      g_autoptr(JacTensor) minus = NULL;

      ny->value->data[k] = saved + step;
      jac_graph_forward (graph);
      plus = jac_graph_vjp (graph, x, one);
      ny->value->data[k] = saved - step;
      jac_graph_forward (graph);
      minus = jac_graph_vjp (graph, x, one);
      ny->value->data[k] = saved;
      for (gsize m = 0; m < plus->size; m++)
        h->data[m * ny->value->size + k] = (plus->data[m] - minus->data[m]) / (2 * step);
    }
  return h;
}

/* Σ_pq V_pq H[p, q, …], from the dense tensor. */
static JacTensor *
contract_by_hand (const JacTensor *h,
                  const JacTensor *v,
                  const JacNode   *wrt2)
{
  JacTensor *out = jac_tensor_new (wrt2->rank, wrt2->shape, NULL);

  g_assert_cmpuint (h->size, ==, v->size * out->size);
  for (gsize m = 0; m < v->size; m++)
    for (gsize k = 0; k < out->size; k++)
      out->data[k] += v->data[m] * h->data[m * out->size + k];
  return out;
}

static void
test_against_finite_differences (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint32 seed = 1; seed <= N_SEEDS; seed++)
      {
        const Case *k = &cases[c];
        const char *wrt2 = k->wrt2 != NULL ? k->wrt2 : k->wrt;
        g_autoptr(GError) error = NULL;
        g_autoptr(JacTensor) v = NULL;
        g_autoptr(JacAnalysis) a = NULL;
        g_autoptr(JacTensor) dense = NULL;
        g_autoptr(JacTensor) fd = NULL;
        g_autoptr(JacTensor) by_hand = NULL;
        g_autofree guint8 *mask = NULL;
        const JacNode *x;
        double scale;
        gsize shape[JAC_MAX_RANK];
        guint rank;

        g_test_message ("%s: ∂²/∂%s∂%s, seed %u", k->source, k->wrt, wrt2, seed);
        /* V: ones for the first draw, random after. */
        {
          g_autoptr(JacExpr) e = parse (k->source, seed);

          x = jac_graph_node (e->graph, jac_graph_find_variable (e->graph, k->wrt));
          v = jac_tensor_new (x->rank, x->shape, NULL);
          if (seed == 1)
            jac_tensor_fill (v, 1.0);
          else
            {
              g_autoptr(GRand) rand = g_rand_new_with_seed (100 + seed);

              jac_tensor_fill_uniform (v, rand, 1.0);
            }
        }
        a = hessian (k->source, k->wrt, k->wrt2, seed, v);
        g_assert_cmpstr (a->wrt_name, ==, wrt2);
        g_assert_cmpfloat (a->hessian->gradient_max_diff, <=, 1e-10);
        dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
        g_assert_no_error (error);
        fd = fd_hessian (k->source, k->wrt, wrt2, seed);
        g_assert_true (jac_tensor_same_shape (dense, fd));
        scale = MAX (1.0, jac_tensor_max_abs (fd));
        g_assert_cmpfloat (jac_tensor_max_abs_diff (dense, fd), <=, 1e-6 * scale);

        /* Structural zeros are zeros of the finite differences too, for every draw. */
        mask = jac_analysis_structural_zero_mask (a, &rank, shape, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (rank, ==, dense->rank);
        for (gsize m = 0; m < dense->size; m++)
          if (mask[m])
            {
              g_assert_cmpfloat (dense->data[m], ==, 0.0);
              g_assert_cmpfloat (fabs (fd->data[m]), <=, 1e-8 * scale);
            }

        /* The Hessian-vector product: the printed form and the tensor, against V by hand. */
        by_hand = contract_by_hand (dense, v, jac_graph_node (a->graph, a->wrt_node));
        g_assert_cmpfloat (jac_tensor_max_abs_diff (a->contract_formula, by_hand), <=,
                           1e-10 * MAX (1.0, jac_tensor_max_abs (by_hand)));
        g_assert_cmpfloat (jac_tensor_max_abs_diff (a->contract_tensor, by_hand), <=,
                           1e-10 * MAX (1.0, jac_tensor_max_abs (by_hand)));
      }
}

static JacTensor *
variable (const JacAnalysis *a,
          const char        *name)
{
  int node = jac_graph_find_variable (a->graph, name);

  g_assert_cmpint (node, >=, 0);
  return jac_graph_node (a->graph, node)->value;
}

/* ½‖X W − Y‖² w.r.t. W: (XᵀX)_ik δ_jl, one δ pattern, Kronecker form XᵀX ⊗ I (row-major vec),
 * I ⊗ XᵀX (column-major), contracted form Xᵀ X V. */
static void
test_least_squares (void)
{
  g_autoptr(JacAnalysis) a = hessian ("L = sum((X @ W - Y) ** 2) / 2", "W", NULL, 1, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
  g_autoptr(JacKron) kron = NULL;
  g_autofree char *row_major = NULL;
  g_autofree char *column_major = NULL;
  const JacTensor *X = variable (a, "X");
  g_autoptr(JacTensor) xtx = jac_tensor_new_matrix (3, 3);

  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = (X.T @ ((X @ W) - Y))");
  g_assert_cmpstr (a->derivation->contracted_text, ==, "Xᵀ X V");
  g_assert_true (a->derivation->depends);
  g_assert_cmpuint (a->derivation->n_patterns, ==, 1);
  g_assert_cmpint (a->derivation->patterns[0][0], ==, -1);
  g_assert_cmpint (a->derivation->patterns[0][1], ==, 1);   /* δ_jl */
  g_assert_nonnull (strstr (a->derivation->result_text, "δ_jl"));
  g_assert_cmpuint (a->sparsity.n_free_entries, ==, 3 * 2 * 3);

  for (gsize i = 0; i < 3; i++)
    for (gsize k = 0; k < 3; k++)
      for (gsize n = 0; n < 4; n++)
        JAC_AT2 (xtx, i, k) += JAC_AT2 (X, n, i) * JAC_AT2 (X, n, k);
  for (gsize i = 0; i < 3; i++)
    for (gsize j = 0; j < 2; j++)
      for (gsize k = 0; k < 3; k++)
        for (gsize l = 0; l < 2; l++)
          g_assert_cmpfloat (fabs (dense->data[((i * 2 + j) * 3 + k) * 2 + l] -
                                   (j == l ? JAC_AT2 (xtx, i, k) : 0.0)), <=, 1e-12);

  kron = jac_kron_from_analysis (a);
  g_assert_cmpint (kron->kind, ==, JAC_KRON_IDENTITY_RIGHT);
  g_assert_null (kron->scale);
  g_assert_nonnull (kron->factor);
  g_assert_cmpfloat (jac_tensor_max_abs_diff (kron->factor, xtx), <=, 1e-12);
  row_major = jac_kron_form (kron, FALSE, JAC_KRON_TEXT);
  column_major = jac_kron_form (kron, TRUE, JAC_KRON_TEXT);
  g_test_message ("row-major %s, column-major %s", row_major, column_major);
  /* XᵀX is no variable, but the contracted form's factor (Xᵀ X V): named as it is there. */
  g_assert_cmpstr (a->derivation->contracted_text, ==, "Xᵀ X V");
  g_assert_cmpstr (row_major, ==, "(XᵀX ⊗ I_2)");
  g_assert_cmpstr (column_major, ==, "(I_2 ⊗ XᵀX)");
  g_assert_false (kron->factor_generic);
  {
    g_autofree char *markup = jac_kron_form (kron, FALSE, JAC_KRON_MARKUP);
    g_autofree char *latex = jac_kron_form (kron, TRUE, JAC_KRON_LATEX);
    g_autofree char *identity = jac_kron_identity (kron, "grad", "W", JAC_KRON_TEXT);

    g_assert_cmpstr (markup, ==, "(XᵀX ⊗ I<sub>2</sub>)");
    g_assert_cmpstr (latex, ==, "(I_{2} \\otimes X^{\\top} X)");
    /* No "M is the core's matrix" left to explain. */
    g_assert_cmpstr (identity, ==, "∂vec(grad)/∂vec(W) = (XᵀX ⊗ I_2) (row-major vec) = "
                     "(I_2 ⊗ XᵀX) (column-major vec, Magnus–Neudecker)");
  }
}

/* tr(XᵀAX): H = (A + Aᵀ)_ik δ_jl, A ⊗ I + Aᵀ ⊗ I in row-major vec. */
static void
test_trace_quadratic (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = tr(X.T @ A @ X)", "X", NULL, 2, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
  g_autoptr(JacKron) kron = jac_kron_from_analysis (a);
  const JacTensor *A = variable (a, "A");

  g_assert_cmpuint (a->derivation->n_patterns, ==, 1);
  g_assert_cmpint (a->derivation->patterns[0][1], ==, 1);
  for (gsize i = 0; i < 4; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize k = 0; k < 4; k++)
        for (gsize l = 0; l < 3; l++)
          g_assert_cmpfloat (fabs (dense->data[((i * 3 + j) * 4 + k) * 3 + l] -
                                   (j == l ? JAC_AT2 (A, i, k) + JAC_AT2 (A, k, i) : 0.0)),
                             <=, 1e-12);
  g_assert_cmpint (kron->kind, ==, JAC_KRON_IDENTITY_RIGHT);
  for (gsize i = 0; i < 4; i++)
    for (gsize k = 0; k < 4; k++)
      g_assert_cmpfloat (fabs (JAC_AT2 (kron->factor, i, k) - JAC_AT2 (A, i, k) -
                               JAC_AT2 (A, k, i)), <=, 1e-12);
  /* A + Aᵀ is symmetric: its transpose is not written; the sum is set off beside ⊗. */
  g_assert_cmpstr (a->derivation->contracted_text, ==, "(A + Aᵀ) V");
  {
    g_autofree char *row_major = jac_kron_form (kron, FALSE, JAC_KRON_TEXT);
    g_autofree char *column_major = jac_kron_form (kron, TRUE, JAC_KRON_TEXT);

    g_assert_cmpstr (row_major, ==, "((A + Aᵀ) ⊗ I_3)");
    g_assert_cmpstr (column_major, ==, "(I_3 ⊗ (A + Aᵀ))");
  }
}

/* logdet S: ∂(S⁻ᵀ)_ij/∂S_kl = −(S⁻¹)_jk (S⁻¹)_li, dense. */
static void
test_logdet (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = logdet(S)", "S", NULL, 3, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
  g_autoptr(JacTensor) inv = jac_tensor_new_matrix (3, 3);
  double det;

  jac_matrix_inverse (variable (a, "S"), inv, &det);
  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = inv(S).T");
  for (gsize i = 0; i < 3; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize k = 0; k < 3; k++)
        for (gsize l = 0; l < 3; l++)
          g_assert_cmpfloat (fabs (dense->data[((i * 3 + j) * 3 + k) * 3 + l] +
                                   JAC_AT2 (inv, j, k) * JAC_AT2 (inv, l, i)), <=, 1e-10);
}

/* x @ M @ x: H = M + Mᵀ, and the gradient reads as typed, the vector promoted as NumPy does. */
static void
test_quadratic_form (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = x @ M @ x", "x", NULL, 1, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
  const JacTensor *M = variable (a, "M");

  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = ((M + M.T) @ x)");
  g_assert_cmpuint (dense->rank, ==, 2);
  for (gsize j = 0; j < 3; j++)
    for (gsize q = 0; q < 3; q++)
      g_assert_cmpfloat (fabs (JAC_AT2 (dense, j, q) - JAC_AT2 (M, j, q) - JAC_AT2 (M, q, j)),
                         <=, 1e-12);
}

/* Constants the language cannot spell become named ones, and a constant gradient a zero
 * Hessian. */
static void
test_constant_gradient (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = tr(S)", "S", NULL, 1, NULL);

  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = I_3x3 + 0 * sum(S)");
  g_assert_cmpuint (g_strv_length (a->hessian->constants), ==, 1);
  g_assert_cmpstr (a->hessian->constants[0], ==, "I_3x3");
  g_assert_false (a->derivation->depends);
  g_assert_cmpuint (a->sparsity.n_free_entries, ==, 0);
  g_assert_cmpstr (a->derivation->contracted_text, ==, "0");
}

/* tr(B S) is linear in S: its Hessian-vector product reads 0, not (sum(V) ⊙ 0) 1, and is 0. */
static void
test_zero_hessian (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = tr(B @ S)", "S", NULL, 1, NULL);

  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = B.T + 0 * sum(S)");
  g_assert_false (a->derivation->depends);
  g_assert_cmpstr (a->derivation->contracted_text, ==, "0");
  g_assert_cmpstr (a->derivation->sparsity, ==, "identically zero: grad does not depend on S");
  g_assert_cmpfloat (jac_tensor_max_abs (a->contract_formula), ==, 0.0);
  g_assert_cmpfloat (a->contract_max_diff, ==, 0.0);
}

/* det: scalars multiply by juxtaposition, H V = tr(X⁻¹ V) det(X) X⁻ᵀ − det(X) X⁻ᵀ Vᵀ X⁻ᵀ, checked
 * against the tensor. */
static void
test_det_form (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = det(S)", "S", NULL, 1, NULL);

  g_assert_cmpstr (a->derivation->contracted_text, ==,
                   "sum(V ⊙ S⁻ᵀ) det(S) S⁻ᵀ − det(S) S⁻ᵀ Vᵀ S⁻ᵀ");
  g_assert_cmpfloat (a->contract_max_diff, <=, 1e-12);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) wrong = jac_tensor_new_matrix (2, 3);
  JacAnalysis *a;

  a = jac_analysis_new_hessian (parse ("U = X @ W", 1), "W", NULL, JAC_UPSTREAM_ONES, NULL, 1,
                                &error);
  g_assert_null (a);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "U has shape (4, 2)"));
  g_clear_error (&error);

  a = jac_analysis_new_hessian (parse ("L = sum(X @ W)", 1), "W", "Q", JAC_UPSTREAM_ONES, NULL,
                                1, &error);
  g_assert_null (a);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“Q”"));
  g_clear_error (&error);

  a = jac_analysis_new_hessian (parse ("L = sum(X @ W)", 1), "W", NULL, JAC_UPSTREAM_GIVEN,
                                wrong, 1, &error);
  g_assert_null (a);
  g_assert_error (error, JAC_ERROR, JAC_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "(2, 3)"));
  g_assert_nonnull (strstr (error->message, "(3, 2)"));
  g_clear_error (&error);
}

/* The cross-entropy of a softmax: P ⊙ (T ⊘ P) cancels, so the gradient reads as the Cookbook's
 * Xᵀ (P ⊙ (T 1) − T), and the softmax is evaluated once in the Hessian-vector product. */
static void
test_cross_entropy_forms (void)
{
  g_autoptr(JacAnalysis) a = hessian ("L = -sum(T * log(softmax(X @ W)))", "W", NULL, 1, NULL);

  g_assert_cmpstr (a->hessian->gradient_text, ==, "Xᵀ (Z₂ ⊙ G T 1 − G T)");
  g_assert_cmpstr (a->hessian->gradient_source, ==,
                   "grad = (X.T @ ((softmax((X @ W)) * sum(T, 1, keepdims=True)) - T))");
  g_assert_cmpstr (a->derivation->contracted_text, ==,
                   "Xᵀ (softmax(Z) ⊙ (X V ⊙ T 1 − (X V ⊙ T 1 ⊙ softmax(Z)) 1))");
  g_assert_cmpfloat (a->hessian->gradient_max_diff, <=, 1e-12);
  g_assert_cmpfloat (a->contract_max_diff, <=, 1e-12);
}

/* ∂²/∂S∂S Σ (S_ab W_cd)² = 2 δ_ip δ_jq Σ W²: kron's back-propagation written with selectors
 * (blocksum(M) = kron(I, 1ᵀ) M kron(I, 1)) and differentiated again. */
static void
test_kron_hessian (void)
{
  g_autoptr(JacAnalysis) a = hessian ("f = sum(kron(S, W) ** 2)", "S", NULL, 1, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JacTensor) dense = jac_structured_to_dense (a->jacobian, G_MAXSIZE, &error);
  const JacTensor *w = variable (a, "W");
  double w_squared = 0.0;

  g_assert_cmpstr (a->hessian->gradient_source, ==, "grad = (kron(I_3x3, ones_1x3) @ "
                   "(2 * (kron(S, W) * kron(ones_3x3, W))) @ kron(I_3x3, ones_2x1))");
  for (gsize k = 0; k < w->size; k++)
    w_squared += w->data[k] * w->data[k];
  for (gsize i = 0; i < 3; i++)
    for (gsize j = 0; j < 3; j++)
      for (gsize p = 0; p < 3; p++)
        for (gsize q = 0; q < 3; q++)
          g_assert_cmpfloat (fabs (dense->data[((i * 3 + j) * 3 + p) * 3 + q] -
                                   (i == p && j == q ? 2 * w_squared : 0.0)), <=, 1e-12);
  g_assert_cmpfloat (a->contract_max_diff, <=, 1e-12);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hessian/finite-differences", test_against_finite_differences);
  g_test_add_func ("/hessian/least-squares", test_least_squares);
  g_test_add_func ("/hessian/trace-quadratic", test_trace_quadratic);
  g_test_add_func ("/hessian/logdet", test_logdet);
  g_test_add_func ("/hessian/quadratic-form", test_quadratic_form);
  g_test_add_func ("/hessian/constant-gradient", test_constant_gradient);
  g_test_add_func ("/hessian/zero-hessian", test_zero_hessian);
  g_test_add_func ("/hessian/det-form", test_det_form);
  g_test_add_func ("/hessian/kron", test_kron_hessian);
  g_test_add_func ("/hessian/cross-entropy-forms", test_cross_entropy_forms);
  g_test_add_func ("/hessian/errors", test_errors);
  return g_test_run ();
}

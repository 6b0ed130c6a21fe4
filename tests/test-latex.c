/* test-latex.c: the derivation's LaTeX compiles with amsmath alone, fits the page, says why. */
#define G_LOG_DOMAIN "test-latex"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>

#include "core/jac-analysis.h"

/* ---- compiling ---- */

typedef struct
{
  char *dir;
  char *log;    /* pdflatex's .log */
  char *text;   /* pdftotext of the PDF */
} Compiled;

static void
compiled_clear (Compiled *c)
{
  g_autoptr(GDir) dir = c->dir != NULL ? g_dir_open (c->dir, 0, NULL) : NULL;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (c->dir, name, NULL);

      g_remove (path);
    }
  if (c->dir != NULL)
    g_rmdir (c->dir);
  g_free (c->dir);
  g_free (c->log);
  g_free (c->text);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Compiled, compiled_clear)

static gboolean
have_tex (void)
{
  g_autofree char *pdflatex = g_find_program_in_path ("pdflatex");
  g_autofree char *pdftotext = g_find_program_in_path ("pdftotext");

  if (pdflatex != NULL && pdftotext != NULL)
    return TRUE;
  g_test_skip ("pdflatex or pdftotext is not installed (build-aux/install-deps installs them)");
  return FALSE;
}

static int
spawn_in (const char  *dir,
          const char **argv,
          char       **out)
{
  g_autoptr(GError) error = NULL;
  int wait_status;

  g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, out, NULL, &wait_status, &error);
  g_assert_no_error (error);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128;
}

/* Compiles @document with pdflatex, and asserts it succeeds without an overfull box. */
static void
compile (Compiled   *c,
         const char *document)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tex = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *txt_path = NULL;
  g_autofree char *out = NULL;
  const char *latex_argv[] = { "pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               "doc.tex", NULL };
  const char *text_argv[] = { "pdftotext", "-raw", "-enc", "UTF-8", "doc.pdf", "doc.txt", NULL };
  int status;

  memset (c, 0, sizeof *c);
  c->dir = g_dir_make_tmp ("jacscope-latex-XXXXXX", &error);
  g_assert_no_error (error);
  tex = g_build_filename (c->dir, "doc.tex", NULL);
  g_assert_true (g_file_set_contents (tex, document, -1, &error));
  g_assert_no_error (error);

  status = spawn_in (c->dir, latex_argv, &out);
  log_path = g_build_filename (c->dir, "doc.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &c->log, NULL, &error));
  g_assert_no_error (error);
  /* Overfull \hbox: past the text width; \vbox: a display taller than the page. */
  if (status != 0 || strstr (c->log, "Overfull") != NULL)
    g_printerr ("%s\n---\n%s\n", document, out);
  g_assert_cmpint (status, ==, 0);
  g_assert_null (strstr (c->log, "Overfull"));

  g_assert_cmpint (spawn_in (c->dir, text_argv, NULL), ==, 0);
  txt_path = g_build_filename (c->dir, "doc.txt", NULL);
  g_assert_true (g_file_get_contents (txt_path, &c->text, NULL, &error));
  g_assert_no_error (error);
}

/* Text without spaces, line ends or hyphens, so that a sentence broken anywhere still matches. */
static char *
squeeze (const char *text)
{
  GString *s = g_string_new (NULL);

  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isspace (*c) && *c != '-')
      g_string_append_c (s, *c);
  return g_string_free (s, FALSE);
}

static void
assert_text_has (const Compiled *c,
                 const char     *words)
{
  g_autofree char *text = squeeze (c->text);
  g_autofree char *want = squeeze (words);

  if (strstr (text, want) == NULL)
    g_test_message ("\"%s\" is not in the compiled text:\n%s", want, text);
  g_assert_nonnull (strstr (text, want));
}

/* The fragment in the document the brief promises: article, amsmath, nothing else. */
static char *
article (const char *fragment)
{
  return g_strdup_printf ("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
                          "%s\\end{document}\n", fragment);
}

/* ---- what every LaTeX of a derivation has ---- */

static void
assert_source (const char *latex)
{
  g_assert_true (g_str_has_prefix (latex, "% Needs \\usepackage{amsmath}"));
  g_assert_true (g_str_is_ascii (latex));
  g_assert_null (strstr (latex, "\\_"));
  g_assert_null (strstr (latex, "\\mathit{W"));
  g_assert_nonnull (strstr (latex, "\\paragraph{Contracted form}"));
}

/* Compiles the analysis' LaTeX and checks it holds the structure sentence and @why. */
static void
check_analysis (const JacAnalysis *analysis,
                gboolean           denominator_layout,
                const char        *why)
{
  g_autofree char *latex = jac_analysis_latex (analysis, denominator_layout, FALSE);
  g_autofree char *document = article (latex);
  g_auto(Compiled) c = { 0 };

  assert_source (latex);
  compile (&c, document);
  assert_text_has (&c, analysis->sparsity.sentence);
  assert_text_has (&c, why);
  assert_text_has (&c, denominator_layout ? "Denominator layout:" : "Numerator layout:");
  assert_text_has (&c, "Contracted form");
  for (guint s = 0; s < analysis->derivation->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (analysis->derivation->steps, s);
      g_autofree char *heading = g_strdup_printf ("%u. %s", s + 1, step->title);

      assert_text_has (&c, heading);
    }
}

/* ---- the RNN step ---- */

typedef struct
{
  JacVariable wrt;
  gboolean    b_per_row;
  gboolean    denominator_layout;
  const char *why;   /* words of the "why" line (no math: pdftotext interleaves a Σ with them) */
} RnnCase;

static const RnnCase rnn_cases[] = {
  { JAC_VAR_H_PREV, FALSE, FALSE, "Why the transpose" },
  { JAC_VAR_H_PREV, FALSE, TRUE, "Why the transpose" },
  { JAC_VAR_X, FALSE, FALSE, "collapses the sum over" },
  { JAC_VAR_W_HH, FALSE, FALSE, "the sum left runs over i, " },
  { JAC_VAR_W_XH, FALSE, TRUE, "the sum left runs over i, " },
  { JAC_VAR_B, FALSE, FALSE, "is shared by every row i, so its gradient sums" },
  { JAC_VAR_B, TRUE, FALSE, "nothing is left to multiply, so no transpose appears" },
};

static JacAnalysis *
rnn_analysis (const RnnCase *rc)
{
  g_autoptr(GError) error = NULL;
  JacRnnConfig config;
  JacAnalysis *analysis;
  JacRnn *rnn;

  jac_rnn_config_init_default (&config);
  config.b_per_row = rc->b_per_row;
  rnn = jac_rnn_new (&config, NULL, &error);
  g_assert_no_error (error);
  analysis = jac_analysis_new (rnn, rc->wrt, JAC_UPSTREAM_RANDOM, NULL, &error);
  g_assert_no_error (error);
  return analysis;
}

static void
test_rnn (gconstpointer data)
{
  const RnnCase *rc = data;
  g_autoptr(JacAnalysis) analysis = rnn_analysis (rc);
  g_autofree char *latex = jac_analysis_latex (analysis, rc->denominator_layout, FALSE);

  if (!have_tex ())
    return;
  /* Names as the window writes them, in matrix notation and indexed (W^{hh}_{kj}). */
  g_assert_nonnull (strstr (latex, "W_{hh}"));
  g_assert_nonnull (strstr (latex, "h_{\\mathrm{prev}}"));
  g_assert_nonnull (strstr (latex, "W_{xh}"));
  g_assert_nonnull (strstr (latex, "{h^{\\mathrm{prev}}_{i"));
  g_assert_nonnull (strstr (latex, "{W^{hh}_{"));
  check_analysis (analysis, rc->denominator_layout, rc->why);
}

/* ---- typed expressions ---- */

typedef struct
{
  const char *name;
  const char *source;
  const char *shapes;
} ExprCase;

#define SUM8 "Y = A1 @ B1 + A2 @ B2 + A3 @ B3 + A4 @ B4 + A5 @ B5 + A6 @ B6 + A7 @ B7 + A8 @ B8"
#define SUM8_SHAPES "N = 2, K = 3, H = 3, A1: N×K, B1: K×H, A2: N×K, B2: K×H, A3: N×K, " \
  "B3: K×H, A4: N×K, B4: K×H, A5: N×K, B5: K×H, A6: N×K, B6: K×H, A7: N×K, B7: K×H, " \
  "A8: N×K, B8: K×H"

static const ExprCase expr_cases[] = {
  { "matmul", "U = V @ A", "N = 2, K = 4, M = 3, V: N×K, A: K×M" },
  { "chain", "A @ X @ B", "N = 2, K = 3, M = 3, P = 2, A: N×K, X: K×M, B: M×P" },
  { "gate", "sigmoid(X @ W + b) * C", "N = 2, D = 3, H = 3, X: N×D, W: D×H, b: H, C: N×H" },
  { "softmax", "softmax(X @ W)", "N = 2, D = 3, K = 4, X: N×D, W: D×K" },
  { "gram", "X.T @ X", "N = 3, D = 2, X: N×D" },
  { "sum-of-8-products", SUM8, SUM8_SHAPES },
  { "tanh-of-a-long-sum", "tanh(A1 @ B1 + A2 @ B2 + A3 @ B3 + A4 @ B4 + A5 @ B5 + A6 @ B6 + "
    "A7 @ B7 + A8 @ B8) * sigmoid(A1 @ B1)", SUM8_SHAPES },
  /* Eight factors and no sum to break at; G is a variable, so the upstream gradient is Γ. */
  { "product-of-8", "Y = A @ B @ C @ D @ E @ F @ G @ H", "N = 2, A: N×N, B: N×N, C: N×N, "
    "D: N×N, E: N×N, F: N×N, G: N×N, H: N×N" },
  /* Steps longer than a page: several displays, so that the page can break between them. */
  { "square-of-a-long-sum", "square(A1 @ B1 + A2 @ B2 + A3 @ B3 + A4 @ B4 + A5 @ B5 + A6 @ B6 + "
    "A7 @ B7 + A8 @ B8) - (A1 @ B1 + A2 @ B2 + A3 @ B3 + A4 @ B4 + A5 @ B5 + A6 @ B6 + A7 @ B7 + "
    "A8 @ B8).T @ (A1 @ B1 + A2 @ B2 + A3 @ B3 + A4 @ B4 + A5 @ B5 + A6 @ B6 + A7 @ B7 + A8 @ B8)",
    "N = 3, K = 3, H = 3, A1: N×K, B1: K×H, A2: N×K, B2: K×H, A3: N×K, B3: K×H, A4: N×K, "
    "B4: K×H, A5: N×K, B5: K×H, A6: N×K, B6: K×H, A7: N×K, B7: K×H, A8: N×K, B8: K×H" },
  { "long-names", "loss_total = sum(tanh(x_input @ W_long_name + bias_vector) * weights_out)",
    "N = 2, D = 3, H = 3, x_input: N×D, W_long_name: D×H, bias_vector: H, weights_out: N×H" },
  /* Like terms: powers P_{ij}^{3}, coefficients 3 and \frac{1}{3}, a sum that cancels. */
  { "powers", "P * P * P + P * Q * P / 3 - Q * Q", "N = 3, D = 4, P: N×D, Q: N×D" },
  { "cancelled", "P - P + Q * Q * Q * Q * Q", "N = 3, D = 4, P: N×D, Q: N×D" },
  /* 19 summed indices: past the single letters, k_{1} and k_{2}. */
  { "twenty-factors", "Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ Z @ "
    "Z @ Z", "N = 2, Z: N×N" },
};

static JacExpr *
expr_parse (const ExprCase *ec)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  JacExpr *expr;

  g_assert_true (jac_shape_env_parse_declarations (env, ec->shapes, NULL, &error));
  g_assert_no_error (error);
  expr = jac_expr_parse (ec->source, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (jac_expr_draw_variables (expr, NULL, 1, &error));
  g_assert_no_error (error);
  return expr;
}

static JacAnalysis *
expr_analysis (const ExprCase *ec,
               const char     *wrt)
{
  g_autoptr(GError) error = NULL;
  JacAnalysis *analysis;

  analysis = jac_analysis_new_expr (expr_parse (ec), wrt, JAC_UPSTREAM_RANDOM, NULL, 1, &error);
  g_assert_no_error (error);
  return analysis;
}

/* Every variable of the expression in turn, in both layouts. */
static void
test_expr (gconstpointer data)
{
  const ExprCase *ec = data;
  g_autoptr(JacExpr) expr = NULL;
  guint n_variables = 0;

  if (!have_tex ())
    return;
  expr = expr_parse (ec);
  for (guint n = 0; n < expr->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (expr->graph, n);
      g_autoptr(JacAnalysis) analysis = NULL;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      analysis = expr_analysis (ec, node->name);
      /* A derivative that reads as blocks says why in its own words (the transpose, a shared
       * vector, nothing left to multiply); the others the general one. */
      check_analysis (analysis, n_variables++ % 2 == 1,
                      jac_analysis_reads_as_blocks (analysis)
                      ? "Why" : "collapses a sum, the sums left are the matrix");
    }
  g_assert_cmpuint (n_variables, >, 0);
}

static const ExprCase *
find_expr_case (const char *name)
{
  for (guint n = 0; n < G_N_ELEMENTS (expr_cases); n++)
    if (g_str_equal (expr_cases[n].name, name))
      return &expr_cases[n];
  g_assert_not_reached ();
}

/* The like-term forms in LaTeX source (test_expr compiles them): a power, a fraction, k_{1}. */
static void
test_like_terms_source (void)
{
  g_autoptr(JacAnalysis) powers = expr_analysis (find_expr_case ("powers"), "P");
  g_autoptr(JacAnalysis) twenty = expr_analysis (find_expr_case ("twenty-factors"), "Z");
  g_autofree char *powers_latex = jac_analysis_latex (powers, FALSE, FALSE);
  g_autofree char *twenty_latex = jac_analysis_latex (twenty, FALSE, FALSE);

  g_assert_nonnull (strstr (powers_latex, "P_{ij}^{3}"));
  g_assert_nonnull (strstr (powers_latex, "3 P_{ij}^{2} \\delta_{ip} \\delta_{jq}"));
  g_assert_nonnull (strstr (powers_latex, "\\frac{2}{3} P_{ij} \\delta_{ip} \\delta_{jq} Q_{ij}"));
  g_assert_nonnull (strstr (powers_latex, "3 G \\odot P \\odot P"));
  g_assert_nonnull (strstr (twenty_latex, "Z_{hk_{1}} Z_{k_{1}k_{2}} Z_{k_{2}j}"));
  g_assert_null (strstr (twenty_latex, "Z_{h}"));
}

/* Every operator and function of the language (the expressions of test-derive.c), every variable
 * of each, in one document: no name, slope or script that LaTeX refuses or that overflows. */
static const char every_declaration[] =
  "N = 2, D = 3, H = 4;"
  "h_prev: N×H, x: N×D, W_hh: H×H, W_xh: D×H, b: H, B: N×H,"
  "V: 2x3, A: 3x4, R: 2x3, X: 3x2, W: 2x4, C: 3x4, P: 3x4, Q: 3x4,"
  "c: (3, 1), r: (1, 4), v: (4,), w: (4,), s: ()";

static const char * const every_source[] = {
  "U = V @ A",
  "h = tanh(h_prev @ W_hh + x @ W_xh + b)",
  "h = tanh(h_prev @ W_hh + x @ W_xh + B)",
  "h = sigmoid(h_prev @ W_hh + x @ W_xh + b)",
  "h = relu(h_prev @ W_hh + x @ W_xh + b)",
  "h = h_prev @ W_hh + x @ W_xh + b",
  "R @ A @ A.T",
  "X.T @ X",
  "X @ X.T",
  "Xᵀ @ X + X.T @ X",
  "softmax(X @ W)",
  "sum(P)",
  "sum(X @ W)",
  "sigmoid(X @ W + v) * C",
  "P + v",
  "2 * P + 1 - P / 4",
  "2 / P",
  "P / c",
  "P * r - c",
  "-(P - Q)",
  "exp(P) * Q",
  "log(P) + sqrt(Q)",
  "sin(P) * cos(Q)",
  "softplus(P) - square(Q)",
  "identity(X) @ W",
  "P ** 2 / (v + 2)",
  "(X @ W).T",
  "W.T @ X.T",
  "s * P + s",
  "tanh(tanh(X @ W))",
  "softmax(P) * Q",
  "sum(softmax(X @ W) * C)",
  "v * w",
  "sum(v * v) + s",
  "relu(P) ⊙ Q − P",
  "sigmoid(P) / (1 + exp(Q))",
  "sqrt(P * P + 1)",
  "-(P / (c + 2) - v) / (square(v) + 2)",
  "sum(tanh(P) * P)",
  "softmax(P + v)",
  "exp(-P) @ Q.T",
  "(P - Q).T @ (P + Q)",
  "cos(X @ W) @ W.T",
  "log(sigmoid(P)) * Q",
  "tanh(X @ W) * sigmoid(X @ W)",
  "v / w - sum(v)",
  "A.T",
  "abs(P) * Q + tan(P)",
  "arcsin(P / 2) - arccos(Q / 2) + arctan(P)",
  "sinh(X @ W) @ cosh(W).T",
  "P ** 0.5 + Q ** -1 + P ** (1/3)",
  "sum((X @ W) ** 3)",
  "tr(A.T @ P)",
  "det(X.T @ X)",
  "logdet(X.T @ X) + tr(inv(X.T @ X))",
  "inv(X.T @ X) @ W",
  "diag(v) * sum(P, 0)",
  "diag(X.T @ X)",
  "mean(P, 1) + norm(P)",
  "logsumexp(P, 1)",
  "kron(X, W) * 2",
  "kron(v, w) @ kron(v, w)",
};

static void
test_every_operator (void)
{
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *document = NULL;
  g_auto(Compiled) c = { 0 };
  guint n_derivations = 0;

  if (!have_tex ())
    return;
  for (guint e = 0; e < G_N_ELEMENTS (every_source); e++)
    {
      ExprCase ec = { NULL, every_source[e], every_declaration };
      g_autoptr(JacExpr) expr = expr_parse (&ec);

      for (guint n = 0; n < expr->graph->nodes->len; n++)
        {
          const JacNode *node = jac_graph_node (expr->graph, n);
          g_autoptr(JacAnalysis) analysis = NULL;
          g_autofree char *latex = NULL;

          if (node->op != JAC_OP_VARIABLE)
            continue;
          analysis = expr_analysis (&ec, node->name);
          latex = jac_analysis_latex (analysis, n % 2 == 1, FALSE);
          assert_source (latex);
          g_string_append_printf (body, "%s\\clearpage\n", latex);
          n_derivations++;
        }
    }
  g_assert_cmpuint (n_derivations, >, 60);
  document = article (body->str);
  compile (&c, document);
}

/* ---- the command line ---- */

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
run (Run                *r,
     const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *bin = g_getenv ("JACSCOPE_BIN");
  g_auto(GStrv) envp = g_environ_unsetenv (g_get_environ (), "DISPLAY");
  int wait_status;

  g_assert_nonnull (bin);
  g_ptr_array_add (argv, (gpointer) bin);
  for (guint a = 0; args[a] != NULL; a++)
    g_ptr_array_add (argv, (gpointer) args[a]);
  g_ptr_array_add (argv, NULL);
  memset (r, 0, sizeof *r);
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err,
                &wait_status, &error);
  g_assert_no_error (error);
  r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128;
}

/* derive --latex prints exactly what the window copies: the one core function. */
static void
test_cli_same_as_core (void)
{
  static const char * const args[] = { "derive", "--latex", "--wrt", "W_hh", "--layout",
                                       "denominator", "--upstream", "random", NULL };
  static const RnnCase rc = { JAC_VAR_W_HH, FALSE, FALSE, NULL };
  g_autoptr(JacAnalysis) analysis = rnn_analysis (&rc);
  g_autofree char *latex = jac_analysis_latex (analysis, TRUE, FALSE);
  g_auto(Run) r = { 0 };

  run (&r, args);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.out, ==, latex);
}

static void
test_cli_standalone (void)
{
  static const char * const rnn_args[] = { "derive", "--latex", "--standalone", NULL };
  static const char * const expr_args[] = { "derive", "--latex", "--standalone", "--expr",
                                            "softmax(X @ W)", "--shape", "X=N,D", "--shape",
                                            "W=D,H", NULL };
  g_auto(Run) rnn = { 0 };
  g_auto(Run) expr = { 0 };

  if (!have_tex ())
    return;
  run (&rnn, rnn_args);
  g_assert_cmpint (rnn.status, ==, 0);
  g_assert_true (g_str_has_prefix (rnn.out, "% "));
  g_assert_nonnull (strstr (rnn.out, "\\documentclass{article}\n\\usepackage{amsmath}\n"
                            "\\begin{document}\n"));
  g_assert_true (g_str_has_suffix (rnn.out, "\\end{document}\n"));
  {
    g_auto(Compiled) c = { 0 };

    compile (&c, rnn.out);
    assert_text_has (&c, "nonzero only where p = i: 2 of 4 blocks");
    assert_text_has (&c, "Why the transpose");
    assert_text_has (&c, "collapses the sum over");
  }
  run (&expr, expr_args);
  g_assert_cmpint (expr.status, ==, 0);
  {
    g_auto(Compiled) c = { 0 };

    compile (&c, expr.out);
    assert_text_has (&c, "collapses a sum, the sums left are the matrix");
  }
}

/* The issue's “done when”: no declaration at all, from the command line: the derivation with
 * the inferred shapes, every check passed, and the standalone LaTeX compiles. */
static void
test_cli_no_declarations (void)
{
  static const char * const sources[] = {
    "logdet(X)", "tr(A @ X @ B)", "x @ A @ x", "sum((X @ W - Y) ** 2) / 2", "X @ W",
    "inv(X) @ y", "mean(X, 1) + norm(X)", "kron(A, B)", "tanh(kron(X @ W, B)) @ v",
  };

  for (guint k = 0; k < G_N_ELEMENTS (sources); k++)
    {
      const char *derive_args[] = { "derive", "--expr", sources[k], NULL };
      const char *check_args[] = { "check", "--expr", sources[k], NULL };
      const char *latex_args[] = { "derive", "--latex", "--standalone", "--expr", sources[k],
                                   NULL };
      g_auto(Run) d = { 0 };
      g_auto(Run) c = { 0 };
      g_auto(Run) l = { 0 };

      run (&d, derive_args);
      if (d.status != 0 || strstr (d.out, "Shapes (inferred)") == NULL ||
          strstr (d.out, "checked: max |contracted form − Σ G·J| = ") == NULL)
        g_error ("derive %s: %d\n%s%s", sources[k], d.status, d.out, d.err);
      run (&c, check_args);
      if (c.status != 0 || strstr (c.out, "all checks passed") == NULL)
        g_error ("check %s: %d\n%s%s", sources[k], c.status, c.out, c.err);
      if (have_tex ())
        {
          g_auto(Compiled) compiled = { 0 };

          run (&l, latex_args);
          g_assert_cmpint (l.status, ==, 0);
          compile (&compiled, l.out);
        }
    }
}

/* --standalone shapes --latex: alone, or with another command, it is a usage error. */
static void
test_cli_standalone_needs_latex (void)
{
  static const char * const derive_args[] = { "derive", "--standalone", NULL };
  static const char * const text_args[] = { "derive", NULL };
  g_auto(Run) r = { 0 };
  g_auto(Run) text = { 0 };

  run (&r, derive_args);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--standalone goes with --latex"));
  g_assert_cmpstr (r.out, ==, "");

  /* Plain text is unchanged. */
  run (&text, text_args);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_nonnull (strstr (text.out, "sparsity: nonzero only where p = i: 2 of 4 blocks"));
  g_assert_nonnull (strstr (text.out, "contracted form: (G ⊙ S) W_hhᵀ"));
}

/* ---- pieces ---- */

/* A formula that fits stays on one line, as the CLI test and users' scripts expect. */
static void
test_short_formula_unchanged (void)
{
  static const ExprCase ec = { "matmul", "U = V @ A", "N = 2, K = 4, M = 3, V: N×K, A: K×M" };
  g_autoptr(JacAnalysis) analysis = expr_analysis (&ec, "A");
  g_autofree char *latex = jac_analysis_latex (analysis, FALSE, FALSE);

  g_assert_nonnull (strstr (latex, "\\[ \\frac{\\partial U_{ij}}{\\partial A_{pq}} = V_{ip} "
                            "\\delta_{jq} \\]"));
  g_assert_null (strstr (latex, "aligned"));
  g_assert_nonnull (strstr (latex, "\\paragraph{1. Definition}"));
}

/* The long sum breaks at its + signs, aligned on =, each line continued with a binary +. */
static void
test_long_formula_aligned (void)
{
  static const ExprCase ec = { "sum-of-8-products", SUM8, SUM8_SHAPES };
  g_autoptr(JacAnalysis) analysis = expr_analysis (&ec, "A1");
  g_autofree char *latex = jac_analysis_latex (analysis, FALSE, FALSE);

  g_assert_nonnull (strstr (latex, "\\begin{aligned}\nY_{ij} & = \\sum_{k}"));
  g_assert_nonnull (strstr (latex, " \\\\\n&\\quad {}+ \\sum_{k}"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint n = 0; n < G_N_ELEMENTS (rnn_cases); n++)
    {
      static const char * const names[] = { "h_prev", "x", "W_hh", "W_xh", "b" };
      const RnnCase *rc = &rnn_cases[n];
      g_autofree char *path = g_strdup_printf ("/latex/rnn/%s%s%s", names[rc->wrt],
                                               rc->b_per_row ? "-NxH" : "",
                                               rc->denominator_layout ? "-denominator" : "");

      g_test_add_data_func (path, rc, test_rnn);
    }
  for (guint n = 0; n < G_N_ELEMENTS (expr_cases); n++)
    {
      g_autofree char *path = g_strdup_printf ("/latex/expr/%s", expr_cases[n].name);

      g_test_add_data_func (path, &expr_cases[n], test_expr);
    }
  g_test_add_func ("/latex/expr/every-operator", test_every_operator);
  g_test_add_func ("/latex/expr/like-terms-source", test_like_terms_source);
  g_test_add_func ("/latex/short-formula-unchanged", test_short_formula_unchanged);
  g_test_add_func ("/latex/long-formula-aligned", test_long_formula_aligned);
  g_test_add_func ("/latex/cli/same-as-core", test_cli_same_as_core);
  g_test_add_func ("/latex/cli/standalone", test_cli_standalone);
  g_test_add_func ("/latex/cli/no-declarations", test_cli_no_declarations);
  g_test_add_func ("/latex/cli/standalone-needs-latex", test_cli_standalone_needs_latex);
  return g_test_run ();
}

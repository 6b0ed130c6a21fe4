/* test-python.c: `jacscope derive --numpy` (and --torch) write scripts that check themselves: run
 * by /usr/bin/python3 they pass, and they fail when their formula is broken. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jac-test-util.h"

#define PYTHON "/usr/bin/python3"

typedef struct
{
  const char *expr;     /* NULL: the RNN step */
  const char *wrt;
  const char *shapes[4];
  gboolean    hessian;  /* derive --hessian: the script checks the Hessian against finite
                         * differences of the gradient */
} Case;

static const Case cases[] = {
  { NULL, "h_prev", { NULL } },
  { NULL, "W_hh", { NULL } },
  { NULL, "b", { NULL } },
  { "U = V @ A", "V", { "V=2,3", "A=3,4" } },
  { "U = V @ A", "A", { "V=2,3", "A=3,4" } },
  { "X.T @ X", "X", { "X=3,2" } },
  { "X @ X", "X", { "X=3,3" } },
  { "x.T @ A @ x", "x", { "x=3,1", "A=3,3" } },
  { "(S - S.T) @ A", "S", { "S=3,3", "A=3,3" } },
  { "tr(S) * A", "S", { "S=3,3", "A=3,3" } },
  { "softmax(X @ W)", "W", { "X=2,3", "W=3,4" } },
  { "sum(X * X)", "X", { "X=2,3" } },
  { "X + v", "v", { "X=2,3", "v=3" } },
  { "Y = sigmoid(X @ W + b)", "b", { "X=2,3", "W=3,4", "b=4" } },
  { "Y = X / (X + 2)", "X", { "X=2,3" } },
  { "Y = log(X) * sqrt(X)", "X", { "X=2,3" } },
  { "relu(X @ W)", "X", { "X=2,3", "W=3,3" } },
  { "sum(softmax(X) * X)", "X", { "X=2,3" } },
  { "Y = -X.T + 3 * X", "X", { "X=3,3" } },
  { "exp(X) - cos(X) + softplus(X)", "X", { "X=2,2" } },
  { "X * s", "s", { "X=2,2", "s=()" } },
  { "Y = X * X * X * X", "X", { "X=2,2" } },
  /* The language's functions, with shapes inferred. */
  { "tr(A @ X)", "X", { NULL } },
  { "logdet(X)", "X", { NULL } },
  { "det(X)", "X", { NULL } },
  { "inv(X)", "X", { NULL } },
  { "x @ A @ x", "x", { NULL } },
  { "norm(X)", "X", { NULL } },
  { "sum((X @ W - Y) ** 2) / 2", "W", { NULL } },
  { "Y = abs(X) + tan(X) + arctan(X) + sinh(X) + cosh(X) + X ** 0.5", "X", { NULL } },
  { "logsumexp(X, 1)", "X", { NULL } },
  { "diag(v)", "v", { NULL } },
  { "Y = ((X.T - mean(X.T, 0)) / sqrt(mean((X.T - mean(X.T, 0)) ** 2, 0) + 0.001)).T", "X",
    { NULL } },
  /* Row sums kept as a column: A 1 is np.sum(A, axis=1), not a sum over the columns. */
  { "Y = softmax(X) * sum(T, 1, keepdims=True)", "T", { NULL } },
  /* kron's composite indices: its factors as kron(A, ones) and kron(ones, B), its δs as 0/1
   * matrices, its zeros where no term's support reaches. */
  { "kron(A, B)", "A", { NULL } },
  { "kron(A, B)", "B", { NULL } },
  { "kron(A, A) @ C", "A", { NULL } },
  { "tanh(kron(A, B)).T", "B", { NULL } },
  /* Hessians: the Jacobian of the gradient expression, checked by differences of it. */
  { "sum((X @ W - Y) ** 2) / 2", "W", { NULL }, TRUE },
  { "tr(X.T @ A @ X)", "X", { NULL }, TRUE },
  { "logdet(X)", "X", { NULL }, TRUE },
  { "L = -sum(T * log(softmax(X @ W)))", "W", { NULL }, TRUE },
  { "logsumexp(X, 1) @ v", "X", { NULL }, TRUE },
  { "sum(kron(A, B) ** 2)", "A", { NULL }, TRUE },
};

static gboolean
python_has (const char *module)
{
  g_autofree char *code = g_strdup_printf ("import %s", module);
  const char *argv[] = { PYTHON, "-c", code, NULL };
  g_auto(JacTestRun) r = { 0 };

  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  jac_test_spawn (&r, NULL, argv);
  return r.status == 0;
}

static char *
write_script (const Case *c,
              const char *flag)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(JacTestRun) r = { 0 };
  g_autoptr(GError) error = NULL;
  char *script;

  g_ptr_array_add (argv, (gpointer) "derive");
  g_ptr_array_add (argv, (gpointer) flag);
  g_ptr_array_add (argv, (gpointer) "--wrt");
  g_ptr_array_add (argv, (gpointer) c->wrt);
  if (c->hessian)
    g_ptr_array_add (argv, (gpointer) "--hessian");
  if (c->expr != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--expr");
      g_ptr_array_add (argv, (gpointer) c->expr);
    }
  for (guint k = 0; k < G_N_ELEMENTS (c->shapes) && c->shapes[k] != NULL; k++)
    {
      g_ptr_array_add (argv, (gpointer) "--shape");
      g_ptr_array_add (argv, (gpointer) c->shapes[k]);
    }
  g_ptr_array_add (argv, NULL);
  jac_test_run_argv (&r, NULL, (const char * const *) argv->pdata);
  if (r.status != 0)
    g_error ("%s: %s", c->expr != NULL ? c->expr : "rnn", r.err);
  g_assert_true (g_str_has_prefix (r.out, "#!/usr/bin/env python3\n"));
  script = g_build_filename (g_get_tmp_dir (), "jacscope-test-script-XXXXXX.py", NULL);
  {
    int fd = g_mkstemp (script);

    g_assert_cmpint (fd, >=, 0);
    close (fd);
  }
  g_file_set_contents (script, r.out, -1, &error);
  g_assert_no_error (error);
  return script;
}

static int
run_script (const char *path,
            char      **out)
{
  const char *argv[] = { PYTHON, path, NULL };
  g_auto(JacTestRun) r = { 0 };

  jac_test_spawn (&r, NULL, argv);
  if (out != NULL)
    *out = g_strconcat (r.out, r.err, NULL);
  return r.status;
}

/* Replaces the first @from in the file by @to: a broken formula. */
static void
mutate (const char *path,
        const char *from,
        const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GString) s = NULL;
  char *at;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  at = strstr (text, from);
  g_assert_nonnull (at);
  s = g_string_new_len (text, at - text);
  g_string_append (s, to);
  g_string_append (s, at + strlen (from));
  g_file_set_contents (path, s->str, -1, &error);
  g_assert_no_error (error);
}

static void
check_case (const Case *c,
            const char *flag)
{
  g_autofree char *path = write_script (c, flag);
  g_autofree char *out = NULL;
  int status = run_script (path, &out);

  g_test_message ("%s wrt %s: %s", c->expr != NULL ? c->expr : "rnn", c->wrt, out);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (out, "all checks passed"));

  /* A wrong contracted form, a wrong term of J: each is caught (off by 0.01: a contracted form
   * can be 0, as softmax's is for G = 1). */
  mutate (path, "contracted = np.broadcast_to(", "contracted = 0.01 + np.broadcast_to(");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_script (path, &out), ==, 1);
  g_assert_nonnull (strstr (out, "past tolerance"));
  mutate (path, "contracted = 0.01 + np.broadcast_to(", "contracted = np.broadcast_to(");
    {
      g_autofree char *text = NULL;

      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      /* An expression whose derivative is identically zero has no term to break. */
      if (strstr (text, "J = J + ") != NULL)
        {
          mutate (path, "J = J + ", "J = J + 0.01 + ");
          g_clear_pointer (&out, g_free);
          g_assert_cmpint (run_script (path, &out), ==, 1);
        }
    }
  g_unlink (path);
}

static void
test_numpy (void)
{
  if (!python_has ("numpy"))
    {
      g_test_skip ("no NumPy on " PYTHON);
      return;
    }
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    check_case (&cases[k], "--numpy");
}

static void
test_torch (void)
{
  if (!python_has ("numpy") || !python_has ("torch"))
    {
      g_test_skip ("no PyTorch on " PYTHON);
      return;
    }
  for (guint k = 0; k < 6; k++)
    check_case (&cases[k], "--torch");
}

/* Structural zeros promised by the δs are checked too: claim a zero that is not one. */
static void
test_zeros_checked (void)
{
  g_autofree char *path = NULL;

  if (!python_has ("numpy"))
    {
      g_test_skip ("no NumPy on " PYTHON);
      return;
    }
  path = write_script (&cases[0], "--numpy");
  mutate (path, "support = support | ", "support = ~support & ~");
  g_assert_cmpint (run_script (path, NULL), ==, 1);
  g_unlink (path);

  /* kron's bound too: the entries it keeps claimed zero instead. */
  {
    static const Case kron = { "kron(A, B)", "A", { NULL } };
    g_autofree char *kron_path = write_script (&kron, "--numpy");

    g_assert_cmpint (run_script (kron_path, NULL), ==, 0);
    mutate (kron_path, "support = support & bound", "support = support & ~bound");
    g_assert_cmpint (run_script (kron_path, NULL), ==, 1);
    g_unlink (kron_path);
  }
}

/* --numpy, --torch and --latex print different things. */
static void
test_exclusive (void)
{
  const char *argv[] = { "derive", "--numpy", "--latex", NULL };
  g_auto(JacTestRun) r = { 0 };

  jac_test_run_argv (&r, NULL, argv);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "choose one"));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/python/numpy", test_numpy);
  g_test_add_func ("/python/torch", test_torch);
  g_test_add_func ("/python/zeros-checked", test_zeros_checked);
  g_test_add_func ("/python/exclusive", test_exclusive);
  return g_test_run ();
}

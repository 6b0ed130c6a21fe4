/* jac-test-util.c: what several tests share. */
#include <string.h>
#include <sys/wait.h>

#include "jac-test-util.h"

void
jac_test_run_clear (JacTestRun *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

void
jac_test_spawn (JacTestRun         *r,
                const char         *cwd,
                const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  int wait_status = 0;

  /* The command line never needs a display: run it without one, even under Xvfb. */
  envp = g_environ_unsetenv (envp, "DISPLAY");
  envp = g_environ_unsetenv (envp, "WAYLAND_DISPLAY");
  memset (r, 0, sizeof *r);
  g_spawn_sync (cwd, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &r->out, &r->err,
                &wait_status, &error);
  g_assert_no_error (error);
  r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : 128 + WTERMSIG (wait_status);
}

void
jac_test_run_argv (JacTestRun         *r,
                   const char         *cwd,
                   const char * const *argv)
{
  g_autoptr(GPtrArray) full = g_ptr_array_new ();
  const char *bin = g_getenv ("JACSCOPE_BIN");

  g_assert_nonnull (bin);
  g_ptr_array_add (full, (gpointer) bin);
  for (guint k = 0; argv[k] != NULL; k++)
    g_ptr_array_add (full, (gpointer) argv[k]);
  g_ptr_array_add (full, NULL);
  jac_test_spawn (r, cwd, (const char * const *) full->pdata);
}

JacAnalysis *
jac_test_expr_analysis (const char *source,
                        const char *shapes,
                        const char *wrt)
{
  return jac_test_expr_analysis_seeded (source, shapes, wrt, 1);
}

JacAnalysis *
jac_test_expr_analysis_seeded (const char *source,
                               const char *shapes,
                               const char *wrt,
                               guint32     seed)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacShapeEnv) env = jac_shape_env_new ();
  JacAnalysis *analysis;
  JacExpr *expr;

  g_assert_true (jac_shape_env_parse_declarations (env, shapes, NULL, &error));
  g_assert_no_error (error);
  expr = jac_expr_parse (source, env, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (jac_expr_draw_variables (expr, NULL, seed, &error));
  g_assert_no_error (error);
  analysis = jac_analysis_new_expr (expr, wrt, JAC_UPSTREAM_RANDOM, NULL, seed, &error);
  g_assert_no_error (error);
  return analysis;
}

JacRnn *
jac_test_rnn (gsize    batch,
              gsize    input,
              gsize    hidden,
              JacFunc  activation,
              gboolean b_per_row)
{
  g_autoptr(GError) error = NULL;
  JacRnnConfig config;
  JacRnn *rnn;

  jac_rnn_config_init_default (&config);
  config.batch = batch;
  config.input = input;
  config.hidden = hidden;
  config.activation = activation;
  config.b_per_row = b_per_row;
  rnn = jac_rnn_new (&config, NULL, &error);
  g_assert_no_error (error);
  return rnn;
}

JacAnalysis *
jac_test_rnn_analysis (gsize       batch,
                       gsize       input,
                       gsize       hidden,
                       JacFunc     activation,
                       gboolean    b_per_row,
                       JacVariable wrt)
{
  g_autoptr(GError) error = NULL;
  JacAnalysis *analysis = jac_analysis_new (jac_test_rnn (batch, input, hidden, activation,
                                                          b_per_row),
                                            wrt, JAC_UPSTREAM_RANDOM, NULL, &error);

  g_assert_no_error (error);
  return analysis;
}

void
jac_test_spin (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
spin_timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
jac_test_spin_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, spin_timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
  jac_test_spin ();
}

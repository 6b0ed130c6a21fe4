/* jac-test-util.h: what several tests share: running the jacscope binary, analysing a typed
 * expression. Linked with core only, so any test may use it. */
#pragma once

#include "core/jac-analysis.h"

G_BEGIN_DECLS

typedef struct
{
  char *out;
  char *err;
  int   status;   /* the exit status, or 128 + the signal */
} JacTestRun;

void         jac_test_run_clear        (JacTestRun          *r);
/* Runs the default main context until nothing is pending. */
void         jac_test_spin             (void);
/* Runs it for @ms milliseconds (frames drawn, idle work done), then until nothing is pending. */
void         jac_test_spin_for         (guint                ms);
/* Runs $JACSCOPE_BIN with @argv (NULL-terminated) and no display, optionally in @cwd. */
void         jac_test_run_argv         (JacTestRun          *r,
                                        const char          *cwd,
                                        const char * const  *argv);
/* Runs a program found on PATH (or by its path) with @argv, @argv[0] its name. */
void         jac_test_spawn            (JacTestRun          *r,
                                        const char          *cwd,
                                        const char * const  *argv);
/* @source parsed with the declarations @shapes ("V: 2×4, A: 4×3"), drawn from seed 1, and
 * analysed with respect to @wrt with a seeded random G; asserts there is no error. */
JacAnalysis *jac_test_expr_analysis    (const char          *source,
                                        const char          *shapes,
                                        const char          *wrt);
/* The same, drawn and with G seeded from @seed. */
JacAnalysis *jac_test_expr_analysis_seeded (const char      *source,
                                        const char          *shapes,
                                        const char          *wrt,
                                        guint32              seed);
/* The RNN step at these sizes, seed 1; and its analysis with respect to @wrt, G random. */
JacRnn      *jac_test_rnn              (gsize                batch,
                                        gsize                input,
                                        gsize                hidden,
                                        JacFunc              activation,
                                        gboolean             b_per_row);
JacAnalysis *jac_test_rnn_analysis     (gsize                batch,
                                        gsize                input,
                                        gsize                hidden,
                                        JacFunc              activation,
                                        gboolean             b_per_row,
                                        JacVariable          wrt);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JacTestRun, jac_test_run_clear)

G_END_DECLS

/* jac-presets.h: the gallery: expressions worth seeing, the same in the window and on the command
 * line (`jacscope derive --list-presets`, `--preset NAME`). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *id;          /* "rnn", "trace-ax", … : the CLI's NAME and the window's action target */
  const char *section;     /* "Neural networks" or "Matrix Cookbook" */
  const char *title;       /* the menu's words: "RNN step", "tr(A X)" */
  const char *expression;  /* NULL: the RNN step with its own controls (jac_rnn_source ()) */
  const char *shapes;      /* declarations, or "" to let the shapes be inferred */
  const char *wrt;         /* the variable shown first */
  const char *identity;    /* what the gallery shows, in the Cookbook's words: "∂ tr(A X)/∂X = Aᵀ" */
  gboolean    hessian;     /* shown as its second derivative ∂²f/∂wrt² (a scalar expression) */
} JacPreset;

/* The gallery in menu order; @n_presets its length. */
const JacPreset *jac_presets         (guint      *n_presets);
/* The preset named @id, or NULL. */
const JacPreset *jac_preset_find     (const char *id);

G_END_DECLS

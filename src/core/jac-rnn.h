/* jac-rnn.h: one step of a vanilla RNN, h = φ(h_prev W_hh + x W_xh + b): a preset of the language.
 *
 * The step is the expression jac_rnn_source () parsed like any typed one, with its variables
 * drawn by the rules below (scaled by 1/√H and 1/√D for the weights, so tanh does not saturate)
 * or loaded from files; its analysis is the expression's (jac_analysis_new takes the expression
 * over). The closed forms of DESIGN.md written per variable stay here as test oracles. */
#pragma once

#include "jac-expr.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_VAR_H_PREV,
  JAC_VAR_X,
  JAC_VAR_W_HH,
  JAC_VAR_W_XH,
  JAC_VAR_B,
  JAC_N_VARS
} JacVariable;

typedef struct
{
  gsize    batch;       /* N */
  gsize    input;       /* D */
  gsize    hidden;      /* H */
  guint32  seed;
  JacFunc  activation;  /* identity, tanh, sigmoid or relu */
  gboolean b_per_row;   /* b is (N, H) rather than (H) */
} JacRnnConfig;

typedef struct _JacRnn
{
  JacRnnConfig config;        /* sizes as resolved from loaded files */
  JacExpr     *expr;          /* owned: the preset parsed, its variables holding their values */
  JacGraph    *graph;         /* expr's */
  int          variable_node[JAC_N_VARS];
  int          preactivation; /* Z */
} JacRnn;

void         jac_rnn_config_init_default (JacRnnConfig     *config);
/* "h = tanh(h_prev @ W_hh + x @ W_xh + b)", or without the function for identity. */
char        *jac_rnn_source              (JacFunc           activation);
const char  *jac_variable_name           (JacVariable       variable);
gboolean     jac_variable_from_name      (const char       *name,
                                          JacVariable      *variable);
gboolean     jac_activation_from_name    (const char       *name,
                                          JacFunc          *func);

/* @loaded may be NULL or hold NULL entries; sizes follow the loaded tensors, and shapes that
 * disagree are an error naming both. The other variables are drawn from @config's seed. */
JacRnn      *jac_rnn_new                 (const JacRnnConfig *config,
                                          JacTensor * const  *loaded,
                                          GError            **error);
void         jac_rnn_free                (JacRnn           *self);
const JacTensor *jac_rnn_value           (const JacRnn     *self,
                                          JacVariable       variable);
const JacTensor *jac_rnn_output          (const JacRnn     *self);
const JacTensor *jac_rnn_preactivation   (const JacRnn     *self);
/* S = φ′(Z) from the graph's Z, for the closed forms (the analysis takes its own from the
 * derivation: nothing computes it twice on the window's path). A new tensor. */
JacTensor       *jac_rnn_slope           (const JacRnn     *self);
JacStructured *jac_rnn_jacobian          (JacRnn           *self,
                                          JacVariable       variable);

/* The closed forms of DESIGN.md, written per variable: an independent check on the engine. */
JacTensor   *jac_rnn_closed_form_dense   (const JacRnn     *self,
                                          JacVariable       variable);
/* The matrix formula of the contraction: (G⊙S) W_hhᵀ, (G⊙S) W_xhᵀ, h_prevᵀ (G⊙S), xᵀ (G⊙S),
 * column sums of G⊙S (or G⊙S for b of shape (N, H)). */
JacTensor   *jac_rnn_contract_formula    (const JacRnn     *self,
                                          JacVariable       variable,
                                          const JacTensor  *upstream);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacRnn, jac_rnn_free)

G_END_DECLS

/* jac-derive.h: an expression's derivative three ways: index notation, sparsity, contracted form.
 *
 * jac_derive () differentiates the expression symbolically in Ricci calculus: each definition is
 * written with explicit sums (U_ij = Σ_k V_ik A_kj), differentiated by the product and chain
 * rules (∂V_ik/∂V_pq = δ_ip δ_kq), and simplified by the Kronecker δ rule
 * (Σ_k δ_kq A_kj = A_qj). The δs left in the result are its sparsity, and they are the same
 * pairs as JacStructured.pair of jac_graph_jacobian (). Contracting the result with an upstream
 * gradient G gives the back-propagation formula, printed in matrix notation ("G Aᵀ") and
 * evaluated from an expression tree built by symbolic reverse mode over the graph.
 *
 * Conventions:
 * - Index letters. The output's indices are i, j; the variable's are p, q, or k, l when its name
 *   starts with 'W' (a weight matrix, as DESIGN.md writes ∂h/∂W_hh = S_ij h_prev_ik δ_jl).
 *   A vector's single index is the *second* letter (j for the output, q or l for the variable),
 *   because NumPy broadcasting aligns it with the last axis: ∂h_ij/∂b_q = … δ_jq. Summation
 *   indices take the first free letter of k l m n r s t u v a b c d e f g h, then k₁, k₂, …
 *   (k_{1} in LaTeX) without end, so never a letter of the output or the variable, and sums
 *   from the contraction with G keep the output's letters (Σ_j G_pj …).
 * - Like terms. Equal entries of a product are one power (X_ij³; X_ij / X_ij is 1), terms that
 *   differ only in their coefficient one term (3 X_ij² δ_ip δ_jq), and terms that cancel are
 *   dropped (X − X: 0, and the Structure step says identically zero). Coefficients print as
 *   integers, short decimals or fractions p/q for q ≤ 12 (1/3, \frac{1}{3}). The contracted
 *   form merges its like terms the same way and writes a power as repeated ⊙, as S = 1 − h ⊙ h
 *   writes a square: 3 G ⊙ X ⊙ X. A form without like terms is left exactly as built.
 * - Intermediates. The argument of an element-wise function or softmax and the denominator of a
 *   division are named when they are not a variable: Z if there is one, Z₁, Z₂, … in graph order
 *   if there are several (another letter if a variable is called Z). Their definitions are steps
 *   of their own ("Definition") and appear in `where`.
 * - Slopes φ′. Written inline when that reads well: exp(Z), cos(Z), −sin(Z), σ(Z), [Z > 0],
 *   2 X, 1 / X; and for tanh, sigmoid and sqrt through the function's own value when that has
 *   a name (the output or an intermediate): 1 − h², h (1 − h), 1 / (2 h). Otherwise (tanh,
 *   sigmoid or sqrt of a value without a name) they are named S (S₁, S₂, …) and defined in a
 *   "Slope" step, S = σ(Z) ⊙ (1 − σ(Z)), rather than repeating the value. JAC_DERIVE_NAME_SLOPES
 *   names every one (but identity's), giving DESIGN.md's form (G ⊙ S) W_hhᵀ with S = 1 − h ⊙ h.
 * - Matrix notation: juxtaposition is the matrix product, ⊙ and ⊘ the element-wise product and
 *   quotient, ᵀ the transpose, and 1 a vector or matrix of ones of the fitting shape: 1ᵀ A sums
 *   the columns of A (the gradient of a broadcast row vector), A 1 its rows, G 1 spreads a scalar.
 *   Vectors and scalars broadcast as in NumPy.
 */
#pragma once

#include "jac-expr.h"
#include "jac-structured.h"

G_BEGIN_DECLS

/* Room for every δ pattern of a rank-2 output and variable, as JAC_STRUCTURED_MAX_TERMS. */
#define JAC_DERIVE_MAX_PATTERNS 7

typedef enum
{
  JAC_DERIVE_DEFAULT     = 0,
  JAC_DERIVE_NAME_SLOPES = 1 << 0,   /* always name φ′ as S, S₁, … */
  JAC_DERIVE_DIRECTION   = 1 << 1,   /* the upstream is a Hessian's direction: V, not G */
} JacDeriveFlags;

typedef struct
{
  char *title;    /* "Definition", "Slope", "Differentiate", "Chain rule", "Kronecker δ rule",
                   * "Substitute", "Structure", "Contract with G" (with V for a
                   * Hessian's direction), "Where" */
  char *text;     /* plain Unicode: "∂U_ij/∂V_pq = Σ_k δ_ip δ_kq A_kj" */
  char *markup;   /* Pango markup: "∂U<sub>ij</sub>/∂V<sub>pq</sub> = Σ<sub>k</sub> …" */
  char *latex;    /* "\frac{\partial U_{ij}}{\partial V_{pq}} = \sum_{k} …", math mode; the
                   * Structure step's is a sentence (text mode, names in $…$) */
} JacDerivationStep;

/* One factor of an entry of the derivative, when it is a single term without sums (see
 * JacDerivation.entry_factors): name[index] ^ power, each index an output axis (0, 1), a
 * variable axis (2, 3) or the fixed 0 of a broadcast axis (-1). */
typedef struct
{
  char     *name;        /* "S", "W_hh", "h_prev"; "tanh′" for a slope written inline */
  char     *markup;      /* "W<sub>hh</sub>" */
  char     *latex;       /* "W_{hh}" */
  int       node;        /* the graph node whose value it is; for a slope, its APPLY node */
  gboolean  slope;       /* φ′ at the APPLY node's argument rather than the node's value */
  int       power;
  guint     rank;
  int       axis[2];
} JacEntryFactor;

typedef struct _JacDerivation
{
  char      *output_name;
  char      *variable_name;
  int        variable;           /* its graph node */
  char       out_letters[3];     /* "ij", "j" or "" */
  char       wrt_letters[3];     /* "pq", "kl", "q", "l" or "" */
  GPtrArray *steps;              /* JacDerivationStep*, from the definition to the contraction */

  /* The simplified ∂out/∂variable: the right-hand side of its last equation. */
  char      *result_text;
  char      *result_markup;
  char      *result_latex;

  /* Structure: pair[a] is the variable axis output axis a is tied to by a δ, or -1 (as in
   * JacStructured), and the sentence says the same in words. */
  gboolean   depends;            /* FALSE: the derivative is identically zero */
  int        pair[2];
  char      *sparsity;           /* "nonzero only where p = i", "… where q = i or q = j" */
  char      *sparsity_detail;    /* "block-diagonal over the rows: …" */
  /* The δ patterns of its terms after cancellation and like-term merging, normalized as
   * JacStructured's terms are (none contains another's δs): the same set as the evaluator's
   * terms[].pair, and the union the sentence states. 0 when identically zero. */
  guint      n_patterns;
  int        patterns[JAC_DERIVE_MAX_PATTERNS][2];
  /* The partitions of the indices (JacStructured's codes) on which its terms cancel for every
   * value, as δ_ip δ_jq − δ_jp δ_iq at i = j = p = q, and where in words ("i = j = p = q"); 0
   * and NULL when nowhere. The analysis gives the evaluator the same partitions. */
  guint      n_zero_partitions;
  guint      zero_partitions[JAC_ENTRY_MAX_PARTITIONS];
  char      *partition_sentence;
  /* Where its terms can be nonzero when one has a composite δ (kron's δ_⌊i/3⌋p), one support a
   * term, and in words ("⌊i/3⌋ = p and ⌊j/5⌋ = q"); 0 and NULL otherwise. The analysis bounds
   * the evaluator's entries by the same supports. */
  guint      n_supports;
  JacEntrySupport supports[JAC_MAX_SUPPORTS];
  char      *support_sentence;

  /* Σ_o G[o] ∂out[o]/∂variable in matrix notation, e.g. "(G ⊙ (1 − h ⊙ h)) W_hhᵀ". */
  char      *contracted_text;
  char      *contracted_markup;
  char      *contracted_latex;
  /* Its last operation, when it is a matrix product ('@') or an element-wise product ('*') of
   * two factors, else 0: for drawing G Aᵀ as G, Aᵀ and their product. */
  char       factors_op;
  char      *factor_text[2];
  char      *factor_markup[2];
  char      *factor_latex[2];
  /* One level further, when one factor is itself an element-wise product of two, as G ⊙ S in
   * (G ⊙ S) W_hhᵀ: which one (-1: none), and its two parts. */
  int        inner_of;
  char      *inner_text[2];
  char      *inner_markup[2];
  /* The one slope the contracted form names S (JAC_DERIVE_NAME_SLOPES, or one it could not write
   * inline): its APPLY node, the function, and the names of the function's value ("h", or NULL
   * when unnamed) and argument ("Z", or NULL); slope_node -1 when it names none or several. */
  int        slope_node;
  JacFunc    slope_func;
  char      *slope_value_name;
  char      *slope_arg_name;
  /* The derivative as entries, when it is one term without sums: coef × Π factors × its δs
   * (S_ij δ_ip W_hh_qj: S[i,j], W_hh[q,j]); n_entry_factors 0 and coef 0 otherwise. */
  double          entry_coef;
  guint           n_entry_factors;
  JacEntryFactor *entry_factors;
  /* Definitions of the intermediates and slopes it names, "Z = X W + b, S = σ(Z) ⊙ (1 − σ(Z))",
   * or NULL when it names none. */
  char      *where_text;
  char      *where_markup;
  char      *where_latex;
  /* What was differentiated, in matrix notation, its named intermediates first:
   * "Z = h_{\mathrm{prev}} W_{hh} + x W_{xh} + b,\quad h = \tanh(Z)". */
  char      *expression_latex;

  gpointer   priv;
  /* For code generation (jac-derive-numpy.c): the simplified derivative's index terms
   * (GPtrArray of the private JacTerm) and, per symbol they use, its kind and graph node (two
   * ints a symbol). */
  gpointer   terms;
  GArray    *symbol_nodes;
  int        out_index_ids[2];   /* the terms' ids of the output's and the variable's indices */
  int        wrt_index_ids[2];
} JacDerivation;

/* Differentiates @expr's output with respect to its variable @variable. */
JacDerivation           *jac_derive                 (const JacExpr        *expr,
                                                     const char           *variable,
                                                     JacDeriveFlags        flags,
                                                     GError              **error);
/* The same for a graph built by hand; @output_name NULL means "Y". */
JacDerivation           *jac_derive_graph           (JacGraph             *graph,
                                                     int                   variable,
                                                     const char           *output_name,
                                                     JacDeriveFlags        flags);
void                     jac_derivation_free        (JacDerivation        *self);
/* The first step with @title, or NULL. */
const JacDerivationStep *jac_derivation_find_step   (const JacDerivation  *self,
                                                     const char           *title);
/* Evaluates the contracted form on @graph (the one derived, after jac_graph_forward ()) and
 * @upstream (shaped like the output): equal to jac_structured_contract (jac_graph_jacobian (…),
 * upstream), computed from the printed formula. */
JacTensor               *jac_derivation_evaluate    (const JacDerivation  *self,
                                                     JacGraph             *graph,
                                                     const JacTensor      *upstream,
                                                     GError              **error);

/* The two factors of the contracted form (see factors_op) evaluated as jac_derivation_evaluate
 * () evaluates the whole; FALSE (and NULLs) when it has none. */
gboolean                 jac_derivation_evaluate_factors (const JacDerivation *self,
                                                          JacGraph            *graph,
                                                          const JacTensor     *upstream,
                                                          JacTensor          **factors);

/* The two parts of the factor inner_of, evaluated likewise; FALSE (and NULLs) without them. */
gboolean                 jac_derivation_evaluate_inner (const JacDerivation *self,
                                                        JacGraph            *graph,
                                                        const JacTensor     *upstream,
                                                        JacTensor          **parts);
/* The named slope S (slope_node) for the graph's current values; NULL without one. */
JacTensor               *jac_derivation_evaluate_slope (const JacDerivation *self,
                                                        const JacGraph      *graph);
/* The value of an entry factor at output index @out and variable index @wrt. */
double                   jac_entry_factor_value     (const JacEntryFactor *factor,
                                                     const JacGraph       *graph,
                                                     const gsize          *out,
                                                     const gsize          *wrt);

/* jac-derive-numpy.c. A self-contained Python script for @graph (the one derived, its variables
 * holding their values) and @upstream: the variables (written out when they have at most
 * @literal_limit entries in all, else loaded from @paths (name → .npy path) or drawn by NumPy's
 * default_rng (@seed) in the same domains), the forward pass, the contracted form as matrix code,
 * the full Jacobian from its δ terms with np.einsum, and checks of both and of the structural
 * zeros against central finite differences (@torch: against torch.autograd instead); it prints
 * the largest errors and exits 1 past tolerance. NULL with an error for an operation it cannot
 * write. */
char                    *jac_derivation_python      (const JacDerivation  *self,
                                                     const JacGraph       *graph,
                                                     const JacTensor      *upstream,
                                                     const char           *source,
                                                     GHashTable           *paths,
                                                     gsize                 literal_limit,
                                                     guint32               seed,
                                                     gboolean              torch,
                                                     GError              **error);

/* Where a sum of δ patterns can be nonzero, in the words both the derivation's Structure step and
 * the analysis' sparsity sentence use: "p = i" for one pattern, "p = i and q = j" for one with
 * two δs, "q = i or q = j" or "(p = i and q = j) or (q = i and p = j)" for several; "" for a
 * pattern without δ. patterns[k][a] is the variable axis output axis a is tied to, or -1. */
char                    *jac_delta_patterns_condition (guint             n_patterns,
                                                       const int       (*patterns)[2],
                                                       guint             out_rank,
                                                       const char       *out_letters,
                                                       const char       *wrt_letters);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacDerivation, jac_derivation_free)

G_END_DECLS

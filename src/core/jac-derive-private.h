/* jac-derive-private.h: what the derivation's index calculus, matrix forms and steps share. */
#pragma once

#include "jac-derive.h"

G_BEGIN_DECLS

/* ---- text in three notations at once: plain Unicode, Pango markup, LaTeX ---- */

typedef struct
{
  GString *plain;
  GString *markup;
  GString *latex;
} JacNotation;

typedef struct
{
  char *plain;
  char *markup;
  char *latex;
} JacForms;

void  _jac_notation_init    (JacNotation       *self);
void  _jac_notation_clear   (JacNotation       *self);
/* @markup NULL: @plain escaped; @latex NULL: @plain. */
void  _jac_notation_add     (JacNotation       *self,
                             const char        *plain,
                             const char        *markup,
                             const char        *latex);
void  _jac_notation_forms   (JacNotation       *self,
                             const JacForms    *forms);
/* Index letters as a subscript: "_ij", "<sub>ij</sub>", "_{ij}". Nothing for "". */
void  _jac_notation_sub     (JacNotation       *self,
                             const char        *letters);
/* A number: an integer, a short decimal, or a fraction p/q (q ≤ 12) when that is exact. */
void  _jac_notation_number  (JacNotation       *self,
                             double             value);
void  _jac_notation_append  (JacNotation       *self,
                             const JacNotation *other);
void  _jac_notation_steal   (JacNotation       *self,
                             JacForms          *forms);
void  _jac_forms_clear      (JacForms          *forms);

/* ---- LaTeX (jac-derive-latex.c) ---- */

/* A variable's name in math: W_{hh}, h_{\mathrm{prev}}, \mathit{loss}; @indexed: W^{hh}, for
 * indices to follow. */
char *_jac_latex_name      (const char         *name,
                            gboolean            indexed);
/* A plain-Unicode sentence as LaTeX text: the words of @names (NULL-terminated) become the math
 * of @latex_names, a single letter of @letters an italic index, "p = i" one formula, δ, ≠, ·, Σ
 * and typographic quotes their LaTeX forms, and the characters LaTeX treats specially are
 * escaped. Pure ASCII. */
char *_jac_latex_words     (const char         *plain,
                            const char         *letters,
                            const char * const *names,
                            const char * const *latex_names);
/* How wide @math comes out in display style at 10 pt, in pt, generously estimated. */
#define _JAC_LATEX_LINE_WIDTH 320.0
double _jac_latex_width    (const char         *math);
/* @math as display math that fits a default article's text width (345 pt): unchanged in \[ \]
 * when it fits, otherwise broken in an aligned environment at =, then + and −, then between
 * factors, aligned on its first = when the left-hand side is short. */
void  _jac_latex_display   (GString            *out,
                            const char         *math);

/* ---- symbols: the names in the formulas ---- */

typedef enum
{
  JAC_SYMBOL_VARIABLE,
  JAC_SYMBOL_OUTPUT,
  JAC_SYMBOL_INTERMEDIATE,   /* Z, Z₁, …: the argument of a function, a denominator */
  JAC_SYMBOL_SLOPE,          /* S, S₁, …: φ′ of an element-wise function, when named */
  JAC_SYMBOL_UPSTREAM,       /* G */
} JacSymbolKind;

typedef struct
{
  JacSymbolKind kind;
  JacForms      name;          /* with its indices to come: W^hh in markup, so W^hh_kj */
  char         *matrix_markup; /* standing alone, as in matrix notation: W_hh */
  char         *matrix_latex;  /* the same in LaTeX: W_{hh} (name.latex is W^{hh}) */
  int           node;   /* the graph node whose value it names (SLOPE: the APPLY node) */
  guint         rank;
} JacSymbol;

/* ---- index expressions: sums of products of δs and tensor entries ---- */

#define JAC_INDEX_ZERO 0   /* the fixed index 0 of an axis of extent 1 that is broadcast */

/* An index letter is one Latin letter, or one with a subscript number (k₁, in UTF-8) once the
 * summation letters run out; _jac_notation_sub () writes the number as k_{1} in LaTeX. */
#define JAC_INDEX_LETTER_SIZE 16

typedef struct
{
  char letter[JAC_INDEX_LETTER_SIZE];   /* the letter of a free index; the preferred one of a
                                         * summed index, or "" */
} JacIndexInfo;

typedef enum
{
  JAC_FACTOR_DELTA,     /* δ(idx[0], idx[1]) */
  JAC_FACTOR_ENTRY,     /* symbol[idx] ^ power */
  JAC_FACTOR_FUNC,      /* φ(symbol[idx]), φ that of the APPLY node */
  JAC_FACTOR_SOFTMAX,   /* softmax(symbol)[idx], of the SOFTMAX node */
  JAC_FACTOR_SLOPE,     /* φ′ of the APPLY node at idx: named S[idx] or an inline formula */
  JAC_FACTOR_DERIV,     /* ∂symbol[idx]/∂variable[…]: a chain-rule placeholder */
  JAC_FACTOR_DET,       /* det(symbol), of the DET node */
  JAC_FACTOR_LOGDET,    /* log |det(symbol)|, of the LOGDET node */
  JAC_FACTOR_INVERSE,   /* (symbol⁻¹)[idx] */
  /* kron(A, B)[i, j] = A[⌊i/p⌋, ⌊j/q⌋] B[i mod p, j mod q] for B of shape (p, q), node the KRON
   * node: */
  JAC_FACTOR_KRON_OUTER,   /* A[⌊i/p⌋, ⌊j/q⌋], symbol A */
  JAC_FACTOR_KRON_INNER,   /* B[i mod p, j mod q], symbol B */
  JAC_FACTOR_KRON_SELECT,  /* δ(⌊idx[0]/p⌋, idx[1]) (power 1, 2 for axis 0, 1) or
                            * δ(idx[0] mod p, idx[1]) (power 3, 4): what ∂ of those is */
} JacFactorKind;

typedef struct
{
  JacFactorKind kind;
  int           symbol;
  int           node;
  int           power;
  guint         rank;
  int           idx[2];
} JacFactor;

typedef struct
{
  double  coef;
  GArray *sums;      /* int: summed index ids */
  GArray *factors;   /* JacFactor */
} JacTerm;

/* A polynomial is a GPtrArray of JacTerm*, owning them; the empty array is 0. */

typedef struct _JacMExpr JacMExpr;

typedef struct
{
  JacGraph       *graph;
  int             variable;
  int             output;
  JacDeriveFlags  flags;
  GPtrArray      *symbols;        /* JacSymbol* */
  int            *node_symbol;    /* per node: the symbol naming its value, or -1 */
  int            *slope_symbol;   /* per APPLY node: its named slope, or -1 */
  gboolean       *depends;        /* per node: depends on the variable */
  gboolean       *reachable;      /* per node: the output uses it */
  int             output_symbol;
  int             variable_symbol;
  int             upstream_symbol;
  GArray         *indices;        /* JacIndexInfo, by index id */
  guint           out_rank;
  guint           var_rank;
  int             out_idx[2];
  int             var_idx[2];
  char            reserved[8];    /* letters of the output's and the variable's indices */
  JacMExpr      **forward;        /* per reachable node: its value as a matrix expression */
  JacMExpr      **slope;          /* per APPLY node: φ′ as a matrix expression of named values */
} JacDeriveContext;

int        _jac_index_new          (JacDeriveContext       *d,
                                    const char             *letter);

JacTerm   *_jac_term_new           (double                  coef);
void       _jac_term_free          (JacTerm                *term);
void       _jac_term_rename        (JacTerm                *term,
                                    int                     from,
                                    int                     to);
GPtrArray *_jac_poly_new           (void);
GPtrArray *_jac_poly_const         (double                  value);
GPtrArray *_jac_poly_factor        (const JacFactor        *factor);
GPtrArray *_jac_poly_copy          (const GPtrArray        *poly);
void       _jac_poly_add           (GPtrArray              *poly,
                                    const GPtrArray        *other,
                                    double                  sign);
GPtrArray *_jac_poly_mul           (const GPtrArray        *a,
                                    const GPtrArray        *b);
void       _jac_poly_scale         (GPtrArray              *poly,
                                    double                  factor);
void       _jac_poly_sum_over      (GPtrArray              *poly,
                                    int                     index);
void       _jac_poly_rename        (GPtrArray              *poly,
                                    int                     from,
                                    int                     to);
/* The δ rule Σ_k δ_kq f(k) = f(q), until no δ touches a summed index; TRUE if it applied. */
gboolean   _jac_poly_apply_deltas  (GPtrArray              *poly);
/* Equal entries of one term become one power: X_ij Y_ij X_ij is X_ij² Y_ij, Y_ij / Y_ij is 1. */
void       _jac_term_merge_powers  (JacTerm                *term);
/* Merges terms that differ only in their coefficient and drops those that cancel, after merging
 * the powers of each term. */
void       _jac_poly_combine       (GPtrArray              *poly);
/* The output axis tied to each variable axis by a δ common to every term: JacStructured.pair. */
void       _jac_poly_pairs         (const GPtrArray        *poly,
                                    guint                   out_rank,
                                    const int              *out_idx,
                                    guint                   var_rank,
                                    const int              *var_idx,
                                    int                    *pair);
/* The δ patterns of the terms (pattern[a] as in _jac_poly_pairs, per term), normalized as
 * JacStructured normalizes its sum: no two equal, none containing another's δs. Returns how
 * many; at most JAC_DERIVE_MAX_PATTERNS. */
/* The partitions of the output's and the variable's index positions (JacStructured's codes) on
 * which @poly is zero for every value: no term is nonzero there (a δ between two of its indices
 * fails), or, with the indices of each class made one, the terms group into equal products whose
 * coefficients sum to 0. Terms with summed indices are not compared (no partition is claimed
 * where one of them is nonzero). Returns how many are written into @codes (room for
 * JAC_ENTRY_MAX_PARTITIONS). */
guint      _jac_poly_zero_partitions (const GPtrArray      *poly,
                                    guint                   out_rank,
                                    const int              *out_idx,
                                    guint                   var_rank,
                                    const int              *var_idx,
                                    guint                  *codes);
guint      _jac_poly_patterns      (const GPtrArray        *poly,
                                    guint                   out_rank,
                                    const int              *out_idx,
                                    guint                   var_rank,
                                    const int              *var_idx,
                                    int                   (*patterns)[2]);
void       _jac_poly_render        (const JacDeriveContext *d,
                                    const GPtrArray        *poly,
                                    JacNotation            *out);
/* ∂symbol[idx]/∂variable[var_idx], as a chain-rule placeholder would print. */
void       _jac_render_derivative  (const JacDeriveContext *d,
                                    int                     symbol,
                                    const int              *idx,
                                    JacNotation            *out);
/* "tanh(", "σ(", "sqrt(" … and the matching close; LaTeX \tanh(, \sqrt{ … */
void       _jac_render_func_open   (JacFunc                 func,
                                    JacNotation            *out);
/* An exponent as a superscript: ^0.5, ^(−1) in plain text; <sup>, ^{…} in markup and LaTeX. */
void       _jac_render_exponent    (double                  p,
                                    JacNotation            *out);
/* @param: the exponent of JAC_FUNC_POWER, written after its ")". */
void       _jac_render_func_close  (JacFunc                 func,
                                    double                  param,
                                    JacNotation            *out);
void       _jac_render_entry       (const JacDeriveContext *d,
                                    int                     symbol,
                                    const char             *letters,
                                    JacNotation            *out);

/* ---- matrix expressions: forward values, slopes and the contracted form ---- */

typedef enum
{
  JAC_M_NODE,        /* a named value of the graph */
  JAC_M_UPSTREAM,    /* G */
  JAC_M_SLOPE,       /* a named slope S */
  JAC_M_CONST,
  JAC_M_MATMUL,
  JAC_M_ADD,
  JAC_M_SUB,
  JAC_M_HADAMARD,
  JAC_M_DIV,
  JAC_M_NEG,
  JAC_M_TRANSPOSE,
  JAC_M_FUNC,        /* φ applied element-wise */
  JAC_M_STEP,        /* [a > 0] */
  JAC_M_SOFTMAX,
  JAC_M_SUM_ALL,     /* sum(a), shaped like the target (a scalar, or ones) */
  JAC_M_SUM_ROWS,    /* 1ᵀ a: column sums */
  JAC_M_SUM_COLS,    /* a 1: row sums */
  JAC_M_BROADCAST,   /* a scalar spread over a shape: a 1 */
  JAC_M_IDENTITY,    /* I, of the node's shape (a leaf) */
  JAC_M_TRACE,       /* tr(a) */
  JAC_M_DIAG,        /* diag(a): vector ↔ diagonal matrix, by a's rank */
  JAC_M_DET,         /* det(a) */
  JAC_M_LOGDET,      /* log |det a| */
  JAC_M_INV,         /* a⁻¹ */
  JAC_M_SPREAD_ROWS, /* 1 aᵀ: a vector a as every row of a matrix */
  JAC_M_SPREAD_COLS, /* a 1ᵀ: a vector a as every column */
  JAC_M_ONES,        /* 1, of the node's shape (a leaf) */
  JAC_M_KRON,        /* a ⊗ b */
  JAC_M_BLOCK_SUMS,  /* each block of a summed: a of shape (m p, n q) to (m, n), e's shape */
  JAC_M_BLOCK_TOTAL, /* the blocks of a added: (m p, n q) to (p, q), e's shape */
  JAC_M_RESHAPE,     /* a with a unit axis added or removed (value: the axis), as @ promotes
                      * vectors; written as the column-vector convention has it: x as a row
                      * is xᵀ */
} JacMKind;

struct _JacMExpr
{
  JacMKind  kind;
  int       node;
  double    value;
  JacFunc   func;
  guint     rank;
  gsize     shape[2];
  JacMExpr *a;
  JacMExpr *b;
};

/* Constructors take ownership of their operands and simplify (drop × 1, fold transposes). */
JacMExpr  *_jac_m_ref              (JacMExpr               *e);
void       _jac_m_unref            (JacMExpr               *e);
JacMExpr  *_jac_m_node             (const JacGraph         *graph,
                                    int                     node);
JacMExpr  *_jac_m_upstream         (guint                   rank,
                                    const gsize            *shape);
JacMExpr  *_jac_m_slope            (const JacGraph         *graph,
                                    int                     node);
JacMExpr  *_jac_m_const            (double                  value);
JacMExpr  *_jac_m_binary           (JacMKind                kind,
                                    JacMExpr               *a,
                                    JacMExpr               *b);
JacMExpr  *_jac_m_unary            (JacMKind                kind,
                                    JacFunc                 func,
                                    JacMExpr               *a);
/* a summed down to (or spread over) @rank and @shape, NumPy's broadcasting undone (or done). */
JacMExpr  *_jac_m_reshape_sum      (JacMExpr               *a,
                                    guint                   rank,
                                    const gsize            *shape);
/* @letters NULL: matrix notation; else the entry at those indices (element-wise trees only). */
void       _jac_m_render           (const JacDeriveContext *d,
                                    const JacMExpr         *e,
                                    const char             *letters,
                                    JacNotation            *out);
JacTensor *_jac_m_eval             (const JacMExpr         *e,
                                    JacGraph               *graph,
                                    const JacTensor        *upstream);
/* Fills d->forward and d->slope. */
void       _jac_m_build_forward    (JacDeriveContext       *d);
/* The definition of a named node in matrix notation (its own operation over named values). */
JacMExpr  *_jac_m_definition       (const JacDeriveContext *d,
                                    int                     node);
/* Takes @e and merges its like terms: equal factors of a ⊙/⊘ product into a power (written as
 * repeated ⊙), equal products into one with their coefficients summed, cancelled ones dropped
 * (a sum that cancels is 0). @e comes back unchanged when nothing merges. */
JacMExpr  *_jac_m_simplify         (JacMExpr               *e);
/* Symbolic back-propagation of G to the variable, like terms merged:
 * Σ_o G[o] ∂out[o]/∂variable. */
JacMExpr  *_jac_m_backward         (JacDeriveContext       *d);

/* @e written in the expression language, as the parser reads it back with the same shape: the
 * upstream gradient is 1 (a scalar output's), a named value is written out as its definition
 * over the variables, and I and matrices of ones, which the language cannot spell, are named
 * constants added to @constants (name → JacTensor) under names no variable of @graph has.
 * NULL with an error for an operation the language cannot write (kron's back-propagation). */
char      *_jac_m_source           (const JacMExpr         *e,
                                    const JacGraph         *graph,
                                    GHashTable             *constants,
                                    GError                **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacMExpr, _jac_m_unref)

G_END_DECLS

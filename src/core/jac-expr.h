/* jac-expr.h: the expression language: variable shapes, and NumPy-style expressions parsed to graphs.
 *
 * Expressions follow NumPy: `@` is the matrix product, `*` and `/` are element-wise, `+` and `-`
 * broadcast (vectors against the rows of a matrix, scalars against anything), `-X` negates, `X.T`
 * transposes, `X ** 2` squares, and numbers are constants. Functions: identity tanh sigmoid relu
 * exp log sqrt sin cos softplus square, `sum(X)` (all entries, a scalar) and row-wise
 * `softmax(X)`. An optional output name comes first: `h = tanh(h_prev @ W_hh + x @ W_xh + b)`;
 * without one the output is called Y.
 *
 * Programs: assignments separated by `;` or new lines, each using the names assigned before it,
 * e.g. `c = f * c_prev + i * g; h = o * tanh(c)`. The last statement is the output (it alone may
 * leave out its name); jac_expr_set_output () chooses another assigned name. An assigned name is
 * a shared sub-graph, labelled with its name (JacNode.label) so that the derivation names it.
 * A new line ends a statement only outside parentheses and when an assignment (`NAME =`)
 * follows, so that a long expression may still run over several lines; one trailing `;` is
 * allowed. Errors, each at its culprit: an empty statement, a statement before the last without
 * a name, a name assigned twice, a name used before (or in) its own assignment, an assigned name
 * that is also a declared input.
 *
 * Decisions:
 * - `@` takes two matrices. A vector operand is refused with an error that says how to declare it
 *   as a 1×K row or a K×1 column instead: the graph has no reshape, and a silent reshape would
 *   make the variable's shape differ from the file a user loads for it.
 * - Unicode: `ᵀ` is a transpose (`Xᵀ` = `X.T`), `−` (U+2212) is a minus and `⊙` is `*`.
 *   `×` and `·` are refused with a hint, since readers take them for either product.
 * - Identifiers are ASCII: [A-Za-z_][A-Za-z0-9_]*.
 * - Operations on constants alone are folded (`2 * 3`, `tanh(1)`); an expression without any
 *   variable is an error.
 *
 * Errors are JAC_ERROR_INVALID (syntax, unknown names) or JAC_ERROR_SHAPE (shapes), and every
 * parsing function that can fail reports the 0-based *character* position of the culprit.
 */
#pragma once

#include "jac-graph.h"

G_BEGIN_DECLS

/* ---- shapes: size symbols and variable declarations ---- */

typedef struct _JacShapeEnv JacShapeEnv;

JacShapeEnv *jac_shape_env_new            (void);
void         jac_shape_env_free           (JacShapeEnv        *self);
void         jac_shape_env_set_size       (JacShapeEnv        *self,
                                           const char         *symbol,
                                           gsize               value);
gboolean     jac_shape_env_get_size       (const JacShapeEnv  *self,
                                           const char         *symbol,
                                           gsize              *value);
/* Declares (or re-declares) a variable of rank ≤ 2, e.g. from a loaded .npy file. */
void         jac_shape_env_declare        (JacShapeEnv        *self,
                                           const char         *name,
                                           guint               rank,
                                           const gsize        *shape);
gboolean     jac_shape_env_lookup         (const JacShapeEnv  *self,
                                           const char         *name,
                                           guint              *rank,
                                           gsize              *shape);
/* The declared variables, sorted. */
GStrv        jac_shape_env_dup_names      (const JacShapeEnv  *self);
/* DIMS: "H,H", "H×H", "HxH", "H*H", "4,3", "(H, H)", "H", "(H,)" or "()"; symbols are resolved
 * through the size table, and an unbound one is an error. */
gboolean     jac_shape_env_parse_dims     (const JacShapeEnv  *self,
                                           const char         *dims,
                                           guint              *rank,
                                           gsize              *shape,
                                           gsize              *error_pos,
                                           GError            **error);
/* "SYM=NUM", as the CLI's --size takes it. */
gboolean     jac_shape_env_parse_size     (JacShapeEnv        *self,
                                           const char         *text,
                                           GError            **error);
/* "NAME=DIMS", as the CLI's --shape takes it. */
gboolean     jac_shape_env_parse_shape    (JacShapeEnv        *self,
                                           const char         *text,
                                           GError            **error);
/* Entries separated by ',', ';' or newlines: "NAME: DIMS" declares a variable, "SYM = NUM" binds
 * a size, e.g. "N = 2, H = 4; W_hh: H×H, h_prev: N×H, b: (H,)". Entries are applied in order, so
 * sizes must come before the declarations that use them. A comma inside unparenthesised DIMS
 * ("W: H, H") belongs to the dims unless what follows it is another entry ("W: H, b: H"). */
gboolean     jac_shape_env_parse_declarations (JacShapeEnv   *self,
                                           const char         *text,
                                           gsize              *error_pos,
                                           GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacShapeEnv, jac_shape_env_free)

/* ---- expressions ---- */

/* Characters [start, end) of the source a node was parsed from; op is the operator's position
 * (that of the function name for calls, start for leaves). A variable used several times keeps
 * the span of its first use. */
typedef struct
{
  gsize start;
  gsize end;
  gsize op;
} JacSpan;

/* One statement `NAME = …` of a program. */
typedef struct
{
  char  *name;
  int    node;       /* its value in the graph, or -1 for a constant (a = 2) */
  gsize  position;   /* character offset of the name in the source */
} JacAssignment;

typedef struct _JacExpr
{
  char     *source;
  char     *output_name;    /* the name before '=', or "Y" */
  gboolean  output_named;   /* the source gave one */
  GArray   *assignments;    /* JacAssignment, in program order; only those the output uses
                             * (and the output's own) are kept */
  JacGraph *graph;          /* every variable node named; values zero until set */
  GArray   *spans;          /* JacSpan, one per node of graph */
  char     *inferred;       /* "X: (2, 3), W: (3, 4)": the shapes inference gave the variables
                             * declared without sizes or not at all, or NULL */
} JacExpr;

JacExpr       *jac_expr_parse          (const char         *source,
                                        const JacShapeEnv  *env,
                                        gsize              *error_pos,
                                        GError            **error);
void           jac_expr_free           (JacExpr            *self);
const JacSpan *jac_expr_span           (const JacExpr      *self,
                                        int                 node);
/* Makes the assigned @name the output and drops what it does not use (statements after it,
 * variables only they use). JAC_ERROR_INVALID naming the assigned names when @name is not one of
 * them, or when it is a constant. */
gboolean       jac_expr_set_output     (JacExpr            *self,
                                        const char         *name,
                                        GError            **error);
/* The assigned names, in program order, joined by ", ": "i, f, g, o, c, h". */
char          *jac_expr_dup_assigned_names (const JacExpr  *self);
/* The first variable in the order the expression names them: the one shown first. */
const char    *jac_expr_first_variable (const JacExpr      *self);
/* The source text a node was parsed from. */
char          *jac_expr_dup_node_text  (const JacExpr      *self,
                                        int                 node);
/* The line of @source holding character @position, indented by two spaces, and a caret under
 * that character: "  tanhh(X)\n  ^". A line longer than 72 characters is cut to 72 around
 * the caret, each cut end shown as “…”. */
char          *jac_expr_format_caret   (const char         *source,
                                        gsize               position);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacExpr, jac_expr_free)

G_END_DECLS

/* jac-graph.h: expression graphs of matrices, their forward pass, and their derivatives. */
#pragma once

#include "jac-structured.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_OP_VARIABLE,
  JAC_OP_CONSTANT,
  JAC_OP_MATMUL,
  JAC_OP_ADD,
  JAC_OP_SUB,
  JAC_OP_MUL,
  JAC_OP_DIV,
  JAC_OP_NEGATE,
  JAC_OP_TRANSPOSE,
  JAC_OP_APPLY,     /* an element-wise function */
  JAC_OP_SUM,       /* sum of all entries: a scalar */
  JAC_OP_SOFTMAX,   /* row-wise softmax */
  JAC_OP_SUM_AXIS,  /* sum along node->axis, which is removed (NumPy's sum (X, axis)) */
  JAC_OP_TRACE,     /* tr(X) of a square matrix */
  JAC_OP_DIAG,      /* diag(v): a vector to a diagonal matrix; diag(X): a square matrix's diagonal */
  JAC_OP_KRON,      /* kron(A, B), the Kronecker product (two matrices or two vectors) */
  JAC_OP_DET,       /* det(X) */
  JAC_OP_LOGDET,    /* log |det X| */
  JAC_OP_INV,       /* X⁻¹ */
  JAC_OP_RESHAPE,   /* the same entries with a unit axis added or removed (node->axis): how @
                     * promotes a vector to a row or a column and drops the added axis again */
} JacOp;

typedef enum
{
  JAC_FUNC_IDENTITY,
  JAC_FUNC_TANH,
  JAC_FUNC_SIGMOID,
  JAC_FUNC_RELU,
  JAC_FUNC_EXP,
  JAC_FUNC_LOG,
  JAC_FUNC_SQRT,
  JAC_FUNC_SIN,
  JAC_FUNC_COS,
  JAC_FUNC_SOFTPLUS,
  JAC_FUNC_SQUARE,
  JAC_FUNC_ABS,
  JAC_FUNC_TAN,
  JAC_FUNC_ARCSIN,
  JAC_FUNC_ARCCOS,
  JAC_FUNC_ARCTAN,
  JAC_FUNC_SINH,
  JAC_FUNC_COSH,
  JAC_FUNC_SIGN,    /* abs's slope, as NumPy's sign: −1, 0 or 1 */
  JAC_FUNC_POWER,   /* z ** p, the exponent p in the node's constant */
  JAC_N_FUNCS
} JacFunc;

typedef struct _JacNode
{
  JacOp      op;
  JacFunc    func;       /* JAC_OP_APPLY */
  int        lhs;        /* operand node indices, -1 when absent */
  int        rhs;
  char      *name;       /* JAC_OP_VARIABLE */
  char      *label;      /* the name a program assigned this value (c in c = f * c_prev + i * g),
                          * or NULL: the derivation names the value by it */
  double     constant;   /* JAC_OP_CONSTANT; the exponent of JAC_FUNC_POWER */
  guint      axis;       /* JAC_OP_SUM_AXIS: the axis summed; JAC_OP_RESHAPE: the unit axis
                          * added (rank 1 → 2) or removed (2 → 1; 2 → 0 removes both) */
  guint      rank;       /* 0, 1 or 2 */
  gsize      shape[2];
  JacTensor *value;      /* variables: set by the caller; others: by jac_graph_forward */
} JacNode;

typedef struct _JacGraph
{
  GArray *nodes;   /* JacNode, operands always before their users */
  int     output;
} JacGraph;

const char *jac_func_name          (JacFunc          func);
gboolean    jac_func_from_name     (const char      *name,
                                    JacFunc         *func);
double      jac_func_apply         (JacFunc          func,
                                    double           z);
double      jac_func_slope         (JacFunc          func,
                                    double           z);
/* The same for a function with a parameter: the exponent p of JAC_FUNC_POWER (the others
 * ignore it). jac_func_apply () and jac_func_slope () take p = 2 for it. */
double      jac_func_apply_param   (JacFunc          func,
                                    double           param,
                                    double           z);
double      jac_func_slope_param   (JacFunc          func,
                                    double           param,
                                    double           z);
/* φ and φ′ of an element-wise node (JAC_OP_APPLY), with its parameter. */
double      jac_node_apply         (const JacNode   *node,
                                    double           z);
double      jac_node_slope         (const JacNode   *node,
                                    double           z);

/* NumPy broadcasting of two shapes of rank ≤ 2; FALSE when they do not broadcast. */
gboolean    jac_broadcast_shapes   (guint            rank_a,
                                    const gsize     *shape_a,
                                    guint            rank_b,
                                    const gsize     *shape_b,
                                    guint           *rank,
                                    gsize           *shape);
/* a + b, a − b, a · b or a / b for the element-wise binary ops. */
double      jac_op_apply           (JacOp            op,
                                    double           a,
                                    double           b);

JacGraph   *jac_graph_new          (void);
void        jac_graph_free         (JacGraph        *self);
JacNode    *jac_graph_node         (const JacGraph  *self,
                                    int              index);
int         jac_graph_find_variable (const JacGraph *self,
                                    const char      *name);
/* Drops every node @output does not depend on and makes it the output; the nodes kept keep
 * their order. Returns the new index of every old node (-1: dropped), to g_free. */
int        *jac_graph_keep_ancestors (JacGraph      *self,
                                    int              output);
int         jac_graph_add_variable (JacGraph        *self,
                                    const char      *name,
                                    guint            rank,
                                    const gsize     *shape);
int         jac_graph_add_constant (JacGraph        *self,
                                    double           value);
/* Checks shapes (NumPy broadcasting for + - * /, equal ranks for kron); an error names both
 * shapes. */
int         jac_graph_add_binary   (JacGraph        *self,
                                    JacOp            op,
                                    int              lhs,
                                    int              rhs,
                                    GError         **error);
int         jac_graph_add_unary    (JacGraph        *self,
                                    JacOp            op,
                                    JacFunc          func,
                                    int              operand,
                                    GError         **error);
/* sum (@operand, @axis): @axis (0 or 1, < the operand's rank) is summed and removed. */
int         jac_graph_add_sum_axis (JacGraph        *self,
                                    int              operand,
                                    guint            axis,
                                    GError         **error);
/* @operand with a unit axis added at @axis (a vector to a 1×n row for axis 0, an n×1 column for
 * 1), or removed (a row or column to a vector; (1, 1) to a scalar removes both): the same
 * entries. */
int         jac_graph_add_reshape  (JacGraph        *self,
                                    int              operand,
                                    guint            rank,
                                    guint            axis,
                                    GError         **error);
/* @operand ** @p element-wise, p a real constant. */
int         jac_graph_add_power    (JacGraph        *self,
                                    int              operand,
                                    double           p,
                                    GError         **error);
/* Takes a copy of @value, whose shape must be the variable's. */
gboolean    jac_graph_set_value    (JacGraph        *self,
                                    int              variable,
                                    const JacTensor *value,
                                    GError         **error);
void        jac_graph_forward      (JacGraph        *self);
/* X⁻¹ and det X of a square matrix by LU with partial pivoting (@inverse nullable); a singular
 * matrix gives det 0 and an inverse of infinities. */
void        jac_matrix_inverse     (const JacTensor *x,
                                    JacTensor       *inverse,
                                    double          *det);
/* The structured Jacobian of the output with respect to @variable, from the graph's own rules,
 * term by term (see jac-structured.h), at the values of the last jac_graph_forward () (tanh's
 * and sigmoid's slopes are read off their nodes' values: run it after jac_graph_set_value ());
 * the empty sum when the output does not depend on
 * @variable or only through exact zeros (X * 0); NULL with JAC_ERROR_TOO_LARGE when an
 * intermediate is past the memory budget. */
/* jac_graph_jacobian_try (), and when @upstream is given and the output's Jacobian is written by
 * one product whose pass can contract it (the RNN step's ∂h/∂h_prev), *@vjp = Σ_o G[o] J[o, w]
 * and *@max_abs = the largest |entry| from that pass; else *@vjp NULL and *@max_abs −1. */
JacStructured *jac_graph_jacobian_contract_try (JacGraph         *self,
                                                int               variable,
                                                const JacTensor  *upstream,
                                                JacTensor       **vjp,
                                                double           *max_abs,
                                                GError          **error);
JacStructured *jac_graph_jacobian_try (JacGraph     *self,
                                    int              variable,
                                    GError         **error);
/* The same for sizes known to fit: a refusal is a programming error and aborts. */
JacStructured *jac_graph_jacobian  (JacGraph        *self,
                                    int              variable);
/* Back-propagation: Σ_o G[o] ∂out[o]/∂variable by the matrix rules (G Bᵀ, Aᵀ G, …), at the
 * values of the last jac_graph_forward (). */
JacTensor  *jac_graph_vjp          (JacGraph        *self,
                                    int              variable,
                                    const JacTensor *upstream);
/* Central differences of the forward pass: the dense Jacobian, shape out + variable. */
JacTensor  *jac_graph_finite_difference (JacGraph   *self,
                                    int              variable,
                                    double           step);
/* The same with the variable's entries perturbed together where they reach disjoint outputs
 * by @zero_mask (out + variable, C order, 1 where the entry is 0 for every value; the
 * structured Jacobian's): entries masked 0 are left 0, and two entries share a pair of forward
 * passes when no output can depend on both (Curtis, Powell and Reid's column grouping). For a
 * batch-diagonal Jacobian that is N entries a pair. A zero the mask claims falsely shows in the
 * result: that output's change lands on another entry of its group (one the mask lets reach it,
 * else the group's first), which the Jacobian does not have — unless the false entries of one
 * output cancel within a group (an output of x_a − x_b, both claimed zero and grouped). */
JacTensor  *jac_graph_finite_difference_grouped (JacGraph     *self,
                                                 int           variable,
                                                 double        step,
                                                 const guint8 *zero_mask);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacGraph, jac_graph_free)

G_END_DECLS

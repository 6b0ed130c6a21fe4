/* jac-graph.c: expression graphs: shapes, forward pass, structured Jacobians, back-propagation. */
#define G_LOG_DOMAIN "jac-graph"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-error.h"
#include "jac-graph.h"
#include "jac-structured-private.h"

static const char * const func_names[JAC_N_FUNCS] = {
  [JAC_FUNC_IDENTITY] = "identity",
  [JAC_FUNC_TANH] = "tanh",
  [JAC_FUNC_SIGMOID] = "sigmoid",
  [JAC_FUNC_RELU] = "relu",
  [JAC_FUNC_EXP] = "exp",
  [JAC_FUNC_LOG] = "log",
  [JAC_FUNC_SQRT] = "sqrt",
  [JAC_FUNC_SIN] = "sin",
  [JAC_FUNC_COS] = "cos",
  [JAC_FUNC_SOFTPLUS] = "softplus",
  [JAC_FUNC_SQUARE] = "square",
  [JAC_FUNC_ABS] = "abs",
  [JAC_FUNC_TAN] = "tan",
  [JAC_FUNC_ARCSIN] = "arcsin",
  [JAC_FUNC_ARCCOS] = "arccos",
  [JAC_FUNC_ARCTAN] = "arctan",
  [JAC_FUNC_SINH] = "sinh",
  [JAC_FUNC_COSH] = "cosh",
  [JAC_FUNC_SIGN] = "sign",
  [JAC_FUNC_POWER] = "power",
};

const char *
jac_func_name (JacFunc func)
{
  g_return_val_if_fail (func < JAC_N_FUNCS, "?");
  return func_names[func];
}

gboolean
jac_func_from_name (const char *name,
                    JacFunc    *func)
{
  g_return_val_if_fail (func != NULL, FALSE);

  for (guint f = 0; f < JAC_N_FUNCS; f++)
    if (g_strcmp0 (name, func_names[f]) == 0)
      {
        *func = f;
        return TRUE;
      }
  return FALSE;
}

static double
sigmoid (double z)
{
  return z >= 0 ? 1.0 / (1.0 + exp (-z)) : exp (z) / (1.0 + exp (z));
}

double
jac_func_apply (JacFunc func,
                double  z)
{
  return jac_func_apply_param (func, 2.0, z);
}

double
jac_func_slope (JacFunc func,
                double  z)
{
  return jac_func_slope_param (func, 2.0, z);
}

double
jac_node_apply (const JacNode *node,
                double         z)
{
  g_return_val_if_fail (node != NULL, NAN);

  return jac_func_apply_param (node->func, node->constant, z);
}

double
jac_node_slope (const JacNode *node,
                double         z)
{
  g_return_val_if_fail (node != NULL, NAN);

  return jac_func_slope_param (node->func, node->constant, z);
}

double
jac_func_apply_param (JacFunc func,
                      double  param,
                      double  z)
{
  switch (func)
    {
    case JAC_FUNC_IDENTITY: return z;
    case JAC_FUNC_TANH: return tanh (z);
    case JAC_FUNC_SIGMOID: return sigmoid (z);
    case JAC_FUNC_RELU: return z > 0 ? z : 0.0;
    case JAC_FUNC_EXP: return exp (z);
    case JAC_FUNC_LOG: return log (z);
    case JAC_FUNC_SQRT: return sqrt (z);
    case JAC_FUNC_SIN: return sin (z);
    case JAC_FUNC_COS: return cos (z);
    case JAC_FUNC_SOFTPLUS: return z > 30 ? z : log1p (exp (z));
    case JAC_FUNC_SQUARE: return z * z;
    case JAC_FUNC_ABS: return fabs (z);
    case JAC_FUNC_TAN: return tan (z);
    case JAC_FUNC_ARCSIN: return asin (z);
    case JAC_FUNC_ARCCOS: return acos (z);
    case JAC_FUNC_ARCTAN: return atan (z);
    case JAC_FUNC_SINH: return sinh (z);
    case JAC_FUNC_COSH: return cosh (z);
    case JAC_FUNC_SIGN: return z > 0 ? 1.0 : z < 0 ? -1.0 : 0.0;
    case JAC_FUNC_POWER: return param == 2.0 ? z * z : pow (z, param);
    case JAC_N_FUNCS:
    default: g_assert_not_reached ();
    }
}

/* φ'(z); relu's and abs's slopes at their kinks are taken as 0, as PyTorch does. */
double
jac_func_slope_param (JacFunc func,
                      double  param,
                      double  z)
{
  switch (func)
    {
    case JAC_FUNC_IDENTITY: return 1.0;
    case JAC_FUNC_TANH: { double t = tanh (z); return 1.0 - t * t; }
    case JAC_FUNC_SIGMOID: { double s = sigmoid (z); return s * (1.0 - s); }
    case JAC_FUNC_RELU: return z > 0 ? 1.0 : 0.0;
    case JAC_FUNC_EXP: return exp (z);
    case JAC_FUNC_LOG: return 1.0 / z;
    case JAC_FUNC_SQRT: return 0.5 / sqrt (z);
    case JAC_FUNC_SIN: return cos (z);
    case JAC_FUNC_COS: return -sin (z);
    case JAC_FUNC_SOFTPLUS: return sigmoid (z);
    case JAC_FUNC_SQUARE: return 2.0 * z;
    case JAC_FUNC_ABS: return z > 0 ? 1.0 : z < 0 ? -1.0 : 0.0;
    case JAC_FUNC_TAN: { double t = tan (z); return 1.0 + t * t; }
    case JAC_FUNC_ARCSIN: return 1.0 / sqrt (1.0 - z * z);
    case JAC_FUNC_ARCCOS: return -1.0 / sqrt (1.0 - z * z);
    case JAC_FUNC_ARCTAN: return 1.0 / (1.0 + z * z);
    case JAC_FUNC_SINH: return cosh (z);
    case JAC_FUNC_COSH: return sinh (z);
    case JAC_FUNC_SIGN: return 0.0;
    /* p z^(p−1), written so that p = 0 is 0 everywhere and p = 1 is 1 at z = 0 too. */
    case JAC_FUNC_POWER: return param == 0.0 ? 0.0 : param == 1.0 ? 1.0 :
                                param == 2.0 ? 2.0 * z : param * pow (z, param - 1.0);
    case JAC_N_FUNCS:
    default: g_assert_not_reached ();
    }
}

/* ---- building ---- */

static void
node_clear (gpointer data)
{
  JacNode *node = data;

  g_clear_pointer (&node->name, g_free);
  g_clear_pointer (&node->label, g_free);
  g_clear_pointer (&node->value, jac_tensor_free);
}

JacGraph *
jac_graph_new (void)
{
  JacGraph *self = g_new0 (JacGraph, 1);

  self->nodes = g_array_new (FALSE, TRUE, sizeof (JacNode));
  g_array_set_clear_func (self->nodes, node_clear);
  self->output = -1;
  return self;
}

void
jac_graph_free (JacGraph *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->nodes);
  g_free (self);
}

JacNode *
jac_graph_node (const JacGraph *self,
                int             index)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_assert (index >= 0 && (guint) index < self->nodes->len);
  return &g_array_index (self->nodes, JacNode, index);
}

int
jac_graph_find_variable (const JacGraph *self,
                         const char     *name)
{
  g_return_val_if_fail (self != NULL, -1);

  for (guint n = 0; n < self->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (self, n);

      if (node->op == JAC_OP_VARIABLE && g_strcmp0 (node->name, name) == 0)
        return n;
    }
  return -1;
}

int *
jac_graph_keep_ancestors (JacGraph *self,
                          int       output)
{
  guint n_nodes, kept = 0;
  g_autofree gboolean *keep = NULL;
  int *renumber;

  g_return_val_if_fail (self != NULL && output >= 0 && (guint) output < self->nodes->len, NULL);
  n_nodes = self->nodes->len;
  keep = g_new0 (gboolean, n_nodes);
  renumber = g_new (int, n_nodes);
  keep[output] = TRUE;
  for (guint n = n_nodes; n-- > 0;)
    {
      const JacNode *node = jac_graph_node (self, n);

      if (keep[n] && node->lhs >= 0)
        keep[node->lhs] = TRUE;
      if (keep[n] && node->rhs >= 0)
        keep[node->rhs] = TRUE;
    }
  /* In place: a node moves down over one already dropped (cleared) or moved (zeroed). */
  for (guint n = 0; n < n_nodes; n++)
    {
      JacNode *node = jac_graph_node (self, n);

      renumber[n] = keep[n] ? (int) kept : -1;
      if (!keep[n])
        {
          node_clear (node);
          continue;
        }
      node->lhs = node->lhs >= 0 ? renumber[node->lhs] : -1;
      node->rhs = node->rhs >= 0 ? renumber[node->rhs] : -1;
      if (kept != n)
        {
          *jac_graph_node (self, kept) = *node;
          *node = (JacNode) { 0 };
        }
      kept++;
    }
  g_array_set_size (self->nodes, kept);
  self->output = renumber[output];
  return renumber;
}

static int
append (JacGraph *self,
        JacNode  *node)
{
  g_array_append_vals (self->nodes, node, 1);
  self->output = self->nodes->len - 1;
  return self->output;
}

int
jac_graph_add_variable (JacGraph    *self,
                        const char  *name,
                        guint        rank,
                        const gsize *shape)
{
  JacNode node = { .op = JAC_OP_VARIABLE, .lhs = -1, .rhs = -1, .name = g_strdup (name),
                   .rank = rank };

  g_return_val_if_fail (rank <= 2, -1);
  for (guint a = 0; a < rank; a++)
    node.shape[a] = shape[a];
  node.value = jac_tensor_new (rank, shape, NULL);
  return append (self, &node);
}

int
jac_graph_add_constant (JacGraph *self,
                        double    value)
{
  g_return_val_if_fail (self != NULL, -1);

  JacNode node = { .op = JAC_OP_CONSTANT, .lhs = -1, .rhs = -1, .constant = value };

  node.value = jac_tensor_new_scalar (value);
  return append (self, &node);
}

static const char *
op_symbol (JacOp op)
{
  switch (op)
    {
    case JAC_OP_MATMUL: return "@";
    case JAC_OP_ADD: return "+";
    case JAC_OP_SUB: return "-";
    case JAC_OP_MUL: return "*";
    case JAC_OP_DIV: return "/";
    default: return "?";
    }
}

gboolean
jac_broadcast_shapes (guint        rank_a,
                      const gsize *shape_a,
                      guint        rank_b,
                      const gsize *shape_b,
                      guint       *rank,
                      gsize       *shape)
{
  g_return_val_if_fail (rank_a == 0 || shape_a != NULL, FALSE);
  g_return_val_if_fail (rank_b == 0 || shape_b != NULL, FALSE);
  g_return_val_if_fail (rank != NULL, FALSE);
  g_return_val_if_fail (shape != NULL, FALSE);

  *rank = MAX (rank_a, rank_b);
  for (guint x = 0; x < *rank; x++)
    {
      int ia = (int) x - (int) (*rank - rank_a);
      int ib = (int) x - (int) (*rank - rank_b);
      gsize da = ia >= 0 ? shape_a[ia] : 1;
      gsize db = ib >= 0 ? shape_b[ib] : 1;

      if (da != db && da != 1 && db != 1)
        return FALSE;
      shape[x] = da == 1 ? db : da;
    }
  return TRUE;
}

static void
shape_mismatch (GError       **error,
                JacOp          op,
                const JacNode *a,
                const JacNode *b,
                const char    *why)
{
  g_autofree char *sa = jac_shape_string (a->rank, a->shape);
  g_autofree char *sb = jac_shape_string (b->rank, b->shape);

  g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "shape mismatch: %s %s %s %s", sa,
               op_symbol (op), sb, why);
}

int
jac_graph_add_binary (JacGraph  *self,
                      JacOp      op,
                      int        lhs,
                      int        rhs,
                      GError   **error)
{
  g_return_val_if_fail (self != NULL, -1);

  JacNode node = { .op = op, .lhs = lhs, .rhs = rhs };
  const JacNode *a = jac_graph_node (self, lhs);
  const JacNode *b = jac_graph_node (self, rhs);

  if (op == JAC_OP_MATMUL)
    {
      if (a->rank != 2 || b->rank != 2)
        {
          shape_mismatch (error, op, a, b, "(@ takes two matrices)");
          return -1;
        }
      if (a->shape[1] != b->shape[0])
        {
          shape_mismatch (error, op, a, b, "(inner sizes differ)");
          return -1;
        }
      node.rank = 2;
      node.shape[0] = a->shape[0];
      node.shape[1] = b->shape[1];
      if (!jac_shape_fits_budget (node.rank, node.shape, "the product", error))
        return -1;
      return append (self, &node);
    }

  if (op == JAC_OP_KRON)
    {
      if (a->rank != b->rank || a->rank == 0)
        {
          g_autofree char *sa = jac_shape_string (a->rank, a->shape);
          g_autofree char *sb = jac_shape_string (b->rank, b->shape);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "kron takes two matrices or two vectors, not %s and %s%s", sa, sb,
                       a->rank == 0 || b->rank == 0 ? " (use * to scale)" : "");
          return -1;
        }
      node.rank = a->rank;
      for (guint x = 0; x < a->rank; x++)
        {
          if (a->shape[x] > G_MAXSIZE / MAX (b->shape[x], 1))
            {
              g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                           "the Kronecker product would need more than fits in memory");
              return -1;
            }
          node.shape[x] = a->shape[x] * b->shape[x];
        }
      if (!jac_shape_fits_budget (node.rank, node.shape, "the Kronecker product", error))
        return -1;
      return append (self, &node);
    }

  g_return_val_if_fail (op == JAC_OP_ADD || op == JAC_OP_SUB || op == JAC_OP_MUL ||
                        op == JAC_OP_DIV, -1);
  if (!jac_broadcast_shapes (a->rank, a->shape, b->rank, b->shape, &node.rank, node.shape))
    {
      shape_mismatch (error, op, a, b, "(they do not broadcast)");
      return -1;
    }
  if (!jac_shape_fits_budget (node.rank, node.shape, "the result", error))
    return -1;
  return append (self, &node);
}

int
jac_graph_add_unary (JacGraph  *self,
                     JacOp      op,
                     JacFunc    func,
                     int        operand,
                     GError   **error)
{
  g_return_val_if_fail (self != NULL, -1);

  JacNode node = { .op = op, .func = func, .lhs = operand, .rhs = -1 };
  const JacNode *a = jac_graph_node (self, operand);

  node.rank = a->rank;
  node.shape[0] = a->shape[0];
  node.shape[1] = a->shape[1];
  switch (op)
    {
    case JAC_OP_NEGATE:
      break;
    case JAC_OP_APPLY:
      if (func == JAC_FUNC_POWER)
        node.constant = 2.0;
      break;
    case JAC_OP_TRANSPOSE:
      if (a->rank == 2)
        {
          node.shape[0] = a->shape[1];
          node.shape[1] = a->shape[0];
        }
      break;
    case JAC_OP_SUM:
      node.rank = 0;
      break;
    case JAC_OP_SOFTMAX:
      if (a->rank != 2)
        {
          g_autofree char *s = jac_shape_string (a->rank, a->shape);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "softmax works on the rows of a matrix, not on shape %s", s);
          return -1;
        }
      break;
    case JAC_OP_TRACE:
    case JAC_OP_DET:
    case JAC_OP_LOGDET:
    case JAC_OP_INV:
      if (a->rank != 2 || a->shape[0] != a->shape[1])
        {
          g_autofree char *s = jac_shape_string (a->rank, a->shape);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s takes a square matrix, not shape %s",
                       op == JAC_OP_TRACE ? "tr" : op == JAC_OP_DET ? "det" :
                       op == JAC_OP_LOGDET ? "logdet" : "inv", s);
          return -1;
        }
      if (op != JAC_OP_INV)
        node.rank = 0;
      break;
    case JAC_OP_DIAG:
      if (a->rank == 1)
        {
          node.rank = 2;
          node.shape[1] = a->shape[0];
          if (!jac_shape_fits_budget (node.rank, node.shape, "the diagonal matrix", error))
            return -1;
        }
      else if (a->rank == 2 && a->shape[0] == a->shape[1])
        node.rank = 1;
      else
        {
          g_autofree char *s = jac_shape_string (a->rank, a->shape);

          g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                       "diag takes a vector (to a diagonal matrix) or a square matrix (to its "
                       "diagonal), not shape %s", s);
          return -1;
        }
      break;
    default:
      g_return_val_if_reached (-1);
    }
  return append (self, &node);
}

int
jac_graph_add_reshape (JacGraph  *self,
                       int        operand,
                       guint      rank,
                       guint      axis,
                       GError   **error)
{
  g_return_val_if_fail (self != NULL, -1);

  JacNode node = { .op = JAC_OP_RESHAPE, .lhs = operand, .rhs = -1, .axis = axis, .rank = rank };
  const JacNode *a = jac_graph_node (self, operand);

  if (rank == 2 && a->rank == 1 && axis < 2)
    {
      node.shape[axis] = 1;
      node.shape[1 - axis] = a->shape[0];
    }
  else if (rank == 1 && a->rank == 2 && axis < 2 && a->shape[axis] == 1)
    node.shape[0] = a->shape[1 - axis];
  else if (!(rank == 0 && a->rank == 2 && a->shape[0] == 1 && a->shape[1] == 1) &&
           !(rank == 2 && a->rank == 0))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "cannot reshape rank %u to rank %u",
                   a->rank, rank);
      return -1;
    }
  else if (rank == 2)
    node.shape[0] = node.shape[1] = 1;
  return append (self, &node);
}

int
jac_graph_add_sum_axis (JacGraph  *self,
                        int        operand,
                        guint      axis,
                        GError   **error)
{
  g_return_val_if_fail (self != NULL, -1);

  JacNode node = { .op = JAC_OP_SUM_AXIS, .lhs = operand, .rhs = -1, .axis = axis };
  const JacNode *a = jac_graph_node (self, operand);

  if (axis >= a->rank)
    {
      g_autofree char *s = jac_shape_string (a->rank, a->shape);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "axis %u is out of range for shape %s (it has %u ax%s)", axis, s, a->rank,
                   a->rank == 1 ? "is" : "es");
      return -1;
    }
  node.rank = a->rank - 1;
  if (node.rank == 1)
    node.shape[0] = a->shape[1 - axis];
  return append (self, &node);
}

int
jac_graph_add_power (JacGraph  *self,
                     int        operand,
                     double     p,
                     GError   **error)
{
  g_return_val_if_fail (self != NULL, -1);

  int node = jac_graph_add_unary (self, JAC_OP_APPLY, JAC_FUNC_POWER, operand, error);

  if (node >= 0)
    jac_graph_node (self, node)->constant = p;
  return node;
}

gboolean
jac_graph_set_value (JacGraph         *self,
                     int               variable,
                     const JacTensor  *value,
                     GError          **error)
{
  JacNode *node = jac_graph_node (self, variable);

  g_return_val_if_fail (node->op == JAC_OP_VARIABLE, FALSE);
  if (value->rank != node->rank ||
      (node->rank > 0 && value->shape[0] != node->shape[0]) ||
      (node->rank > 1 && value->shape[1] != node->shape[1]))
    {
      g_autofree char *want = jac_shape_string (node->rank, node->shape);
      g_autofree char *have = jac_tensor_shape_string (value);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s has shape %s, expected %s",
                   node->name, have, want);
      return FALSE;
    }
  jac_tensor_free (node->value);
  node->value = jac_tensor_copy (value);
  return TRUE;
}

/* ---- forward pass ---- */

/* The index of an operand of @rank and @shape that output entry @n (of @out_shape) reads. */
static gsize
broadcast_offset (guint        rank,
                  const gsize *shape,
                  guint        out_rank,
                  const gsize *out_shape,
                  gsize        n)
{
  gsize out_index[2] = { 0, 0 };
  gsize offset = 0;

  if (out_rank == 2)
    {
      out_index[0] = n / out_shape[1];
      out_index[1] = n % out_shape[1];
    }
  else if (out_rank == 1)
    out_index[0] = n;

  for (guint a = 0; a < rank; a++)
    {
      gsize i = shape[a] == 1 ? 0 : out_index[a + out_rank - rank];

      offset = offset * shape[a] + i;
    }
  return offset;
}

/* @value broadcast to a tensor of @node's shape. */
static JacTensor *
broadcast_value (const JacTensor *value,
                 const JacNode   *node)
{
  JacTensor *result = jac_tensor_new (node->rank, node->shape, NULL);

  for (gsize n = 0; n < result->size; n++)
    result->data[n] = value->data[broadcast_offset (value->rank, value->shape, node->rank,
                                                    node->shape, n)];
  return result;
}

double
jac_op_apply (JacOp  op,
              double a,
              double b)
{
  switch (op)
    {
    case JAC_OP_ADD: return a + b;
    case JAC_OP_SUB: return a - b;
    case JAC_OP_MUL: return a * b;
    case JAC_OP_DIV: return a / b;
    default: g_return_val_if_reached (NAN);
    }
}

static void
softmax_rows (const JacTensor *in,
              JacTensor       *out)
{
  gsize rows = in->shape[0], cols = in->shape[1];

  for (gsize i = 0; i < rows; i++)
    {
      double top = -INFINITY, total = 0.0;

      for (gsize j = 0; j < cols; j++)
        top = MAX (top, JAC_AT2 (in, i, j));
      for (gsize j = 0; j < cols; j++)
        total += JAC_AT2 (out, i, j) = exp (JAC_AT2 (in, i, j) - top);
      for (gsize j = 0; j < cols; j++)
        JAC_AT2 (out, i, j) /= total;
    }
}

void
jac_matrix_inverse (const JacTensor *x,
                    JacTensor       *inverse,
                    double          *det)
{
  gsize n;
  g_autoptr(JacTensor) lu = NULL;
  g_autofree gsize *perm = NULL;
  double d = 1.0;

  g_return_if_fail (x != NULL);
  g_return_if_fail (inverse != NULL || det != NULL);

  n = x->shape[0];
  lu = jac_tensor_copy (x);
  perm = g_new (gsize, MAX (n, 1));
  g_assert (x->rank == 2 && x->shape[1] == n);
  for (gsize i = 0; i < n; i++)
    perm[i] = i;
  for (gsize k = 0; k < n; k++)
    {
      gsize pivot = k;

      for (gsize i = k + 1; i < n; i++)
        if (fabs (JAC_AT2 (lu, i, k)) > fabs (JAC_AT2 (lu, pivot, k)))
          pivot = i;
      if (pivot != k)
        {
          gsize t = perm[k];

          perm[k] = perm[pivot];
          perm[pivot] = t;
          for (gsize j = 0; j < n; j++)
            {
              double v = JAC_AT2 (lu, k, j);

              JAC_AT2 (lu, k, j) = JAC_AT2 (lu, pivot, j);
              JAC_AT2 (lu, pivot, j) = v;
            }
          d = -d;
        }
      d *= JAC_AT2 (lu, k, k);
      if (JAC_AT2 (lu, k, k) == 0.0)
        continue;
      for (gsize i = k + 1; i < n; i++)
        {
          double m = JAC_AT2 (lu, i, k) /= JAC_AT2 (lu, k, k);

          for (gsize j = k + 1; j < n; j++)
            JAC_AT2 (lu, i, j) -= m * JAC_AT2 (lu, k, j);
        }
    }
  if (det != NULL)
    *det = d;
  if (inverse == NULL)
    return;
  /* Column c of X⁻¹ solves L U x = P e_c. */
  for (gsize c = 0; c < n; c++)
    {
      for (gsize i = 0; i < n; i++)
        {
          double v = perm[i] == c ? 1.0 : 0.0;

          for (gsize j = 0; j < i; j++)
            v -= JAC_AT2 (lu, i, j) * JAC_AT2 (inverse, j, c);
          JAC_AT2 (inverse, i, c) = v;
        }
      for (gsize i = n; i-- > 0;)
        {
          double v = JAC_AT2 (inverse, i, c);

          for (gsize j = i + 1; j < n; j++)
            v -= JAC_AT2 (lu, i, j) * JAC_AT2 (inverse, j, c);
          JAC_AT2 (inverse, i, c) = v / JAC_AT2 (lu, i, i);
        }
    }
}

/* The Kronecker product of two tensors of the same rank (1 or 2). */
static void
kron_values (const JacTensor *a,
             const JacTensor *b,
             JacTensor       *out)
{
  if (a->rank == 1)
    {
      for (gsize i = 0; i < a->shape[0]; i++)
        for (gsize k = 0; k < b->shape[0]; k++)
          out->data[i * b->shape[0] + k] = a->data[i] * b->data[k];
      return;
    }
  for (gsize i = 0; i < a->shape[0]; i++)
    for (gsize j = 0; j < a->shape[1]; j++)
      for (gsize k = 0; k < b->shape[0]; k++)
        for (gsize l = 0; l < b->shape[1]; l++)
          JAC_AT2 (out, i * b->shape[0] + k, j * b->shape[1] + l) =
            JAC_AT2 (a, i, j) * JAC_AT2 (b, k, l);
}

static void
forward_node (JacGraph *self,
              JacNode  *node)
{
  const JacTensor *a = node->lhs >= 0 ? jac_graph_node (self, node->lhs)->value : NULL;
  const JacTensor *b = node->rhs >= 0 ? jac_graph_node (self, node->rhs)->value : NULL;
  JacTensor *out;

  g_clear_pointer (&node->value, jac_tensor_free);
  out = node->value = jac_tensor_new (node->rank, node->shape, NULL);

  switch (node->op)
    {
    case JAC_OP_MATMUL:
      jac_gemm (FALSE, FALSE, node->shape[0], node->shape[1], a->shape[1], 1.0, a->data,
                a->shape[1], b->data, b->shape[1], 0.0, out->data, node->shape[1]);
      break;
    case JAC_OP_ADD:
    case JAC_OP_SUB:
    case JAC_OP_MUL:
    case JAC_OP_DIV:
      for (gsize n = 0; n < out->size; n++)
        out->data[n] = jac_op_apply (node->op,
                               a->data[broadcast_offset (a->rank, a->shape, out->rank, out->shape, n)],
                               b->data[broadcast_offset (b->rank, b->shape, out->rank, out->shape, n)]);
      break;
    case JAC_OP_NEGATE:
      for (gsize n = 0; n < out->size; n++)
        out->data[n] = -a->data[n];
      break;
    case JAC_OP_APPLY:
      for (gsize n = 0; n < out->size; n++)
        out->data[n] = jac_node_apply (node, a->data[n]);
      break;
    case JAC_OP_TRANSPOSE:
      if (a->rank < 2)
        memcpy (out->data, a->data, a->size * sizeof (double));
      else
        jac_matrix_transpose (a->data, a->shape[0], a->shape[1], out->data);
      break;
    case JAC_OP_SUM:
      for (gsize n = 0; n < a->size; n++)
        out->data[0] += a->data[n];
      break;
    case JAC_OP_SOFTMAX:
      softmax_rows (a, out);
      break;
    case JAC_OP_SUM_AXIS:
      for (gsize n = 0; n < a->size; n++)
        {
          gsize at = a->rank == 1 ? 0 : node->axis == 0 ? n % a->shape[1] : n / a->shape[1];

          out->data[at] += a->data[n];
        }
      break;
    case JAC_OP_TRACE:
      for (gsize i = 0; i < a->shape[0]; i++)
        out->data[0] += JAC_AT2 (a, i, i);
      break;
    case JAC_OP_DIAG:
      for (gsize i = 0; i < a->shape[0]; i++)
        if (a->rank == 1)
          JAC_AT2 (out, i, i) = a->data[i];
        else
          out->data[i] = JAC_AT2 (a, i, i);
      break;
    case JAC_OP_KRON:
      kron_values (a, b, out);
      break;
    case JAC_OP_DET:
      jac_matrix_inverse (a, NULL, &out->data[0]);
      break;
    case JAC_OP_LOGDET:
      {
        double det;

        jac_matrix_inverse (a, NULL, &det);
        out->data[0] = log (fabs (det));
      }
      break;
    case JAC_OP_INV:
      jac_matrix_inverse (a, out, NULL);
      break;
    case JAC_OP_RESHAPE:
      memcpy (out->data, a->data, a->size * sizeof (double));
      break;
    case JAC_OP_VARIABLE:
    case JAC_OP_CONSTANT:
    default:
      g_assert_not_reached ();
    }
}

void
jac_graph_forward (JacGraph *self)
{
  g_return_if_fail (self != NULL);

  for (guint n = 0; n < self->nodes->len; n++)
    {
      JacNode *node = jac_graph_node (self, n);

      if (node->op != JAC_OP_VARIABLE && node->op != JAC_OP_CONSTANT)
        forward_node (self, node);
    }
}

/* ---- structured Jacobian: forward mode over the graph, one structured tensor per node ---- */

static JacTensor *
slope_of (const JacNode   *node,
          const JacTensor *operand)
{
  JacTensor *slope = jac_tensor_new (operand->rank, operand->shape, NULL);
  const JacTensor *value = node->value;

  /* tanh's and sigmoid's slopes from the values the forward pass left, 1 − t² and s (1 − s):
   * the numbers jac_func_slope_param () gives (it computes t and s as jac_node_apply () did),
   * without a second tanh or exp an entry (0.2 ms of 1.9 for h = tanh (…) at N=64, H=256). */
  if (value != NULL && value->size == operand->size && node->op == JAC_OP_APPLY)
    {
      if (node->func == JAC_FUNC_TANH)
        {
          for (gsize n = 0; n < slope->size; n++)
            slope->data[n] = 1.0 - value->data[n] * value->data[n];
          return slope;
        }
      if (node->func == JAC_FUNC_SIGMOID)
        {
          for (gsize n = 0; n < slope->size; n++)
            slope->data[n] = value->data[n] * (1.0 - value->data[n]);
          return slope;
        }
    }
  for (gsize n = 0; n < slope->size; n++)
    slope->data[n] = jac_node_slope (node, operand->data[n]);
  return slope;
}

/* The Jacobians of the nodes so far, and how many users of each are still to come: an operand's
 * last user takes it over instead of copying it. */
typedef struct
{
  JacGraph       *graph;
  JacStructured **jacs;
  guint          *uses;
  int            *user;       /* the last node that uses each node */
  gboolean       *has_jac;    /* whether a node's Jacobian is computed (not the empty sum) */
  gboolean       *prescaled;  /* an element-wise function whose slope a product already applied */
  GError         *error;   /* the first allocation the memory budget refused */
  /* Nullable: G, when the output's Jacobian may be contracted as it is written (see
   * jac_graph_jacobian_contract_try), and what that gave. */
  const JacTensor *upstream;
  JacTensor      *vjp;
  double          max_abs;
} Forward;

/* Where an operation reports a failure: nowhere once one has been reported. */
static GError **
fw_error (Forward *fw)
{
  return fw->error == NULL ? &fw->error : NULL;
}

static JacStructured *
take (Forward *fw,
      int      index)
{
  if (index < 0 || fw->jacs[index] == NULL)
    return NULL;
  if (fw->uses[index] == 1 && index != fw->graph->output)
    return g_steal_pointer (&fw->jacs[index]);
  return _jac_structured_try_copy (fw->jacs[index], fw_error (fw));
}

/* @operand_jac (consumed) broadcast to @node and scaled by @factor (an operand value broadcast
 * to the node, or NULL for 1); NULL when the operand does not depend on the variable. */
static JacStructured *
broadcast_term (Forward         *fw,
                JacStructured   *operand_jac,
                const JacNode   *node,
                const JacTensor *factor)
{
  JacStructured *term;

  if (operand_jac == NULL)
    return NULL;
  term = _jac_structured_broadcast (operand_jac, node->rank, node->shape, fw_error (fw));
  if (term != NULL && factor != NULL)
    {
      g_autoptr(JacTensor) full = broadcast_value (factor, node);

      _jac_structured_scale_inplace (term, full);
    }
  return term;
}

static gboolean
same_shape (const JacNode *a,
            const JacNode *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (guint d = 0; d < a->rank; d++)
    if (a->shape[d] != b->shape[d])
      return FALSE;
  return TRUE;
}

/* The element-wise function of the product @n whose slope the product's Jacobian can be scaled
 * by as it is written, or -1. That is so when the product reaches the function only through sums
 * with terms that do not depend on the variable and are not broadcast (f (h_prev W_hh + x W_xh +
 * b)): those pass the Jacobian on unchanged, the slope is a tensor of the product's shape, and
 * the product's Jacobian has no other user, so nothing sees it unscaled. Saves a pass that reads
 * and rewrites the whole core (1.2 ms of 5 for the RNN step at N = 64, H = 256). */
static int
fused_apply (const Forward *fw,
             int            n)
{
  const JacNode *product = jac_graph_node (fw->graph, n);
  int c = n;

  for (;;)
    {
      const JacNode *user;
      int other;

      if (fw->uses[c] != 1 || c == fw->graph->output || fw->user[c] < 0)
        return -1;
      user = jac_graph_node (fw->graph, fw->user[c]);
      if (!same_shape (user, product))
        return -1;
      if (user->op == JAC_OP_APPLY)
        return fw->user[c];
      if (user->op != JAC_OP_ADD && !(user->op == JAC_OP_SUB && user->lhs == c))
        return -1;
      other = user->lhs == c ? user->rhs : user->lhs;
      if (fw->has_jac[other])
        return -1;
      c = fw->user[c];
    }
}

static JacStructured *
matmul_jacobian (Forward       *fw,
                 int            n,
                 const JacNode *node)
{
  const JacStructured *ja = node->lhs >= 0 ? fw->jacs[node->lhs] : NULL;
  const JacStructured *jb = node->rhs >= 0 ? fw->jacs[node->rhs] : NULL;
  const JacTensor *a = jac_graph_node (fw->graph, node->lhs)->value;
  const JacTensor *b = jac_graph_node (fw->graph, node->rhs)->value;
  int apply = fused_apply (fw, n);
  g_autoptr(JacTensor) slope = NULL;

  if (apply >= 0)
    {
      const JacNode *f = jac_graph_node (fw->graph, apply);

      slope = slope_of (f, jac_graph_node (fw->graph, f->lhs)->value);
      fw->prescaled[apply] = TRUE;
    }
  /* The output's Jacobian written by this product alone (the function's slope applied as it is
   * written, the sums after it passing it on unchanged): contract it with G in the same pass. */
  if (fw->upstream != NULL && apply == (int) fw->graph->output && ja != NULL && jb == NULL &&
      fw->vjp == NULL)
    return _jac_structured_matmul_left_contract (ja, b, slope, fw->upstream, &fw->vjp,
                                                 &fw->max_abs, fw_error (fw));
  return _jac_structured_add (ja != NULL ? _jac_structured_matmul_left (ja, b, slope,
                                                                         fw_error (fw))
                                         : NULL,
                              jb != NULL ? _jac_structured_matmul_right (a, jb, slope,
                                                                          fw_error (fw))
                                         : NULL,
                              1.0, fw_error (fw));
}

static JacStructured *
jacobian_of_node (Forward       *fw,
                  int            index,
                  const JacNode *node)
{
  const JacStructured *ja = node->lhs >= 0 ? fw->jacs[node->lhs] : NULL;
  const JacStructured *jb = node->rhs >= 0 ? fw->jacs[node->rhs] : NULL;
  const JacTensor *a = node->lhs >= 0 ? jac_graph_node (fw->graph, node->lhs)->value : NULL;
  const JacTensor *b = node->rhs >= 0 ? jac_graph_node (fw->graph, node->rhs)->value : NULL;

  if (ja == NULL && jb == NULL)
    return NULL;

  switch (node->op)
    {
    case JAC_OP_MATMUL:
      return matmul_jacobian (fw, index, node);

    case JAC_OP_ADD:
    case JAC_OP_SUB:
      return _jac_structured_add (broadcast_term (fw, take (fw, node->lhs), node, NULL),
                                  broadcast_term (fw, take (fw, node->rhs), node, NULL),
                                  node->op == JAC_OP_SUB ? -1.0 : 1.0, fw_error (fw));

    case JAC_OP_MUL:
      return _jac_structured_add (broadcast_term (fw, take (fw, node->lhs), node, b),
                                  broadcast_term (fw, take (fw, node->rhs), node, a), 1.0,
                                  fw_error (fw));

    case JAC_OP_DIV:
      {
        /* ∂(a/b) = ∂a / b − a ∂b / b². */
        g_autoptr(JacTensor) inverse = jac_tensor_copy (b);
        g_autoptr(JacTensor) ratio = NULL;

        for (gsize n = 0; n < inverse->size; n++)
          inverse->data[n] = 1.0 / inverse->data[n];
        if (jb != NULL)
          {
            g_autoptr(JacTensor) ab = broadcast_value (a, node);
            g_autoptr(JacTensor) bb = broadcast_value (b, node);

            ratio = jac_tensor_new (node->rank, node->shape, NULL);
            for (gsize n = 0; n < ratio->size; n++)
              ratio->data[n] = ab->data[n] / (bb->data[n] * bb->data[n]);
          }
        return _jac_structured_add (broadcast_term (fw, take (fw, node->lhs), node, inverse),
                                    broadcast_term (fw, take (fw, node->rhs), node, ratio), -1.0,
                                    fw_error (fw));
      }

    case JAC_OP_NEGATE:
      {
        JacStructured *t = take (fw, node->lhs);

        if (t != NULL)
          _jac_structured_multiply_scalar (t, -1.0);
        return t;
      }

    case JAC_OP_APPLY:
      {
        JacStructured *t = take (fw, node->lhs);

        if (t != NULL && !fw->prescaled[index])
          {
            g_autoptr(JacTensor) slope = slope_of (node, a);

            _jac_structured_scale_inplace (t, slope);
          }
        return t;
      }

    case JAC_OP_TRANSPOSE:
      return _jac_structured_transpose (ja, fw_error (fw));

    case JAC_OP_SUM:
      return _jac_structured_sum (ja, fw_error (fw));

    case JAC_OP_SOFTMAX:
      return _jac_structured_softmax (ja, node->value, fw_error (fw));

    case JAC_OP_SUM_AXIS:
      return _jac_structured_sum_axis (ja, node->axis, fw_error (fw));

    case JAC_OP_TRACE:
      return _jac_structured_trace (ja, fw_error (fw));

    case JAC_OP_DIAG:
      return _jac_structured_diag (ja, fw_error (fw));

    case JAC_OP_KRON:
      return _jac_structured_kron (ja, a, jb, b, fw_error (fw));

    case JAC_OP_RESHAPE:
      return _jac_structured_reshape (ja, node->rank, node->shape, node->axis, fw_error (fw));

    case JAC_OP_DET:
    case JAC_OP_LOGDET:
      {
        /* ∂ det X = det X · tr(X⁻¹ ∂X) = Σ_kl det X (X⁻ᵀ)_kl ∂X_kl; log |det X| drops det X. */
        g_autoptr(JacTensor) inverse = jac_tensor_new (2, a->shape, NULL);
        g_autoptr(JacTensor) factor = jac_tensor_new (2, a->shape, NULL);
        g_autoptr(JacStructured) scaled = NULL;
        double det;

        jac_matrix_inverse (a, inverse, &det);
        for (gsize k = 0; k < a->shape[0]; k++)
          for (gsize l = 0; l < a->shape[1]; l++)
            JAC_AT2 (factor, k, l) = (node->op == JAC_OP_DET ? det : 1.0) * JAC_AT2 (inverse, l, k);
        scaled = _jac_structured_scale (ja, factor, fw_error (fw));
        return scaled != NULL ? _jac_structured_sum (scaled, fw_error (fw)) : NULL;
      }

    case JAC_OP_INV:
      {
        /* ∂(X⁻¹) = −X⁻¹ ∂X X⁻¹, the product rule on X⁻¹ X = I. */
        g_autoptr(JacStructured) right = _jac_structured_matmul_left (ja, node->value, NULL,
                                                                      fw_error (fw));
        JacStructured *both = right != NULL ? _jac_structured_matmul_right (node->value, right,
                                                                             NULL, fw_error (fw))
                                            : NULL;

        if (both != NULL)
          _jac_structured_multiply_scalar (both, -1.0);
        return both;
      }

    case JAC_OP_VARIABLE:
    case JAC_OP_CONSTANT:
    default:
      g_assert_not_reached ();
    }
}

/* Whether @node is 0 for every value of the variables, as X * 0, (X * 0) @ W and X − X are: its
 * Jacobian is then the empty sum, and a product it is a factor of adds no term (the derivation,
 * too, cancels exact zeros and opposite terms). @zero holds the answer for the nodes before it. */
static gboolean
node_is_zero (const JacNode  *node,
              const gboolean *zero)
{
  switch (node->op)
    {
    case JAC_OP_CONSTANT: return node->constant == 0.0;
    case JAC_OP_MATMUL:
    case JAC_OP_MUL: return zero[node->lhs] || zero[node->rhs];
    case JAC_OP_ADD: return zero[node->lhs] && zero[node->rhs];
    case JAC_OP_SUB: return node->lhs == node->rhs || (zero[node->lhs] && zero[node->rhs]);
    case JAC_OP_KRON: return zero[node->lhs] || zero[node->rhs];
    case JAC_OP_DIV:
    case JAC_OP_NEGATE:
    case JAC_OP_TRANSPOSE:
    case JAC_OP_SUM:
    case JAC_OP_SUM_AXIS:
    case JAC_OP_TRACE:
    case JAC_OP_DIAG:
    case JAC_OP_RESHAPE:
    case JAC_OP_DET: return zero[node->lhs];
    case JAC_OP_APPLY: return zero[node->lhs] && jac_node_apply (node, 0.0) == 0.0;
    case JAC_OP_VARIABLE:
    case JAC_OP_SOFTMAX:
    default: return FALSE;
    }
}

static void
release_operand (Forward *fw,
                 int      index)
{
  if (index >= 0 && --fw->uses[index] == 0 && index != fw->graph->output)
    g_clear_pointer (&fw->jacs[index], jac_structured_free);
}

JacStructured *
jac_graph_jacobian (JacGraph *self,
                    int       variable)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_autoptr(GError) error = NULL;
  JacStructured *result = jac_graph_jacobian_try (self, variable, &error);

  if (result == NULL)
    g_error ("%s", error->message);
  return result;
}

JacStructured *
jac_graph_jacobian_try (JacGraph  *self,
                        int        variable,
                        GError   **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return jac_graph_jacobian_contract_try (self, variable, NULL, NULL, NULL, error);
}

JacStructured *
jac_graph_jacobian_contract_try (JacGraph         *self,
                                 int               variable,
                                 const JacTensor  *upstream,
                                 JacTensor       **vjp,
                                 double           *max_abs,
                                 GError          **error)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (upstream == NULL || (vjp != NULL && max_abs != NULL), NULL);

  guint n_nodes = self->nodes->len;
  g_autofree JacStructured **jacs = g_new0 (JacStructured *, n_nodes);
  g_autofree guint *uses = g_new0 (guint, n_nodes);
  g_autofree gboolean *zero = g_new0 (gboolean, n_nodes);
  g_autofree int *user = g_new (int, n_nodes);
  g_autofree gboolean *has_jac = g_new0 (gboolean, n_nodes);
  g_autofree gboolean *prescaled = g_new0 (gboolean, n_nodes);
  Forward fw = { self, jacs, uses, user, has_jac, prescaled, NULL, upstream, NULL, -1 };
  const JacNode *var = jac_graph_node (self, variable);
  JacStructured *result;

  g_return_val_if_fail (var->op == JAC_OP_VARIABLE, NULL);

  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (self, n);

      user[n] = -1;
      if (node->lhs >= 0)
        {
          uses[node->lhs]++;
          user[node->lhs] = n;
        }
      if (node->rhs >= 0)
        {
          uses[node->rhs]++;
          user[node->rhs] = n;
        }
      zero[n] = node_is_zero (node, zero);
      if ((int) n == variable)
        has_jac[n] = TRUE;
      else if (!zero[n] && node->op != JAC_OP_VARIABLE && node->op != JAC_OP_CONSTANT)
        has_jac[n] = (node->lhs >= 0 && has_jac[node->lhs]) ||
                     (node->rhs >= 0 && has_jac[node->rhs]);
    }

  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (self, n);

      if (fw.error != NULL)
        break;
      if ((int) n == variable)
        jacs[n] = jac_structured_new_identity (var->rank, var->shape);
      else if (has_jac[n])
        jacs[n] = jacobian_of_node (&fw, n, node);

      /* Operands nobody else needs are freed as soon as they are used. */
      release_operand (&fw, node->lhs);
      release_operand (&fw, node->rhs);
    }

  result = g_steal_pointer (&jacs[self->output]);
  for (guint n = 0; n < n_nodes; n++)
    jac_structured_free (jacs[n]);
  if (fw.error != NULL)
    {
      jac_structured_free (result);
      jac_tensor_free (fw.vjp);
      g_propagate_error (error, fw.error);
      return NULL;
    }

  if (result == NULL)
    {
      const JacNode *out = jac_graph_node (self, self->output);

      /* No path from the variable to the output, or only through exact zeros. */
      result = jac_structured_new_zero (out->rank, out->shape, var->rank, var->shape);
    }
  /* Taken only when the output's Jacobian is the product's, one δ_ip term. */
  if (fw.vjp != NULL && (result->n_terms != 1 || result->pair[0] != 0))
    g_clear_pointer (&fw.vjp, jac_tensor_free);
  if (vjp != NULL)
    {
      *vjp = g_steal_pointer (&fw.vjp);
      *max_abs = *vjp != NULL ? fw.max_abs : -1;
    }
  return result;
}

/* ---- back-propagation ---- */

/* Adds @sign · G, summed over the axes @operand was broadcast along, into @grad. */
static void
accumulate_unbroadcast (JacTensor       *grad,
                        const JacTensor *upstream,
                        const JacTensor *factor,
                        double           sign)
{
  for (gsize n = 0; n < upstream->size; n++)
    {
      gsize at = broadcast_offset (grad->rank, grad->shape, upstream->rank, upstream->shape, n);
      double f = factor != NULL ? factor->data[n] : 1.0;

      grad->data[at] += sign * upstream->data[n] * f;
    }
}

static JacTensor *
grad_slot (JacGraph   *self,
           JacTensor **grads,
           int         index)
{
  if (grads[index] == NULL)
    {
      const JacNode *node = jac_graph_node (self, index);

      grads[index] = jac_tensor_new (node->rank, node->shape, NULL);
    }
  return grads[index];
}

static void
backward_node (JacGraph        *self,
               const JacNode   *node,
               const JacTensor *g,
               JacTensor      **grads)
{
  const JacTensor *a = node->lhs >= 0 ? jac_graph_node (self, node->lhs)->value : NULL;
  const JacTensor *b = node->rhs >= 0 ? jac_graph_node (self, node->rhs)->value : NULL;

  switch (node->op)
    {
    case JAC_OP_MATMUL:
      /* ∂L/∂A = G Bᵀ and ∂L/∂B = Aᵀ G: where the transposes come from. */
      jac_gemm (FALSE, TRUE, a->shape[0], a->shape[1], b->shape[1], 1.0, g->data, g->shape[1],
                b->data, b->shape[1], 1.0, grad_slot (self, grads, node->lhs)->data, a->shape[1]);
      jac_gemm (TRUE, FALSE, b->shape[0], b->shape[1], a->shape[0], 1.0, a->data, a->shape[1],
                g->data, g->shape[1], 1.0, grad_slot (self, grads, node->rhs)->data, b->shape[1]);
      break;
    case JAC_OP_ADD:
    case JAC_OP_SUB:
      accumulate_unbroadcast (grad_slot (self, grads, node->lhs), g, NULL, 1.0);
      accumulate_unbroadcast (grad_slot (self, grads, node->rhs), g, NULL,
                              node->op == JAC_OP_SUB ? -1.0 : 1.0);
      break;
    case JAC_OP_MUL:
      {
        g_autoptr(JacTensor) ab = broadcast_value (a, node);
        g_autoptr(JacTensor) bb = broadcast_value (b, node);

        accumulate_unbroadcast (grad_slot (self, grads, node->lhs), g, bb, 1.0);
        accumulate_unbroadcast (grad_slot (self, grads, node->rhs), g, ab, 1.0);
      }
      break;
    case JAC_OP_DIV:
      {
        g_autoptr(JacTensor) ab = broadcast_value (a, node);
        g_autoptr(JacTensor) bb = broadcast_value (b, node);

        for (gsize n = 0; n < ab->size; n++)
          {
            double inv = 1.0 / bb->data[n];

            bb->data[n] = inv;
            ab->data[n] = ab->data[n] * inv * inv;
          }
        accumulate_unbroadcast (grad_slot (self, grads, node->lhs), g, bb, 1.0);
        accumulate_unbroadcast (grad_slot (self, grads, node->rhs), g, ab, -1.0);
      }
      break;
    case JAC_OP_NEGATE:
      accumulate_unbroadcast (grad_slot (self, grads, node->lhs), g, NULL, -1.0);
      break;
    case JAC_OP_APPLY:
      {
        g_autoptr(JacTensor) slope = slope_of (node, a);

        accumulate_unbroadcast (grad_slot (self, grads, node->lhs), g, slope, 1.0);
      }
      break;
    case JAC_OP_TRANSPOSE:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        if (a->rank < 2)
          accumulate_unbroadcast (ga, g, NULL, 1.0);
        else
          for (gsize i = 0; i < a->shape[0]; i++)
            for (gsize j = 0; j < a->shape[1]; j++)
              JAC_AT2 (ga, i, j) += JAC_AT2 (g, j, i);
      }
      break;
    case JAC_OP_SUM:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        for (gsize n = 0; n < ga->size; n++)
          ga->data[n] += g->data[0];
      }
      break;
    case JAC_OP_SOFTMAX:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);
        const JacTensor *y = node->value;

        for (gsize i = 0; i < y->shape[0]; i++)
          {
            double dot = 0.0;

            for (gsize j = 0; j < y->shape[1]; j++)
              dot += JAC_AT2 (g, i, j) * JAC_AT2 (y, i, j);
            for (gsize j = 0; j < y->shape[1]; j++)
              JAC_AT2 (ga, i, j) += JAC_AT2 (y, i, j) * (JAC_AT2 (g, i, j) - dot);
          }
      }
      break;
    case JAC_OP_SUM_AXIS:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        for (gsize n = 0; n < ga->size; n++)
          ga->data[n] += g->data[a->rank == 1 ? 0 : node->axis == 0 ? n % a->shape[1]
                                                                    : n / a->shape[1]];
      }
      break;
    case JAC_OP_TRACE:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        for (gsize i = 0; i < a->shape[0]; i++)
          JAC_AT2 (ga, i, i) += g->data[0];
      }
      break;
    case JAC_OP_DIAG:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        for (gsize i = 0; i < a->shape[0]; i++)
          if (a->rank == 1)
            ga->data[i] += JAC_AT2 (g, i, i);
          else
            JAC_AT2 (ga, i, i) += g->data[i];
      }
      break;
    case JAC_OP_KRON:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);
        JacTensor *gb = grad_slot (self, grads, node->rhs);
        gsize bn = b->rank == 2 ? b->shape[1] : 1, an = a->rank == 2 ? a->shape[1] : 1;

        for (gsize i = 0; i < a->shape[0]; i++)
          for (gsize j = 0; j < an; j++)
            for (gsize k = 0; k < b->shape[0]; k++)
              for (gsize l = 0; l < bn; l++)
                {
                  double gv = g->data[(i * b->shape[0] + k) * (an * bn) + j * bn + l];

                  ga->data[i * an + j] += gv * b->data[k * bn + l];
                  gb->data[k * bn + l] += gv * a->data[i * an + j];
                }
      }
      break;
    case JAC_OP_DET:
    case JAC_OP_LOGDET:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);
        g_autoptr(JacTensor) inverse = jac_tensor_new (2, a->shape, NULL);
        double det;

        jac_matrix_inverse (a, inverse, &det);
        for (gsize k = 0; k < a->shape[0]; k++)
          for (gsize l = 0; l < a->shape[1]; l++)
            JAC_AT2 (ga, k, l) += g->data[0] * (node->op == JAC_OP_DET ? det : 1.0) *
                                  JAC_AT2 (inverse, l, k);
      }
      break;
    case JAC_OP_RESHAPE:
      {
        JacTensor *ga = grad_slot (self, grads, node->lhs);

        for (gsize n = 0; n < ga->size; n++)
          ga->data[n] += g->data[n];
      }
      break;
    case JAC_OP_INV:
      {
        /* −Yᵀ G Yᵀ, Y = X⁻¹. */
        gsize n = a->shape[0];
        g_autoptr(JacTensor) t = jac_tensor_new (2, a->shape, NULL);

        jac_gemm (TRUE, FALSE, n, n, n, 1.0, node->value->data, n, g->data, n, 0.0, t->data, n);
        jac_gemm (FALSE, TRUE, n, n, n, -1.0, t->data, n, node->value->data, n, 1.0,
                  grad_slot (self, grads, node->lhs)->data, n);
      }
      break;
    case JAC_OP_VARIABLE:
    case JAC_OP_CONSTANT:
    default:
      break;
    }
}

JacTensor *
jac_graph_vjp (JacGraph        *self,
               int              variable,
               const JacTensor *upstream)
{
  g_return_val_if_fail (self != NULL, NULL);

  guint n_nodes = self->nodes->len;
  g_autofree JacTensor **grads = g_new0 (JacTensor *, n_nodes);
  JacTensor *result;

  grads[self->output] = jac_tensor_copy (upstream);
  for (guint n = n_nodes; n-- > 0;)
    if (grads[n] != NULL)
      backward_node (self, jac_graph_node (self, n), grads[n], grads);

  result = g_steal_pointer (&grads[variable]);
  for (guint n = 0; n < n_nodes; n++)
    jac_tensor_free (grads[n]);
  if (result == NULL)
    {
      const JacNode *var = jac_graph_node (self, variable);

      result = jac_tensor_new (var->rank, var->shape, NULL);
    }
  return result;
}

/* ---- central finite differences ---- */

JacTensor *
jac_graph_finite_difference (JacGraph *self,
                             int       variable,
                             double    step)
{
  g_return_val_if_fail (self != NULL, NULL);

  return jac_graph_finite_difference_grouped (self, variable, step, NULL);
}

/* Greedy grouping of the @n_wrt columns: a column joins the first group none of whose columns
 * may be nonzero in a row where it may be (each its own group without a mask). Returns the
 * number of groups, with the columns of group g at order[start[g] … start[g + 1]) in order;
 * free *@start with g_free (). */
static gsize
group_columns (const guint8 *zero_mask,
               gsize         n_out,
               gsize         n_wrt,
               gsize        *order,
               gsize       **start)
{
  g_autofree gsize *group_of = g_new (gsize, MAX (n_wrt, 1));
  g_autofree gsize *fill = NULL;
  gsize n_groups = 0;

  if (zero_mask == NULL)
    for (gsize w = 0; w < n_wrt; w++)
      group_of[w] = n_groups++;
  else
    {
      /* [group][row]: a column of the group may be nonzero there. */
      g_autofree guint8 *taken = g_malloc0 (MAX (n_wrt * n_out, 1));
      g_autofree gsize *rows = g_new (gsize, MAX (n_out, 1));

      for (gsize w = 0; w < n_wrt; w++)
        {
          gsize n_rows = 0, g;

          for (gsize o = 0; o < n_out; o++)
            if (!zero_mask[o * n_wrt + w])
              rows[n_rows++] = o;
          for (g = 0; g < n_groups; g++)
            {
              const guint8 *row_taken = taken + g * n_out;
              gsize r = 0;

              while (r < n_rows && !row_taken[rows[r]])
                r++;
              if (r == n_rows)
                break;
            }
          if (g == n_groups)
            n_groups++;
          group_of[w] = g;
          for (gsize r = 0; r < n_rows; r++)
            taken[g * n_out + rows[r]] = 1;
        }
    }
  *start = g_new0 (gsize, n_groups + 1);
  for (gsize w = 0; w < n_wrt; w++)
    (*start)[group_of[w] + 1]++;
  for (gsize g = 0; g < n_groups; g++)
    (*start)[g + 1] += (*start)[g];
  fill = g_memdup2 (*start, (n_groups + 1) * sizeof (gsize));
  for (gsize w = 0; w < n_wrt; w++)
    order[fill[group_of[w]]++] = w;
  return n_groups;
}

/* The pair of forward passes of one group (its @count columns at @columns, the @group-th), into
 * @dense's columns, @covered marking the outputs they may reach. An output no column of the
 * group may reach must not have moved: if it did, the mask claimed a zero that is not one, and
 * its change goes to the group's first column, where the comparison with the Jacobian shows it. */
typedef struct
{
  JacGraph     *graph;
  int           variable;
  double        step;
  const guint8 *zero_mask;   /* nullable */
  gsize        *covered;     /* per output: the last group + 1 whose columns may reach it */
  double       *saved;       /* the perturbed entries' values */
  JacTensor    *dense;       /* the differences, out + variable */
} Differences;

static void
difference_group (const Differences *d,
                  const gsize       *columns,
                  gsize              count,
                  gsize              group)
{
  JacGraph *self = d->graph;
  int variable = d->variable;
  double step = d->step, *saved = d->saved;
  const guint8 *zero_mask = d->zero_mask;
  gsize *covered = d->covered;
  JacTensor *dense = d->dense;
  JacNode *var = jac_graph_node (self, variable);
  gsize n_wrt = var->value->size, n_out = n_wrt > 0 ? dense->size / n_wrt : 0;
  g_autoptr(JacTensor) plus = NULL;
  const double *minus;

  for (gsize c = 0; c < count; c++)
    {
      saved[c] = var->value->data[columns[c]];
      var->value->data[columns[c]] = saved[c] + step;
    }
  jac_graph_forward (self);
  plus = jac_tensor_copy (jac_graph_node (self, self->output)->value);
  var = jac_graph_node (self, variable);
  for (gsize c = 0; c < count; c++)
    var->value->data[columns[c]] = saved[c] - step;
  jac_graph_forward (self);
  /* Read before restoring: the output may be the variable itself. */
  minus = jac_graph_node (self, self->output)->value->data;
  for (gsize c = 0; c < count; c++)
    for (gsize o = 0; o < n_out; o++)
      if (zero_mask == NULL || !zero_mask[o * n_wrt + columns[c]])
        {
          dense->data[o * n_wrt + columns[c]] = (plus->data[o] - minus[o]) / (2.0 * step);
          covered[o] = group + 1;
        }
  if (zero_mask != NULL)
    for (gsize o = 0; o < n_out; o++)
      if (covered[o] != group + 1 && plus->data[o] != minus[o])
        dense->data[o * n_wrt + columns[0]] += (plus->data[o] - minus[o]) / (2.0 * step);
  var = jac_graph_node (self, variable);
  for (gsize c = 0; c < count; c++)
    var->value->data[columns[c]] = saved[c];
}

JacTensor *
jac_graph_finite_difference_grouped (JacGraph     *self,
                                     int           variable,
                                     double        step,
                                     const guint8 *zero_mask)
{
  g_return_val_if_fail (self != NULL, NULL);

  JacNode *var = jac_graph_node (self, variable);
  const JacNode *out = jac_graph_node (self, self->output);
  gsize shape[4];
  guint rank = 0;
  gsize n_out, n_wrt = var->value->size, n_groups;
  g_autofree gsize *order = g_new (gsize, MAX (n_wrt, 1));
  g_autofree gsize *start = NULL;
  g_autofree gsize *covered = NULL;
  g_autofree double *saved = g_new (double, MAX (n_wrt, 1));
  Differences d;

  for (guint a = 0; a < out->rank; a++)
    shape[rank++] = out->shape[a];
  for (guint a = 0; a < var->rank; a++)
    shape[rank++] = var->shape[a];
  d = (Differences) { self, variable, step, zero_mask, NULL, saved,
                      jac_tensor_new (rank, shape, NULL) };
  n_out = n_wrt > 0 ? d.dense->size / n_wrt : 0;
  d.covered = covered = g_new0 (gsize, MAX (n_out, 1));
  n_groups = group_columns (zero_mask, n_out, n_wrt, order, &start);
  for (gsize g = 0; g < n_groups; g++)
    difference_group (&d, order + start[g], start[g + 1] - start[g], g);
  jac_graph_forward (self);
  return d.dense;
}

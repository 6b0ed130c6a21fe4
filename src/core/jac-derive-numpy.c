/* jac-derive-numpy.c: a derivation as a Python script that checks itself.
 *
 * The script carries the same variables, runs the expression's forward pass node by node, then
 * computes the two things Jacscope shows — the contracted form, written as the matrix code
 * back-propagation runs, and the full Jacobian, built from the derivative's Kronecker-δ terms
 * with np.einsum (a δ is np.eye) — and compares both, and the structural zeros the δs promise,
 * with an independent path: central finite differences of the forward pass (NumPy alone), or
 * torch.autograd (--torch). MatrixCalculus.org's generated checkGradient is the model; this one
 * also checks the full tensor and its zeros. */
#define G_LOG_DOMAIN "jac-derive"

#include <math.h>
#include <string.h>

#include "jac-analysis.h"
#include "jac-derive-private.h"
#include "jac-error.h"

typedef struct
{
  const JacDerivation *d;
  const JacGraph      *graph;
  gboolean             torch;
  char               **names;    /* per node: its name in the script */
  GError             **error;
  gboolean             failed;
} Gen;

static const char * const reserved_words[] = {
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
  "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
  "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with",
  "yield", "np", "torch", "sys", "forward", "values", "G", "J", "J_check", "contracted",
  "sigmoid", "softmax", "unbroadcast", "support", "eps", "check", "main", "output", "print",
  "abs", "max", "min", "sum", "len", "range", "float", "int", "list",
};

/* A graph variable's name, made safe for Python: the language's identifiers are ASCII already. */
static char *
python_name (const char *name)
{
  for (guint k = 0; k < G_N_ELEMENTS (reserved_words); k++)
    if (g_str_equal (name, reserved_words[k]))
      return g_strdup_printf ("%s_", name);
  if (g_str_has_prefix (name, "n_") || g_str_has_prefix (name, "v_"))
    return g_strdup_printf ("v_%s", name);
  return g_strdup (name);
}

static void
fail (Gen        *g,
      const char *what)
{
  if (!g->failed)
    g_set_error (g->error, JAC_ERROR, JAC_ERROR_INVALID,
                 "the script cannot be written: no NumPy form yet for %s", what);
  g->failed = TRUE;
}

static char *
number_code (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isinf (v))
    return g_strdup (v > 0 ? "float('inf')" : "-float('inf')");
  if (isnan (v))
    return g_strdup ("float('nan')");
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.17g", v));
}

static const char *
xp (const Gen *g)
{
  return g->torch ? "torch" : "np";
}

/* φ(a) in the script's library. */
static char *
apply_code (Gen        *g,
            JacFunc     func,
            double      p,
            const char *a)
{
  const char *lib = xp (g);

  switch (func)
    {
    case JAC_FUNC_ABS: return g_strdup_printf ("%s.abs(%s)", lib, a);
    case JAC_FUNC_TAN: return g_strdup_printf ("%s.tan(%s)", lib, a);
    case JAC_FUNC_ARCSIN: return g_strdup_printf (g->torch ? "torch.asin(%s)" : "np.arcsin(%s)", a);
    case JAC_FUNC_ARCCOS: return g_strdup_printf (g->torch ? "torch.acos(%s)" : "np.arccos(%s)", a);
    case JAC_FUNC_ARCTAN: return g_strdup_printf (g->torch ? "torch.atan(%s)" : "np.arctan(%s)", a);
    case JAC_FUNC_SINH: return g_strdup_printf ("%s.sinh(%s)", lib, a);
    case JAC_FUNC_COSH: return g_strdup_printf ("%s.cosh(%s)", lib, a);
    case JAC_FUNC_SIGN: return g_strdup_printf ("%s.sign(%s)", lib, a);
    case JAC_FUNC_POWER:
      {
        g_autofree char *e = number_code (p);

        return g_strdup_printf ("(%s) ** %s", a, e);
      }
    case JAC_FUNC_IDENTITY: return g_strdup (a);
    case JAC_FUNC_TANH: return g_strdup_printf ("%s.tanh(%s)", lib, a);
    case JAC_FUNC_SIGMOID: return g_strdup_printf ("sigmoid(%s)", a);
    case JAC_FUNC_RELU:
      return g->torch ? g_strdup_printf ("torch.clamp(%s, min=0)", a)
                      : g_strdup_printf ("np.maximum(%s, 0)", a);
    case JAC_FUNC_EXP: return g_strdup_printf ("%s.exp(%s)", lib, a);
    case JAC_FUNC_LOG: return g_strdup_printf ("%s.log(%s)", lib, a);
    case JAC_FUNC_SQRT: return g_strdup_printf ("%s.sqrt(%s)", lib, a);
    case JAC_FUNC_SIN: return g_strdup_printf ("%s.sin(%s)", lib, a);
    case JAC_FUNC_COS: return g_strdup_printf ("%s.cos(%s)", lib, a);
    case JAC_FUNC_SOFTPLUS:
      return g->torch ? g_strdup_printf ("torch.nn.functional.softplus(%s)", a)
                      : g_strdup_printf ("np.logaddexp(0, %s)", a);
    case JAC_FUNC_SQUARE: return g_strdup_printf ("(%s) ** 2", a);
    case JAC_N_FUNCS:
    default:
      fail (g, jac_func_name (func));
      return g_strdup ("0");
    }
}

/* φ′(z) in NumPy (the derivative's slopes are NumPy code: the einsum and the contracted form are
 * NumPy in both scripts). */
static char *
slope_code (Gen        *g,
            JacFunc     func,
            double      p,
            const char *z)
{
  switch (func)
    {
    case JAC_FUNC_ABS: return g_strdup_printf ("np.sign(%s)", z);
    case JAC_FUNC_TAN: return g_strdup_printf ("(1 + np.tan(%s) ** 2)", z);
    case JAC_FUNC_ARCSIN: return g_strdup_printf ("(1 / np.sqrt(1 - %s ** 2))", z);
    case JAC_FUNC_ARCCOS: return g_strdup_printf ("(-1 / np.sqrt(1 - %s ** 2))", z);
    case JAC_FUNC_ARCTAN: return g_strdup_printf ("(1 / (1 + %s ** 2))", z);
    case JAC_FUNC_SINH: return g_strdup_printf ("np.cosh(%s)", z);
    case JAC_FUNC_COSH: return g_strdup_printf ("np.sinh(%s)", z);
    case JAC_FUNC_SIGN: return g_strdup_printf ("np.zeros_like(%s)", z);
    case JAC_FUNC_POWER:
      {
        g_autofree char *e = number_code (p);
        g_autofree char *e1 = number_code (p - 1);

        return g_strdup_printf ("(%s * %s ** %s)", e, z, e1);
      }
    case JAC_FUNC_IDENTITY: return g_strdup_printf ("np.ones_like(%s)", z);
    case JAC_FUNC_TANH: return g_strdup_printf ("(1 - np.tanh(%s) ** 2)", z);
    case JAC_FUNC_SIGMOID: return g_strdup_printf ("(sigmoid(%s) * (1 - sigmoid(%s)))", z, z);
    case JAC_FUNC_RELU: return g_strdup_printf ("(%s > 0).astype(float)", z);
    case JAC_FUNC_EXP: return g_strdup_printf ("np.exp(%s)", z);
    case JAC_FUNC_LOG: return g_strdup_printf ("(1 / %s)", z);
    case JAC_FUNC_SQRT: return g_strdup_printf ("(0.5 / np.sqrt(%s))", z);
    case JAC_FUNC_SIN: return g_strdup_printf ("np.cos(%s)", z);
    case JAC_FUNC_COS: return g_strdup_printf ("(-np.sin(%s))", z);
    case JAC_FUNC_SOFTPLUS: return g_strdup_printf ("sigmoid(%s)", z);
    case JAC_FUNC_SQUARE: return g_strdup_printf ("(2 * %s)", z);
    case JAC_N_FUNCS:
    default:
      fail (g, jac_func_name (func));
      return g_strdup ("0");
    }
}


static char *
shape_code (guint        rank,
            const gsize *shape)
{
  GString *s = g_string_new ("(");

  for (guint a = 0; a < rank; a++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, a > 0 ? ", " : "", shape[a]);
  if (rank == 1)
    g_string_append_c (s, ',');
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* ---- the forward pass ---- */

static char *
forward_line (Gen           *g,
              guint          n,
              const JacNode *node)
{
  const char *a = node->lhs >= 0 ? g->names[node->lhs] : NULL;
  const char *b = node->rhs >= 0 ? g->names[node->rhs] : NULL;
  g_autofree char *value = NULL;

  switch (node->op)
    {
    case JAC_OP_CONSTANT:
      {
        g_autofree char *c = number_code (node->constant);

        value = g->torch ? g_strdup_printf ("torch.tensor(%s, dtype=torch.float64)", c)
                         : g_strdup_printf ("np.float64(%s)", c);
        break;
      }
    case JAC_OP_MATMUL: value = g_strdup_printf ("%s @ %s", a, b); break;
    case JAC_OP_ADD: value = g_strdup_printf ("%s + %s", a, b); break;
    case JAC_OP_SUB: value = g_strdup_printf ("%s - %s", a, b); break;
    case JAC_OP_MUL: value = g_strdup_printf ("%s * %s", a, b); break;
    case JAC_OP_DIV: value = g_strdup_printf ("%s / %s", a, b); break;
    case JAC_OP_NEGATE: value = g_strdup_printf ("-%s", a); break;
    case JAC_OP_TRANSPOSE: value = g_strdup_printf ("%s.T", a); break;
    case JAC_OP_APPLY: value = apply_code (g, node->func, node->constant, a); break;
    case JAC_OP_SUM: value = g_strdup_printf ("%s.sum()", a); break;
    case JAC_OP_SOFTMAX: value = g_strdup_printf ("softmax(%s)", a); break;
    case JAC_OP_SUM_AXIS:
      value = g_strdup_printf (g->torch ? "torch.sum(%s, dim=%u)" : "np.sum(%s, axis=%u)", a,
                               node->axis);
      break;
    case JAC_OP_TRACE: value = g_strdup_printf ("%s.trace(%s)", xp (g), a); break;
    case JAC_OP_DIAG: value = g_strdup_printf ("%s.diag(%s)", xp (g), a); break;
    case JAC_OP_KRON: value = g_strdup_printf ("%s.kron(%s, %s)", xp (g), a, b); break;
    case JAC_OP_DET: value = g_strdup_printf ("%s.linalg.det(%s)", xp (g), a); break;
    case JAC_OP_LOGDET: value = g_strdup_printf ("%s.linalg.slogdet(%s)[1]", xp (g), a); break;
    case JAC_OP_INV: value = g_strdup_printf ("%s.linalg.inv(%s)", xp (g), a); break;
    case JAC_OP_RESHAPE:
      {
        g_autofree char *shape = shape_code (node->rank, node->shape);

        value = g_strdup_printf ("%s.reshape(%s, %s)", xp (g), a, shape);
        break;
      }
    case JAC_OP_VARIABLE:
    default:
      fail (g, "an operation of the expression");
      value = g_strdup ("0");
      break;
    }
  return g_strdup_printf ("    %s = %s\n", g->names[n], value);
}

/* def forward(x, W, …): every node's value, in graph order. */
static void
write_forward (Gen     *g,
               GString *out,
               GString *params)
{
  const JacGraph *graph = g->graph;

  g_string_append_printf (out, "def forward(%s):\n", params->str);
  g_string_append (out, "    \"\"\"Every node of the expression, in order; the last is the output.\"\"\"\n");
  for (guint n = 0; n < graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);
      g_autofree char *line = NULL;

      if (node->op == JAC_OP_VARIABLE)
        continue;
      line = forward_line (g, n, node);
      g_string_append (out, line);
    }
  g_string_append (out, "    return [");
  for (guint n = 0; n < graph->nodes->len; n++)
    g_string_append_printf (out, "%s%s", n > 0 ? ", " : "", g->names[n]);
  g_string_append (out, "]\n\n");
}

/* ---- the contracted form as matrix code ---- */

static char *
m_code (Gen            *g,
        const JacMExpr *e)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *shape = shape_code (e->rank, e->shape);

  switch (e->kind)
    {
    case JAC_M_NODE: return g_strdup (g->names[e->node]);
    case JAC_M_UPSTREAM: return g_strdup ("G");
    case JAC_M_SLOPE:
      {
        const JacNode *apply = jac_graph_node (g->graph, e->node);

        return slope_code (g, apply->func, apply->constant, g->names[apply->lhs]);
      }
    case JAC_M_CONST: return number_code (e->value);
    case JAC_M_IDENTITY: return g_strdup_printf ("np.eye(%" G_GSIZE_FORMAT ")", e->shape[0]);
    case JAC_M_ONES: return g_strdup_printf ("np.ones(%s)", shape);
    default:
      break;
    }
  a = e->a != NULL ? m_code (g, e->a) : NULL;
  b = e->b != NULL ? m_code (g, e->b) : NULL;
  switch (e->kind)
    {
    case JAC_M_MATMUL: return g_strdup_printf ("(%s @ %s)", a, b);
    case JAC_M_ADD: return g_strdup_printf ("(%s + %s)", a, b);
    case JAC_M_SUB: return g_strdup_printf ("(%s - %s)", a, b);
    case JAC_M_HADAMARD: return g_strdup_printf ("(%s * %s)", a, b);
    case JAC_M_DIV: return g_strdup_printf ("(%s / %s)", a, b);
    case JAC_M_NEG: return g_strdup_printf ("(-%s)", a);
    case JAC_M_TRANSPOSE: return g_strdup_printf ("np.asarray(%s).T", a);
    case JAC_M_FUNC:
      {
        gboolean torch = g->torch;
        char *code;

        g->torch = FALSE;
        code = apply_code (g, e->func, e->value, a);
        g->torch = torch;
        return code;
      }
    case JAC_M_STEP: return g_strdup_printf ("(np.asarray(%s) > 0).astype(float)", a);
    case JAC_M_SOFTMAX: return g_strdup_printf ("softmax(%s)", a);
    case JAC_M_SUM_ALL: return g_strdup_printf ("np.full(%s, np.sum(%s))", shape, a);
    case JAC_M_SUM_ROWS:
    case JAC_M_SUM_COLS:
      /* 1ᵀ A sums axis 0, A 1 axis 1 (unbroadcast would take a vector for a row: A 1 as a
       * vector of row sums must not sum the columns). */
      return g_strdup_printf ("np.sum(%s, axis=%d%s)", a, e->kind == JAC_M_SUM_ROWS ? 0 : 1,
                              e->rank == 2 ? ", keepdims=True" : "");
    case JAC_M_BROADCAST: return g_strdup_printf ("np.broadcast_to(%s, %s)", a, shape);
    case JAC_M_TRACE: return g_strdup_printf ("np.trace(%s)", a);
    case JAC_M_DIAG: return g_strdup_printf ("np.diag(%s)", a);
    case JAC_M_DET: return g_strdup_printf ("np.linalg.det(%s)", a);
    case JAC_M_LOGDET: return g_strdup_printf ("np.linalg.slogdet(%s)[1]", a);
    case JAC_M_INV: return g_strdup_printf ("np.linalg.inv(%s)", a);
    case JAC_M_SPREAD_ROWS: return g_strdup_printf ("np.broadcast_to(np.reshape(%s, (1, -1)), %s)", a, shape);
    case JAC_M_SPREAD_COLS: return g_strdup_printf ("np.broadcast_to(np.reshape(%s, (-1, 1)), %s)", a, shape);
    case JAC_M_KRON: return g_strdup_printf ("np.kron(%s, %s)", a, b);
    case JAC_M_RESHAPE: return g_strdup_printf ("np.reshape(%s, %s)", a, shape);
    case JAC_M_BLOCK_SUMS:
    case JAC_M_BLOCK_TOTAL:
      {
        /* a (m p, n q): each block summed to (m, n), or the blocks added to (p, q). */
        gsize rows = e->a->shape[0], cols = e->a->rank > 1 ? e->a->shape[1] : 1;
        gsize er = e->rank > 0 ? e->shape[0] : 1, ec = e->rank > 1 ? e->shape[1] : 1;

        if (e->kind == JAC_M_BLOCK_SUMS)
          return g_strdup_printf ("np.reshape(np.reshape(%s, (%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                                  ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ")).sum(axis=(1, 3)), %s)",
                                  a, er, rows / er, ec, cols / ec, shape);
        return g_strdup_printf ("np.reshape(np.reshape(%s, (%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                                ", %" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT ")).sum(axis=(0, 2)), %s)",
                                a, rows / er, er, cols / ec, ec, shape);
      }
    default:
      fail (g, "a step of the contracted form");
      return g_strdup ("0");
    }
}

/* ---- the Jacobian from its δ terms ---- */

typedef struct
{
  GHashTable *letters;   /* index id → its einsum letter (a char in a GINT_TO_POINTER) */
  GHashTable *extents;   /* index id → extent */
  guint       next;
} Letters;

static const char einsum_letters[] = "ijpqklmnrstuvwabcdefghoxyzIJPQKLMNRSTUVWABCDEFGHOXYZ";

static char
letter_of (Letters *l,
           int      id)
{
  gpointer found;

  if (g_hash_table_lookup_extended (l->letters, GINT_TO_POINTER (id), NULL, &found))
    return (char) GPOINTER_TO_INT (found);
  if (l->next >= strlen (einsum_letters))
    return '\0';
  g_hash_table_insert (l->letters, GINT_TO_POINTER (id),
                       GINT_TO_POINTER ((int) einsum_letters[l->next]));
  return einsum_letters[l->next++];
}

static void
note_extent (Letters *l,
             int      id,
             gsize    extent)
{
  if (id != JAC_INDEX_ZERO)
    g_hash_table_insert (l->extents, GINT_TO_POINTER (id), GSIZE_TO_POINTER (extent));
}

/* The tensor a factor reads, as NumPy code, with the broadcast axes' index 0 taken. */
static char *
factor_operand (Gen             *g,
                const JacFactor *f,
                Letters         *l,
                GString         *subscripts)
{
  int kind = -1, node = f->node, sym_node = -1;
  g_autofree char *base = NULL;
  const JacNode *n;
  GString *index = g_string_new (NULL);
  gboolean any_zero = FALSE;

  if (f->symbol >= 0 && 2 * f->symbol + 1 < (int) g->d->symbol_nodes->len)
    {
      const int *pair = &g_array_index (g->d->symbol_nodes, int, 2 * f->symbol);

      kind = pair[0];
      sym_node = pair[1];
      if (f->kind == JAC_FACTOR_ENTRY)
        node = pair[1];
    }
  switch (f->kind)
    {
    case JAC_FACTOR_ENTRY:
      if (kind == JAC_SYMBOL_UPSTREAM)
        base = g_strdup ("G");
      else if (kind == JAC_SYMBOL_SLOPE)
        {
          const JacNode *apply = jac_graph_node (g->graph, node);

          base = slope_code (g, apply->func, apply->constant, g->names[apply->lhs]);
        }
      else
        base = g_strdup (g->names[node]);
      break;
    case JAC_FACTOR_FUNC:
    case JAC_FACTOR_SOFTMAX:
      base = g_strdup (g->names[f->node]);
      break;
    case JAC_FACTOR_SLOPE:
      {
        const JacNode *apply = jac_graph_node (g->graph, f->node);

        base = slope_code (g, apply->func, apply->constant, g->names[apply->lhs]);
        break;
      }
    case JAC_FACTOR_DET:
    case JAC_FACTOR_LOGDET:
    case JAC_FACTOR_INVERSE:
      if (sym_node < 0)
        {
          fail (g, "a determinant or inverse without its matrix");
          g_string_free (index, TRUE);
          return g_strdup ("0");
        }
      base = g_strdup_printf (f->kind == JAC_FACTOR_DET ? "np.linalg.det(%s)"
                              : f->kind == JAC_FACTOR_LOGDET ? "np.linalg.slogdet(%s)[1]"
                              : "np.linalg.inv(%s)", g->names[sym_node]);
      node = f->kind == JAC_FACTOR_INVERSE ? sym_node : -1;
      break;
    case JAC_FACTOR_KRON_OUTER:
    case JAC_FACTOR_KRON_INNER:
      {
        /* A[⌊i/p⌋, ⌊j/q⌋] is kron(A, ones) at [i, j], B[i mod p, j mod q] kron(ones, B). */
        const JacNode *kron = jac_graph_node (g->graph, f->node);
        const char *a = g->names[kron->lhs], *b = g->names[kron->rhs];

        base = f->kind == JAC_FACTOR_KRON_OUTER
               ? g_strdup_printf ("np.kron(%s, np.ones(np.shape(%s)))", a, b)
               : g_strdup_printf ("np.kron(np.ones(np.shape(%s)), %s)", a, b);
        break;
      }
    case JAC_FACTOR_KRON_SELECT:
      {
        /* δ(⌊i/p⌋, k) or δ(i mod p, k) as a 0/1 matrix over (i, k). */
        const JacNode *kron = jac_graph_node (g->graph, f->node);
        guint axis = (guint) (f->power - 1) % 2;
        gboolean inner = f->power >= 3;
        const JacNode *operand = jac_graph_node (g->graph, inner ? kron->rhs : kron->lhs);
        gsize divisor = jac_graph_node (g->graph, kron->rhs)->shape[axis];
        gsize rows = kron->shape[axis], cols = operand->shape[axis];

        note_extent (l, f->idx[0], rows);
        note_extent (l, f->idx[1], cols);
        g_string_append_c (subscripts, letter_of (l, f->idx[0]));
        g_string_append_c (subscripts, letter_of (l, f->idx[1]));
        g_string_free (index, TRUE);
        return g_strdup_printf ("(np.arange(%" G_GSIZE_FORMAT ")[:, None] %s %" G_GSIZE_FORMAT
                                " == np.arange(%" G_GSIZE_FORMAT ")[None, :]).astype(float)",
                                rows, inner ? "%" : "//", divisor, cols);
      }
    case JAC_FACTOR_DELTA:
    case JAC_FACTOR_DERIV:
    default:
      fail (g, f->kind == JAC_FACTOR_DERIV ? "a placeholder of the derivative"
                                           : "a factor with no NumPy form");
      g_string_free (index, TRUE);
      return g_strdup ("0");
    }
  n = node >= 0 ? jac_graph_node (g->graph, node) : NULL;
  for (guint a = 0; a < f->rank && a < 2; a++)
    {
      if (f->idx[a] == JAC_INDEX_ZERO)
        {
          g_string_append_printf (index, "%s0", index->len > 0 ? ", " : "");
          any_zero = TRUE;
          continue;
        }
      g_string_append_printf (index, "%s:", index->len > 0 ? ", " : "");
      g_string_append_c (subscripts, letter_of (l, f->idx[a]));
      if (n != NULL && a < n->rank)
        note_extent (l, f->idx[a], n->shape[a]);
    }
  {
    g_autofree char *power = f->power != 1 ? g_strdup_printf (" ** %d", f->power) : g_strdup ("");
    char *code;

    if (any_zero)
      code = g_strdup_printf ("(np.asarray(%s)[%s]%s)", base, index->str, power);
    else
      code = g_strdup_printf ("(np.asarray(%s)%s)", base, power);
    g_string_free (index, TRUE);
    return code;
  }
}

/* The bound kron's composite δs put on the support: position 0, 1 is the output's axis, 2, 3
 * the variable's, dense axis out_rank + t. */
static void
write_supports (GString             *out,
                const JacDerivation *self,
                guint                out_rank)
{
  g_string_append_printf (out, "# kron's composite deltas (%s): outside every term's support "
                          "an entry is zero.\nix = np.indices(J.shape)\n"
                          "bound = np.zeros(J.shape, dtype=bool)\n", self->support_sentence);
  for (guint k = 0; k < self->n_supports; k++)
    {
      const JacEntrySupport *support = &self->supports[k];
      g_autoptr(GString) condition = g_string_new (NULL);

      for (guint t = 0; t < support->n_ties; t++)
        {
          const JacIndexTie *tie = &support->ties[t];
          guint a = tie->a < 2 ? tie->a : out_rank + tie->a - 2;
          guint b = tie->b < 2 ? tie->b : out_rank + tie->b - 2;

          g_string_append_printf (condition, "%s(ix[%u]", t > 0 ? " & " : "", a);
          if (tie->kind != JAC_TIE_EQUAL)
            g_string_append_printf (condition, " %s %" G_GSIZE_FORMAT,
                                    tie->kind == JAC_TIE_DIV ? "//" : "%", tie->divisor);
          g_string_append_printf (condition, " == ix[%u])", b);
        }
      g_string_append_printf (out, "bound = bound | (%s)\n", condition->str);
    }
  g_string_append (out, "support = support & bound\n");
}

/* One term: coef * np.einsum('ij,ip,qj->ijpq', S, np.eye(2), W_hh, optimize=True). */
static char *
term_code (Gen           *g,
           const JacTerm *term,
           guint          out_rank,
           const int     *out_idx,
           const gsize   *out_shape,
           guint          var_rank,
           const int     *var_idx,
           const gsize   *var_shape)
{
  Letters l = { g_hash_table_new (NULL, NULL), g_hash_table_new (NULL, NULL), 0 };
  GPtrArray *operands = g_ptr_array_new_with_free_func (g_free);
  GString *subs = g_string_new (NULL);
  GString *result = g_string_new (NULL);
  g_autofree char *coef = number_code (term->coef);
  char *code;

  for (guint a = 0; a < out_rank; a++)
    {
      letter_of (&l, out_idx[a]);
      note_extent (&l, out_idx[a], out_shape[a]);
    }
  for (guint a = 0; a < var_rank; a++)
    {
      letter_of (&l, var_idx[a]);
      note_extent (&l, var_idx[a], var_shape[a]);
    }
  /* Extents first: a δ takes them from the other factors. */
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *factor = &g_array_index (term->factors, JacFactor, f);
      GString *sub = g_string_new (NULL);

      if (factor->kind == JAC_FACTOR_DELTA)
        {
          g_string_free (sub, TRUE);
          continue;
        }
      g_ptr_array_add (operands, factor_operand (g, factor, &l, sub));
      g_string_append_printf (subs, "%s%s", operands->len > 1 ? "," : "", sub->str);
      g_string_free (sub, TRUE);
    }
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *factor = &g_array_index (term->factors, JacFactor, f);
      gsize extent = 0;

      if (factor->kind != JAC_FACTOR_DELTA)
        continue;
      for (guint k = 0; k < 2 && extent == 0; k++)
        extent = GPOINTER_TO_SIZE (g_hash_table_lookup (l.extents,
                                                        GINT_TO_POINTER (factor->idx[k])));
      if (factor->idx[0] == JAC_INDEX_ZERO || factor->idx[1] == JAC_INDEX_ZERO || extent == 0)
        {
          fail (g, "a δ on a broadcast axis");
          break;
        }
      g_ptr_array_add (operands, g_strdup_printf ("np.eye(%" G_GSIZE_FORMAT ")", extent));
      g_string_append_printf (subs, "%s%c%c", operands->len > 1 ? "," : "",
                              letter_of (&l, factor->idx[0]), letter_of (&l, factor->idx[1]));
    }
  /* An output or variable index no factor carries: the term is constant along it. */
  for (guint a = 0; a < out_rank + var_rank; a++)
    {
      int id = a < out_rank ? out_idx[a] : var_idx[a - out_rank];
      char c = letter_of (&l, id);
      gsize extent = a < out_rank ? out_shape[a] : var_shape[a - out_rank];

      g_string_append_c (result, c);
      if (strchr (subs->str, c) == NULL)
        {
          g_ptr_array_add (operands, g_strdup_printf ("np.ones(%" G_GSIZE_FORMAT ")", extent));
          g_string_append_printf (subs, "%s%c", operands->len > 1 ? "," : "", c);
        }
    }
  if (l.next >= strlen (einsum_letters))
    fail (g, "a term with more indices than einsum has letters");
  if (operands->len == 0)
    code = g_strdup_printf ("%s * np.ones(())", coef);
  else
    {
      GString *c = g_string_new (NULL);

      g_string_append_printf (c, "%s * np.einsum('%s->%s'", coef, subs->str, result->str);
      for (guint k = 0; k < operands->len; k++)
        g_string_append_printf (c, ", %s", (const char *) g_ptr_array_index (operands, k));
      g_string_append (c, ", optimize=True)");
      code = g_string_free (c, FALSE);
    }
  g_hash_table_unref (l.letters);
  g_hash_table_unref (l.extents);
  g_ptr_array_unref (operands);
  g_string_free (subs, TRUE);
  g_string_free (result, TRUE);
  return code;
}

/* The δ pattern of a term as a boolean array over out.shape + wrt.shape: where its δs hold. */
static char *
pattern_code (const int   *pair,
              guint        out_rank,
              const gsize *out_shape,
              guint        var_rank,
              const gsize *var_shape)
{
  static const char out_l[] = "ij", var_l[] = "pq";
  GString *subs = g_string_new (NULL), *ops = g_string_new (NULL), *res = g_string_new (NULL);
  gboolean used_var[2] = { FALSE, FALSE };
  char *code;

  for (guint a = 0; a < out_rank; a++)
    {
      g_string_append_c (res, out_l[a]);
      if (pair[a] >= 0)
        {
          g_string_append_printf (subs, "%s%c%c", subs->len ? "," : "", out_l[a], var_l[pair[a]]);
          g_string_append_printf (ops, ", np.eye(%" G_GSIZE_FORMAT ")", out_shape[a]);
          used_var[pair[a]] = TRUE;
        }
      else
        {
          g_string_append_printf (subs, "%s%c", subs->len ? "," : "", out_l[a]);
          g_string_append_printf (ops, ", np.ones(%" G_GSIZE_FORMAT ")", out_shape[a]);
        }
    }
  for (guint b = 0; b < var_rank; b++)
    {
      g_string_append_c (res, var_l[b]);
      if (!used_var[b])
        {
          g_string_append_printf (subs, "%s%c", subs->len ? "," : "", var_l[b]);
          g_string_append_printf (ops, ", np.ones(%" G_GSIZE_FORMAT ")", var_shape[b]);
        }
    }
  if (subs->len == 0)
    code = g_strdup ("np.ones((), dtype=bool)");
  else
    code = g_strdup_printf ("(np.einsum('%s->%s'%s) > 0)", subs->str, res->str, ops->str);
  g_string_free (subs, TRUE);
  g_string_free (ops, TRUE);
  g_string_free (res, TRUE);
  return code;
}

/* ---- the variables ---- */

static void
write_array (GString         *out,
             const char      *name,
             const JacTensor *t)
{
  g_autofree char *shape = shape_code (t->rank, t->shape);

  g_string_append_printf (out, "%s = np.array([", name);
  for (gsize n = 0; n < t->size; n++)
    {
      g_autofree char *v = number_code (t->data[n]);

      g_string_append_printf (out, "%s%s", n > 0 ? (n % 6 == 0 ? ",\n    " : ", ") : "", v);
    }
  g_string_append_printf (out, "], dtype=np.float64).reshape(%s)\n", shape);
}

char *
jac_derivation_python (const JacDerivation  *self,
                       const JacGraph       *graph,
                       const JacTensor      *upstream,
                       const char           *source,
                       GHashTable           *paths,
                       gsize                 literal_limit,
                       guint32               seed,
                       gboolean              torch,
                       GError              **error)
{
  g_return_val_if_fail (self != NULL, NULL);

  Gen g = { self, graph, torch, NULL, error, FALSE };
  const JacNode *out_node, *var_node;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) params = g_string_new (NULL);
  /* A program's new lines stay inside the comment. */
  g_auto(GStrv) lines = g_strsplit (source != NULL ? source : "", "\n", -1);
  g_autofree char *commented = g_strjoinv ("\n#   ", lines);
  g_autoptr(GString) args = g_string_new (NULL);
  g_autoptr(GString) fd_args = g_string_new (NULL);       /* forward's, the variable's _value */
  g_autoptr(GString) targs = g_string_new (NULL);         /* forward's arguments, v for wrt */
  g_autoptr(GString) tensor_args = g_string_new (NULL);   /* forward's arguments as tensors */
  gsize total = 0;
  const GPtrArray *terms = self->terms;
  int out_idx[2] = { -1, -1 }, var_idx[2] = { -1, -1 };
  guint n_nodes;

  g_return_val_if_fail (self != NULL && graph != NULL && upstream != NULL, NULL);

  n_nodes = graph->nodes->len;
  out_node = jac_graph_node (graph, graph->output);
  var_node = jac_graph_node (graph, self->variable);
  g.names = g_new0 (char *, n_nodes + 1);
  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);

      /* Variables by name, the output by its name unless a variable has it, the rest n<k>. */
      g.names[n] = node->op == JAC_OP_VARIABLE ? python_name (node->name)
                   : n == (guint) graph->output && jac_graph_find_variable (graph,
                                                                            self->output_name) < 0
                   ? python_name (self->output_name)
                   : g_strdup_printf ("n%u", n);
      if (node->op == JAC_OP_VARIABLE)
        {
          total += node->value->size;
          g_string_append_printf (params, "%s%s", params->len > 0 ? ", " : "", g.names[n]);
        }
    }

  g_string_append_printf (out, "#!/usr/bin/env python3\n"
                          "# Written by jacscope derive --%s: d%s/d%s of %s\n"
                          "# J = %s\n# contracted form: %s\n",
                          torch ? "torch" : "numpy", self->output_name, self->variable_name,
                          commented, self->result_text != NULL ? self->result_text : "0",
                          self->contracted_text);
  g_string_append (out, "#\n# Checks itself: the contracted form (the matrix code back-propagation "
                   "runs) and the full\n# Jacobian built from its Kronecker-delta terms with "
                   "np.einsum are compared with ");
  g_string_append (out, torch ? "torch.autograd,\n" : "central finite\n# differences of the "
                   "forward pass,");
  g_string_append (out, torch ? "# " : " ");
  g_string_append (out, "and so are the zeros the deltas promise. Prints the largest errors and "
                   "exits 1\n# past tolerance.");
  g_string_append_printf (out, " Needs %s.\n", torch ? "NumPy and PyTorch" : "NumPy only");
  g_string_append (out, "import sys\n\nimport numpy as np\n");
  if (torch)
    g_string_append (out, "import torch\n\ntorch.set_default_dtype(torch.float64)\n");
  g_string_append (out, "\n\n"
                   "def sigmoid(z):\n"
                   "    return 1 / (1 + (torch.exp(-z) if torch_tensor(z) else np.exp(-z)))\n\n\n"
                   "def softmax(z):\n"
                   "    if torch_tensor(z):\n"
                   "        return torch.softmax(z, dim=1)\n"
                   "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
                   "    return e / e.sum(axis=1, keepdims=True)\n\n\n"
                   "def torch_tensor(z):\n");
  g_string_append (out, torch ? "    return isinstance(z, torch.Tensor)\n\n\n"
                              : "    return False\n\n\n");
  g_string_append (out, "def unbroadcast(a, shape):\n"
                   "    \"\"\"Sums a broadcast value back to shape (1ᵀ A, A 1).\"\"\"\n"
                   "    a = np.asarray(a)\n"
                   "    while a.ndim > len(shape):\n"
                   "        a = a.sum(axis=0)\n"
                   "    for k, n in enumerate(shape):\n"
                   "        if n == 1 and a.shape[k] != 1:\n"
                   "            a = a.sum(axis=k, keepdims=True)\n"
                   "    return a.reshape(shape)\n\n\n");

  /* The variables. */
  if (total <= literal_limit)
    g_string_append (out, "# The variables, with the values jacscope used.\n");
  else
    g_string_append_printf (out, "# The variables: loaded from the files jacscope loaded; the "
                            "others, too many to write out,\n# drawn by NumPy's default_rng(%u) in "
                            "the domains jacscope draws from (log's operands positive,\n# det's invertible, …): "
                            "other numbers than jacscope's, the same identities.\n"
                            "rng = np.random.default_rng(%u)\n", seed, seed);
  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);
      const char *path;

      if (node->op != JAC_OP_VARIABLE)
        continue;
      path = paths != NULL ? g_hash_table_lookup (paths, node->name) : NULL;
      if (total <= literal_limit)
        write_array (out, g.names[n], node->value);
      else if (path != NULL)
        {
          g_autofree char *quoted = g_strescape (path, NULL);

          g_string_append_printf (out, "%s = np.load(\"%s\").astype(np.float64)\n", g.names[n],
                                  quoted);
        }
      else
        {
          g_autofree char *shape = shape_code (node->rank, node->shape);
          double centre, half_width, shift;
          g_autofree char *low = NULL, *high = NULL;

          /* jacscope's own rule (jac_expr_variable_range), with NumPy's generator. */
          jac_expr_variable_range (graph, n, &centre, &half_width, &shift);
          low = number_code (centre - half_width);
          high = number_code (centre + half_width);
          g_string_append_printf (out, "%s = rng.uniform(%s, %s, %s)\n", g.names[n], low, high,
                                  shape);
          if (shift > 0)
            g_string_append_printf (out, "%s += %g * np.eye(%" G_GSIZE_FORMAT ")\n", g.names[n],
                                    shift, node->shape[0]);
        }
      /* forward's arguments: as they are; with the variable differentiated replaced, for the
       * finite differences (name_value) and torch.autograd (v); as tensors. */
      {
        const char *sep = args->len > 0 ? ", " : "";
        gboolean wrt = n == (guint) self->variable;

        g_string_append_printf (args, "%s%s", sep, g.names[n]);
        g_string_append_printf (fd_args, "%s%s%s", sep, g.names[n], wrt ? "_value" : "");
        g_string_append_printf (targs, wrt ? "%sv" : "%st_%s", sep, g.names[n]);
        g_string_append_printf (tensor_args, "%st_%s", sep, g.names[n]);
      }
    }
  if (upstream->size <= literal_limit)
    {
      g_string_append (out, "# G = dL/d(output), the upstream gradient.\n");
      write_array (out, "G", upstream);
    }
  else
    {
      g_autofree char *shape = shape_code (upstream->rank, upstream->shape);

      g_string_append_printf (out, "G = rng.uniform(-1, 1, %s)\n", shape);
    }
  g_string_append (out, "\n\n");

  write_forward (&g, out, params);

  if (torch)
    {
      for (guint n = 0; n < n_nodes; n++)
        if (jac_graph_node (graph, n)->op == JAC_OP_VARIABLE)
          g_string_append_printf (out, "t_%s = torch.tensor(%s)\n", g.names[n], g.names[n]);
      g_string_append_printf (out, "values = [np.asarray(v) for v in forward(%s)]\n",
                              tensor_args->str);
    }
  else
    g_string_append_printf (out, "values = forward(%s)\n", args->str);
  for (guint n = 0; n < n_nodes; n++)
    if (jac_graph_node (graph, n)->op != JAC_OP_VARIABLE)
      g_string_append_printf (out, "%s = values[%u]\n", g.names[n], n);
  g_string_append (out, "\n");

  /* The contracted form. */
  {
    g_autofree char *code = m_code (&g, self->priv);
    g_autofree char *shape = shape_code (var_node->rank, var_node->shape);

    g_string_append_printf (out, "# The contracted form, sum_ij G_ij J_ij..: %s%s%s\n",
                            self->contracted_text, self->where_text != NULL ? ", where " : "",
                            self->where_text != NULL ? self->where_text : "");
    g_string_append_printf (out, "contracted = np.broadcast_to(%s, %s)\n\n", code, shape);
  }

  /* The Jacobian from its terms. The context's indices are gone; the terms' own say which are
   * the output's and the variable's: those a term does not sum over, by first appearance. */
  {
    gsize jshape[4];
    guint jrank = 0;
    g_autofree char *shape = NULL;

    for (guint a = 0; a < out_node->rank; a++)
      jshape[jrank++] = out_node->shape[a];
    for (guint a = 0; a < var_node->rank; a++)
      jshape[jrank++] = var_node->shape[a];
    shape = shape_code (jrank, jshape);
    g_string_append_printf (out, "# The Jacobian from its delta terms: J = %s\n",
                            self->result_text != NULL ? self->result_text : "0");
    g_string_append_printf (out, "J = np.zeros(%s)\n", shape);
    memcpy (out_idx, self->out_index_ids, sizeof out_idx);
    memcpy (var_idx, self->wrt_index_ids, sizeof var_idx);
    for (guint t = 0; terms != NULL && t < terms->len; t++)
      {
        g_autofree char *code = term_code (&g, g_ptr_array_index (terms, t), out_node->rank,
                                           out_idx, out_node->shape, var_node->rank, var_idx,
                                           var_node->shape);

        g_string_append_printf (out, "J = J + %s\n", code);
      }
    g_string_append (out, "\n# Where the deltas let J be nonzero: an entry outside every "
                     "term's pattern is a structural zero.\n");
    g_string_append_printf (out, "support = np.zeros(%s, dtype=bool)\n", shape);
    for (guint k = 0; k < self->n_patterns; k++)
      {
        g_autofree char *code = pattern_code (self->patterns[k], out_node->rank, out_node->shape,
                                              var_node->rank, var_node->shape);

        g_string_append_printf (out, "support = support | %s\n", code);
      }
    if (self->n_patterns == 0 && self->depends)
      g_string_append (out, "support[...] = True\n");
    if (self->n_supports > 0)
      write_supports (out, self, out_node->rank);
    if (self->n_zero_partitions > 0)
      {
        guint out_rank = out_node->rank, var_rank = var_node->rank;

        g_string_append_printf (out, "# Zeros the deltas alone do not say (%s): where the "
                                "indices coincide so that\n# the terms cancel, or a delta "
                                "between two of the variable's indices fails.\n"
                                "ix = np.indices(J.shape)\n", self->partition_sentence);
        for (guint k = 0; k < self->n_zero_partitions; k++)
          {
            g_autoptr(GString) condition = g_string_new (NULL);

            /* Positions 0, 1 are the output's axes, 2, 3 the variable's: the dense axes
             * 0 … out_rank − 1, then out_rank …. */
            for (guint a = 0; a < 4; a++)
              for (guint b = a + 1; b < 4; b++)
                {
                  int x = a < 2 ? (a < out_rank ? (int) a : -1)
                                : (a - 2 < var_rank ? (int) (out_rank + a - 2) : -1);
                  int y = b < 2 ? (b < out_rank ? (int) b : -1)
                                : (b - 2 < var_rank ? (int) (out_rank + b - 2) : -1);

                  if (x < 0 || y < 0)
                    continue;
                  g_string_append_printf (condition, "%s(ix[%d] %s ix[%d])",
                                          condition->len > 0 ? " & " : "", x,
                                          jac_entry_partition_ties (self->zero_partitions[k], a, b)
                                            ? "==" : "!=", y);
                }
            g_string_append_printf (out, "support = support & ~(%s)\n", condition->str);
          }
      }
    g_string_append (out, "\n");
  }

  /* The independent path. */
  {
    const char *var = g.names[self->variable];
    guint last = graph->output;

    if (!torch)
      {
        g_string_append_printf (out, "# Central finite differences of the forward pass, one "
                                "entry of %s at a time.\n", var);
        g_string_append_printf (out, "def output(%s_value):\n"
                                "    return np.asarray(forward(%s)[%u])\n\n\n", var,
                                fd_args->str, last);
        g_string_append_printf (out, "eps = 1e-6\n"
                                "J_check = np.zeros(J.shape)\n"
                                "for idx in np.ndindex(*np.shape(%s)):\n"
                                "    up = np.array(%s, dtype=np.float64)\n"
                                "    down = np.array(%s, dtype=np.float64)\n"
                                "    up[idx] += eps\n"
                                "    down[idx] -= eps\n"
                                "    J_check[(Ellipsis,) + idx] = (output(up) - output(down)) / (2 * eps)\n"
                                "tolerance = 1e-6 * max(1.0, np.abs(J_check).max())\n\n",
                                var, var, var);
      }
    else
      g_string_append_printf (out, "# torch.autograd on the same forward pass, in float64.\n"
                              "J_check = torch.autograd.functional.jacobian(\n"
                              "    lambda v: forward(%s)[%u], t_%s).numpy()\n"
                              "tolerance = 1e-10 * max(1.0, np.abs(J_check).max())\n\n",
                              targs->str, last, var);
  }
  g_string_append (out, "error_jacobian = np.abs(J - J_check).max() if J.size else 0.0\n"
                   "vjp = np.tensordot(G, J_check, axes=np.ndim(G))\n"
                   "error_contracted = np.abs(contracted - vjp).max() if vjp.size else 0.0\n"
                   "zeros = J_check[~support]\n"
                   "error_zeros = np.abs(zeros).max() if zeros.size else 0.0\n"
                   "print(f\"max |J from its delta terms - J_check| = {error_jacobian:.3e}\")\n"
                   "print(f\"max |contracted form - G . J_check|    = {error_contracted:.3e}\")\n"
                   "print(f\"max |J_check| where the deltas force 0 = {error_zeros:.3e}"
                   " ({zeros.size} entries)\")\n"
                   "ok = max(error_jacobian, error_contracted, error_zeros) <= tolerance\n"
                   "print(\"all checks passed\" if ok else f\"past tolerance {tolerance:.1e}\")\n"
                   "sys.exit(0 if ok else 1)\n");
  g_strfreev (g.names);
  if (g.failed)
    return NULL;
  return g_strdup (out->str);
}

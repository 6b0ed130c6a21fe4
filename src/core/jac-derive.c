/* jac-derive.c: the derivation: names, index-notation definitions, chain rule, δ rule, contraction. */
#define G_LOG_DOMAIN "jac-derive"

#include <math.h>
#include <string.h>

#include "jac-derive-private.h"
#include "jac-error.h"

typedef struct
{
  JacDeriveContext  d;
  GPtrArray        *steps;        /* JacDerivationStep* */
  GPtrArray       **definition;   /* per named node: its index expression at eq_idx */
  GPtrArray       **derivative;   /* per named node: ∂node/∂variable, simplified, at eq_idx */
  int             (*eq_idx)[2];   /* per named node: the free indices of its equation */
} Derivation;

/* ---- names ---- */

static const char * const subscript_digits[] = {
  "₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉",
};

/* W_hh is written W with "hh" raised when indices follow (W^hh_kj), lowered when it stands
 * alone in matrix notation (W_hh), as the figures write it. */
static char *
markup_name (const char *name,
             gboolean    indexed)
{
  const char *underscore = strchr (name, '_');
  g_autofree char *base = NULL;
  g_autofree char *base_escaped = NULL;
  g_autofree char *suffix_escaped = NULL;

  if (underscore == NULL || underscore == name || underscore[1] == '\0')
    return g_markup_escape_text (name, -1);
  base = g_strndup (name, underscore - name);
  base_escaped = g_markup_escape_text (base, -1);
  suffix_escaped = g_markup_escape_text (underscore + 1, -1);
  return g_strdup_printf (indexed ? "%s<sup>%s</sup>" : "%s<sub>%s</sub>", base_escaped,
                          suffix_escaped);
}

static int
add_symbol (JacDeriveContext *d,
            JacSymbolKind     kind,
            const char       *name,
            guint             number,
            int               node,
            guint             rank)
{
  JacSymbol *sym = g_new0 (JacSymbol, 1);

  sym->kind = kind;
  sym->node = node;
  sym->rank = rank;
  if (number == 0)
    {
      sym->name.plain = g_strdup (name);
      sym->name.markup = markup_name (name, TRUE);
      sym->matrix_markup = markup_name (name, FALSE);
      sym->name.latex = _jac_latex_name (name, TRUE);
      sym->matrix_latex = _jac_latex_name (name, FALSE);
    }
  else
    {
      GString *digits = g_string_new (NULL);
      g_autofree char *n = g_strdup_printf ("%u", number);

      for (const char *c = n; *c != '\0'; c++)
        g_string_append (digits, subscript_digits[*c - '0']);
      sym->name.plain = g_strdup_printf ("%s%s", name, digits->str);
      sym->name.markup = g_strdup (sym->name.plain);
      sym->matrix_markup = g_strdup (sym->name.plain);
      sym->name.latex = g_strdup_printf ("%s^{(%u)}", name, number);
      /* Braced, so that a transpose or a power can follow. */
      sym->matrix_latex = g_strdup_printf ("{%s}", sym->name.latex);
      g_string_free (digits, TRUE);
    }
  g_ptr_array_add (d->symbols, sym);
  return d->symbols->len - 1;
}

static void
symbol_free (gpointer data)
{
  JacSymbol *sym = data;

  _jac_forms_clear (&sym->name);
  g_free (sym->matrix_markup);
  g_free (sym->matrix_latex);
  g_free (sym);
}

static gboolean
name_taken (const JacDeriveContext *d,
            const char             *name)
{
  for (guint s = 0; s < d->symbols->len; s++)
    if (g_str_equal (((JacSymbol *) g_ptr_array_index (d->symbols, s))->name.plain, name))
      return TRUE;
  return jac_graph_find_variable (d->graph, name) >= 0;
}

static const char *
pick_letter (const JacDeriveContext *d,
             const char * const     *candidates)
{
  for (guint c = 0; candidates[c + 1] != NULL; c++)
    if (!name_taken (d, candidates[c]))
      return candidates[c];
  return candidates[g_strv_length ((char **) candidates) - 1];
}

static gboolean
needs_name (const JacDeriveContext *d,
            int                     node)
{
  guint n_nodes = d->graph->nodes->len;
  const JacNode *self = jac_graph_node (d->graph, node);

  if (!d->reachable[node] || node == d->output || self->op == JAC_OP_VARIABLE)
    return FALSE;
  if (self->label != NULL)
    return TRUE;
  for (guint n = node + 1; n < n_nodes; n++)
    {
      const JacNode *user = jac_graph_node (d->graph, n);

      if (!d->reachable[n])
        continue;
      if ((user->op == JAC_OP_APPLY || user->op == JAC_OP_SOFTMAX || user->op == JAC_OP_DET ||
           user->op == JAC_OP_LOGDET || user->op == JAC_OP_INV) && user->lhs == node)
        return TRUE;
      if (user->op == JAC_OP_KRON && (user->lhs == node || user->rhs == node) &&
          self->op != JAC_OP_CONSTANT)
        return TRUE;
      if (user->op == JAC_OP_DIV && user->rhs == node && self->op != JAC_OP_CONSTANT)
        return TRUE;
    }
  return FALSE;
}

/* The values a program named (i, f, g, o, c in an LSTM cell) keep their names. */
static void
name_labelled (JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;

  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (d->graph, n);

      if (node->label != NULL && needs_name (d, n) && !name_taken (d, node->label))
        d->node_symbol[n] = add_symbol (d, JAC_SYMBOL_INTERMEDIATE, node->label, 0, n,
                                        node->rank);
    }
}

/* Z, or Z₁, Z₂, …: the other values the derivation has to talk about. */
static void
name_intermediates (JacDeriveContext *d)
{
  static const char * const letters[] = { "Z", "T", "Q", "R", "Z", NULL };
  guint n_nodes = d->graph->nodes->len, count = 0, number = 0;
  const char *letter = pick_letter (d, letters);

  for (guint n = 0; n < n_nodes; n++)
    count += needs_name (d, n) && d->node_symbol[n] < 0;
  for (guint n = 0; n < n_nodes; n++)
    if (needs_name (d, n) && d->node_symbol[n] < 0)
      d->node_symbol[n] = add_symbol (d, JAC_SYMBOL_INTERMEDIATE, letter,
                                      count > 1 ? ++number : 0, n,
                                      jac_graph_node (d->graph, n)->rank);
}

static gboolean
slope_is_inline (const JacDeriveContext *d,
                 int                     node)
{
  JacFunc func = jac_graph_node (d->graph, node)->func;
  gboolean named = d->node_symbol[node] >= 0;

  if (func == JAC_FUNC_IDENTITY)
    return TRUE;
  if (d->flags & JAC_DERIVE_NAME_SLOPES)
    return FALSE;
  /* Compound formulas of an unnamed value would repeat it: 1 − tanh(Z) ⊙ tanh(Z). */
  if (func == JAC_FUNC_TANH || func == JAC_FUNC_SIGMOID || func == JAC_FUNC_SQRT ||
      func == JAC_FUNC_TAN)
    return named;
  return TRUE;
}

static void
name_slopes (JacDeriveContext *d)
{
  static const char * const letters[] = { "S", "D", "P", "S", NULL };
  guint n_nodes = d->graph->nodes->len, count = 0, number = 0;
  const char *letter = pick_letter (d, letters);

  for (guint pass = 0; pass < 2; pass++)
    for (guint n = 0; n < n_nodes; n++)
      {
        const JacNode *node = jac_graph_node (d->graph, n);

        if (!d->reachable[n] || !d->depends[n] || node->op != JAC_OP_APPLY ||
            slope_is_inline (d, n))
          continue;
        if (pass == 0)
          count++;
        else
          d->slope_symbol[n] = add_symbol (d, JAC_SYMBOL_SLOPE, letter,
                                           count > 1 ? ++number : 0, n, node->rank);
      }
}

static void
mark_reachable_and_dependent (JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;

  d->reachable[d->output] = TRUE;
  for (guint n = n_nodes; n-- > 0;)
    {
      const JacNode *node = jac_graph_node (d->graph, n);

      if (!d->reachable[n])
        continue;
      if (node->lhs >= 0)
        d->reachable[node->lhs] = TRUE;
      if (node->rhs >= 0)
        d->reachable[node->rhs] = TRUE;
    }
  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (d->graph, n);

      d->depends[n] = (int) n == d->variable ||
                      (node->lhs >= 0 && d->depends[node->lhs]) ||
                      (node->rhs >= 0 && d->depends[node->rhs]);
    }
}

/* Output i, j; variable p, q (k, l for a weight W…); a vector takes the second letter. */
static void
assign_letters (JacDeriveContext *d,
                const char       *var_name)
{
  const char *wrt = var_name[0] == 'W' ? "kl" : "pq";
  char letter[2] = { 0, 0 };

  _jac_index_new (d, "0");   /* JAC_INDEX_ZERO */
  for (guint a = 0; a < d->out_rank; a++)
    {
      letter[0] = "ij"[a + 2 - d->out_rank];
      d->out_idx[a] = _jac_index_new (d, letter);
      g_strlcat (d->reserved, letter, sizeof d->reserved);
    }
  for (guint a = 0; a < d->var_rank; a++)
    {
      letter[0] = wrt[a + 2 - d->var_rank];
      d->var_idx[a] = _jac_index_new (d, letter);
      g_strlcat (d->reserved, letter, sizeof d->reserved);
    }
}

static void
context_init (JacDeriveContext *d,
              JacGraph         *graph,
              int               variable,
              const char       *output_name,
              JacDeriveFlags    flags)
{
  guint n_nodes = graph->nodes->len;
  const JacNode *out = jac_graph_node (graph, graph->output);
  const JacNode *var = jac_graph_node (graph, variable);

  d->graph = graph;
  d->variable = variable;
  d->output = graph->output;
  d->flags = flags;
  d->symbols = g_ptr_array_new_with_free_func (symbol_free);
  d->node_symbol = g_new (int, n_nodes);
  d->slope_symbol = g_new (int, n_nodes);
  for (guint n = 0; n < n_nodes; n++)
    d->node_symbol[n] = d->slope_symbol[n] = -1;
  d->depends = g_new0 (gboolean, n_nodes);
  d->reachable = g_new0 (gboolean, n_nodes);
  d->indices = g_array_new (FALSE, TRUE, sizeof (JacIndexInfo));
  d->forward = g_new0 (JacMExpr *, n_nodes);
  d->slope = g_new0 (JacMExpr *, n_nodes);
  d->out_rank = out->rank;
  d->var_rank = var->rank;

  mark_reachable_and_dependent (d);
  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (graph, n);

      if (node->op == JAC_OP_VARIABLE)
        d->node_symbol[n] = add_symbol (d, JAC_SYMBOL_VARIABLE, node->name, 0, n, node->rank);
    }
  d->variable_symbol = d->node_symbol[variable];
  d->output_symbol = add_symbol (d, JAC_SYMBOL_OUTPUT, output_name, 0, d->output, out->rank);
  if (out->op != JAC_OP_VARIABLE)
    d->node_symbol[d->output] = d->output_symbol;
  name_labelled (d);
  {
    static const char * const upstream[] = { "G", "Γ", "G", NULL };
    static const char * const direction[] = { "V", "U", "Ṽ", "V", NULL };

    d->upstream_symbol = add_symbol (d, JAC_SYMBOL_UPSTREAM,
                                     pick_letter (d, flags & JAC_DERIVE_DIRECTION ? direction
                                                                                 : upstream),
                                     0, -1, out->rank);
  }
  name_intermediates (d);
  name_slopes (d);
  assign_letters (d, var->name);
  _jac_m_build_forward (d);
}

static void
context_clear (JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;

  for (guint n = 0; n < n_nodes; n++)
    {
      _jac_m_unref (d->forward[n]);
      _jac_m_unref (d->slope[n]);
    }
  g_free (d->forward);
  g_free (d->slope);
  g_ptr_array_unref (d->symbols);
  g_free (d->node_symbol);
  g_free (d->slope_symbol);
  g_free (d->depends);
  g_free (d->reachable);
  g_array_unref (d->indices);
}

/* ---- index expressions of the definitions ---- */

static GPtrArray *build (JacDeriveContext *d,
                         int               node,
                         const int        *idx,
                         gboolean          expand);

static GPtrArray *
entry_poly (int        symbol,
            guint      rank,
            const int *idx,
            int        power)
{
  JacFactor f = { JAC_FACTOR_ENTRY, symbol, -1, power, rank, { idx[0], idx[1] } };

  return _jac_poly_factor (&f);
}

/* The indices of an operand broadcast (NumPy) to an output indexed by @idx: an axis of extent 1
 * that is stretched is pinned to 0, as JacStructured's broadcast drops its δ. */
static void
operand_indices (const JacNode *out,
                 const JacNode *operand,
                 const int     *idx,
                 int           *operand_idx)
{
  guint lead = out->rank - operand->rank;

  operand_idx[0] = operand_idx[1] = JAC_INDEX_ZERO;
  for (guint a = 0; a < operand->rank; a++)
    operand_idx[a] = operand->shape[a] == out->shape[a + lead] ? idx[a + lead] : JAC_INDEX_ZERO;
}

static GPtrArray *
build_binary (JacDeriveContext *d,
              const JacNode    *node,
              const int        *idx)
{
  const JacNode *a = jac_graph_node (d->graph, node->lhs);
  const JacNode *b = jac_graph_node (d->graph, node->rhs);
  int ia[2], ib[2];
  g_autoptr(GPtrArray) pa = NULL;
  g_autoptr(GPtrArray) pb = NULL;
  GPtrArray *result;

  if (node->op == JAC_OP_MATMUL)
    {
      int k = _jac_index_new (d, NULL);

      ia[0] = idx[0], ia[1] = k;
      ib[0] = k, ib[1] = idx[1];
      pa = build (d, node->lhs, ia, FALSE);
      pb = build (d, node->rhs, ib, FALSE);
      result = _jac_poly_mul (pa, pb);
      _jac_poly_sum_over (result, k);
      return result;
    }

  operand_indices (node, a, idx, ia);
  operand_indices (node, b, idx, ib);
  pa = build (d, node->lhs, ia, FALSE);
  pb = build (d, node->rhs, ib, FALSE);
  switch (node->op)
    {
    case JAC_OP_ADD:
    case JAC_OP_SUB:
      _jac_poly_add (pa, pb, node->op == JAC_OP_SUB ? -1.0 : 1.0);
      return g_steal_pointer (&pa);
    case JAC_OP_MUL:
      return _jac_poly_mul (pa, pb);
    case JAC_OP_DIV:
      if (b->op == JAC_OP_CONSTANT)
        {
          _jac_poly_scale (pa, 1.0 / b->constant);
          return g_steal_pointer (&pa);
        }
      /* The denominator is a variable or named, so a single entry: invert it. */
      g_assert (pb->len == 1);
      for (guint f = 0; f < ((JacTerm *) pb->pdata[0])->factors->len; f++)
        g_array_index (((JacTerm *) pb->pdata[0])->factors, JacFactor, f).power = -1;
      return _jac_poly_mul (pa, pb);
    default:
      g_assert_not_reached ();
    }
}

static GPtrArray *
build_unary (JacDeriveContext *d,
             int               index,
             const JacNode    *node,
             const int        *idx)
{
  const JacNode *a = jac_graph_node (d->graph, node->lhs);
  int ia[2] = { idx[0], idx[1] };
  GPtrArray *result;

  switch (node->op)
    {
    case JAC_OP_NEGATE:
      result = build (d, node->lhs, idx, FALSE);
      _jac_poly_scale (result, -1.0);
      return result;
    case JAC_OP_TRANSPOSE:
      if (a->rank == 2)
        {
          ia[0] = idx[1];
          ia[1] = idx[0];
        }
      return build (d, node->lhs, ia, FALSE);
    case JAC_OP_SUM:
      for (guint x = 0; x < a->rank; x++)
        ia[x] = _jac_index_new (d, NULL);
      result = build (d, node->lhs, ia, FALSE);
      for (guint x = a->rank; x-- > 0;)
        _jac_poly_sum_over (result, ia[x]);
      return result;
    case JAC_OP_SUM_AXIS:
      {
        /* (sum (A, 0))_j = Σ_k A_kj, (sum (A, 1))_i = Σ_k A_ik. */
        int k = _jac_index_new (d, NULL);

        if (a->rank == 1)
          ia[0] = k;
        else if (node->axis == 0)
          {
            ia[0] = k;
            ia[1] = idx[0];
          }
        else
          {
            ia[0] = idx[0];
            ia[1] = k;
          }
        result = build (d, node->lhs, ia, FALSE);
        _jac_poly_sum_over (result, k);
        return result;
      }
    case JAC_OP_RESHAPE:
      /* A vector promoted for @ reads its entries through the axis that stays; a row or column
       * made a vector again reads index 0 of the axis that goes. */
      if (a->rank == 1)
        ia[0] = idx[1 - node->axis];
      else if (node->rank == 1)
        {
          ia[node->axis] = JAC_INDEX_ZERO;
          ia[1 - node->axis] = idx[0];
        }
      else
        ia[0] = ia[1] = JAC_INDEX_ZERO;
      return build (d, node->lhs, ia, FALSE);
    case JAC_OP_TRACE:
      {
        int k = _jac_index_new (d, NULL);

        ia[0] = ia[1] = k;
        result = build (d, node->lhs, ia, FALSE);
        _jac_poly_sum_over (result, k);
        return result;
      }
    case JAC_OP_DIAG:
      if (a->rank == 2)
        {
          /* (diag A)_i = A_ii */
          ia[0] = ia[1] = idx[0];
          return build (d, node->lhs, ia, FALSE);
        }
      else
        {
          /* diag(v)_ij = δ_ij v_i */
          JacFactor delta = { JAC_FACTOR_DELTA, -1, -1, 1, 2, { idx[0], idx[1] } };
          g_autoptr(GPtrArray) tie = _jac_poly_factor (&delta);
          g_autoptr(GPtrArray) entry = build (d, node->lhs, idx, FALSE);

          return _jac_poly_mul (tie, entry);
        }
    case JAC_OP_DET:
    case JAC_OP_LOGDET:
    case JAC_OP_INV:
      {
        JacFactor f = { node->op == JAC_OP_DET ? JAC_FACTOR_DET :
                        node->op == JAC_OP_LOGDET ? JAC_FACTOR_LOGDET : JAC_FACTOR_INVERSE,
                        d->node_symbol[node->lhs], index, 1, node->rank, { idx[0], idx[1] } };

        g_assert (f.symbol >= 0);
        return _jac_poly_factor (&f);
      }
    case JAC_OP_APPLY:
    case JAC_OP_SOFTMAX:
      {
        JacFactor f = { node->op == JAC_OP_APPLY ? JAC_FACTOR_FUNC : JAC_FACTOR_SOFTMAX,
                        d->node_symbol[node->lhs], index, 1, node->rank, { idx[0], idx[1] } };

        if (node->op == JAC_OP_APPLY && node->func == JAC_FUNC_IDENTITY)
          return build (d, node->lhs, idx, FALSE);
        g_assert (f.symbol >= 0);
        return _jac_poly_factor (&f);
      }
    default:
      g_assert_not_reached ();
    }
}

/* The entry @idx of @node as an index expression; a named node is its symbol unless @expand. */
static GPtrArray *
build (JacDeriveContext *d,
       int               index,
       const int        *idx,
       gboolean          expand)
{
  const JacNode *node = jac_graph_node (d->graph, index);

  if (node->op == JAC_OP_VARIABLE)
    return entry_poly (d->node_symbol[index], node->rank, idx, 1);
  if (!expand && d->node_symbol[index] >= 0)
    return entry_poly (d->node_symbol[index], node->rank, idx, 1);
  switch (node->op)
    {
    case JAC_OP_CONSTANT:
      return _jac_poly_const (node->constant);
    case JAC_OP_KRON:
      {
        /* A[⌊i/p⌋, ⌊j/q⌋] B[i mod p, j mod q]: composite indices, written as such. */
        JacFactor outer = { JAC_FACTOR_KRON_OUTER, d->node_symbol[node->lhs], index, 1,
                            node->rank, { idx[0], idx[1] } };
        JacFactor inner = outer;
        GPtrArray *poly = _jac_poly_factor (&outer);

        inner.kind = JAC_FACTOR_KRON_INNER;
        inner.symbol = d->node_symbol[node->rhs];
        g_assert (outer.symbol >= 0 && inner.symbol >= 0);
        g_array_append_val (((JacTerm *) g_ptr_array_index (poly, 0))->factors, inner);
        return poly;
      }
    case JAC_OP_MATMUL:
    case JAC_OP_ADD:
    case JAC_OP_SUB:
    case JAC_OP_MUL:
    case JAC_OP_DIV:
      return build_binary (d, node, idx);
    default:
      return build_unary (d, index, node, idx);
    }
}

/* ---- differentiation: product rule, chain rule through named values ---- */

/* ∂symbol[idx]/∂variable: δs for the variable itself, a placeholder for a dependent named value. */
static GPtrArray *
entry_derivative (JacDeriveContext *d,
                  int               symbol,
                  const int        *idx)
{
  const JacSymbol *sym = g_ptr_array_index (d->symbols, symbol);
  GPtrArray *poly;
  JacTerm *term;

  if (sym->kind == JAC_SYMBOL_VARIABLE && sym->node == d->variable)
    {
      poly = _jac_poly_const (1.0);
      term = g_ptr_array_index (poly, 0);
      for (guint a = 0; a < sym->rank; a++)
        if (idx[a] != JAC_INDEX_ZERO)
          {
            JacFactor delta = { JAC_FACTOR_DELTA, -1, -1, 1, 2, { idx[a], d->var_idx[a] } };

            g_array_append_val (term->factors, delta);
          }
      return poly;
    }
  if (sym->kind != JAC_SYMBOL_VARIABLE && d->depends[sym->node])
    {
      JacFactor deriv = { JAC_FACTOR_DERIV, symbol, -1, 1, sym->rank, { idx[0], idx[1] } };

      return _jac_poly_factor (&deriv);
    }
  return NULL;
}

/* Y = softmax(Z): ∂Y_ab = Σ_c Y_ab (δ_bc − Y_ac) ∂Z_ac. */
static GPtrArray *
softmax_derivative (JacDeriveContext *d,
                    const JacFactor  *x)
{
  int c = _jac_index_new (d, NULL);
  int ac[2] = { x->idx[0], c };
  g_autoptr(GPtrArray) inner = entry_derivative (d, x->symbol, ac);
  g_autoptr(GPtrArray) kept = NULL;
  g_autoptr(GPtrArray) mixed = NULL;
  JacFactor y_ab = *x, y_ac = *x;
  JacFactor delta = { JAC_FACTOR_DELTA, -1, -1, 1, 2, { x->idx[1], c } };
  JacTerm *term;
  GPtrArray *result;

  if (inner == NULL)
    return NULL;
  if (d->node_symbol[x->node] >= 0)
    {
      y_ab = (JacFactor) { JAC_FACTOR_ENTRY, d->node_symbol[x->node], -1, 1, 2,
                           { x->idx[0], x->idx[1] } };
      y_ac = y_ab;
    }
  y_ac.idx[1] = c;

  kept = _jac_poly_factor (&y_ab);
  term = g_ptr_array_index (kept, 0);
  g_array_append_val (term->factors, delta);
  mixed = _jac_poly_factor (&y_ab);
  term = g_ptr_array_index (mixed, 0);
  term->coef = -1.0;
  g_array_append_val (term->factors, y_ac);
  _jac_poly_add (kept, mixed, 1.0);
  result = _jac_poly_mul (kept, inner);
  _jac_poly_sum_over (result, c);
  return result;
}

/* ∂ det Z = Σ_kl det(Z) (Z⁻¹)_lk ∂Z_kl, ∂ log |det Z| = Σ_kl (Z⁻¹)_lk ∂Z_kl and
 * ∂(Z⁻¹)_ij = −Σ_kl (Z⁻¹)_ik ∂Z_kl (Z⁻¹)_lj: Jacobi's formula and the product rule on Z⁻¹ Z = I. */
static GPtrArray *
inverse_derivative (JacDeriveContext *d,
                    const JacFactor  *x)
{
  int k = _jac_index_new (d, NULL), l = _jac_index_new (d, NULL);
  int kl[2] = { k, l };
  g_autoptr(GPtrArray) inner = entry_derivative (d, x->symbol, kl);
  g_autoptr(GPtrArray) outer = NULL;
  JacTerm *term;
  GPtrArray *result;

  if (inner == NULL)
    return NULL;
  if (x->kind == JAC_FACTOR_INVERSE)
    {
      JacFactor left = { JAC_FACTOR_INVERSE, x->symbol, x->node, 1, 2, { x->idx[0], k } };
      JacFactor right = { JAC_FACTOR_INVERSE, x->symbol, x->node, 1, 2, { l, x->idx[1] } };

      outer = _jac_poly_factor (&left);
      term = g_ptr_array_index (outer, 0);
      term->coef = -1.0;
      g_array_append_val (term->factors, right);
    }
  else
    {
      JacFactor inverse = { JAC_FACTOR_INVERSE, x->symbol, -1, 1, 2, { l, k } };

      if (x->kind == JAC_FACTOR_DET)
        {
          outer = _jac_poly_factor (x);
          term = g_ptr_array_index (outer, 0);
          g_array_append_val (term->factors, inverse);
        }
      else
        outer = _jac_poly_factor (&inverse);
    }
  result = _jac_poly_mul (outer, inner);
  _jac_poly_sum_over (result, l);
  _jac_poly_sum_over (result, k);
  return result;
}

/* ∂A[⌊i/p⌋, ⌊j/q⌋] = Σ_kl δ(⌊i/p⌋, k) δ(⌊j/q⌋, l) ∂A_kl, and the same with i mod p, j mod q
 * for B: the δ rule then collapses k and l onto the variable's indices as for any entry. */
static GPtrArray *
kron_derivative (JacDeriveContext *d,
                 const JacFactor  *x)
{
  int kl[2] = { _jac_index_new (d, NULL), x->rank > 1 ? _jac_index_new (d, NULL) : 0 };
  g_autoptr(GPtrArray) inner = entry_derivative (d, x->symbol, kl);
  g_autoptr(GPtrArray) select = NULL;
  int base = x->kind == JAC_FACTOR_KRON_OUTER ? 1 : 3;
  GPtrArray *result;

  if (inner == NULL)
    return NULL;
  select = _jac_poly_const (1.0);
  for (guint a = 0; a < x->rank; a++)
    {
      JacFactor s = { JAC_FACTOR_KRON_SELECT, -1, x->node, base + (int) a, 2,
                      { x->idx[a], kl[a] } };

      g_array_append_val (((JacTerm *) g_ptr_array_index (select, 0))->factors, s);
    }
  result = _jac_poly_mul (select, inner);
  for (guint a = x->rank; a-- > 0;)
    _jac_poly_sum_over (result, kl[a]);
  return result;
}

static GPtrArray *
factor_derivative (JacDeriveContext *d,
                   const JacFactor  *x)
{
  GPtrArray *base;

  switch (x->kind)
    {
    case JAC_FACTOR_ENTRY:
      base = entry_derivative (d, x->symbol, x->idx);
      if (base == NULL || x->power == 1)
        return base;
      {
        /* ∂(e^n) = n e^(n−1) ∂e */
        JacFactor rest = *x;
        g_autoptr(GPtrArray) power = NULL;
        GPtrArray *result;

        rest.power = x->power - 1;
        power = rest.power != 0 ? _jac_poly_factor (&rest) : _jac_poly_const (1.0);
        _jac_poly_scale (power, x->power);
        result = _jac_poly_mul (power, base);
        g_ptr_array_unref (base);
        return result;
      }
    case JAC_FACTOR_FUNC:
      base = entry_derivative (d, x->symbol, x->idx);
      if (base == NULL)
        return NULL;
      {
        const JacNode *node = jac_graph_node (d->graph, x->node);
        double p = node->func == JAC_FUNC_SQUARE ? 2 : node->constant;
        JacFactor slope = { JAC_FACTOR_SLOPE, -1, x->node, 1, x->rank, { x->idx[0], x->idx[1] } };
        g_autoptr(GPtrArray) outer = NULL;
        GPtrArray *result;

        /* ∂(e^p) for an integer p ≥ 2 is p e^(p−1): a coefficient and a power of the entry, as
         * for a product of entries, so that like terms fold (½ · 2 Z_mn is Z_mn). */
        if ((node->func == JAC_FUNC_SQUARE || node->func == JAC_FUNC_POWER) && p >= 2 &&
            p <= 64 && p == floor (p))
          {
            JacFactor entry = { JAC_FACTOR_ENTRY, x->symbol, -1, (int) p - 1, x->rank,
                                { x->idx[0], x->idx[1] } };

            outer = _jac_poly_factor (&entry);
            _jac_poly_scale (outer, p);
          }
        else
          outer = _jac_poly_factor (&slope);
        result = _jac_poly_mul (outer, base);
        g_ptr_array_unref (base);
        return result;
      }
    case JAC_FACTOR_SOFTMAX:
      return softmax_derivative (d, x);
    case JAC_FACTOR_DET:
    case JAC_FACTOR_LOGDET:
    case JAC_FACTOR_INVERSE:
      return inverse_derivative (d, x);
    case JAC_FACTOR_KRON_OUTER:
    case JAC_FACTOR_KRON_INNER:
      return kron_derivative (d, x);
    default:
      return NULL;
    }
}

/* Factor @f of @term replaced by the terms of @df, chain-rule placeholders moved to the end. */
static void
product_rule_terms (const JacTerm   *term,
                    guint            f,
                    const GPtrArray *df,
                    GPtrArray       *out)
{
  for (guint t = 0; t < df->len; t++)
    {
      const JacTerm *u = g_ptr_array_index (df, t);
      JacTerm *r = _jac_term_new (term->coef * u->coef);

      g_array_append_vals (r->sums, term->sums->data, term->sums->len);
      g_array_append_vals (r->sums, u->sums->data, u->sums->len);
      g_array_append_vals (r->factors, term->factors->data, f);
      for (guint g = 0; g < u->factors->len; g++)
        if (g_array_index (u->factors, JacFactor, g).kind != JAC_FACTOR_DERIV)
          g_array_append_vals (r->factors, &g_array_index (u->factors, JacFactor, g), 1);
      g_array_append_vals (r->factors, &g_array_index (term->factors, JacFactor, f + 1),
                           term->factors->len - f - 1);
      for (guint g = 0; g < u->factors->len; g++)
        if (g_array_index (u->factors, JacFactor, g).kind == JAC_FACTOR_DERIV)
          g_array_append_vals (r->factors, &g_array_index (u->factors, JacFactor, g), 1);
      g_ptr_array_add (out, r);
    }
}

static GPtrArray *
differentiate (JacDeriveContext *d,
               const GPtrArray  *poly)
{
  GPtrArray *result = _jac_poly_new ();

  for (guint t = 0; t < poly->len; t++)
    {
      const JacTerm *term = g_ptr_array_index (poly, t);

      for (guint f = 0; f < term->factors->len; f++)
        {
          g_autoptr(GPtrArray) df = factor_derivative (d, &g_array_index (term->factors,
                                                                          JacFactor, f));

          if (df != NULL)
            product_rule_terms (term, f, df, result);
        }
    }
  return result;
}

/* A stored derivative at a placeholder's indices: its own free indices renamed, its sums fresh
 * so that they cannot meet the sums of the term it goes into. */
static GPtrArray *
instantiate (Derivation      *D,
             int              node,
             const JacFactor *placeholder)
{
  GPtrArray *copy = _jac_poly_copy (D->derivative[node]);

  for (guint t = 0; t < copy->len; t++)
    {
      JacTerm *term = g_ptr_array_index (copy, t);

      for (guint s = 0; s < term->sums->len; s++)
        {
          int old = g_array_index (term->sums, int, s);
          char letter[JAC_INDEX_LETTER_SIZE];

          g_strlcpy (letter, g_array_index (D->d.indices, JacIndexInfo, old).letter,
                     sizeof letter);
          _jac_term_rename (term, old, _jac_index_new (&D->d, letter));
        }
    }
  for (guint a = 0; a < placeholder->rank; a++)
    _jac_poly_rename (copy, D->eq_idx[node][a], placeholder->idx[a]);
  return copy;
}

/* Replaces every chain-rule placeholder by the simplified derivative it stands for. */
static GPtrArray *
substitute (Derivation      *D,
            const GPtrArray *poly)
{
  GPtrArray *result = _jac_poly_new ();

  for (guint t = 0; t < poly->len; t++)
    {
      const JacTerm *term = g_ptr_array_index (poly, t);
      g_autoptr(GPtrArray) single = _jac_poly_new ();
      g_autoptr(GPtrArray) replaced = NULL;
      JacTerm *rest = _jac_term_new (term->coef);
      int node = -1;
      JacFactor placeholder = { 0 };

      g_array_append_vals (rest->sums, term->sums->data, term->sums->len);
      for (guint f = 0; f < term->factors->len; f++)
        {
          const JacFactor *x = &g_array_index (term->factors, JacFactor, f);

          if (x->kind == JAC_FACTOR_DERIV && node < 0)
            {
              node = ((JacSymbol *) g_ptr_array_index (D->d.symbols, x->symbol))->node;
              placeholder = *x;
            }
          else
            g_array_append_vals (rest->factors, x, 1);
        }
      g_ptr_array_add (single, rest);
      if (node < 0)
        {
          _jac_poly_add (result, single, 1.0);
          continue;
        }
      {
        g_autoptr(GPtrArray) inner = instantiate (D, node, &placeholder);

        replaced = _jac_poly_mul (single, inner);
      }
      _jac_poly_add (result, replaced, 1.0);
    }
  return result;
}

/* ---- steps ---- */

static void
add_step (Derivation  *D,
          const char  *title,
          JacNotation *content)
{
  JacDerivationStep *step = g_new0 (JacDerivationStep, 1);
  JacForms forms;

  _jac_notation_steal (content, &forms);
  step->title = g_strdup (title);
  step->text = forms.plain;
  step->markup = forms.markup;
  step->latex = forms.latex;
  g_ptr_array_add (D->steps, step);
}

static void
step_free (gpointer data)
{
  JacDerivationStep *step = data;

  g_free (step->title);
  g_free (step->text);
  g_free (step->markup);
  g_free (step->latex);
  g_free (step);
}

static char *
letters_of (const JacDeriveContext *d,
            guint                   rank,
            const int              *idx)
{
  GString *s = g_string_new (NULL);

  for (guint a = 0; a < rank; a++)
    g_string_append (s, g_array_index (d->indices, JacIndexInfo, idx[a]).letter);
  return g_string_free (s, FALSE);
}

static void
equation_step (Derivation      *D,
               const char      *title,
               int              symbol,
               const int       *idx,
               gboolean         derivative,
               const GPtrArray *rhs)
{
  JacNotation n;
  const JacSymbol *sym = g_ptr_array_index (D->d.symbols, symbol);
  g_autofree char *letters = letters_of (&D->d, sym->rank, idx);

  _jac_notation_init (&n);
  if (derivative)
    _jac_render_derivative (&D->d, symbol, idx, &n);
  else
    _jac_render_entry (&D->d, symbol, letters, &n);
  _jac_notation_add (&n, " = ", NULL, NULL);
  _jac_poly_render (&D->d, rhs, &n);
  add_step (D, title, &n);
  _jac_notation_clear (&n);
}

static gboolean
has_placeholder (const GPtrArray *poly)
{
  for (guint t = 0; t < poly->len; t++)
    {
      const JacTerm *term = g_ptr_array_index (poly, t);

      for (guint f = 0; f < term->factors->len; f++)
        if (g_array_index (term->factors, JacFactor, f).kind == JAC_FACTOR_DERIV)
          return TRUE;
    }
  return FALSE;
}

static void
definition_steps (Derivation *D)
{
  JacDeriveContext *d = &D->d;
  guint n_nodes = d->graph->nodes->len;

  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (d->graph, n);
      int symbol = (int) n == d->output ? d->output_symbol : d->node_symbol[n];

      if (!d->reachable[n] || symbol < 0 || (node->op == JAC_OP_VARIABLE && (int) n != d->output))
        continue;
      /* The output's equation uses the indices the structure and the contraction refer to. */
      for (guint a = 0; a < node->rank; a++)
        D->eq_idx[n][a] = (int) n == d->output ? d->out_idx[a] :
                          _jac_index_new (d, a + 2 - node->rank == 0 ? "i" : "j");
      D->definition[n] = build (d, n, D->eq_idx[n], TRUE);
      equation_step (D, "Definition", symbol, D->eq_idx[n], FALSE, D->definition[n]);
    }
  for (guint n = 0; n < n_nodes; n++)
    if (d->slope_symbol[n] >= 0)
      {
        JacNotation text;
        const JacNode *node = jac_graph_node (d->graph, n);
        g_autofree char *letters = g_strndup (&"ij"[2 - node->rank], node->rank);

        _jac_notation_init (&text);
        _jac_render_entry (d, d->slope_symbol[n], letters, &text);
        _jac_notation_add (&text, " = ", NULL, NULL);
        _jac_m_render (d, d->slope[n], letters, &text);
        add_step (D, "Slope", &text);
        _jac_notation_clear (&text);
      }
}

/* Differentiates the definition of @node: the raw step, then the substituted and δ-reduced one. */
static GPtrArray *
derivative_steps (Derivation *D,
                  int         node,
                  gboolean    raw_only)
{
  JacDeriveContext *d = &D->d;
  int symbol = node == d->output ? d->output_symbol : d->node_symbol[node];
  g_autoptr(GPtrArray) raw = differentiate (d, D->definition[node]);
  GPtrArray *simple;
  gboolean deltas;

  if (raw_only)
    {
      equation_step (D, has_placeholder (raw) ? "Chain rule" : "Differentiate", symbol,
                     D->eq_idx[node], TRUE, raw);
      return NULL;
    }
  if (node != d->output)
    equation_step (D, "Differentiate", symbol, D->eq_idx[node], TRUE, raw);
  simple = substitute (D, raw);
  deltas = _jac_poly_apply_deltas (simple);
  _jac_poly_combine (simple);
  if (deltas || has_placeholder (raw) || simple->len != raw->len)
    equation_step (D, deltas ? "Kronecker δ rule" : "Substitute", symbol, D->eq_idx[node], TRUE,
                   simple);
  return simple;
}

static GPtrArray *
derive_all (Derivation *D)
{
  JacDeriveContext *d = &D->d;
  guint n_nodes = d->graph->nodes->len;

  derivative_steps (D, d->output, TRUE);
  for (guint n = 0; n < n_nodes; n++)
    if (D->definition[n] != NULL && (int) n != d->output && d->depends[n])
      D->derivative[n] = derivative_steps (D, n, FALSE);
  return derivative_steps (D, d->output, FALSE);
}

/* ---- structure in words ---- */

static const char *
axis_noun (guint rank,
           guint axis)
{
  return rank == 1 ? "entry" : axis == 0 ? "row" : "column";
}

char *
jac_delta_patterns_condition (guint        n_patterns,
                              const int  (*patterns)[2],
                              guint        out_rank,
                              const char  *out_letters,
                              const char  *wrt_letters)
{
  GString *where = g_string_new (NULL);

  for (guint k = 0; k < n_patterns; k++)
    {
      g_autoptr(GString) condition = g_string_new (NULL);
      guint n_deltas = 0;

      for (guint a = 0; a < out_rank && a < 2; a++)
        if (patterns[k][a] >= 0)
          {
            g_string_append_printf (condition, "%s%c = %c", n_deltas > 0 ? " and " : "",
                                    wrt_letters[patterns[k][a]], out_letters[a]);
            n_deltas++;
          }
      /* Parentheses only where "and" meets "or". */
      g_string_append_printf (where, n_patterns > 1 && n_deltas > 1 ? "%s(%s)" : "%s%s",
                              k > 0 ? " or " : "", condition->str);
    }
  return g_string_free (where, FALSE);
}

/* A sum of several δ patterns: the union of where each can be nonzero, as the analysis says it. */
static void
describe_union (JacDerivation          *self,
                const JacDeriveContext *d)
{
  g_autofree char *where = jac_delta_patterns_condition (self->n_patterns,
                                                         (const int (*)[2]) self->patterns,
                                                         d->out_rank, self->out_letters,
                                                         self->wrt_letters);

  self->sparsity = g_strdup_printf ("nonzero only where %s", where);
  self->sparsity_detail = g_strdup_printf ("a sum of %u δ patterns: an entry is zero for every "
                                           "value only where the δs of every term force it to "
                                           "zero", self->n_patterns);
}

/* Whether a partition of the indices is zero for every value but not forced by the δ patterns
 * (some pattern's δs all hold there). */
static gboolean
zeros_beyond_patterns (const JacDerivation    *self,
                       const JacDeriveContext *d)
{
  for (guint z = 0; z < self->n_zero_partitions; z++)
    for (guint k = 0; k < self->n_patterns; k++)
      {
        gboolean holds = TRUE;

        for (guint a = 0; a < d->out_rank && holds; a++)
          if (self->patterns[k][a] >= 0)
            holds = jac_entry_partition_ties (self->zero_partitions[z], a,
                                              2 + self->patterns[k][a]);
        if (holds)
          return TRUE;
      }
  return FALSE;
}

/* The sentence from the partitions the index form proves zero: where its terms cancel (S − Sᵀ at
 * i = j = p = q) or a δ of two variable axes fails (δ_pq of tr X). */
static void
describe_partitions (JacDerivation *self)
{
  g_free (self->sparsity);
  g_free (self->sparsity_detail);
  self->sparsity = g_strdup (self->partition_sentence);
  self->sparsity_detail = g_strdup ("an entry is zero for every value where the δs of every "
                                    "term force it to zero or the terms that remain there "
                                    "cancel");
}

static void
describe_supports (JacDerivation *self)
{
  g_free (self->sparsity);
  g_free (self->sparsity_detail);
  self->sparsity = g_strdup (self->support_sentence);
  self->sparsity_detail = g_strdup ("kron's δs tie composite indices: an entry is zero for every "
                                    "value where each term's δs fail");
}

static void
describe_structure (JacDerivation          *self,
                    const JacDeriveContext *d)
{
  const char *out = self->output_name, *var = self->variable_name;
  GString *sentence = g_string_new ("nonzero only where ");
  GString *detail = g_string_new (NULL);
  guint n_pairs = 0;

  /* Several patterns none of which is δ-free (that one would have absorbed the others). */
  if (self->depends && self->n_patterns > 1)
    {
      g_string_free (sentence, TRUE);
      g_string_free (detail, TRUE);
      describe_union (self, d);
      if (self->partition_sentence != NULL)
        describe_partitions (self);
      else if (self->support_sentence != NULL)
        describe_supports (self);
      return;
    }
  for (guint a = 0; a < d->out_rank; a++)
    {
      int t = self->pair[a];

      if (t < 0)
        continue;
      g_string_append_printf (sentence, "%s%c = %c", n_pairs > 0 ? " and " : "",
                              self->wrt_letters[t], self->out_letters[a]);
      g_string_append_printf (detail, "%s%s %c of %s depends only on %s %c = %c of %s",
                              n_pairs > 0 ? "; " : "", axis_noun (d->out_rank, a),
                              self->out_letters[a], out, axis_noun (d->var_rank, t),
                              self->wrt_letters[t], self->out_letters[a], var);
      n_pairs++;
    }

  if (!self->depends)
    {
      g_string_printf (sentence, "identically zero: %s does not depend on %s", out, var);
      g_string_assign (detail, sentence->str);
    }
  else if (n_pairs == 0)
    {
      g_string_assign (sentence, d->out_rank == 0 ? "dense: a scalar output has no index for a "
                       "Kronecker δ to tie" : "dense: no Kronecker δ survives, so every entry can "
                       "be nonzero");
      g_string_assign (detail, sentence->str);
    }
  else if (n_pairs == d->out_rank && n_pairs == d->var_rank)
    g_string_printf (detail, "diagonal: each entry of %s depends only on the same entry of %s",
                     out, var);
  else
    g_string_append_printf (detail, ", dense within each %s block",
                            self->pair[0] >= 0 && d->out_rank == 2 ? "row" : "column");
  self->sparsity = g_string_free (sentence, FALSE);
  self->sparsity_detail = g_string_free (detail, FALSE);
  if (self->partition_sentence != NULL)
    describe_partitions (self);
  else if (self->support_sentence != NULL)
    describe_supports (self);
}

/* The Structure step is a sentence: its LaTeX is text with the names and index letters in math,
 * so that a long one breaks across lines like any paragraph. */
static void
structure_step (Derivation    *D,
                JacDerivation *self)
{
  const JacDeriveContext *d = &D->d;
  const JacSymbol *out = g_ptr_array_index (d->symbols, d->output_symbol);
  const JacSymbol *var = g_ptr_array_index (d->symbols, d->variable_symbol);
  const char *names[] = { self->output_name, self->variable_name, NULL };
  const char *latex_names[] = { out->matrix_latex, var->matrix_latex, NULL };
  g_autofree char *letters = g_strconcat (self->out_letters, self->wrt_letters, NULL);
  g_autofree char *text = NULL;
  g_autofree char *latex = NULL;
  JacNotation n;

  if (g_str_equal (self->sparsity, self->sparsity_detail))
    text = g_strdup (self->sparsity);
  else
    text = g_strdup_printf ("%s (%s)", self->sparsity, self->sparsity_detail);
  latex = _jac_latex_words (text, letters, names, latex_names);
  _jac_notation_init (&n);
  _jac_notation_add (&n, text, NULL, latex);
  add_step (D, "Structure", &n);
  _jac_notation_clear (&n);
}

/* ---- contraction with G ---- */

static GPtrArray *
contract_index_form (JacDeriveContext *d,
                     const GPtrArray  *result)
{
  GPtrArray *contracted = _jac_poly_copy (result);
  JacFactor g = { JAC_FACTOR_ENTRY, d->upstream_symbol, -1, 1, d->out_rank,
                  { d->out_idx[0], d->out_idx[1] } };

  for (guint t = 0; t < contracted->len; t++)
    {
      JacTerm *term = g_ptr_array_index (contracted, t);

      g_array_prepend_val (term->factors, g);
      for (guint a = d->out_rank; a-- > 0;)
        g_array_prepend_val (term->sums, d->out_idx[a]);
    }
  _jac_poly_apply_deltas (contracted);
  _jac_poly_combine (contracted);
  return contracted;
}

static gboolean
is_leaf (const JacMExpr *e)
{
  return e->kind == JAC_M_NODE || e->kind == JAC_M_UPSTREAM || e->kind == JAC_M_SLOPE;
}

static gboolean
is_zero_form (const JacMExpr *e)
{
  if (e->kind == JAC_M_BROADCAST)
    e = e->a;
  return e->kind == JAC_M_CONST && e->value == 0.0;
}

/* "(G Aᵀ)_pq", "G_pq", or the form alone for a scalar variable. */
static void
render_matrix_entry (JacDeriveContext *d,
                     const JacMExpr   *form,
                     const char       *letters,
                     JacNotation      *out)
{
  if (*letters == '\0')
    {
      _jac_m_render (d, form, NULL, out);
      return;
    }
  if (!is_leaf (form))
    _jac_notation_add (out, "(", NULL, NULL);
  _jac_m_render (d, form, NULL, out);
  if (!is_leaf (form))
    _jac_notation_add (out, ")", NULL, NULL);
  _jac_notation_sub (out, letters);
}

static void
contract_step (Derivation      *D,
               JacDerivation   *self,
               const GPtrArray *result,
               const JacMExpr  *form)
{
  JacDeriveContext *d = &D->d;
  g_autoptr(GPtrArray) contracted = contract_index_form (d, result);
  char reserved[sizeof d->reserved];
  JacNotation n;

  /* The output's indices are summed here, so they may keep their letters: Σ_j G_pj A_qj. */
  memcpy (reserved, d->reserved, sizeof reserved);
  g_strlcpy (d->reserved, self->wrt_letters, sizeof d->reserved);
  _jac_notation_init (&n);
  if (d->out_rank > 0)
    {
      _jac_notation_add (&n, "Σ", NULL, "\\sum");
      _jac_notation_sub (&n, self->out_letters);
      _jac_notation_add (&n, " ", NULL, NULL);
    }
  _jac_render_entry (d, d->upstream_symbol, self->out_letters, &n);
  _jac_notation_add (&n, " ", NULL, NULL);
  _jac_render_derivative (d, d->output_symbol, d->out_idx, &n);
  _jac_notation_add (&n, " = ", NULL, NULL);
  _jac_poly_render (d, contracted, &n);
  /* "= 0" once: a form that cancelled to 0 has no entry worth writing as (0)_pq. */
  if (!(contracted->len == 0 && is_zero_form (form)))
    {
      _jac_notation_add (&n, " = ", NULL, NULL);
      render_matrix_entry (d, form, self->wrt_letters, &n);
    }
  memcpy (d->reserved, reserved, sizeof reserved);
  /* A Hessian's direction V is contracted the same way: "Contract with V". */
  add_step (D, d->flags & JAC_DERIVE_DIRECTION ? "Contract with V" : "Contract with G", &n);
  _jac_notation_clear (&n);
}

static void
collect_names (const JacDeriveContext *d,
               const JacMExpr         *e,
               gboolean               *named_node,
               gboolean               *named_slope)
{
  if (e == NULL)
    return;
  if (e->kind == JAC_M_NODE && d->node_symbol[e->node] >= 0 &&
      ((JacSymbol *) g_ptr_array_index (d->symbols, d->node_symbol[e->node]))->kind ==
      JAC_SYMBOL_INTERMEDIATE && !named_node[e->node])
    {
      g_autoptr(JacMExpr) definition = _jac_m_definition (d, e->node);

      named_node[e->node] = TRUE;
      collect_names (d, definition, named_node, named_slope);
    }
  if (e->kind == JAC_M_SLOPE && !named_slope[e->node])
    {
      named_slope[e->node] = TRUE;
      collect_names (d, d->slope[e->node], named_node, named_slope);
    }
  collect_names (d, e->a, named_node, named_slope);
  collect_names (d, e->b, named_node, named_slope);
}

/* "Z = X W + b, S = σ(Z) ⊙ (1 − σ(Z))": the names the contracted form uses, in graph order. */
static void
where_step (Derivation     *D,
            JacDerivation  *self,
            const JacMExpr *form)
{
  JacDeriveContext *d = &D->d;
  guint n_nodes = d->graph->nodes->len;
  g_autofree gboolean *named_node = g_new0 (gboolean, n_nodes);
  g_autofree gboolean *named_slope = g_new0 (gboolean, n_nodes);
  JacNotation n;
  JacForms forms;
  gboolean any = FALSE;

  collect_names (d, form, named_node, named_slope);
  _jac_notation_init (&n);
  for (guint pass = 0; pass < 2; pass++)
    for (guint v = 0; v < n_nodes; v++)
      {
        g_autoptr(JacMExpr) definition = NULL;

        if (!(pass == 0 ? named_node[v] : named_slope[v]))
          continue;
        if (any)
          _jac_notation_add (&n, ", ", NULL, ",\\quad ");
        _jac_render_entry (d, pass == 0 ? d->node_symbol[v] : d->slope_symbol[v], "", &n);
        _jac_notation_add (&n, " = ", NULL, NULL);
        definition = pass == 0 ? _jac_m_definition (d, v) : _jac_m_ref (d->slope[v]);
        _jac_m_render (d, definition, NULL, &n);
        any = TRUE;
      }
  if (!any)
    {
      _jac_notation_clear (&n);
      return;
    }
  _jac_notation_steal (&n, &forms);
  self->where_text = forms.plain;
  self->where_markup = forms.markup;
  self->where_latex = forms.latex;
  {
    JacNotation copy;

    _jac_notation_init (&copy);
    _jac_notation_add (&copy, self->where_text, self->where_markup, self->where_latex);
    add_step (D, "Where", &copy);
    _jac_notation_clear (&copy);
  }
}

/* "Z = h_{\mathrm{prev}} W_{hh} + x W_{xh} + b,\quad h = \tanh(Z)": what was differentiated, in
 * matrix notation, its named intermediates first. */
static char *
expression_latex (const JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;
  JacNotation n;
  JacForms forms;

  _jac_notation_init (&n);
  for (guint v = 0; v < n_nodes; v++)
    {
      g_autoptr(JacMExpr) definition = NULL;
      gboolean output = (int) v == d->output;
      int symbol = output ? d->output_symbol : d->node_symbol[v];

      if (!d->reachable[v] || symbol < 0 ||
          ((JacSymbol *) g_ptr_array_index (d->symbols, symbol))->kind == JAC_SYMBOL_VARIABLE)
        continue;
      if (n.latex->len > 0)
        _jac_notation_add (&n, ", ", NULL, ",\\quad ");
      _jac_render_entry (d, symbol, "", &n);
      _jac_notation_add (&n, " = ", NULL, NULL);
      if (jac_graph_node (d->graph, v)->op == JAC_OP_VARIABLE)
        _jac_render_entry (d, d->node_symbol[v], "", &n);
      else
        {
          definition = _jac_m_definition (d, v);
          _jac_m_render (d, definition, NULL, &n);
        }
    }
  _jac_notation_steal (&n, &forms);
  g_free (forms.plain);
  g_free (forms.markup);
  return forms.latex;
}

/* ---- what the figure's panels and hover need: the named slope, the entries' factors ---- */

static void
find_named_slope (const JacDeriveContext *d,
                  JacDerivation          *self)
{
  int found = -1;

  self->slope_node = -1;
  for (guint n = 0; n < d->graph->nodes->len; n++)
    if (d->reachable[n] && d->slope_symbol[n] >= 0)
      {
        if (found >= 0)
          return;
        found = n;
      }
  if (found < 0)
    return;
  {
    const JacNode *node = jac_graph_node (d->graph, found);
    int value_symbol = d->node_symbol[found];
    int arg_symbol = node->lhs >= 0 ? d->node_symbol[node->lhs] : -1;

    self->slope_node = found;
    self->slope_func = node->func;
    if (value_symbol >= 0)
      self->slope_value_name = g_strdup (((JacSymbol *) g_ptr_array_index (d->symbols,
                                                                           value_symbol))->name.plain);
    if (arg_symbol >= 0)
      self->slope_arg_name = g_strdup (((JacSymbol *) g_ptr_array_index (d->symbols,
                                                                         arg_symbol))->name.plain);
  }
}

/* Output axis a → a, variable axis b → 2 + b, the broadcast 0 → -1; -2 for a summed index. */
static int
entry_axis (const JacDeriveContext *d,
            int                     id)
{
  if (id == JAC_INDEX_ZERO)
    return -1;
  for (guint a = 0; a < d->out_rank; a++)
    if (d->out_idx[a] == id)
      return a;
  for (guint b = 0; b < d->var_rank; b++)
    if (d->var_idx[b] == id)
      return 2 + b;
  return -2;
}

static void
entry_recipe (const JacDeriveContext *d,
              JacDerivation          *self,
              const GPtrArray        *result)
{
  const JacTerm *term;
  GArray *factors;

  if (result->len != 1)
    return;
  term = g_ptr_array_index (result, 0);
  if (term->sums->len > 0)
    return;
  factors = g_array_new (FALSE, TRUE, sizeof (JacEntryFactor));
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *factor = &g_array_index (term->factors, JacFactor, f);
      JacEntryFactor e = { NULL, NULL, NULL, -1, FALSE, factor->power, factor->rank, { -1, -1 } };
      const JacSymbol *sym = factor->symbol >= 0 ? g_ptr_array_index (d->symbols, factor->symbol)
                                                 : NULL;

      if (factor->kind == JAC_FACTOR_DELTA)
        continue;
      if (factor->kind == JAC_FACTOR_ENTRY && sym != NULL && sym->kind != JAC_SYMBOL_UPSTREAM)
        {
          e.slope = sym->kind == JAC_SYMBOL_SLOPE;
          e.node = sym->node;
          e.name = g_strdup (sym->name.plain);
          e.markup = g_strdup (sym->matrix_markup);
          e.latex = g_strdup (sym->matrix_latex);
        }
      else if (factor->kind == JAC_FACTOR_SLOPE && factor->node >= 0)
        {
          const JacNode *apply = jac_graph_node (d->graph, factor->node);

          e.slope = TRUE;
          e.node = factor->node;
          e.power = MAX (factor->power, 1);
          e.name = d->slope_symbol[factor->node] >= 0
                   ? g_strdup (((JacSymbol *) g_ptr_array_index (d->symbols,
                                                                 d->slope_symbol[factor->node]))->name.plain)
                   : g_strdup_printf ("%s′", jac_func_name (apply->func));
          e.markup = g_markup_escape_text (e.name, -1);
          e.latex = d->slope_symbol[factor->node] >= 0
                    ? g_strdup (((JacSymbol *) g_ptr_array_index (d->symbols,
                                                                  d->slope_symbol[factor->node]))->matrix_latex)
                    : g_strdup_printf ("\\operatorname{%s}'", jac_func_name (apply->func));
        }
      else
        goto refuse;
      for (guint a = 0; a < factor->rank && a < 2; a++)
        if ((e.axis[a] = entry_axis (d, factor->idx[a])) == -2)
          {
            g_free (e.name);
            g_free (e.markup);
            g_free (e.latex);
            goto refuse;
          }
      g_array_append_val (factors, e);
    }
  self->entry_coef = term->coef;
  self->n_entry_factors = factors->len;
  self->entry_factors = (JacEntryFactor *) (gpointer) g_array_free (factors, FALSE);
  return;

refuse:
  for (guint f = 0; f < factors->len; f++)
    {
      g_free (g_array_index (factors, JacEntryFactor, f).name);
      g_free (g_array_index (factors, JacEntryFactor, f).markup);
      g_free (g_array_index (factors, JacEntryFactor, f).latex);
    }
  g_array_free (factors, TRUE);
}

/* The position (0, 1 the output's axes, 2, 3 the variable's) of index @id, or -1 (summed). */
static int
index_position (const JacDeriveContext *d,
                int                     id)
{
  for (guint a = 0; a < d->out_rank; a++)
    if (d->out_idx[a] == id)
      return (int) a;
  for (guint t = 0; t < d->var_rank; t++)
    if (d->var_idx[t] == id)
      return 2 + (int) t;
  return -1;
}

/* One support a term of @result: the ties its δs put between free indices (one on a summed
 * index says nothing alone). FALSE when some term ties nothing, so that the terms bound no
 * entry, or when none has a composite δ, so that the δ patterns say it all. */
static gboolean
find_supports (const JacDeriveContext *d,
               const GPtrArray        *result,
               JacDerivation          *self)
{
  gboolean composite = FALSE;

  if (result->len == 0 || result->len > JAC_MAX_SUPPORTS)
    return FALSE;
  for (guint k = 0; k < result->len; k++)
    {
      const JacTerm *term = g_ptr_array_index (result, k);
      JacEntrySupport *support = &self->supports[k];

      support->n_ties = 0;
      for (guint f = 0; f < term->factors->len; f++)
        {
          const JacFactor *x = &g_array_index (term->factors, JacFactor, f);
          int a, b;
          JacIndexTie tie = { 0, 0, JAC_TIE_EQUAL, 1 };

          if (x->kind != JAC_FACTOR_DELTA && x->kind != JAC_FACTOR_KRON_SELECT)
            continue;
          a = index_position (d, x->idx[0]);
          b = index_position (d, x->idx[1]);
          if (a < 0 || b < 0 || support->n_ties == JAC_SUPPORT_MAX_TIES)
            continue;
          tie.a = (guint8) a;
          tie.b = (guint8) b;
          if (x->kind == JAC_FACTOR_KRON_SELECT)
            {
              const JacNode *kron = jac_graph_node (d->graph, x->node);
              const JacNode *inner = jac_graph_node (d->graph, kron->rhs);

              tie.kind = x->power >= 3 ? JAC_TIE_MOD : JAC_TIE_DIV;
              tie.divisor = inner->shape[(guint) (x->power - 1) % 2];
              composite = TRUE;
            }
          support->ties[support->n_ties++] = tie;
        }
      if (support->n_ties == 0)
        return FALSE;
    }
  if (!composite)
    return FALSE;
  self->n_supports = result->len;
  return TRUE;
}

/* ---- public API ---- */

static void
finish (Derivation      *D,
        JacDerivation   *self,
        const GPtrArray *result)
{
  JacDeriveContext *d = &D->d;
  g_autoptr(JacMExpr) form = _jac_m_backward (d);
  JacNotation n;
  JacForms forms;

  _jac_notation_init (&n);
  _jac_poly_render (d, result, &n);
  _jac_notation_steal (&n, &forms);
  self->result_text = forms.plain;
  self->result_markup = forms.markup;
  self->result_latex = forms.latex;

  self->depends = d->depends[d->output] && result->len > 0;
  _jac_poly_pairs (result, d->out_rank, d->out_idx, d->var_rank, d->var_idx, self->pair);
  self->n_patterns = self->depends ? _jac_poly_patterns (result, d->out_rank, d->out_idx,
                                                         d->var_rank, d->var_idx,
                                                         self->patterns) : 0;
  if (self->depends)
    self->n_zero_partitions = _jac_poly_zero_partitions (result, d->out_rank, d->out_idx,
                                                         d->var_rank, d->var_idx,
                                                         self->zero_partitions);
  /* Zeros the δ patterns do not say (terms that cancel where their δs meet, a δ between two
   * variable axes): the sentence comes from the partitions then. */
  if (!zeros_beyond_patterns (self, d))
    self->n_zero_partitions = 0;
  else
    self->partition_sentence = jac_entry_partitions_sentence (d->out_rank, d->var_rank,
                                                              self->n_zero_partitions,
                                                              self->zero_partitions,
                                                              self->out_letters,
                                                              self->wrt_letters);
  if (self->depends && find_supports (d, result, self))
    self->support_sentence = jac_entry_supports_sentence (self->n_supports, self->supports,
                                                          self->out_letters,
                                                          self->wrt_letters);
  describe_structure (self, d);
  structure_step (D, self);
  contract_step (D, self, result, form);

  _jac_notation_init (&n);
  _jac_m_render (d, form, NULL, &n);
  _jac_notation_steal (&n, &forms);
  self->contracted_text = forms.plain;
  self->contracted_markup = forms.markup;
  self->contracted_latex = forms.latex;
  where_step (D, self, form);
  self->expression_latex = expression_latex (d);
  if (form->kind == JAC_M_MATMUL || form->kind == JAC_M_HADAMARD)
    {
      const JacMExpr *parts[2] = { form->a, form->b };

      self->factors_op = form->kind == JAC_M_MATMUL ? '@' : '*';
      for (guint k = 0; k < 2; k++)
        {
          _jac_notation_init (&n);
          _jac_m_render (d, parts[k], NULL, &n);
          _jac_notation_steal (&n, &forms);
          self->factor_text[k] = forms.plain;
          self->factor_markup[k] = forms.markup;
          self->factor_latex[k] = forms.latex;
        }
    }
  self->inner_of = -1;
  for (guint k = 0; self->factors_op != 0 && k < 2 && self->inner_of < 0; k++)
    {
      const JacMExpr *part = k == 0 ? form->a : form->b;

      if (part->kind != JAC_M_HADAMARD)
        continue;
      self->inner_of = k;
      for (guint m = 0; m < 2; m++)
        {
          _jac_notation_init (&n);
          _jac_m_render (d, m == 0 ? part->a : part->b, NULL, &n);
          _jac_notation_steal (&n, &forms);
          self->inner_text[m] = forms.plain;
          self->inner_markup[m] = forms.markup;
          g_free (forms.latex);
        }
    }
  find_named_slope (d, self);
  entry_recipe (d, self, result);
  self->terms = _jac_poly_copy (result);
  memcpy (self->out_index_ids, d->out_idx, sizeof self->out_index_ids);
  memcpy (self->wrt_index_ids, d->var_idx, sizeof self->wrt_index_ids);
  self->symbol_nodes = g_array_sized_new (FALSE, FALSE, sizeof (int), 2 * d->symbols->len);
  for (guint k = 0; k < d->symbols->len; k++)
    {
      const JacSymbol *sym = g_ptr_array_index (d->symbols, k);
      int pair[2] = { sym->kind, sym->node };

      g_array_append_vals (self->symbol_nodes, pair, 2);
    }
  self->priv = g_steal_pointer (&form);
}

JacDerivation *
jac_derive_graph (JacGraph       *graph,
                  int             variable,
                  const char     *output_name,
                  JacDeriveFlags  flags)
{
  JacDerivation *self;
  Derivation D = { { 0 } };
  guint n_nodes;
  g_autoptr(GPtrArray) result = NULL;

  g_return_val_if_fail (graph != NULL && graph->output >= 0, NULL);
  g_return_val_if_fail (jac_graph_node (graph, variable)->op == JAC_OP_VARIABLE, NULL);

  n_nodes = graph->nodes->len;
  context_init (&D.d, graph, variable, output_name != NULL ? output_name : "Y", flags);
  D.steps = g_ptr_array_new_with_free_func (step_free);
  D.definition = g_new0 (GPtrArray *, n_nodes);
  D.derivative = g_new0 (GPtrArray *, n_nodes);
  D.eq_idx = g_malloc0_n (n_nodes, sizeof (int[2]));

  self = g_new0 (JacDerivation, 1);
  self->output_name = g_strdup (output_name != NULL ? output_name : "Y");
  self->variable_name = g_strdup (jac_graph_node (graph, variable)->name);
  self->variable = variable;
  for (guint a = 0; a < D.d.out_rank; a++)
    self->out_letters[a] = g_array_index (D.d.indices, JacIndexInfo, D.d.out_idx[a]).letter[0];
  for (guint a = 0; a < D.d.var_rank; a++)
    self->wrt_letters[a] = g_array_index (D.d.indices, JacIndexInfo, D.d.var_idx[a]).letter[0];

  definition_steps (&D);
  result = derive_all (&D);
  finish (&D, self, result);
  self->steps = g_steal_pointer (&D.steps);

  for (guint n = 0; n < n_nodes; n++)
    {
      g_clear_pointer (&D.definition[n], g_ptr_array_unref);
      g_clear_pointer (&D.derivative[n], g_ptr_array_unref);
    }
  g_free (D.definition);
  g_free (D.derivative);
  g_free (D.eq_idx);
  context_clear (&D.d);
  return self;
}

JacDerivation *
jac_derive (const JacExpr  *expr,
            const char     *variable,
            JacDeriveFlags  flags,
            GError        **error)
{
  int node;

  g_return_val_if_fail (expr != NULL && variable != NULL, NULL);
  node = jac_graph_find_variable (expr->graph, variable);
  if (node < 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "“%s” is not a variable of %s = %s", variable, expr->output_name,
                   expr->source);
      return NULL;
    }
  return jac_derive_graph (expr->graph, node, expr->output_name, flags);
}

void
jac_derivation_free (JacDerivation *self)
{
  if (self == NULL)
    return;
  g_free (self->output_name);
  g_free (self->variable_name);
  if (self->steps != NULL)
    g_ptr_array_unref (self->steps);
  g_free (self->result_text);
  g_free (self->result_markup);
  g_free (self->result_latex);
  g_free (self->sparsity);
  g_free (self->sparsity_detail);
  g_free (self->partition_sentence);
  g_free (self->support_sentence);
  g_free (self->contracted_text);
  g_free (self->contracted_markup);
  for (guint k = 0; k < 2; k++)
    {
      g_free (self->factor_text[k]);
      g_free (self->factor_markup[k]);
      g_free (self->factor_latex[k]);
      g_free (self->inner_text[k]);
      g_free (self->inner_markup[k]);
    }
  g_free (self->slope_value_name);
  g_free (self->slope_arg_name);
  for (guint f = 0; f < self->n_entry_factors; f++)
    {
      g_free (self->entry_factors[f].name);
      g_free (self->entry_factors[f].markup);
      g_free (self->entry_factors[f].latex);
    }
  g_free (self->entry_factors);
  g_free (self->contracted_latex);
  g_free (self->where_text);
  g_free (self->where_markup);
  g_free (self->where_latex);
  g_free (self->expression_latex);
  _jac_m_unref (self->priv);
  if (self->terms != NULL)
    g_ptr_array_unref (self->terms);
  if (self->symbol_nodes != NULL)
    g_array_unref (self->symbol_nodes);
  g_free (self);
}

const JacDerivationStep *
jac_derivation_find_step (const JacDerivation *self,
                          const char          *title)
{
  g_return_val_if_fail (self != NULL, NULL);

  for (guint s = 0; s < self->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (self->steps, s);

      if (g_str_equal (step->title, title))
        return step;
    }
  return NULL;
}

JacTensor *
jac_derivation_evaluate (const JacDerivation  *self,
                         JacGraph             *graph,
                         const JacTensor      *upstream,
                         GError              **error)
{
  const JacNode *out;

  g_return_val_if_fail (self != NULL && graph != NULL && upstream != NULL, NULL);
  out = jac_graph_node (graph, graph->output);
  if (upstream->rank != out->rank || (out->rank > 0 && upstream->shape[0] != out->shape[0]) ||
      (out->rank > 1 && upstream->shape[1] != out->shape[1]))
    {
      g_autofree char *want = jac_shape_string (out->rank, out->shape);
      g_autofree char *have = jac_tensor_shape_string (upstream);

      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                   "the upstream gradient G has shape %s, but %s has shape %s", have,
                   self->output_name, want);
      return NULL;
    }
  return _jac_m_eval (self->priv, graph, upstream);
}

gboolean
jac_derivation_evaluate_factors (const JacDerivation *self,
                                 JacGraph            *graph,
                                 const JacTensor     *upstream,
                                 JacTensor          **factors)
{
  const JacMExpr *form;

  g_return_val_if_fail (self != NULL && graph != NULL && upstream != NULL, FALSE);
  g_return_val_if_fail (factors != NULL, FALSE);

  factors[0] = factors[1] = NULL;
  form = self->priv;
  if (self->factors_op == 0 || form == NULL)
    return FALSE;
  factors[0] = _jac_m_eval (form->a, graph, upstream);
  factors[1] = _jac_m_eval (form->b, graph, upstream);
  if (factors[0] == NULL || factors[1] == NULL)
    {
      g_clear_pointer (&factors[0], jac_tensor_free);
      g_clear_pointer (&factors[1], jac_tensor_free);
      return FALSE;
    }
  return TRUE;
}

gboolean
jac_derivation_evaluate_inner (const JacDerivation *self,
                               JacGraph            *graph,
                               const JacTensor     *upstream,
                               JacTensor          **parts)
{
  const JacMExpr *form, *part;

  g_return_val_if_fail (self != NULL && graph != NULL && upstream != NULL, FALSE);
  g_return_val_if_fail (parts != NULL, FALSE);

  parts[0] = parts[1] = NULL;
  form = self->priv;
  if (self->inner_of < 0 || form == NULL)
    return FALSE;
  part = self->inner_of == 0 ? form->a : form->b;
  parts[0] = _jac_m_eval (part->a, graph, upstream);
  parts[1] = _jac_m_eval (part->b, graph, upstream);
  if (parts[0] == NULL || parts[1] == NULL)
    {
      g_clear_pointer (&parts[0], jac_tensor_free);
      g_clear_pointer (&parts[1], jac_tensor_free);
      return FALSE;
    }
  return TRUE;
}

JacTensor *
jac_derivation_evaluate_slope (const JacDerivation *self,
                               const JacGraph      *graph)
{
  const JacNode *apply;
  const JacTensor *z;
  JacTensor *s;

  g_return_val_if_fail (self != NULL && graph != NULL, NULL);

  if (self->slope_node < 0)
    return NULL;
  apply = jac_graph_node (graph, self->slope_node);
  z = jac_graph_node (graph, apply->lhs)->value;
  s = jac_tensor_new (z->rank, z->shape, NULL);
  for (gsize n = 0; n < z->size; n++)
    s->data[n] = jac_node_slope (apply, z->data[n]);
  return s;
}

double
jac_entry_factor_value (const JacEntryFactor *factor,
                        const JacGraph       *graph,
                        const gsize          *out,
                        const gsize          *wrt)
{
  const JacNode *node = jac_graph_node (graph, factor->node);
  const JacTensor *t = factor->slope ? jac_graph_node (graph, node->lhs)->value : node->value;
  gsize offset = 0;
  double v;

  for (guint a = 0; a < t->rank; a++)
    {
      int axis = a < 2 ? factor->axis[a] : -1;
      gsize i = axis < 0 ? 0 : axis < 2 ? out[axis] : wrt[axis - 2];

      offset = offset * t->shape[a] + MIN (i, t->shape[a] - 1);
    }
  v = factor->slope ? jac_node_slope (node, t->data[offset]) : t->data[offset];
  return factor->power == 1 ? v : pow (v, factor->power);
}

/* jac-matform.c: matrix-notation trees: values, slopes, symbolic back-propagation, evaluation. */
#define G_LOG_DOMAIN "jac-matform"

#include <math.h>
#include <string.h>

#include "jac-blas.h"
#include "jac-derive-private.h"
#include "jac-error.h"

/* ---- construction ---- */

static void
m_clear (gpointer data)
{
  JacMExpr *e = data;

  g_clear_pointer (&e->a, _jac_m_unref);
  g_clear_pointer (&e->b, _jac_m_unref);
}

JacMExpr *
_jac_m_ref (JacMExpr *e)
{
  return g_rc_box_acquire (e);
}

void
_jac_m_unref (JacMExpr *e)
{
  if (e != NULL)
    g_rc_box_release_full (e, m_clear);
}

static JacMExpr *
m_new (JacMKind     kind,
       guint        rank,
       const gsize *shape)
{
  JacMExpr *e = g_rc_box_new0 (JacMExpr);

  e->kind = kind;
  e->node = -1;
  e->rank = rank;
  for (guint a = 0; a < rank; a++)
    e->shape[a] = shape[a];
  return e;
}

JacMExpr *
_jac_m_node (const JacGraph *graph,
             int             node)
{
  const JacNode *n = jac_graph_node (graph, node);
  JacMExpr *e = m_new (JAC_M_NODE, n->rank, n->shape);

  e->node = node;
  return e;
}

JacMExpr *
_jac_m_upstream (guint        rank,
                 const gsize *shape)
{
  return m_new (JAC_M_UPSTREAM, rank, shape);
}

JacMExpr *
_jac_m_slope (const JacGraph *graph,
              int             node)
{
  JacMExpr *e = _jac_m_node (graph, node);

  e->kind = JAC_M_SLOPE;
  return e;
}

JacMExpr *
_jac_m_const (double value)
{
  JacMExpr *e = m_new (JAC_M_CONST, 0, NULL);

  e->value = value;
  return e;
}

static gboolean
is_const (const JacMExpr *e,
          double          value)
{
  return e->kind == JAC_M_CONST && e->value == value;
}

/* An exact 0, or a product with one: 0 G Wᵀ, (sum(V) ⊙ 0) 1, and 0 spread to a shape. */
static gboolean
is_zero (const JacMExpr *e)
{
  switch (e->kind)
    {
    case JAC_M_CONST:
      return e->value == 0.0;
    case JAC_M_HADAMARD:
    case JAC_M_MATMUL:
      return is_zero (e->a) || is_zero (e->b);
    case JAC_M_BROADCAST:
    case JAC_M_NEG:
    case JAC_M_TRANSPOSE:
      return is_zero (e->a);
    default:
      return FALSE;
    }
}

static gboolean
same_shape (const JacMExpr *e,
            guint           rank,
            const gsize    *shape)
{
  if (e->rank != rank)
    return FALSE;
  for (guint a = 0; a < rank; a++)
    if (e->shape[a] != shape[a])
      return FALSE;
  return TRUE;
}

/* NumPy broadcasting of two shapes of rank ≤ 2; the graph has checked they broadcast. */
static void
broadcast_shape (const JacMExpr *a,
                 const JacMExpr *b,
                 guint          *rank,
                 gsize          *shape)
{
  gboolean ok = jac_broadcast_shapes (a->rank, a->shape, b->rank, b->shape, rank, shape);

  g_assert (ok);
}

static JacMExpr *
m_pair (JacMKind  kind,
        JacMExpr *a,
        JacMExpr *b)
{
  guint rank;
  gsize shape[2] = { 0, 0 };
  JacMExpr *e;

  if (kind == JAC_M_MATMUL)
    {
      rank = 2;
      shape[0] = a->shape[0];
      shape[1] = b->shape[1];
    }
  else
    broadcast_shape (a, b, &rank, shape);
  e = m_new (kind, rank, shape);
  e->a = a;
  e->b = b;
  return e;
}

static gboolean
m_equal (const JacMExpr *a,
         const JacMExpr *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || a->kind != b->kind || a->node != b->node ||
      a->value != b->value || a->func != b->func || !same_shape (a, b->rank, b->shape))
    return FALSE;
  return m_equal (a->a, b->a) && m_equal (a->b, b->b);
}

/* a = P f and b = Q f with P and Q of one shape and f a scalar seen as 1×1, or a column: a
 * factor that is safe to take out of a sum without changing how the forms read otherwise (a
 * matrix factor stays where back-propagation put it). */
static gboolean
is_thin_common_factor (const JacMExpr *a,
                       const JacMExpr *b)
{
  return a->kind == JAC_M_MATMUL && b->kind == JAC_M_MATMUL && m_equal (a->b, b->b) &&
         a->b->rank == 2 && (a->b->shape[1] == 1 || a->b->shape[0] == a->b->shape[1]) &&
         !m_equal (a->a, b->a) && same_shape (a->a, b->a->rank, b->a->shape);
}

static JacMExpr *m_reshape (JacMExpr    *a,
                            guint        rank,
                            const gsize *shape,
                            guint        axis);

/* The operand of a negation, which the caller now owns, or NULL. */
static JacMExpr *
take_negated (JacMExpr *e)
{
  JacMExpr *inner;

  if (e->kind != JAC_M_NEG)
    return NULL;
  inner = _jac_m_ref (e->a);
  _jac_m_unref (e);
  return inner;
}

/* (−a) ∘ b = a ∘ (−b) = −(a ∘ b), so that signs collect in front and cancel. */
static JacMExpr *
pull_negation (JacMKind  kind,
               JacMExpr *a,
               JacMExpr *b)
{
  JacMExpr *inner;

  if ((inner = take_negated (a)) != NULL)
    return _jac_m_unary (JAC_M_NEG, 0, _jac_m_binary (kind, inner, b));
  if ((inner = take_negated (b)) != NULL)
    return _jac_m_unary (JAC_M_NEG, 0, _jac_m_binary (kind, a, inner));
  return NULL;
}

static JacMExpr *
replace (JacMExpr *old,
         JacMExpr *with)
{
  _jac_m_unref (old);
  return with;
}

/* Whether @t is y ⊘ x or −(y ⊘ x) for x = @x, all of one shape. */
static gboolean
divides_out (const JacMExpr *x,
             const JacMExpr *t)
{
  if (t->kind == JAC_M_NEG)
    t = t->a;
  return t->kind == JAC_M_DIV && m_equal (t->b, x) && same_shape (t->a, t->rank, t->shape) &&
         same_shape (x, t->rank, t->shape);
}

/* x ⊙ y with a scalar moved first, so that it prints as "s X"; G 1 ⊙ X is G X. */
static JacMExpr *
m_hadamard (JacMExpr *a,
            JacMExpr *b)
{
  guint rank;
  gsize shape[2];
  JacMExpr *e;

  /* x ⊙ (y ⊘ x) = y, and x ⊙ (y ⊘ x ± z) = y ± x ⊙ z: the softmax cancels in the gradient of
   * its cross-entropy, Xᵀ (P ⊙ (T 1) − T) instead of Xᵀ (P ⊙ (−(T ⊘ P) + T 1)). */
  if (b->kind == JAC_M_DIV && divides_out (a, b))
    {
      e = _jac_m_ref (b->a);
      _jac_m_unref (a);
      _jac_m_unref (b);
      return e;
    }
  if ((b->kind == JAC_M_ADD || b->kind == JAC_M_SUB) && same_shape (b, a->rank, a->shape) &&
      (divides_out (a, b->a) || divides_out (a, b->b)))
    {
      JacMKind kind = b->kind;
      JacMExpr *left = m_hadamard (_jac_m_ref (a), _jac_m_ref (b->a));
      JacMExpr *right = m_hadamard (a, _jac_m_ref (b->b));

      _jac_m_unref (b);
      return _jac_m_binary (kind, left, right);
    }

  if (is_const (a, 1.0) && !(b->rank == 0 && a->rank > 0))
    return replace (a, b);
  if (is_const (b, 1.0) && !(a->rank == 0 && b->rank > 0))
    return replace (b, a);
  if ((e = pull_negation (JAC_M_HADAMARD, a, b)) != NULL)
    return e;
  /* a ⊙ (1 ⊘ b) = a ⊘ b */
  if (b->kind == JAC_M_DIV && is_const (b->a, 1.0) && same_shape (b, b->b->rank, b->b->shape))
    {
      JacMExpr *bottom = _jac_m_ref (b->b);

      _jac_m_unref (b);
      return _jac_m_binary (JAC_M_DIV, a, bottom);
    }
  broadcast_shape (a, b, &rank, shape);
  if (b->kind == JAC_M_BROADCAST && b->a->rank == 0)
    {
      JacMExpr *swap = a;

      a = b;
      b = swap;
    }
  if (a->kind == JAC_M_BROADCAST && a->a->rank == 0 && same_shape (b, rank, shape))
    {
      JacMExpr *scalar = _jac_m_ref (a->a);

      _jac_m_unref (a);
      a = scalar;
    }
  if (b->rank == 0 && a->rank > 0)
    {
      JacMExpr *swap = a;

      a = b;
      b = swap;
    }
  /* (s x) ⊙ y = s (x ⊙ y): the scalar stays in front. */
  if (a->kind == JAC_M_HADAMARD && a->a->rank == 0 && a->b->rank > 0 && b->rank > 0)
    {
      JacMExpr *scalar = _jac_m_ref (a->a), *rest = _jac_m_ref (a->b);

      _jac_m_unref (a);
      return m_pair (JAC_M_HADAMARD, scalar, m_hadamard (rest, b));
    }
  return m_pair (JAC_M_HADAMARD, a, b);
}

JacMExpr *
_jac_m_binary (JacMKind  kind,
               JacMExpr *a,
               JacMExpr *b)
{
  switch (kind)
    {
    case JAC_M_ADD:
    case JAC_M_SUB:
      {
        guint rank;
        gsize shape[2] = { 0, 0 };

        /* P + 0 Q = P: a term scaled by an exact 0 (X + (X * 0) @ W) is no part of the form,
         * as the index notation drops it, when what remains already has the sum's shape. */
        broadcast_shape (a, b, &rank, shape);
        if (is_zero (b) && same_shape (a, rank, shape))
          return replace (b, a);
        if (is_zero (a) && same_shape (b, rank, shape))
          {
            _jac_m_unref (a);
            return kind == JAC_M_ADD ? b : _jac_m_unary (JAC_M_NEG, 0, b);
          }
      }
      if (m_equal (a, b))
        break;
      if (a->kind == JAC_M_RESHAPE && b->kind == JAC_M_RESHAPE && a->value == b->value &&
          same_shape (a->a, b->a->rank, b->a->shape))
        {
          /* Two columns made vectors: one sum made a vector, so that its terms can meet. */
          JacMExpr *left = _jac_m_ref (a->a), *right = _jac_m_ref (b->a);
          JacMExpr *e = m_reshape (_jac_m_binary (kind, left, right), a->rank, a->shape,
                                   (guint) a->value);

          _jac_m_unref (a);
          _jac_m_unref (b);
          return e;
        }
      if (a->kind == JAC_M_HADAMARD && b->kind == JAC_M_HADAMARD && a->a->rank == 0 &&
          b->a->rank == 0 && m_equal (a->a, b->a) && a->b->rank > 0 &&
          same_shape (a->b, b->b->rank, b->b->shape))
        {
          /* s P ± s Q = s (P ± Q) for a scalar s (the upstream G of a scalar output). */
          JacMExpr *scalar = _jac_m_ref (a->a), *left = _jac_m_ref (a->b);
          JacMExpr *right = _jac_m_ref (b->b);
          JacMExpr *inner;

          _jac_m_unref (a);
          _jac_m_unref (b);
          /* The gradient of a scalar: a common right factor of any shape comes out too, the
           * Cookbook's (A + Aᵀ) X for ∂ tr(Xᵀ A X)/∂X. */
          if (left->kind == JAC_M_MATMUL && right->kind == JAC_M_MATMUL &&
              m_equal (left->b, right->b) && same_shape (left->a, right->a->rank, right->a->shape))
            {
              JacMExpr *f = _jac_m_ref (left->b);

              inner = _jac_m_binary (JAC_M_MATMUL,
                                     _jac_m_binary (kind, _jac_m_ref (left->a),
                                                    _jac_m_ref (right->a)), f);
              _jac_m_unref (left);
              _jac_m_unref (right);
            }
          else
            inner = _jac_m_binary (kind, left, right);
          return _jac_m_binary (JAC_M_HADAMARD, scalar, inner);
        }
      if (is_thin_common_factor (a, b))
        {
          /* P f ± Q f = (P ± Q) f for a scalar or a column f: the Cookbook's (A + Aᵀ) x for
           * ∂ xᵀ A x/∂x, where back-propagation writes A x G + Aᵀ x G. */
          JacMExpr *left = _jac_m_ref (a->a), *right = _jac_m_ref (b->a);
          JacMExpr *f = _jac_m_ref (a->b);

          _jac_m_unref (a);
          _jac_m_unref (b);
          return _jac_m_binary (JAC_M_MATMUL, _jac_m_binary (kind, left, right), f);
        }
      break;
    default:
      break;
    }
  switch (kind)
    {
    case JAC_M_ADD:
      if (m_equal (a, b))
        return replace (b, _jac_m_binary (JAC_M_HADAMARD, _jac_m_const (2.0), a));
      if (b->kind == JAC_M_NEG)
        {
          JacMExpr *inner = _jac_m_ref (b->a);

          _jac_m_unref (b);
          return _jac_m_binary (JAC_M_SUB, a, inner);
        }
      /* −a + b = b − a, the positive term first: Xᵀ (P ⊙ (T 1) − T). */
      if (a->kind == JAC_M_NEG && same_shape (a, b->rank, b->shape))
        return _jac_m_binary (JAC_M_SUB, b, take_negated (a));
      if (b->kind == JAC_M_CONST && b->value < 0)
        {
          JacMExpr *positive = _jac_m_const (-b->value);

          _jac_m_unref (b);
          return _jac_m_binary (JAC_M_SUB, a, positive);
        }
      break;
    case JAC_M_SUB:
      if (b->kind == JAC_M_NEG)
        {
          JacMExpr *inner = _jac_m_ref (b->a);

          _jac_m_unref (b);
          return _jac_m_binary (JAC_M_ADD, a, inner);
        }
      break;
    case JAC_M_HADAMARD:
      return m_hadamard (a, b);
    case JAC_M_DIV:
      if (is_const (b, 1.0) && b->rank <= a->rank)
        return replace (b, a);
      {
        JacMExpr *e = pull_negation (kind, a, b);

        if (e != NULL)
          return e;
      }
      break;
    case JAC_M_MATMUL:
      {
        JacMExpr *e;

        /* A I = A and A (s I) = s A: what makes ∂ tr(A X)/∂X read Aᵀ, as in the Cookbook. */
        if (b->kind == JAC_M_IDENTITY)
          return replace (b, a);
        if (a->kind == JAC_M_IDENTITY)
          return replace (a, b);
        if (b->kind == JAC_M_HADAMARD && b->a->rank == 0 && b->b->kind == JAC_M_IDENTITY)
          {
            JacMExpr *scalar = _jac_m_ref (b->a);

            _jac_m_unref (b);
            return _jac_m_binary (JAC_M_HADAMARD, scalar, a);
          }
        if (a->kind == JAC_M_HADAMARD && a->a->rank == 0 && a->b->kind == JAC_M_IDENTITY)
          {
            JacMExpr *scalar = _jac_m_ref (a->a);

            _jac_m_unref (a);
            return _jac_m_binary (JAC_M_HADAMARD, scalar, b);
          }
        e = pull_negation (kind, a, b);
        if (e != NULL)
          return e;
        /* A scalar factor moves to the front: A (s X) = s A X. */
        if ((b->kind == JAC_M_HADAMARD && b->a->rank == 0 && b->b->rank == 2) ||
            (a->kind == JAC_M_HADAMARD && a->a->rank == 0 && a->b->rank == 2))
          {
            gboolean right = b->kind == JAC_M_HADAMARD && b->a->rank == 0 && b->b->rank == 2;
            JacMExpr *scaled = right ? b : a;
            JacMExpr *scalar = _jac_m_ref (scaled->a), *inner = _jac_m_ref (scaled->b);

            if (right)
              e = _jac_m_binary (JAC_M_MATMUL, a, inner);
            else
              e = _jac_m_binary (JAC_M_MATMUL, inner, b);
            _jac_m_unref (scaled);
            return _jac_m_binary (JAC_M_HADAMARD, scalar, e);
          }
        /* Products associate to the left, A (B C) = (A B) C, so that the same chain is always
         * the same tree and like terms are seen (W v G vᵀ + W v G vᵀ = 2 W v G vᵀ). */
        if (b->kind == JAC_M_MATMUL)
          {
            JacMExpr *first = _jac_m_ref (b->a), *rest = _jac_m_ref (b->b);

            _jac_m_unref (b);
            return _jac_m_binary (JAC_M_MATMUL, _jac_m_binary (JAC_M_MATMUL, a, first), rest);
          }
      }
      break;
    default:
      g_assert_not_reached ();
    }
  return m_pair (kind, a, b);
}

static JacMExpr *
m_transpose (JacMExpr *a)
{
  JacMExpr *e;
  gsize shape[2];

  if (a->rank < 2)
    return a;
  switch (a->kind)
    {
    case JAC_M_TRANSPOSE:
      e = _jac_m_ref (a->a);
      _jac_m_unref (a);
      return e;
    case JAC_M_MATMUL:
      /* (A B)ᵀ = Bᵀ Aᵀ */
      e = _jac_m_binary (JAC_M_MATMUL, m_transpose (_jac_m_ref (a->b)),
                         m_transpose (_jac_m_ref (a->a)));
      _jac_m_unref (a);
      return e;
    case JAC_M_NEG:
      e = _jac_m_unary (JAC_M_NEG, 0, m_transpose (_jac_m_ref (a->a)));
      _jac_m_unref (a);
      return e;
    case JAC_M_IDENTITY:
      return a;
    case JAC_M_HADAMARD:
      /* (s X)ᵀ = s Xᵀ for a scalar s. */
      if (a->a->rank == 0)
        {
          e = _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (a->a), m_transpose (_jac_m_ref (a->b)));
          _jac_m_unref (a);
          return e;
        }
      break;
    case JAC_M_RESHAPE:
      /* A scalar seen as a 1×1 matrix. */
      if (a->a->rank == 0)
        return a;
      break;
    case JAC_M_DIAG:
      /* diag(v) is symmetric. */
      if (a->a->rank == 1)
        return a;
      break;
    case JAC_M_ADD:
      /* P + Pᵀ is symmetric: the Cookbook's (A + Aᵀ) V, not (A + Aᵀ)ᵀ V. */
      {
        JacMExpr *left = m_transpose (_jac_m_ref (a->a));
        gboolean symmetric = m_equal (left, a->b);

        _jac_m_unref (left);
        if (symmetric)
          return a;
      }
      break;
    default:
      break;
    }
  shape[0] = a->shape[1];
  shape[1] = a->shape[0];
  e = m_new (JAC_M_TRANSPOSE, 2, shape);
  e->a = a;
  return e;
}

JacMExpr *
_jac_m_unary (JacMKind  kind,
              JacFunc   func,
              JacMExpr *a)
{
  JacMExpr *e;

  switch (kind)
    {
    case JAC_M_NEG:
      if (a->kind == JAC_M_NEG)
        {
          e = _jac_m_ref (a->a);
          _jac_m_unref (a);
          return e;
        }
      if (a->kind == JAC_M_CONST)
        {
          e = _jac_m_const (-a->value);
          _jac_m_unref (a);
          return e;
        }
      break;
    case JAC_M_TRANSPOSE:
      return m_transpose (a);
    case JAC_M_FUNC:
      if (func == JAC_FUNC_IDENTITY)
        return a;
      break;
    case JAC_M_SUM_ALL:
      e = m_new (kind, 0, NULL);
      e->a = a;
      return e;
    case JAC_M_STEP:
    case JAC_M_SOFTMAX:
      break;
    default:
      g_assert_not_reached ();
    }
  e = m_new (kind, a->rank, a->shape);
  e->func = func;
  e->a = a;
  return e;
}

/* A node of @kind over @a with a shape of its own (tr, det, diag, …). */
static JacMExpr *
m_shaped (JacMKind     kind,
          JacMExpr    *a,
          guint        rank,
          const gsize *shape)
{
  JacMExpr *e = m_new (kind, rank, shape);

  e->a = a;
  return e;
}

static JacMExpr *
m_identity (gsize n)
{
  gsize shape[2] = { n, n };

  return m_new (JAC_M_IDENTITY, 2, shape);
}

static JacMExpr *
m_inverse (JacMExpr *a)
{
  return m_shaped (JAC_M_INV, a, 2, a->shape);
}

/* @a with a unit axis added at @axis or removed from it; a reshape of a reshape cancels. */
static JacMExpr *
m_reshape (JacMExpr    *a,
           guint        rank,
           const gsize *shape,
           guint        axis)
{
  JacMExpr *e;

  if (same_shape (a, rank, shape))
    return a;
  /* Vectors are columns: a vector as a row is the transpose of it as a column, and a row made
   * a vector is its transpose made one, so that transposes meet and cancel ((xᵀ)ᵀ = x). */
  if (rank == 2 && a->rank == 1 && axis == 0)
    {
      gsize column[2] = { a->shape[0], 1 };

      return m_transpose (m_reshape (a, 2, column, 1));
    }
  if (rank == 1 && a->rank == 2 && axis == 0)
    return m_reshape (m_transpose (a), 1, shape, 1);
  if (a->kind == JAC_M_RESHAPE && same_shape (a->a, rank, shape))
    {
      e = _jac_m_ref (a->a);
      _jac_m_unref (a);
      return e;
    }
  e = m_shaped (JAC_M_RESHAPE, a, rank, shape);
  e->value = axis;
  return e;
}

static JacMExpr *
m_kron (JacMExpr *a,
        JacMExpr *b)
{
  gsize shape[2] = { 0, 0 };
  JacMExpr *e;

  for (guint x = 0; x < a->rank; x++)
    shape[x] = a->shape[x] * b->shape[x];
  e = m_shaped (JAC_M_KRON, a, a->rank, shape);
  e->b = b;
  return e;
}

static JacMExpr *
m_ones (guint        rank,
        const gsize *shape)
{
  return m_new (JAC_M_ONES, rank, shape);
}

/* diag(a): a vector to a diagonal matrix, or a square matrix to its diagonal. */
static JacMExpr *
m_diag (JacMExpr *a)
{
  gsize shape[2] = { a->shape[0], a->shape[0] };

  return m_shaped (JAC_M_DIAG, a, a->rank == 1 ? 2 : 1, shape);
}

/* a ** p element-wise: a itself for p = 1, a ⊙ a for p = 2 (read a², as square (a) is). */
static JacMExpr *
m_power (JacMExpr *a,
         double    p)
{
  JacMExpr *e;

  if (p == 1.0)
    return a;
  if (p == 2.0)
    {
      e = _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (a), _jac_m_ref (a));
      _jac_m_unref (a);
      return e;
    }
  e = _jac_m_unary (JAC_M_FUNC, JAC_FUNC_POWER, a);
  e->value = p;
  return e;
}

JacMExpr *
_jac_m_reshape_sum (JacMExpr    *a,
                    guint        rank,
                    const gsize *shape)
{
  gboolean rows = FALSE, cols = FALSE;
  guint lead;
  JacMKind kind;
  JacMExpr *e;

  if (same_shape (a, rank, shape))
    return a;
  if (a->kind == JAC_M_NEG)
    return _jac_m_unary (JAC_M_NEG, 0, _jac_m_reshape_sum (take_negated (a), rank, shape));
  if (rank > a->rank || (rank == a->rank && a->rank == 0))
    kind = JAC_M_BROADCAST;
  else
    {
      lead = a->rank - rank;
      for (guint x = 0; x < a->rank; x++)
        {
          gboolean summed = x < lead || (shape[x - lead] == 1 && a->shape[x] != 1);

          if (summed && x == 0 && a->rank == 2)
            rows = TRUE;
          else if (summed)
            cols = TRUE;
        }
      kind = a->rank == 2 && rows && !cols ? JAC_M_SUM_ROWS :
             a->rank == 2 && cols && !rows ? JAC_M_SUM_COLS : JAC_M_SUM_ALL;
    }
  e = m_new (kind, rank, shape);
  e->a = a;
  return e;
}

/* ---- forward values and slopes ---- */

static JacMExpr *
forward_ref (const JacDeriveContext *d,
             int                     node)
{
  return _jac_m_ref (d->forward[node]);
}

JacMExpr *
_jac_m_definition (const JacDeriveContext *d,
                   int                     node)
{
  const JacNode *n = jac_graph_node (d->graph, node);

  switch (n->op)
    {
    case JAC_OP_VARIABLE:
      return _jac_m_node (d->graph, node);
    case JAC_OP_CONSTANT:
      return _jac_m_const (n->constant);
    case JAC_OP_MATMUL:
      return _jac_m_binary (JAC_M_MATMUL, forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    case JAC_OP_ADD:
      return _jac_m_binary (JAC_M_ADD, forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    case JAC_OP_SUB:
      return _jac_m_binary (JAC_M_SUB, forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    case JAC_OP_MUL:
      return _jac_m_binary (JAC_M_HADAMARD, forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    case JAC_OP_DIV:
      return _jac_m_binary (JAC_M_DIV, forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    case JAC_OP_NEGATE:
      return _jac_m_unary (JAC_M_NEG, 0, forward_ref (d, n->lhs));
    case JAC_OP_TRANSPOSE:
      return _jac_m_unary (JAC_M_TRANSPOSE, 0, forward_ref (d, n->lhs));
    case JAC_OP_APPLY:
      if (n->func == JAC_FUNC_POWER)
        return m_power (forward_ref (d, n->lhs), n->constant);
      return _jac_m_unary (JAC_M_FUNC, n->func, forward_ref (d, n->lhs));
    case JAC_OP_SUM:
      return _jac_m_unary (JAC_M_SUM_ALL, 0, forward_ref (d, n->lhs));
    case JAC_OP_SOFTMAX:
      return _jac_m_unary (JAC_M_SOFTMAX, 0, forward_ref (d, n->lhs));
    case JAC_OP_SUM_AXIS:
      {
        JacMExpr *a = forward_ref (d, n->lhs);

        if (a->rank == 1)
          return _jac_m_unary (JAC_M_SUM_ALL, 0, a);
        /* 1ᵀ A (column sums) for axis 0, A 1 (row sums) for axis 1, as vectors. */
        return m_shaped (n->axis == 0 ? JAC_M_SUM_ROWS : JAC_M_SUM_COLS, a, 1, n->shape);
      }
    case JAC_OP_TRACE:
      return m_shaped (JAC_M_TRACE, forward_ref (d, n->lhs), 0, NULL);
    case JAC_OP_DIAG:
      return m_diag (forward_ref (d, n->lhs));
    case JAC_OP_DET:
      return m_shaped (JAC_M_DET, forward_ref (d, n->lhs), 0, NULL);
    case JAC_OP_LOGDET:
      return m_shaped (JAC_M_LOGDET, forward_ref (d, n->lhs), 0, NULL);
    case JAC_OP_INV:
      return m_inverse (forward_ref (d, n->lhs));
    case JAC_OP_RESHAPE:
      return m_reshape (forward_ref (d, n->lhs), n->rank, n->shape, n->axis);
    case JAC_OP_KRON:
      return m_kron (forward_ref (d, n->lhs), forward_ref (d, n->rhs));
    default:
      g_assert_not_reached ();
    }
}

static JacMExpr *
one_minus (JacMExpr *x)
{
  return _jac_m_binary (JAC_M_SUB, _jac_m_const (1.0), x);
}

static JacMExpr *
one_plus (JacMExpr *x)
{
  return _jac_m_binary (JAC_M_ADD, _jac_m_const (1.0), x);
}

static JacMExpr *
func_of (JacFunc   func,
         JacMExpr *z)
{
  return _jac_m_unary (JAC_M_FUNC, func, z);
}

/* 1 ⊘ sqrt(1 − z ⊙ z): the slope of arcsin. */
static JacMExpr *
inverse_sqrt_one_minus_square (JacMExpr *z)
{
  JacMExpr *square = _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (z), _jac_m_ref (z));

  _jac_m_unref (z);
  return _jac_m_binary (JAC_M_DIV, _jac_m_const (1.0),
                        func_of (JAC_FUNC_SQRT, one_minus (square)));
}

/* φ′(z) over named values; @y (nullable) is the function's own value when it has a name;
 * @param is the exponent of a power. */
static JacMExpr *
slope_formula (JacFunc   func,
               double    param,
               JacMExpr *z,
               JacMExpr *y)
{
  JacMExpr *e;

  switch (func)
    {
    case JAC_FUNC_ABS:
      /* sign(Z), 0 at the kink as the engine takes it. */
      e = func_of (JAC_FUNC_SIGN, _jac_m_ref (z));
      break;
    case JAC_FUNC_SIGN:
      e = _jac_m_const (0.0);
      break;
    case JAC_FUNC_TAN:
      if (y == NULL)
        y = func_of (func, _jac_m_ref (z));
      e = one_plus (_jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (y), _jac_m_ref (y)));
      break;
    case JAC_FUNC_ARCSIN: e = inverse_sqrt_one_minus_square (_jac_m_ref (z)); break;
    case JAC_FUNC_ARCCOS:
      e = _jac_m_unary (JAC_M_NEG, 0, inverse_sqrt_one_minus_square (_jac_m_ref (z)));
      break;
    case JAC_FUNC_ARCTAN:
      e = _jac_m_binary (JAC_M_DIV, _jac_m_const (1.0),
                         one_plus (_jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (z),
                                                  _jac_m_ref (z))));
      break;
    case JAC_FUNC_SINH: e = func_of (JAC_FUNC_COSH, _jac_m_ref (z)); break;
    case JAC_FUNC_COSH: e = func_of (JAC_FUNC_SINH, _jac_m_ref (z)); break;
    case JAC_FUNC_POWER:
      /* p Z^(p−1), the sign in front: −Z^(−2) for p = −1, not (−1) Z^(−2). */
      if (param == 0.0)
        e = _jac_m_const (0.0);
      else if (fabs (param) == 1.0)
        e = m_power (_jac_m_ref (z), param - 1.0);
      else
        e = _jac_m_binary (JAC_M_HADAMARD, _jac_m_const (fabs (param)),
                           m_power (_jac_m_ref (z), param - 1.0));
      if (param < 0)
        e = _jac_m_unary (JAC_M_NEG, 0, e);
      break;
    case JAC_FUNC_TANH:
      if (y == NULL)
        y = func_of (func, _jac_m_ref (z));
      e = one_minus (_jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (y), _jac_m_ref (y)));
      break;
    case JAC_FUNC_SIGMOID:
      if (y == NULL)
        y = func_of (func, _jac_m_ref (z));
      e = _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (y), one_minus (_jac_m_ref (y)));
      break;
    case JAC_FUNC_EXP:
      e = y != NULL ? _jac_m_ref (y) : func_of (func, _jac_m_ref (z));
      break;
    case JAC_FUNC_SQRT:
      if (y == NULL)
        y = func_of (func, _jac_m_ref (z));
      e = _jac_m_binary (JAC_M_DIV, _jac_m_const (1.0),
                         _jac_m_binary (JAC_M_HADAMARD, _jac_m_const (2.0), _jac_m_ref (y)));
      break;
    case JAC_FUNC_RELU: e = _jac_m_unary (JAC_M_STEP, 0, _jac_m_ref (z)); break;
    case JAC_FUNC_LOG: e = _jac_m_binary (JAC_M_DIV, _jac_m_const (1.0), _jac_m_ref (z)); break;
    case JAC_FUNC_SIN: e = func_of (JAC_FUNC_COS, _jac_m_ref (z)); break;
    case JAC_FUNC_COS:
      e = _jac_m_unary (JAC_M_NEG, 0, func_of (JAC_FUNC_SIN, _jac_m_ref (z)));
      break;
    case JAC_FUNC_SOFTPLUS: e = func_of (JAC_FUNC_SIGMOID, _jac_m_ref (z)); break;
    case JAC_FUNC_SQUARE:
      e = _jac_m_binary (JAC_M_HADAMARD, _jac_m_const (2.0), _jac_m_ref (z));
      break;
    case JAC_FUNC_IDENTITY:
    default:
      e = _jac_m_const (1.0);
      break;
    }
  _jac_m_unref (y);
  _jac_m_unref (z);
  return e;
}

void
_jac_m_build_forward (JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;

  for (guint n = 0; n < n_nodes; n++)
    {
      const JacNode *node = jac_graph_node (d->graph, n);

      if (!d->reachable[n])
        continue;
      if (node->op == JAC_OP_VARIABLE || d->node_symbol[n] >= 0)
        d->forward[n] = _jac_m_node (d->graph, n);
      else
        d->forward[n] = _jac_m_definition (d, n);
      if (node->op == JAC_OP_APPLY)
        d->slope[n] = slope_formula (node->func, node->constant, forward_ref (d, node->lhs),
                                     d->node_symbol[n] >= 0 ? _jac_m_node (d->graph, n) : NULL);
    }
}

/* ---- symbolic back-propagation ---- */

/* Users are visited from the last to the first, so a contribution goes in front: the sum then
 * reads in the order of the expression, as the terms of the index form do. */
static void
accumulate (JacMExpr **adjoint,
            JacMExpr  *contribution,
            double     sign)
{
  if (sign < 0)
    contribution = _jac_m_unary (JAC_M_NEG, 0, contribution);
  if (*adjoint == NULL)
    *adjoint = contribution;
  else if (contribution->kind == JAC_M_NEG && (*adjoint)->kind != JAC_M_NEG)
    *adjoint = _jac_m_binary (JAC_M_SUB, *adjoint, take_negated (contribution));
  else
    *adjoint = _jac_m_binary (JAC_M_ADD, contribution, *adjoint);
}

static JacMExpr *
to_operand (JacDeriveContext *d,
            JacMExpr         *contribution,
            int               operand)
{
  const JacNode *n = jac_graph_node (d->graph, operand);

  return _jac_m_reshape_sum (contribution, n->rank, n->shape);
}

static JacMExpr *
slope_of (JacDeriveContext *d,
          int               node)
{
  if (d->slope_symbol[node] >= 0)
    return _jac_m_slope (d->graph, node);
  return _jac_m_ref (d->slope[node]);
}

/* softmax: Ā = Y ⊙ (G − (G ⊙ Y) 1), the row sums spread back over each row. */
static JacMExpr *
softmax_adjoint (JacDeriveContext *d,
                 int               node,
                 JacMExpr         *g)
{
  const JacNode *n = jac_graph_node (d->graph, node);
  gsize column[2] = { n->shape[0], 1 };
  JacMExpr *rows = _jac_m_reshape_sum (_jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                                      forward_ref (d, node)), 2, column);

  return _jac_m_binary (JAC_M_HADAMARD, forward_ref (d, node),
                        _jac_m_binary (JAC_M_SUB, g, rows));
}

static void
backward_node (JacDeriveContext  *d,
               int                index,
               JacMExpr          *g,
               JacMExpr         **adjoint)
{
  const JacNode *n = jac_graph_node (d->graph, index);
  int a = n->lhs, b = n->rhs;
  gboolean da = a >= 0 && d->depends[a], db = b >= 0 && d->depends[b];

  switch (n->op)
    {
    case JAC_OP_MATMUL:
      /* ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G */
      if (da)
        accumulate (&adjoint[a], _jac_m_binary (JAC_M_MATMUL, _jac_m_ref (g),
                                                m_transpose (forward_ref (d, b))), 1);
      if (db)
        accumulate (&adjoint[b], _jac_m_binary (JAC_M_MATMUL, m_transpose (forward_ref (d, a)),
                                                _jac_m_ref (g)), 1);
      break;
    case JAC_OP_ADD:
    case JAC_OP_SUB:
      if (da)
        accumulate (&adjoint[a], to_operand (d, _jac_m_ref (g), a), 1);
      if (db)
        accumulate (&adjoint[b], to_operand (d, _jac_m_ref (g), b), n->op == JAC_OP_SUB ? -1 : 1);
      break;
    case JAC_OP_MUL:
      if (da)
        accumulate (&adjoint[a], to_operand (d, _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                                                forward_ref (d, b)), a), 1);
      if (db)
        accumulate (&adjoint[b], to_operand (d, _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                                                forward_ref (d, a)), b), 1);
      break;
    case JAC_OP_DIV:
      /* ∂(a ⊘ b) = ∂a ⊘ b − a ⊙ ∂b ⊘ (b ⊙ b) */
      if (da)
        accumulate (&adjoint[a], to_operand (d, _jac_m_binary (JAC_M_DIV, _jac_m_ref (g),
                                                                forward_ref (d, b)), a), 1);
      if (db)
        {
          JacMExpr *top = _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g), forward_ref (d, a));
          JacMExpr *bottom = _jac_m_binary (JAC_M_HADAMARD, forward_ref (d, b),
                                            forward_ref (d, b));

          accumulate (&adjoint[b],
                      to_operand (d, _jac_m_binary (JAC_M_DIV, top, bottom), b), -1);
        }
      break;
    case JAC_OP_NEGATE:
      accumulate (&adjoint[a], _jac_m_ref (g), -1);
      break;
    case JAC_OP_TRANSPOSE:
      accumulate (&adjoint[a], m_transpose (_jac_m_ref (g)), 1);
      break;
    case JAC_OP_APPLY:
      if (n->func == JAC_FUNC_IDENTITY)
        accumulate (&adjoint[a], _jac_m_ref (g), 1);
      else
        accumulate (&adjoint[a], _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                                slope_of (d, index)), 1);
      break;
    case JAC_OP_SUM:
      accumulate (&adjoint[a], to_operand (d, _jac_m_ref (g), a), 1);
      break;
    case JAC_OP_SOFTMAX:
      accumulate (&adjoint[a], softmax_adjoint (d, index, _jac_m_ref (g)), 1);
      break;
    case JAC_OP_SUM_AXIS:
      {
        const JacNode *operand = jac_graph_node (d->graph, a);

        if (operand->rank == 1)
          accumulate (&adjoint[a], to_operand (d, _jac_m_ref (g), a), 1);
        else
          accumulate (&adjoint[a], m_shaped (n->axis == 0 ? JAC_M_SPREAD_ROWS : JAC_M_SPREAD_COLS,
                                             _jac_m_ref (g), 2, operand->shape), 1);
      }
      break;
    case JAC_OP_TRACE:
      /* ∂ tr A = tr ∂A: Ā = g I. */
      accumulate (&adjoint[a], _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                              m_identity (jac_graph_node (d->graph, a)->shape[0])),
                  1);
      break;
    case JAC_OP_DIAG:
      accumulate (&adjoint[a], m_diag (_jac_m_ref (g)), 1);
      break;
    case JAC_OP_DET:
      /* ∂ det A = det A · tr(A⁻¹ ∂A): Ā = g det A A⁻ᵀ (the Cookbook's (49)). */
      accumulate (&adjoint[a],
                  _jac_m_binary (JAC_M_HADAMARD,
                                 _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                                forward_ref (d, index)),
                                 m_transpose (m_inverse (forward_ref (d, a)))), 1);
      break;
    case JAC_OP_LOGDET:
      /* Ā = g A⁻ᵀ (the Cookbook's (57)). */
      accumulate (&adjoint[a], _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                              m_transpose (m_inverse (forward_ref (d, a)))), 1);
      break;
    case JAC_OP_RESHAPE:
      {
        const JacNode *operand = jac_graph_node (d->graph, a);

        accumulate (&adjoint[a], m_reshape (_jac_m_ref (g), operand->rank, operand->shape,
                                            n->axis), 1);
      }
      break;
    case JAC_OP_KRON:
      {
        /* Ā = each block of G ⊙ (1 ⊗ B) summed; B̄ = the blocks of G ⊙ (A ⊗ 1) added. */
        const JacNode *na = jac_graph_node (d->graph, a), *nb = jac_graph_node (d->graph, b);

        if (da)
          accumulate (&adjoint[a],
                      m_shaped (JAC_M_BLOCK_SUMS,
                                _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                               m_kron (m_ones (na->rank, na->shape),
                                                       forward_ref (d, b))),
                                na->rank, na->shape), 1);
        if (db)
          accumulate (&adjoint[b],
                      m_shaped (JAC_M_BLOCK_TOTAL,
                                _jac_m_binary (JAC_M_HADAMARD, _jac_m_ref (g),
                                               m_kron (forward_ref (d, a),
                                                       m_ones (nb->rank, nb->shape))),
                                nb->rank, nb->shape), 1);
      }
      break;
    case JAC_OP_INV:
      {
        /* ∂(A⁻¹) = −A⁻¹ ∂A A⁻¹: Ā = −A⁻ᵀ G A⁻ᵀ, with A⁻¹ the node's own value. */
        JacMExpr *left = _jac_m_binary (JAC_M_MATMUL, m_transpose (forward_ref (d, index)),
                                        _jac_m_ref (g));

        accumulate (&adjoint[a], _jac_m_binary (JAC_M_MATMUL, left,
                                                m_transpose (forward_ref (d, index))), -1);
      }
      break;
    case JAC_OP_VARIABLE:
    case JAC_OP_CONSTANT:
    default:
      break;
    }
}

/* ---- like terms ---- */

/* A sum of monomials c · Π base^power: bases are the operands of ⊙ and ⊘ that are neither, each
 * simplified itself and kept once with its power (negative under ⊘); equal monomials merge. */
typedef struct
{
  JacMExpr *base;
  int       power;
} MFactor;

typedef struct
{
  double  coef;
  GArray *factors;   /* MFactor, in order of first appearance */
} MMonomial;

static JacMExpr *m_simplify (JacMExpr *e,
                             gboolean *changed);

static gboolean
is_product (const JacMExpr *e)
{
  return e->kind == JAC_M_HADAMARD || e->kind == JAC_M_DIV || e->kind == JAC_M_NEG ||
         e->kind == JAC_M_CONST;
}

static void
monomial_clear (MMonomial *m)
{
  for (guint f = 0; f < m->factors->len; f++)
    _jac_m_unref (g_array_index (m->factors, MFactor, f).base);
  g_array_unref (m->factors);
}

static void
monomial_collect (MMonomial      *m,
                  const JacMExpr *e,
                  int             power,
                  gboolean       *changed)
{
  JacMExpr *base;

  switch (e->kind)
    {
    case JAC_M_CONST:
      if (m->coef != 1.0 && e->value != 1.0)
        *changed = TRUE;
      m->coef *= power > 0 ? e->value : 1.0 / e->value;
      return;
    case JAC_M_NEG:
      m->coef = -m->coef;
      monomial_collect (m, e->a, power, changed);
      return;
    case JAC_M_HADAMARD:
      monomial_collect (m, e->a, power, changed);
      monomial_collect (m, e->b, power, changed);
      return;
    case JAC_M_DIV:
      monomial_collect (m, e->a, power, changed);
      monomial_collect (m, e->b, -power, changed);
      return;
    default:
      break;
    }
  base = m_simplify (_jac_m_ref ((JacMExpr *) e), changed);
  for (guint f = 0; f < m->factors->len; f++)
    {
      MFactor *x = &g_array_index (m->factors, MFactor, f);

      if (m_equal (x->base, base))
        {
          x->power += power;
          _jac_m_unref (base);
          *changed = TRUE;
          return;
        }
    }
  g_array_append_val (m->factors, ((MFactor) { base, power }));
}

static void
sum_collect (GArray         *monomials,
             const JacMExpr *e,
             double          sign,
             gboolean       *changed)
{
  MMonomial m;

  switch (e->kind)
    {
    case JAC_M_ADD:
    case JAC_M_SUB:
      sum_collect (monomials, e->a, sign, changed);
      sum_collect (monomials, e->b, e->kind == JAC_M_SUB ? -sign : sign, changed);
      return;
    case JAC_M_NEG:
      if (e->a->kind == JAC_M_ADD || e->a->kind == JAC_M_SUB || e->a->kind == JAC_M_NEG)
        {
          sum_collect (monomials, e->a, -sign, changed);
          return;
        }
      break;
    default:
      break;
    }
  m.coef = sign;
  m.factors = g_array_new (FALSE, FALSE, sizeof (MFactor));
  monomial_collect (&m, e, 1, changed);
  for (guint f = 0; f < m.factors->len;)
    {
      /* X ⊘ X is 1. */
      if (g_array_index (m.factors, MFactor, f).power == 0)
        {
          _jac_m_unref (g_array_index (m.factors, MFactor, f).base);
          g_array_remove_index (m.factors, f);
        }
      else
        f++;
    }
  for (guint n = 0; n < monomials->len; n++)
    {
      MMonomial *other = &g_array_index (monomials, MMonomial, n);
      gboolean same = other->factors->len == m.factors->len;

      for (guint f = 0; f < m.factors->len && same; f++)
        {
          const MFactor *x = &g_array_index (m.factors, MFactor, f);

          same = FALSE;
          for (guint g = 0; g < other->factors->len && !same; g++)
            {
              const MFactor *y = &g_array_index (other->factors, MFactor, g);

              same = y->power == x->power && m_equal (y->base, x->base);
            }
        }
      if (same)
        {
          other->coef += m.coef;
          monomial_clear (&m);
          *changed = TRUE;
          return;
        }
    }
  g_array_append_val (monomials, m);
}

/* Π base^power over the factors of one sign, repeated as ⊙ (X ⊙ X, as S = 1 − h ⊙ h writes a
 * square), the coefficient on the first: 3 G ⊙ X ⊙ X. NULL if there are none. */
static JacMExpr *
monomial_part (const MMonomial *m,
               gboolean         numerator,
               double           coef)
{
  JacMExpr *product = NULL;

  for (guint f = 0; f < m->factors->len; f++)
    {
      const MFactor *x = &g_array_index (m->factors, MFactor, f);

      if ((x->power > 0) != numerator)
        continue;
      for (int r = 0; r < ABS (x->power); r++)
        {
          JacMExpr *base = _jac_m_ref (x->base);

          if (product == NULL)
            product = coef != 1.0 ? _jac_m_binary (JAC_M_HADAMARD, _jac_m_const (coef), base) :
                      base;
          else
            product = m_pair (JAC_M_HADAMARD, product, base);
        }
    }
  return product;
}

static JacMExpr *
monomial_build (const MMonomial *m)
{
  double magnitude = fabs (m->coef);
  JacMExpr *top = monomial_part (m, TRUE, magnitude);
  JacMExpr *bottom = monomial_part (m, FALSE, 1.0);

  if (top == NULL)
    top = _jac_m_const (magnitude);
  if (bottom != NULL)
    top = m_pair (JAC_M_DIV, top, bottom);
  return top;
}

static JacMExpr *
m_copy_with (const JacMExpr *e,
             JacMExpr       *a,
             JacMExpr       *b)
{
  JacMExpr *copy = m_new (e->kind, e->rank, e->shape);

  copy->node = e->node;
  copy->value = e->value;
  copy->func = e->func;
  copy->a = a;
  copy->b = b;
  return copy;
}

/* Takes @e; returns it untouched unless a like term merged, a power formed or a term cancelled
 * somewhere in it (then sets *changed), so that forms without like terms read as before. */
static JacMExpr *
m_simplify (JacMExpr *e,
            gboolean *changed)
{
  g_autoptr(GArray) monomials = NULL;
  gboolean here = FALSE;
  JacMExpr *result = NULL;

  if (e->a == NULL)
    return e;
  if (e->kind != JAC_M_ADD && e->kind != JAC_M_SUB && !is_product (e))
    {
      JacMExpr *a = m_simplify (_jac_m_ref (e->a), &here);
      JacMExpr *b = e->b != NULL ? m_simplify (_jac_m_ref (e->b), &here) : NULL;

      if (!here)
        {
          _jac_m_unref (a);
          _jac_m_unref (b);
          return e;
        }
      *changed = TRUE;
      result = m_copy_with (e, a, b);
      _jac_m_unref (e);
      return result;
    }

  monomials = g_array_new (FALSE, FALSE, sizeof (MMonomial));
  sum_collect (monomials, e, 1.0, &here);
  for (guint n = 0; n < monomials->len; n++)
    {
      MMonomial *m = &g_array_index (monomials, MMonomial, n);
      JacMExpr *term;

      if (here && fabs (m->coef) >= 1e-12)
        {
          term = monomial_build (m);
          if (result == NULL)
            result = m->coef < 0 ? _jac_m_unary (JAC_M_NEG, 0, term) : term;
          else
            result = _jac_m_binary (m->coef < 0 ? JAC_M_SUB : JAC_M_ADD, result, term);
        }
      monomial_clear (m);
    }
  if (!here)
    return e;
  if (result == NULL)
    result = _jac_m_reshape_sum (_jac_m_const (0.0), e->rank, e->shape);
  if (!same_shape (result, e->rank, e->shape))
    {
      /* Cancelling a broadcast term would change the shape; keep the form as it was. */
      _jac_m_unref (result);
      return e;
    }
  *changed = TRUE;
  _jac_m_unref (e);
  return result;
}

JacMExpr *
_jac_m_simplify (JacMExpr *e)
{
  gboolean changed = FALSE;

  return m_simplify (e, &changed);
}

JacMExpr *
_jac_m_backward (JacDeriveContext *d)
{
  guint n_nodes = d->graph->nodes->len;
  g_autofree JacMExpr **adjoint = g_new0 (JacMExpr *, n_nodes);
  const JacNode *out = jac_graph_node (d->graph, d->output);
  const JacNode *var = jac_graph_node (d->graph, d->variable);
  JacMExpr *result;

  if (d->depends[d->output])
    adjoint[d->output] = _jac_m_upstream (out->rank, out->shape);
  for (guint n = n_nodes; n-- > 0;)
    if (adjoint[n] != NULL && (int) n != d->variable)
      backward_node (d, n, adjoint[n], adjoint);

  result = g_steal_pointer (&adjoint[d->variable]);
  for (guint n = 0; n < n_nodes; n++)
    _jac_m_unref (adjoint[n]);
  if (result == NULL)
    result = _jac_m_reshape_sum (_jac_m_const (0.0), var->rank, var->shape);
  result = _jac_m_simplify (result);
  /* A product with an exact 0 (the Hessian of tr(A X), linear in X) reads 0. */
  if (is_zero (result) && !is_const (result, 0.0) &&
      !(result->kind == JAC_M_BROADCAST && is_const (result->a, 0.0)))
    result = replace (result, _jac_m_reshape_sum (_jac_m_const (0.0), var->rank, var->shape));
  return result;
}

/* ---- text ---- */

/* With vectors read as columns, a vector made a 1×n row is xᵀ, and a 1×n row made a vector is
 * (…)ᵀ; a column and a vector are the same, and so are (1, 1) and a scalar. */
static gboolean
reshape_is_transpose (const JacMExpr *e)
{
  guint axis = (guint) e->value;

  if (e->rank == 2 && e->a->rank == 1)
    return axis == 0 && e->shape[1] != 1;
  if (e->rank == 1 && e->a->rank == 2)
    return axis == 0 && e->shape[0] != 1;
  return FALSE;
}

static int
precedence (const JacMExpr *e)
{
  switch (e->kind)
    {
    case JAC_M_ADD:
    case JAC_M_SUB:
      return 1;
    case JAC_M_HADAMARD:
      /* A scalar multiple is juxtaposed, "s X", as is a number times a scalar, "3 G", and a
       * product of two scalars, "sum(V ⊙ X⁻ᵀ) det(X)". */
      return e->a->rank == 0 || e->a->kind == JAC_M_CONST ? 5 : 3;
    case JAC_M_DIV:
      return 3;
    case JAC_M_NEG:
      return 4;
    case JAC_M_MATMUL:
    case JAC_M_SUM_ROWS:
    case JAC_M_SUM_COLS:
      return 5;
    case JAC_M_BROADCAST:
      return e->a->kind == JAC_M_CONST ? 10 : 5;
    case JAC_M_TRANSPOSE:
      return 9;
    case JAC_M_FUNC:
      return e->func == JAC_FUNC_POWER ? 9 : 10;
    case JAC_M_INV:
      return 9;
    case JAC_M_RESHAPE:
      /* Written as a transpose when it makes a row (or a row a vector), else not at all. */
      return reshape_is_transpose (e) ? 9 : precedence (e->a);
    case JAC_M_SPREAD_ROWS:
    case JAC_M_SPREAD_COLS:
      return 5;
    case JAC_M_KRON:
      /* Below ⊙ and the products, so that G ⊙ (1 ⊗ B) keeps its parentheses. */
      return 2;
    case JAC_M_CONST:
      return e->value < 0 ? 4 : 10;
    default:
      return 10;
    }
}

static void render (const JacDeriveContext *d,
                    const JacMExpr         *e,
                    const char             *letters,
                    JacNotation            *out);

static void
render_child (const JacDeriveContext *d,
              const JacMExpr         *child,
              int                     at_least,
              const char             *letters,
              JacNotation            *out)
{
  gboolean parens = precedence (child) < at_least;

  if (parens)
    _jac_notation_add (out, "(", NULL, NULL);
  render (d, child, letters, out);
  if (parens)
    _jac_notation_add (out, ")", NULL, NULL);
}

static void
render_ones (JacNotation *out)
{
  _jac_notation_add (out, "1", "<b>1</b>", "\\mathbf{1}");
}

static void
render_leaf (const JacDeriveContext *d,
             const JacMExpr         *e,
             const char             *letters,
             JacNotation            *out)
{
  int symbol = e->kind == JAC_M_UPSTREAM ? d->upstream_symbol :
               e->kind == JAC_M_SLOPE ? d->slope_symbol[e->node] : d->node_symbol[e->node];

  g_assert (symbol >= 0);
  _jac_render_entry (d, symbol, letters != NULL && e->rank > 0 ? letters : "", out);
}

/* Entry-wise: a ⊙ b is a product of entries, a ⊙ a a square. */
static void
render_entry_product (const JacDeriveContext *d,
                      const JacMExpr         *e,
                      const char             *letters,
                      JacNotation            *out)
{
  if (letters != NULL && m_equal (e->a, e->b))
    {
      render_child (d, e->a, 10, letters, out);
      _jac_notation_add (out, "²", "<sup>2</sup>", "^{2}");
      return;
    }
  render_child (d, e->a, 5, letters, out);
  _jac_notation_add (out, " ", NULL, NULL);
  render_child (d, e->b, 5, letters, out);
}

static void
render_binary (const JacDeriveContext *d,
               const JacMExpr         *e,
               const char             *letters,
               JacNotation            *out)
{
  switch (e->kind)
    {
    case JAC_M_MATMUL:
      render_child (d, e->a, 5, letters, out);
      _jac_notation_add (out, " ", NULL, NULL);
      render_child (d, e->b, 5, letters, out);
      break;
    case JAC_M_ADD:
    case JAC_M_SUB:
      render_child (d, e->a, 1, letters, out);
      if (e->kind == JAC_M_ADD)
        _jac_notation_add (out, " + ", NULL, NULL);
      else
        _jac_notation_add (out, " − ", NULL, " - ");
      render_child (d, e->b, e->kind == JAC_M_ADD ? 1 : 2, letters, out);
      break;
    case JAC_M_HADAMARD:
      if (letters != NULL || precedence (e) == 5)
        {
          render_entry_product (d, e, letters, out);
          break;
        }
      render_child (d, e->a, 3, letters, out);
      _jac_notation_add (out, " ⊙ ", NULL, " \\odot ");
      render_child (d, e->b, e->b->kind == JAC_M_HADAMARD ? 3 : 5, letters, out);
      break;
    case JAC_M_DIV:
      render_child (d, e->a, 3, letters, out);
      if (letters != NULL)
        _jac_notation_add (out, " / ", NULL, NULL);
      else
        _jac_notation_add (out, " ⊘ ", NULL, " \\oslash ");
      render_child (d, e->b, 5, letters, out);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
render_call (const JacDeriveContext *d,
             const char             *plain,
             const char             *latex,
             const JacMExpr         *arg,
             const char             *letters,
             JacNotation            *out)
{
  _jac_notation_add (out, plain, NULL, latex);
  render (d, arg, letters, out);
  _jac_notation_add (out, ")", NULL, NULL);
}

static void
render (const JacDeriveContext *d,
        const JacMExpr         *e,
        const char             *letters,
        JacNotation            *out)
{
  switch (e->kind)
    {
    case JAC_M_NODE:
    case JAC_M_UPSTREAM:
    case JAC_M_SLOPE:
      render_leaf (d, e, letters, out);
      break;
    case JAC_M_CONST:
      _jac_notation_number (out, e->value);
      break;
    case JAC_M_MATMUL:
    case JAC_M_ADD:
    case JAC_M_SUB:
    case JAC_M_HADAMARD:
    case JAC_M_DIV:
      render_binary (d, e, letters, out);
      break;
    case JAC_M_NEG:
      _jac_notation_add (out, "−", NULL, "-");
      render_child (d, e->a, 5, letters, out);
      break;
    case JAC_M_TRANSPOSE:
      if (e->a->kind == JAC_M_INV)
        {
          /* (A⁻¹)ᵀ is A⁻ᵀ. */
          render_child (d, e->a->a, 10, letters, out);
          _jac_notation_add (out, "⁻ᵀ", "<sup>−T</sup>", "^{-\\top}");
          break;
        }
      render_child (d, e->a, 10, letters, out);
      _jac_notation_add (out, "ᵀ", NULL, "^{\\top}");
      break;
    case JAC_M_RESHAPE:
      if (reshape_is_transpose (e))
        {
          render_child (d, e->a, 10, letters, out);
          _jac_notation_add (out, "ᵀ", NULL, "^{\\top}");
        }
      else
        render (d, e->a, letters, out);
      break;
    case JAC_M_INV:
      render_child (d, e->a, 10, letters, out);
      _jac_notation_add (out, "⁻¹", "<sup>−1</sup>", "^{-1}");
      break;
    case JAC_M_IDENTITY:
      _jac_notation_add (out, "I", NULL, "I");
      break;
    case JAC_M_ONES:
      render_ones (out);
      break;
    case JAC_M_KRON:
      render_child (d, e->a, 6, letters, out);
      _jac_notation_add (out, " ⊗ ", NULL, " \\otimes ");
      render_child (d, e->b, 6, letters, out);
      break;
    case JAC_M_BLOCK_SUMS:
      /* blocksum: each block summed, to a matrix of A's shape; sumblocks: the blocks added. */
      render_call (d, "blocksum(", "\\operatorname{blocksum}(", e->a, letters, out);
      break;
    case JAC_M_BLOCK_TOTAL:
      render_call (d, "sumblocks(", "\\operatorname{sumblocks}(", e->a, letters, out);
      break;
    case JAC_M_TRACE:
      render_call (d, "tr(", "\\operatorname{tr}(", e->a, letters, out);
      break;
    case JAC_M_DIAG:
      render_call (d, "diag(", "\\operatorname{diag}(", e->a, letters, out);
      break;
    case JAC_M_DET:
      render_call (d, "det(", "\\det(", e->a, letters, out);
      break;
    case JAC_M_LOGDET:
      _jac_notation_add (out, "log |det(", NULL, "\\log\\lvert\\det(");
      render (d, e->a, letters, out);
      _jac_notation_add (out, ")|", NULL, ")\\rvert ");
      break;
    case JAC_M_SPREAD_ROWS:
      render_ones (out);
      _jac_notation_add (out, " ", NULL, " ");
      render_child (d, e->a, 10, letters, out);
      _jac_notation_add (out, "ᵀ", NULL, "^{\\top}");
      break;
    case JAC_M_SPREAD_COLS:
      render_child (d, e->a, 10, letters, out);
      _jac_notation_add (out, " ", NULL, " ");
      render_ones (out);
      _jac_notation_add (out, "ᵀ", NULL, "^{\\top}");
      break;
    case JAC_M_FUNC:
      if (e->func == JAC_FUNC_POWER)
        {
          /* P^0.5, (X W)^0.5: parentheses only around what is not one symbol. */
          render_child (d, e->a, 10, letters, out);
          _jac_render_exponent (e->value, out);
          break;
        }
      _jac_render_func_open (e->func, out);
      render (d, e->a, letters, out);
      _jac_render_func_close (e->func, e->value, out);
      break;
    case JAC_M_STEP:
      _jac_notation_add (out, "[", NULL, NULL);
      render (d, e->a, letters, out);
      _jac_notation_add (out, " > 0]", " &gt; 0]", NULL);
      break;
    case JAC_M_SOFTMAX:
      render_call (d, "softmax(", "\\operatorname{softmax}(", e->a, letters, out);
      break;
    case JAC_M_SUM_ALL:
      render_call (d, "sum(", "\\operatorname{sum}(", e->a, letters, out);
      break;
    case JAC_M_SUM_ROWS:
      render_ones (out);
      _jac_notation_add (out, "ᵀ ", NULL, "^{\\top} ");
      render_child (d, e->a, 5, letters, out);
      break;
    case JAC_M_SUM_COLS:
    case JAC_M_BROADCAST:
      render_child (d, e->a, 5, letters, out);
      if (e->a->kind == JAC_M_CONST)
        break;
      _jac_notation_add (out, " ", NULL, NULL);
      render_ones (out);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
_jac_m_render (const JacDeriveContext *d,
               const JacMExpr         *e,
               const char             *letters,
               JacNotation            *out)
{
  render (d, e, letters, out);
}

/* ---- evaluation ---- */

/* The offset in a tensor of @rank and @shape of the entry that entry @n of a tensor of @big_rank
 * and @big_shape lines up with under NumPy broadcasting. */
static gsize
aligned_offset (guint        rank,
                const gsize *shape,
                guint        big_rank,
                const gsize *big_shape,
                gsize        n)
{
  gsize index[2] = { 0, 0 }, offset = 0;

  if (big_rank == 2)
    {
      index[0] = n / big_shape[1];
      index[1] = n % big_shape[1];
    }
  else if (big_rank == 1)
    index[0] = n;
  for (guint a = 0; a < rank; a++)
    offset = offset * shape[a] + (shape[a] == 1 ? 0 : index[a + big_rank - rank]);
  return offset;
}

static JacTensor *
new_like (const JacMExpr *e)
{
  return jac_tensor_new (e->rank, e->shape, NULL);
}

static double
combine_entries (JacMKind kind,
                 double   a,
                 double   b)
{
  switch (kind)
    {
    case JAC_M_ADD: return a + b;
    case JAC_M_SUB: return a - b;
    case JAC_M_HADAMARD: return a * b;
    case JAC_M_DIV: return a / b;
    default: g_assert_not_reached ();
    }
}

static JacTensor *
eval_elementwise (const JacMExpr  *e,
                  const JacTensor *a,
                  const JacTensor *b)
{
  JacTensor *r = new_like (e);

  for (gsize n = 0; n < r->size; n++)
    {
      gsize at_a = aligned_offset (a->rank, a->shape, r->rank, r->shape, n);
      gsize at_b = aligned_offset (b->rank, b->shape, r->rank, r->shape, n);

      r->data[n] = combine_entries (e->kind, a->data[at_a], b->data[at_b]);
    }
  return r;
}

static JacTensor *
eval_matmul (const JacMExpr  *e,
             const JacTensor *a,
             const JacTensor *b)
{
  JacTensor *r = new_like (e);
  gsize inner = a->shape[1];

  /* BLAS: at N = 64, H = 1024 the RNN's (G ⊙ S) W_hhᵀ is 67 M multiply-adds, a third of a second
   * in plain loops that walk b by columns. */
  jac_gemm (FALSE, FALSE, r->shape[0], r->shape[1], inner, 1.0, a->data, inner, b->data,
            r->shape[1], 0.0, r->data, r->shape[1]);
  return r;
}

static JacTensor *
eval_softmax (const JacTensor *a)
{
  JacTensor *r = jac_tensor_copy (a);

  for (gsize i = 0; i < a->shape[0]; i++)
    {
      double top = -INFINITY, total = 0.0;

      for (gsize j = 0; j < a->shape[1]; j++)
        top = MAX (top, JAC_AT2 (a, i, j));
      for (gsize j = 0; j < a->shape[1]; j++)
        total += JAC_AT2 (r, i, j) = exp (JAC_AT2 (a, i, j) - top);
      for (gsize j = 0; j < a->shape[1]; j++)
        JAC_AT2 (r, i, j) /= total;
    }
  return r;
}

/* kron(a, b), and the two block sums its back-propagation needs, by flat indices: a (m, n) and
 * b (p, q) (rank 1: n = q = 1). */
static JacTensor *
eval_kron (const JacMExpr  *e,
           const JacTensor *a,
           const JacTensor *b)
{
  JacTensor *r = jac_tensor_new (e->rank, e->shape, NULL);
  gsize m = a->shape[0], n = a->rank > 1 ? a->shape[1] : 1;
  gsize p = b->shape[0], q = b->rank > 1 ? b->shape[1] : 1;

  for (gsize i = 0; i < m; i++)
    for (gsize j = 0; j < n; j++)
      for (gsize k = 0; k < p; k++)
        for (gsize l = 0; l < q; l++)
          r->data[(i * p + k) * (n * q) + j * q + l] = a->data[i * n + j] * b->data[k * q + l];
  return r;
}

static void
eval_blocks (const JacMExpr  *e,
             const JacTensor *a,
             JacTensor       *r)
{
  gsize rows = a->shape[0], cols = a->rank > 1 ? a->shape[1] : 1;
  gsize er = e->shape[0], ec = e->rank > 1 ? e->shape[1] : 1;

  for (gsize i = 0; i < rows; i++)
    for (gsize j = 0; j < cols; j++)
      {
        /* BLOCK_SUMS: e is (m, n), blocks of (rows/m, cols/n); BLOCK_TOTAL: e is (p, q). */
        gsize at = e->kind == JAC_M_BLOCK_SUMS ? (i / (rows / er)) * ec + j / (cols / ec)
                                               : (i % er) * ec + j % ec;

        r->data[at] += a->data[i * cols + j];
      }
}

static JacTensor *
eval_unary (const JacMExpr *e,
            JacTensor      *a)
{
  JacTensor *r = new_like (e);

  switch (e->kind)
    {
    case JAC_M_NEG:
      for (gsize n = 0; n < r->size; n++)
        r->data[n] = -a->data[n];
      break;
    case JAC_M_TRANSPOSE:
      jac_matrix_transpose (a->data, a->shape[0], a->shape[1], r->data);
      break;
    case JAC_M_FUNC:
      for (gsize n = 0; n < r->size; n++)
        r->data[n] = jac_func_apply_param (e->func, e->value, a->data[n]);
      break;
    case JAC_M_STEP:
      for (gsize n = 0; n < r->size; n++)
        r->data[n] = a->data[n] > 0 ? 1.0 : 0.0;
      break;
    case JAC_M_SUM_ALL:
    case JAC_M_SUM_ROWS:
    case JAC_M_SUM_COLS:
      if (e->kind == JAC_M_SUM_ALL)
        {
          double total = 0.0;

          for (gsize n = 0; n < a->size; n++)
            total += a->data[n];
          jac_tensor_fill (r, total);
          break;
        }
      if (e->kind == JAC_M_SUM_COLS && r->rank == 1)
        {
          /* Row sums as a vector: sum (A, axis=1). */
          for (gsize n = 0; n < a->size; n++)
            r->data[n / a->shape[1]] += a->data[n];
          break;
        }
      for (gsize n = 0; n < a->size; n++)
        r->data[aligned_offset (r->rank, r->shape, a->rank, a->shape, n)] += a->data[n];
      break;
    case JAC_M_BROADCAST:
      for (gsize n = 0; n < r->size; n++)
        r->data[n] = a->data[aligned_offset (a->rank, a->shape, r->rank, r->shape, n)];
      break;
    case JAC_M_SPREAD_ROWS:
    case JAC_M_SPREAD_COLS:
      for (gsize n = 0; n < r->size; n++)
        r->data[n] = a->data[e->kind == JAC_M_SPREAD_ROWS ? n % r->shape[1] : n / r->shape[1]];
      break;
    case JAC_M_TRACE:
      for (gsize i = 0; i < a->shape[0]; i++)
        r->data[0] += JAC_AT2 (a, i, i);
      break;
    case JAC_M_DIAG:
      for (gsize i = 0; i < a->shape[0]; i++)
        if (a->rank == 1)
          JAC_AT2 (r, i, i) = a->data[i];
        else
          r->data[i] = JAC_AT2 (a, i, i);
      break;
    case JAC_M_DET:
    case JAC_M_LOGDET:
      jac_matrix_inverse (a, NULL, &r->data[0]);
      if (e->kind == JAC_M_LOGDET)
        r->data[0] = log (fabs (r->data[0]));
      break;
    case JAC_M_INV:
      jac_matrix_inverse (a, r, NULL);
      break;
    case JAC_M_RESHAPE:
      memcpy (r->data, a->data, a->size * sizeof (double));
      break;
    case JAC_M_BLOCK_SUMS:
    case JAC_M_BLOCK_TOTAL:
      eval_blocks (e, a, r);
      break;
    default:
      g_assert_not_reached ();
    }
  return r;
}

static JacTensor *
eval_slope (const JacMExpr *e,
            JacGraph       *graph)
{
  const JacNode *node = jac_graph_node (graph, e->node);
  const JacTensor *z = jac_graph_node (graph, node->lhs)->value;
  JacTensor *r = jac_tensor_copy (z);

  for (gsize n = 0; n < r->size; n++)
    r->data[n] = jac_node_slope (node, z->data[n]);
  return r;
}

JacTensor *
_jac_m_eval (const JacMExpr  *e,
             JacGraph        *graph,
             const JacTensor *upstream)
{
  g_autoptr(JacTensor) a = NULL;
  g_autoptr(JacTensor) b = NULL;

  switch (e->kind)
    {
    case JAC_M_NODE:
      return jac_tensor_copy (jac_graph_node (graph, e->node)->value);
    case JAC_M_UPSTREAM:
      return jac_tensor_copy (upstream);
    case JAC_M_SLOPE:
      return eval_slope (e, graph);
    case JAC_M_CONST:
      return jac_tensor_new_scalar (e->value);
    case JAC_M_ONES:
      {
        JacTensor *r = jac_tensor_new (e->rank, e->shape, NULL);

        jac_tensor_fill (r, 1.0);
        return r;
      }
    case JAC_M_IDENTITY:
      {
        JacTensor *r = jac_tensor_new (2, e->shape, NULL);

        for (gsize i = 0; i < e->shape[0]; i++)
          JAC_AT2 (r, i, i) = 1.0;
        return r;
      }
    default:
      break;
    }

  /* A product of matrices, its transposes left to BLAS and its graph values read in place:
   * (G ⊙ S) W_hhᵀ at H = 1024 copies no 8 MiB W_hh twice. */
  if (e->kind == JAC_M_MATMUL && e->a->rank == 2 && e->b->rank == 2)
    {
      const JacMExpr *operand[2] = { e->a, e->b };
      const JacTensor *value[2];
      g_autoptr(JacTensor) owned_a = NULL;
      g_autoptr(JacTensor) owned_b = NULL;
      gboolean trans[2] = { FALSE, FALSE };
      JacTensor *r = new_like (e);

      for (guint k = 0; k < 2; k++)
        {
          const JacMExpr *o = operand[k];
          JacTensor **owned = k == 0 ? &owned_a : &owned_b;

          if (o->kind == JAC_M_TRANSPOSE && o->a->rank == 2)
            {
              trans[k] = TRUE;
              o = o->a;
            }
          if (o->kind == JAC_M_NODE && jac_graph_node (graph, o->node)->value->rank == 2)
            value[k] = jac_graph_node (graph, o->node)->value;
          else
            value[k] = *owned = _jac_m_eval (o, graph, upstream);
        }
      jac_gemm (trans[0], trans[1], r->shape[0], r->shape[1],
                trans[0] ? value[0]->shape[0] : value[0]->shape[1], 1.0, value[0]->data,
                value[0]->shape[1], value[1]->data, value[1]->shape[1], 0.0, r->data,
                r->shape[1]);
      return r;
    }

  /* A graph value's transpose, read in place. */
  if (e->kind == JAC_M_TRANSPOSE && e->a->rank == 2 && e->a->kind == JAC_M_NODE
      && jac_graph_node (graph, e->a->node)->value->rank == 2)
    {
      const JacTensor *value = jac_graph_node (graph, e->a->node)->value;
      JacTensor *r = new_like (e);

      jac_matrix_transpose (value->data, value->shape[0], value->shape[1], r->data);
      return r;
    }
  a = _jac_m_eval (e->a, graph, upstream);
  if (e->b != NULL)
    b = _jac_m_eval (e->b, graph, upstream);
  switch (e->kind)
    {
    case JAC_M_MATMUL:
      return eval_matmul (e, a, b);
    case JAC_M_ADD:
    case JAC_M_SUB:
    case JAC_M_HADAMARD:
    case JAC_M_DIV:
      return eval_elementwise (e, a, b);
    case JAC_M_SOFTMAX:
      return eval_softmax (a);
    case JAC_M_KRON:
      return eval_kron (e, a, b);
    default:
      return eval_unary (e, a);
    }
}

/* ---- source text: a matrix form written back in the expression language ---- */

/* The Hessian is the Jacobian of the gradient, so the gradient's form is written as an
 * expression the parser reads again (jac-hessian.c). Every piece is printed with the shape the
 * parser will give it, and converted where the language's spelling gives another one (a vector
 * where the form has a row, a scalar where it has a matrix); the few constants the language has
 * no spelling for (I, a matrix of ones) become named constants, as variables of the expression
 * that hold their values. */

typedef struct
{
  const JacGraph *graph;
  GHashTable     *constants;   /* name → JacTensor, owned by the caller */
  GError        **error;
  gboolean        failed;
} SourcePrinter;

static char *src_m (SourcePrinter  *P,
                    const JacMExpr *e,
                    guint          *rank,
                    gsize          *shape);
static char *src_node (SourcePrinter *P,
                       int            node,
                       guint         *rank,
                       gsize         *shape);

static char *
src_fail (SourcePrinter *P,
          const char    *what)
{
  if (!P->failed)
    g_set_error (P->error, JAC_ERROR, JAC_ERROR_INVALID,
                 "the gradient cannot be written as an expression: %s", what);
  P->failed = TRUE;
  return g_strdup ("0");
}

static void
set_shape (guint       *rank,
           gsize       *shape,
           guint        r,
           const gsize *s)
{
  *rank = r;
  shape[0] = r > 0 ? s[0] : 0;
  shape[1] = r > 1 ? s[1] : 0;
}

static char *
src_number (SourcePrinter *P,
            double         value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    return src_fail (P, "a constant is not finite");
  g_ascii_formatd (buffer, sizeof buffer, "%.15g", value);
  if (g_ascii_strtod (buffer, NULL) != value)
    g_ascii_formatd (buffer, sizeof buffer, "%.17g", value);
  if (strchr (buffer, 'e') != NULL || strchr (buffer, 'E') != NULL)
    {
      /* The language has no exponent notation: write the digits out. */
      g_autofree char *wide = g_strdup_printf ("%.20f", fabs (value));
      char *end = wide + strlen (wide);

      while (end > wide && end[-1] == '0')
        *--end = '\0';
      if (end > wide && end[-1] == '.')
        *--end = '\0';
      return value < 0 ? g_strdup_printf ("(-%s)", wide) : g_strdup (wide);
    }
  return value < 0 ? g_strdup_printf ("(%s)", buffer) : g_strdup (buffer);
}

/* The named constant I_n or ones_MxN (a name no variable has), made on first use. */
static char *
src_constant (SourcePrinter *P,
              gboolean       identity,
              guint          rank,
              const gsize   *shape)
{
  g_autoptr(GString) name = g_string_new (identity ? "I_" : "ones_");
  JacTensor *t;

  for (guint a = 0; a < rank; a++)
    g_string_append_printf (name, "%s%" G_GSIZE_FORMAT, a > 0 ? "x" : "", shape[a]);
  if (rank == 0)
    g_string_append (name, "1");
  while (jac_graph_find_variable (P->graph, name->str) >= 0)
    g_string_append_c (name, '_');
  if (g_hash_table_lookup (P->constants, name->str) == NULL)
    {
      t = jac_tensor_new (rank, shape, NULL);
      if (identity)
        for (gsize i = 0; i < shape[0]; i++)
          JAC_AT2 (t, i, i) = 1.0;
      else
        jac_tensor_fill (t, 1.0);
      g_hash_table_insert (P->constants, g_strdup (name->str), t);
    }
  return g_string_free (g_steal_pointer (&name), FALSE);
}

/* @text, of shape (@rank, @shape), written so that it has the shape (@to_rank, @to_shape). */
static char *
src_conform (SourcePrinter *P,
             char          *text,
             guint          rank,
             const gsize   *shape,
             guint          to_rank,
             const gsize   *to_shape)
{
  g_autofree char *owned = text;
  guint b_rank;
  gsize b_shape[2];

  if (rank == to_rank && (rank < 1 || shape[0] == to_shape[0]) &&
      (rank < 2 || shape[1] == to_shape[1]))
    return g_steal_pointer (&owned);
  /* A row or a column made a vector, a 1×1 matrix or a 1-vector made a scalar. */
  if (to_rank == 1 && rank == 2 && shape[0] == 1 && shape[1] == to_shape[0])
    return g_strdup_printf ("sum(%s, 0)", text);
  if (to_rank == 1 && rank == 2 && shape[1] == 1 && shape[0] == to_shape[0])
    return g_strdup_printf ("sum(%s, 1)", text);
  if (to_rank == 0 && ((rank == 2 && shape[0] == 1 && shape[1] == 1) ||
                       (rank == 1 && shape[0] == 1)))
    return g_strdup_printf ("sum(%s)", text);
  /* A vector as a column: diag(v) 1. */
  if (to_rank == 2 && rank == 1 && to_shape[1] == 1 && to_shape[0] == shape[0])
    {
      gsize column[2] = { shape[0], 1 };
      g_autofree char *ones = src_constant (P, FALSE, 2, column);

      return g_strdup_printf ("(diag(%s) @ %s)", text, ones);
    }
  /* Anything NumPy broadcasts to the shape: times ones of that shape. */
  if (jac_broadcast_shapes (rank, shape, to_rank, to_shape, &b_rank, b_shape) &&
      b_rank == to_rank && (b_rank < 1 || b_shape[0] == to_shape[0]) &&
      (b_rank < 2 || b_shape[1] == to_shape[1]))
    {
      g_autofree char *ones = src_constant (P, FALSE, to_rank, to_shape);

      return g_strdup_printf ("(%s * %s)", ones, text);
    }
  return src_fail (P, "a reshape the language cannot write");
}

static char *
src_m_exact (SourcePrinter  *P,
             const JacMExpr *e)
{
  guint rank;
  gsize shape[2];
  char *text = src_m (P, e, &rank, shape);

  return src_conform (P, text, rank, shape, e->rank, e->shape);
}

static char *
src_node_exact (SourcePrinter *P,
                int            node)
{
  const JacNode *n = jac_graph_node (P->graph, node);
  guint rank;
  gsize shape[2];
  char *text = src_node (P, node, &rank, shape);

  return src_conform (P, text, rank, shape, n->rank, n->shape);
}

/* The shape of a @ b as NumPy gives it, for operands of rank 1 or 2 (a vector on the left is a
 * row, on the right a column, and the added axis is removed again). */
static void
matmul_shape (guint        a_rank,
              const gsize *a_shape,
              guint        b_rank,
              const gsize *b_shape,
              guint       *rank,
              gsize       *shape)
{
  *rank = 0;
  if (a_rank == 2)
    shape[(*rank)++] = a_shape[0];
  if (b_rank == 2)
    shape[(*rank)++] = b_shape[1];
}

static const char *
binary_spelling (JacMKind kind)
{
  switch (kind)
    {
    case JAC_M_ADD: return "+";
    case JAC_M_SUB: return "-";
    case JAC_M_HADAMARD: return "*";
    case JAC_M_DIV: return "/";
    default: g_assert_not_reached ();
    }
  return "?";
}

static const char *
op_spelling (JacOp op)
{
  switch (op)
    {
    case JAC_OP_ADD: return "+";
    case JAC_OP_SUB: return "-";
    case JAC_OP_MUL: return "*";
    case JAC_OP_DIV: return "/";
    default: g_assert_not_reached ();
    }
  return "?";
}

static const char *
call_spelling (JacOp op)
{
  switch (op)
    {
    case JAC_OP_SUM: return "sum";
    case JAC_OP_SOFTMAX: return "softmax";
    case JAC_OP_TRACE: return "tr";
    case JAC_OP_DIAG: return "diag";
    case JAC_OP_DET: return "det";
    case JAC_OP_LOGDET: return "logdet";
    case JAC_OP_INV: return "inv";
    default: return NULL;
    }
}

/* An operand of @: a vector the parser promoted (a row on the left, a column on the right) is
 * written as the vector, as it was typed; anything else with its own shape. */
static char *
src_matmul_operand (SourcePrinter *P,
                    const JacNode *operand,
                    int            index,
                    guint          promoted_axis,
                    guint         *rank,
                    gsize         *shape)
{
  if (operand->op == JAC_OP_RESHAPE && operand->rank == 2 && operand->axis == promoted_axis &&
      jac_graph_node (P->graph, operand->lhs)->rank == 1)
    {
      const JacNode *v = jac_graph_node (P->graph, operand->lhs);

      set_shape (rank, shape, 1, v->shape);
      return src_node_exact (P, operand->lhs);
    }
  set_shape (rank, shape, operand->rank, operand->shape);
  return src_node_exact (P, index);
}

/* A node of the graph as the language writes it (the parser's own nodes, such as the reshapes
 * around the vector operands of @, written the way they were typed). */
static char *
src_node (SourcePrinter *P,
          int            node,
          guint         *rank,
          gsize         *shape)
{
  const JacNode *n = jac_graph_node (P->graph, node);
  const JacNode *lhs = n->lhs >= 0 ? jac_graph_node (P->graph, n->lhs) : NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  set_shape (rank, shape, n->rank, n->shape);
  if (P->failed)
    return g_strdup ("0");
  switch (n->op)
    {
    case JAC_OP_VARIABLE:
      return g_strdup (n->name);
    case JAC_OP_CONSTANT:
      return src_number (P, n->constant);
    case JAC_OP_MATMUL:
      {
        guint ra, rb;
        gsize sa[2], sb[2];

        a = src_matmul_operand (P, lhs, n->lhs, 0, &ra, sa);
        b = src_matmul_operand (P, jac_graph_node (P->graph, n->rhs), n->rhs, 1, &rb, sb);
        matmul_shape (ra, sa, rb, sb, rank, shape);
        return g_strdup_printf ("(%s @ %s)", a, b);
      }
    case JAC_OP_ADD:
    case JAC_OP_SUB:
    case JAC_OP_MUL:
    case JAC_OP_DIV:
      a = src_node_exact (P, n->lhs);
      b = src_node_exact (P, n->rhs);
      return g_strdup_printf ("(%s %s %s)", a, op_spelling (n->op), b);
    case JAC_OP_NEGATE:
      a = src_node_exact (P, n->lhs);
      return g_strdup_printf ("(-%s)", a);
    case JAC_OP_TRANSPOSE:
      a = src_node_exact (P, n->lhs);
      return lhs->rank == 2 ? g_strdup_printf ("%s.T", a) : g_steal_pointer (&a);
    case JAC_OP_APPLY:
      a = src_node_exact (P, n->lhs);
      if (n->func == JAC_FUNC_POWER)
        {
          b = src_number (P, n->constant);
          return g_strdup_printf ("(%s ** %s)", a, b);
        }
      return g_strdup_printf ("%s(%s)", jac_func_name (n->func), a);
    case JAC_OP_SUM_AXIS:
      a = src_node_exact (P, n->lhs);
      return g_strdup_printf ("sum(%s, %u)", a, n->axis);
    case JAC_OP_KRON:
      a = src_node_exact (P, n->lhs);
      b = src_node_exact (P, n->rhs);
      return g_strdup_printf ("kron(%s, %s)", a, b);
    case JAC_OP_RESHAPE:
      /* A product of promoted vectors has already lost its added axes, as NumPy's has. */
      if (lhs->op == JAC_OP_MATMUL)
        return src_node (P, n->lhs, rank, shape);
      if (lhs->op == JAC_OP_SUM_AXIS && n->rank == 2 && lhs->rank == 1 && n->axis == lhs->axis)
        {
          a = src_node_exact (P, lhs->lhs);
          return g_strdup_printf ("sum(%s, %u, keepdims=True)", a, lhs->axis);
        }
      set_shape (rank, shape, lhs->rank, lhs->shape);
      return src_node_exact (P, n->lhs);
    default:
      if (call_spelling (n->op) == NULL)
        return src_fail (P, "an operation without a spelling");
      a = src_node_exact (P, n->lhs);
      return g_strdup_printf ("%s(%s)", call_spelling (n->op), a);
    }
}

static gboolean
is_unit (const JacMExpr *e)
{
  return e->kind == JAC_M_UPSTREAM || is_const (e, 1.0);
}

static char *
src_m_matmul_operand (SourcePrinter  *P,
                      const JacMExpr *e,
                      guint           promoted_axis,
                      guint          *rank,
                      gsize          *shape)
{
  if (e->kind == JAC_M_RESHAPE && e->rank == 2 && e->a->rank == 1 &&
      (guint) e->value == promoted_axis)
    {
      set_shape (rank, shape, 1, e->a->shape);
      return src_m_exact (P, e->a);
    }
  /* With vectors as columns a row is written vᵀ: the transpose of the column, here the vector
   * itself on the left of @. */
  if (promoted_axis == 0 && e->kind == JAC_M_TRANSPOSE && e->a->kind == JAC_M_RESHAPE &&
      e->a->a->rank == 1 && e->a->shape[1] == 1)
    {
      set_shape (rank, shape, 1, e->a->a->shape);
      return src_m_exact (P, e->a->a);
    }
  set_shape (rank, shape, 2, e->shape);
  return src_m_exact (P, e);
}

/* An operand of an element-wise operation: printed as it comes when NumPy broadcasts that to
 * the operand's shape (a scalar, a vector for a row of a matrix), since broadcasting it further
 * gives the same entries; else converted. Sets the shape it is printed with. */
static char *
src_m_elementwise_operand (SourcePrinter  *P,
                           const JacMExpr *e,
                           guint          *rank,
                           gsize          *shape)
{
  char *text = src_m (P, e, rank, shape);
  guint b_rank;
  gsize b_shape[2];

  if (jac_broadcast_shapes (*rank, shape, e->rank, e->shape, &b_rank, b_shape) &&
      same_shape (e, b_rank, b_shape))
    return text;
  text = src_conform (P, text, *rank, shape, e->rank, e->shape);
  set_shape (rank, shape, e->rank, e->shape);
  return text;
}

/* The scalar a 1×1 matrix is made of, or NULL. */
static const JacMExpr *
scalar_as_matrix (const JacMExpr *e)
{
  if (e->kind == JAC_M_RESHAPE && e->a->rank == 0)
    return e->a;
  return NULL;
}

/* kron(I, ones) or kron(ones, I) of the shapes given: a selector of rows or columns by blocks. */
static char *
src_selector (SourcePrinter *P,
              gboolean       identity_first,
              gsize          n,
              gsize          ones_rows,
              gsize          ones_cols)
{
  gsize square[2] = { n, n }, flat[2] = { ones_rows, ones_cols };
  g_autofree char *identity = src_constant (P, TRUE, 2, square);
  g_autofree char *ones = src_constant (P, FALSE, 2, flat);

  return identity_first ? g_strdup_printf ("kron(%s, %s)", identity, ones)
                        : g_strdup_printf ("kron(%s, %s)", ones, identity);
}

/* The sums of kron's back-propagation as products with selectors: for M of shape (m p, n q),
 * blocksum(M) = kron(I_m, 1_{1×p}) M kron(I_n, 1_{q×1}) and sumblocks(M) =
 * kron(1_{1×m}, I_p) M kron(1_{n×1}, I_q). */
static char *
src_block_sums (SourcePrinter  *P,
                const JacMExpr *e)
{
  gboolean sums = e->kind == JAC_M_BLOCK_SUMS;
  gsize rows, cols, m, n, p, q;
  g_autofree char *left = NULL, *right = NULL, *a = NULL;

  if (e->rank != e->a->rank || e->rank == 0)
    return src_fail (P, "kron's back-propagation of a scalar (sums of blocks) has no spelling "
                        "in the language");
  /* Vectors: only the left selector, a matrix times the vector. */
  if (e->rank == 1)
    {
      rows = e->a->shape[0];
      m = sums ? e->shape[0] : rows / e->shape[0];
      p = rows / m;
      left = sums ? src_selector (P, TRUE, m, 1, p) : src_selector (P, FALSE, p, 1, m);
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("(%s @ %s)", left, a);
    }
  rows = e->a->shape[0];
  cols = e->a->shape[1];
  m = sums ? e->shape[0] : rows / e->shape[0];
  n = sums ? e->shape[1] : cols / e->shape[1];
  p = rows / m;
  q = cols / n;
  left = sums ? src_selector (P, TRUE, m, 1, p) : src_selector (P, FALSE, p, 1, m);
  right = sums ? src_selector (P, TRUE, n, q, 1) : src_selector (P, FALSE, q, n, 1);
  a = src_m_exact (P, e->a);
  return g_strdup_printf ("(%s @ %s @ %s)", left, a, right);
}

static char *
src_m (SourcePrinter  *P,
       const JacMExpr *e,
       guint          *rank,
       gsize          *shape)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  set_shape (rank, shape, e->rank, e->shape);
  if (P->failed)
    return g_strdup ("0");
  switch (e->kind)
    {
    case JAC_M_NODE:
      return src_node (P, e->node, rank, shape);
    case JAC_M_UPSTREAM:
      /* The upstream gradient of a scalar output: 1. */
      set_shape (rank, shape, 0, NULL);
      return g_strdup ("1");
    case JAC_M_SLOPE:
      {
        const JacNode *n = jac_graph_node (P->graph, e->node);
        g_autoptr(JacMExpr) slope = slope_formula (n->func, n->constant,
                                                   _jac_m_node (P->graph, n->lhs), NULL);

        return src_m (P, slope, rank, shape);
      }
    case JAC_M_CONST:
      set_shape (rank, shape, 0, NULL);
      return src_number (P, e->value);
    case JAC_M_MATMUL:
      {
        guint ra, rb;
        gsize sa[2], sb[2];
        const JacMExpr *scalar;

        /* A product with a scalar seen as 1×1 (x G for a vector x) is a scaling. */
        for (guint side = 0; side < 2; side++)
          if ((scalar = scalar_as_matrix (side == 0 ? e->b : e->a)) != NULL)
            {
              a = src_m (P, side == 0 ? e->a : e->b, rank, shape);
              if (is_unit (scalar))
                return g_steal_pointer (&a);
              b = src_m (P, scalar, &ra, sa);
              return g_strdup_printf ("(%s * %s)", a, b);
            }
        a = src_m_matmul_operand (P, e->a, 0, &ra, sa);
        b = src_m_matmul_operand (P, e->b, 1, &rb, sb);
        matmul_shape (ra, sa, rb, sb, rank, shape);
        return g_strdup_printf ("(%s @ %s)", a, b);
      }
    case JAC_M_HADAMARD:
    case JAC_M_DIV:
      /* G = 1: G ⊙ A is A. */
      if (is_unit (e->a) && e->kind == JAC_M_HADAMARD && same_shape (e->b, e->rank, e->shape))
        return src_m (P, e->b, rank, shape);
      if (is_unit (e->b) && same_shape (e->a, e->rank, e->shape))
        return src_m (P, e->a, rank, shape);
      G_GNUC_FALLTHROUGH;
    case JAC_M_ADD:
    case JAC_M_SUB:
      {
        guint ra, rb;
        gsize sa[2], sb[2];

        a = src_m_elementwise_operand (P, e->a, &ra, sa);
        b = src_m_elementwise_operand (P, e->b, &rb, sb);
        if (!jac_broadcast_shapes (ra, sa, rb, sb, rank, shape))
          return src_fail (P, "shapes that do not broadcast");
      }
      return g_strdup_printf ("(%s %s %s)", a, binary_spelling (e->kind), b);
    case JAC_M_NEG:
      a = src_m_elementwise_operand (P, e->a, rank, shape);
      return g_strdup_printf ("(-%s)", a);
    case JAC_M_TRANSPOSE:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("%s.T", a);
    case JAC_M_FUNC:
      a = src_m_elementwise_operand (P, e->a, rank, shape);
      if (e->func == JAC_FUNC_POWER)
        {
          b = src_number (P, e->value);
          return g_strdup_printf ("(%s ** %s)", a, b);
        }
      return g_strdup_printf ("%s(%s)", jac_func_name (e->func), a);
    case JAC_M_STEP:
      /* [a > 0] = sign(relu(a)) */
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("sign(relu(%s))", a);
    case JAC_M_SOFTMAX:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("softmax(%s)", a);
    case JAC_M_SUM_ALL:
      a = src_m_exact (P, e->a);
      set_shape (rank, shape, 0, NULL);
      return g_strdup_printf ("sum(%s)", a);
    case JAC_M_SUM_ROWS:
    case JAC_M_SUM_COLS:
      {
        guint axis = e->kind == JAC_M_SUM_ROWS ? 0 : 1;

        a = src_m_exact (P, e->a);
        if (e->rank == 2)
          return g_strdup_printf ("sum(%s, %u, keepdims=True)", a, axis);
        set_shape (rank, shape, 1, &e->a->shape[1 - axis]);
        return g_strdup_printf ("sum(%s, %u)", a, axis);
      }
    case JAC_M_BROADCAST:
    case JAC_M_RESHAPE:
      return src_m (P, e->a, rank, shape);
    case JAC_M_IDENTITY:
      return src_constant (P, TRUE, e->rank, e->shape);
    case JAC_M_ONES:
      return src_constant (P, FALSE, e->rank, e->shape);
    case JAC_M_TRACE:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("tr(%s)", a);
    case JAC_M_DIAG:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("diag(%s)", a);
    case JAC_M_DET:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("det(%s)", a);
    case JAC_M_LOGDET:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("logdet(%s)", a);
    case JAC_M_INV:
      a = src_m_exact (P, e->a);
      return g_strdup_printf ("inv(%s)", a);
    case JAC_M_KRON:
      a = src_m_exact (P, e->a);
      b = src_m_exact (P, e->b);
      return g_strdup_printf ("kron(%s, %s)", a, b);
    case JAC_M_SPREAD_ROWS:
    case JAC_M_SPREAD_COLS:
      {
        /* 1 aᵀ: the vector along the last axis broadcasts over the rows; a 1ᵀ: as a column. */
        gsize column[2] = { e->shape[0], 1 };
        g_autofree char *ones = src_constant (P, FALSE, 2, e->shape);

        a = src_m_exact (P, e->a);
        if (e->kind == JAC_M_SPREAD_COLS)
          a = src_conform (P, g_steal_pointer (&a), e->a->rank, e->a->shape, 2, column);
        return g_strdup_printf ("(%s * %s)", ones, a);
      }
    case JAC_M_BLOCK_SUMS:
    case JAC_M_BLOCK_TOTAL:
      return src_block_sums (P, e);
    default:
      return src_fail (P, "an operation with no spelling in the language");
    }
}

char *
_jac_m_source (const JacMExpr  *e,
               const JacGraph  *graph,
               GHashTable      *constants,
               GError         **error)
{
  SourcePrinter P = { graph, constants, error, FALSE };
  g_autofree char *text = src_m_exact (&P, e);

  if (P.failed)
    return NULL;
  return g_steal_pointer (&text);
}

/* jac-index.c: index expressions (sums of products of δs and entries), the δ rule, their text. */
#define G_LOG_DOMAIN "jac-index"

#include <math.h>
#include <string.h>

#include "jac-derive-private.h"

/* Letters for summation indices, in the order a teacher reaches for them. */
static const char summation_letters[] = "klmnrstuvabcdefgh";

int
_jac_index_new (JacDeriveContext *d,
                const char       *letter)
{
  JacIndexInfo info = { { 0 } };

  g_strlcpy (info.letter, letter != NULL ? letter : "", sizeof info.letter);
  g_array_append_val (d->indices, info);
  return d->indices->len - 1;
}

/* ---- terms and polynomials ---- */

JacTerm *
_jac_term_new (double coef)
{
  JacTerm *term = g_new0 (JacTerm, 1);

  term->coef = coef;
  term->sums = g_array_new (FALSE, FALSE, sizeof (int));
  term->factors = g_array_new (FALSE, FALSE, sizeof (JacFactor));
  return term;
}

static JacTerm *
term_copy (const JacTerm *term)
{
  JacTerm *copy = _jac_term_new (term->coef);

  g_array_append_vals (copy->sums, term->sums->data, term->sums->len);
  g_array_append_vals (copy->factors, term->factors->data, term->factors->len);
  return copy;
}

void
_jac_term_free (JacTerm *term)
{
  if (term == NULL)
    return;
  g_array_unref (term->sums);
  g_array_unref (term->factors);
  g_free (term);
}

GPtrArray *
_jac_poly_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) _jac_term_free);
}

GPtrArray *
_jac_poly_const (double value)
{
  GPtrArray *poly = _jac_poly_new ();

  if (value != 0.0)
    g_ptr_array_add (poly, _jac_term_new (value));
  return poly;
}

GPtrArray *
_jac_poly_factor (const JacFactor *factor)
{
  GPtrArray *poly = _jac_poly_new ();
  JacTerm *term = _jac_term_new (1.0);

  g_array_append_vals (term->factors, factor, 1);
  g_ptr_array_add (poly, term);
  return poly;
}

GPtrArray *
_jac_poly_copy (const GPtrArray *poly)
{
  GPtrArray *copy = _jac_poly_new ();

  _jac_poly_add (copy, poly, 1.0);
  return copy;
}

void
_jac_poly_add (GPtrArray       *poly,
               const GPtrArray *other,
               double           sign)
{
  for (guint t = 0; t < other->len; t++)
    {
      JacTerm *copy = term_copy (g_ptr_array_index (other, t));

      copy->coef *= sign;
      g_ptr_array_add (poly, copy);
    }
}

GPtrArray *
_jac_poly_mul (const GPtrArray *a,
               const GPtrArray *b)
{
  GPtrArray *product = _jac_poly_new ();

  for (guint s = 0; s < a->len; s++)
    for (guint t = 0; t < b->len; t++)
      {
        const JacTerm *tb = g_ptr_array_index (b, t);
        JacTerm *term = term_copy (g_ptr_array_index (a, s));

        term->coef *= tb->coef;
        g_array_append_vals (term->sums, tb->sums->data, tb->sums->len);
        g_array_append_vals (term->factors, tb->factors->data, tb->factors->len);
        /* Merged as it grows, so that X * X * … * X stays one factor X_ij^n rather than n. */
        _jac_term_merge_powers (term);
        g_ptr_array_add (product, term);
      }
  return product;
}

void
_jac_poly_scale (GPtrArray *poly,
                 double     factor)
{
  for (guint t = 0; t < poly->len; t++)
    ((JacTerm *) g_ptr_array_index (poly, t))->coef *= factor;
}

void
_jac_poly_sum_over (GPtrArray *poly,
                    int        index)
{
  for (guint t = 0; t < poly->len; t++)
    g_array_prepend_val (((JacTerm *) g_ptr_array_index (poly, t))->sums, index);
}

void
_jac_term_rename (JacTerm *term,
                  int      from,
                  int      to)
{
  for (guint s = 0; s < term->sums->len; s++)
    if (g_array_index (term->sums, int, s) == from)
      g_array_index (term->sums, int, s) = to;
  for (guint f = 0; f < term->factors->len; f++)
    {
      JacFactor *factor = &g_array_index (term->factors, JacFactor, f);

      for (guint a = 0; a < 2; a++)
        if (factor->idx[a] == from)
          factor->idx[a] = to;
    }
}

void
_jac_poly_rename (GPtrArray *poly,
                  int        from,
                  int        to)
{
  for (guint t = 0; t < poly->len; t++)
    _jac_term_rename (g_ptr_array_index (poly, t), from, to);
}

/* ---- the δ rule ---- */

static int
sum_position (const JacTerm *term,
              int            index)
{
  for (guint s = 0; s < term->sums->len; s++)
    if (g_array_index (term->sums, int, s) == index)
      return s;
  return -1;
}

/* Σ_k δ(k, t) f(k) = f(t): @gone is summed and disappears in favour of @kept. */
static void
collapse (JacTerm *term,
          guint    delta,
          int      gone,
          int      kept)
{
  g_array_remove_index (term->sums, sum_position (term, gone));
  g_array_remove_index (term->factors, delta);
  _jac_term_rename (term, gone, kept);
}

static gboolean
term_apply_one_delta (JacTerm *term)
{
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *factor = &g_array_index (term->factors, JacFactor, f);
      int a = factor->idx[0], b = factor->idx[1];

      if (factor->kind != JAC_FACTOR_DELTA)
        continue;
      /* δ(0, x) ties x to an axis of extent 1 (δs only tie axes of equal extent), so it is 1. */
      if ((a == JAC_INDEX_ZERO || b == JAC_INDEX_ZERO) && a != b)
        {
          int other = a == JAC_INDEX_ZERO ? b : a;

          if (sum_position (term, other) >= 0)
            collapse (term, f, other, JAC_INDEX_ZERO);
          else
            g_array_remove_index (term->factors, f);
          return TRUE;
        }
      if (a == b && sum_position (term, a) < 0)
        {
          g_array_remove_index (term->factors, f);
          return TRUE;
        }
      if (a != b && sum_position (term, b) >= 0)
        {
          collapse (term, f, b, a);
          return TRUE;
        }
      if (a != b && sum_position (term, a) >= 0)
        {
          collapse (term, f, a, b);
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
_jac_poly_apply_deltas (GPtrArray *poly)
{
  gboolean applied = FALSE;

  for (guint t = 0; t < poly->len; t++)
    while (term_apply_one_delta (g_ptr_array_index (poly, t)))
      applied = TRUE;
  return applied;
}

/* ---- like terms ---- */

static gboolean
same_base (const JacFactor *a,
           const JacFactor *b)
{
  if (a->kind != JAC_FACTOR_ENTRY || b->kind != JAC_FACTOR_ENTRY || a->symbol != b->symbol ||
      a->rank != b->rank)
    return FALSE;
  for (guint x = 0; x < a->rank; x++)
    if (a->idx[x] != b->idx[x])
      return FALSE;
  return TRUE;
}

/* Each entry is folded into the first factor with the same base; a term holds few distinct
 * bases, so this is linear in the factors in practice. */
void
_jac_term_merge_powers (JacTerm *term)
{
  GArray *factors = term->factors;
  guint kept = 0;

  for (guint f = 0; f < factors->len; f++)
    {
      JacFactor *x = &g_array_index (factors, JacFactor, f);
      gboolean merged = FALSE;

      for (guint g = 0; g < kept && !merged; g++)
        {
          JacFactor *y = &g_array_index (factors, JacFactor, g);

          if (same_base (x, y))
            {
              y->power += x->power;
              merged = TRUE;
            }
        }
      if (!merged)
        g_array_index (factors, JacFactor, kept++) = *x;
    }
  g_array_set_size (factors, kept);
  /* X_ij / X_ij: a power 0 is 1. */
  for (guint f = 0; f < factors->len;)
    if (g_array_index (factors, JacFactor, f).kind == JAC_FACTOR_ENTRY &&
        g_array_index (factors, JacFactor, f).power == 0)
      g_array_remove_index (factors, f);
    else
      f++;
}

static int
compare_ints (gconstpointer a,
              gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* A canonical text of the term without its coefficient: sorted sums and sorted factors. */
static char *
term_key (const JacTerm *term)
{
  g_autoptr(GArray) sums = g_array_copy (term->sums);
  g_autoptr(GPtrArray) factors = g_ptr_array_new_with_free_func (g_free);
  GString *key = g_string_new (NULL);

  g_array_sort (sums, compare_ints);
  for (guint s = 0; s < sums->len; s++)
    g_string_append_printf (key, "%d,", g_array_index (sums, int, s));
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *x = &g_array_index (term->factors, JacFactor, f);
      int i0 = x->idx[0], i1 = x->idx[1];

      if (x->kind == JAC_FACTOR_DELTA && i0 > i1)
        {
          i0 = x->idx[1];
          i1 = x->idx[0];
        }
      g_ptr_array_add (factors, g_strdup_printf ("%d.%d.%d.%d.%u.%d.%d", x->kind, x->symbol,
                                                 x->node, x->power, x->rank, i0, i1));
    }
  g_ptr_array_sort (factors, compare_strings);
  for (guint f = 0; f < factors->len; f++)
    g_string_append_printf (key, "|%s", (char *) g_ptr_array_index (factors, f));
  return g_string_free (key, FALSE);
}

void
_jac_poly_combine (GPtrArray *poly)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint t = 0; t < poly->len;)
    {
      JacTerm *term = g_ptr_array_index (poly, t);
      char *key;
      JacTerm *first;

      _jac_term_merge_powers (term);
      key = term_key (term);
      first = g_hash_table_lookup (seen, key);

      if (first != NULL)
        {
          first->coef += term->coef;
          g_free (key);
          g_ptr_array_remove_index (poly, t);
          continue;
        }
      g_hash_table_insert (seen, key, term);
      t++;
    }
  for (guint t = 0; t < poly->len;)
    {
      if (fabs (((JacTerm *) g_ptr_array_index (poly, t))->coef) < 1e-12)
        g_ptr_array_remove_index (poly, t);
      else
        t++;
    }
}

/* ---- structure ---- */

static gboolean
term_has_delta (const JacTerm *term,
                int            a,
                int            b)
{
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *x = &g_array_index (term->factors, JacFactor, f);

      if (x->kind == JAC_FACTOR_DELTA &&
          ((x->idx[0] == a && x->idx[1] == b) || (x->idx[0] == b && x->idx[1] == a)))
        return TRUE;
    }
  return FALSE;
}

void
_jac_poly_pairs (const GPtrArray *poly,
                 guint            out_rank,
                 const int       *out_idx,
                 guint            var_rank,
                 const int       *var_idx,
                 int             *pair)
{
  pair[0] = pair[1] = -1;
  if (poly->len == 0)
    return;
  for (guint a = 0; a < out_rank; a++)
    for (guint t = 0; t < var_rank; t++)
      {
        gboolean everywhere = TRUE;

        for (guint n = 0; n < poly->len && everywhere; n++)
          everywhere = term_has_delta (g_ptr_array_index (poly, n), out_idx[a], var_idx[t]);
        /* The first δ found stands for an axis tied twice (δ_jp δ_jq of diag X), as in
         * _jac_poly_patterns, and two output axes are never tied to one variable axis. */
        if (everywhere && pair[a] < 0 && (a == 0 || pair[0] != (int) t))
          pair[a] = t;
      }
}

/* Every δ of @inner is one of @outer's: @outer's entries lie where @inner's can be nonzero. The
 * same rule as JacStructured's pairs_within, so both sides absorb the same patterns. */
static gboolean
pattern_within (const int *inner,
                const int *outer)
{
  return (inner[0] < 0 || inner[0] == outer[0]) && (inner[1] < 0 || inner[1] == outer[1]);
}

guint
_jac_poly_patterns (const GPtrArray *poly,
                    guint            out_rank,
                    const int       *out_idx,
                    guint            var_rank,
                    const int       *var_idx,
                    int            (*patterns)[2])
{
  guint n_patterns = 0;

  for (guint n = 0; n < poly->len; n++)
    {
      const JacTerm *term = g_ptr_array_index (poly, n);
      int pattern[2] = { -1, -1 };
      gboolean absorbed = FALSE;
      guint kept = 0;

      /* A term's δ ties an output axis to a variable axis; the first one found stands for it, so
       * a term such as δ_ip δ_iq is counted as δ_ip alone: fewer zeros claimed, never more. */
      for (guint a = 0; a < out_rank; a++)
        for (guint t = 0; t < var_rank && pattern[a] < 0; t++)
          if (term_has_delta (term, out_idx[a], var_idx[t]) && (a == 0 || pattern[0] != (int) t))
            pattern[a] = t;

      /* Insert as JacStructured's insert_term does: a pattern whose δs include another's is
       * absorbed by it, and one that is absorbed by the new one leaves. */
      for (guint m = 0; m < n_patterns && !absorbed; m++)
        absorbed = pattern_within (patterns[m], pattern);
      if (absorbed)
        continue;
      for (guint m = 0; m < n_patterns; m++)
        if (!pattern_within (pattern, patterns[m]))
          {
            patterns[kept][0] = patterns[m][0];
            patterns[kept][1] = patterns[m][1];
            kept++;
          }
      g_assert (kept < JAC_DERIVE_MAX_PATTERNS);
      patterns[kept][0] = pattern[0];
      patterns[kept][1] = pattern[1];
      n_patterns = kept + 1;
    }
  return n_patterns;
}

/* One factor as the partition @code sees it: its free indices replaced by their class's first
 * position's index. */
static JacFactor
factor_on_partition (const JacFactor *x,
                     guint            code,
                     const int       *position_id)
{
  JacFactor y = *x;

  for (guint k = 0; k < 2; k++)
    for (guint a = 0; a < 4; a++)
      if (position_id[a] >= 0 && y.idx[k] == position_id[a])
        {
          guint lead = 0;

          while (position_id[lead] < 0 || !jac_entry_partition_ties (code, lead, a))
            lead++;
          y.idx[k] = position_id[lead];
          break;
        }
  return y;
}

static int
factor_compare (gconstpointer a,
                gconstpointer b)
{
  const JacFactor *x = a, *y = b;

  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  if (x->symbol != y->symbol)
    return x->symbol < y->symbol ? -1 : 1;
  if (x->node != y->node)
    return x->node < y->node ? -1 : 1;
  if (x->rank != y->rank)
    return x->rank < y->rank ? -1 : 1;
  for (guint k = 0; k < 2; k++)
    if (x->idx[k] != y->idx[k])
      return x->idx[k] < y->idx[k] ? -1 : 1;
  if (x->power != y->power)
    return x->power < y->power ? -1 : 1;
  return 0;
}

/* @term on partition @code: NULL when it is zero there (a δ of two free indices in different
 * classes), else its factors other than the δs that hold, indices merged per class, sorted, with
 * repeated entries as powers. *@unsure: it has summed indices, which this cannot compare. */
static GArray *
term_on_partition (const JacTerm *term,
                   guint          code,
                   const int     *position_id,
                   gboolean      *unsure)
{
  GArray *factors = g_array_new (FALSE, FALSE, sizeof (JacFactor));
  guint kept = 0;

  *unsure = FALSE;
  for (guint f = 0; f < term->factors->len; f++)
    {
      JacFactor y = factor_on_partition (&g_array_index (term->factors, JacFactor, f), code,
                                         position_id);

      if (y.kind == JAC_FACTOR_DELTA)
        {
          int pa = -1, pb = -1;

          for (guint a = 0; a < 4; a++)
            {
              if (position_id[a] >= 0 && position_id[a] == g_array_index (term->factors,
                                                                         JacFactor, f).idx[0])
                pa = a;
              if (position_id[a] >= 0 && position_id[a] == g_array_index (term->factors,
                                                                         JacFactor, f).idx[1])
                pb = a;
            }
          if (pa >= 0 && pb >= 0)
            {
              if (!jac_entry_partition_ties (code, pa, pb))
                {
                  g_array_unref (factors);
                  return NULL;
                }
              continue;
            }
        }
      g_array_append_val (factors, y);
    }
  g_array_sort (factors, factor_compare);
  /* Equal entries multiply into one power, as the index form writes X_ij X_ij = X_ij². */
  for (guint f = 0; f < factors->len; f++)
    {
      JacFactor *y = &g_array_index (factors, JacFactor, f);

      if (kept > 0)
        {
          JacFactor *last = &g_array_index (factors, JacFactor, kept - 1);
          JacFactor a = *last, b = *y;

          a.power = b.power = 0;
          if (y->kind == JAC_FACTOR_ENTRY && factor_compare (&a, &b) == 0)
            {
              last->power += y->power;
              continue;
            }
        }
      g_array_index (factors, JacFactor, kept++) = *y;
    }
  g_array_set_size (factors, kept);
  *unsure = term->sums->len > 0;
  return factors;
}

static gboolean
same_factors (const GArray *a,
              const GArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint f = 0; f < a->len; f++)
    if (factor_compare (&g_array_index (a, JacFactor, f), &g_array_index (b, JacFactor, f)) != 0)
      return FALSE;
  return TRUE;
}

guint
_jac_poly_zero_partitions (const GPtrArray *poly,
                           guint            out_rank,
                           const int       *out_idx,
                           guint            var_rank,
                           const int       *var_idx,
                           guint           *codes)
{
  guint all[JAC_ENTRY_MAX_PARTITIONS], n_all, n = 0;
  int position_id[4] = { -1, -1, -1, -1 };

  if (poly->len == 0)
    return 0;
  for (guint a = 0; a < out_rank; a++)
    position_id[a] = out_idx[a];
  for (guint t = 0; t < var_rank; t++)
    position_id[2 + t] = var_idx[t];
  n_all = jac_entry_partitions (out_rank, var_rank, all);
  for (guint c = 0; c < n_all; c++)
    {
      g_autoptr(GPtrArray) forms = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
      g_autoptr(GArray) coefs = g_array_new (FALSE, FALSE, sizeof (double));
      gboolean unsure = FALSE, cancels = TRUE;

      for (guint k = 0; k < poly->len && !unsure; k++)
        {
          const JacTerm *term = g_ptr_array_index (poly, k);
          GArray *form = term_on_partition (term, all[c], position_id, &unsure);
          guint m;

          if (form == NULL)
            continue;
          for (m = 0; m < forms->len && !same_factors (g_ptr_array_index (forms, m), form); m++)
            ;
          if (m < forms->len)
            {
              g_array_index (coefs, double, m) += term->coef;
              g_array_unref (form);
            }
          else
            {
              g_ptr_array_add (forms, form);
              g_array_append_val (coefs, term->coef);
            }
        }
      /* No term is nonzero there (a δ of two variable axes, δ_pq of tr X, fails): zero. */
      if (forms->len == 0)
        {
          codes[n++] = all[c];
          continue;
        }
      if (unsure)
        continue;
      /* Coefficients are small rationals: their sum is 0 up to a rounding or two. */
      for (guint m = 0; m < coefs->len && cancels; m++)
        cancels = fabs (g_array_index (coefs, double, m)) <= 1e-12;
      if (cancels)
        codes[n++] = all[c];
    }
  return n;
}

/* ---- text ---- */

/* The letters of one term's summed indices. Lookups are hashed and the search for a free
 * summation letter resumes where it stopped, so a term with hundreds of sums letters in linear
 * time. */
typedef struct
{
  GArray     *ids;       /* int: the summed indices, in the order they were lettered */
  GPtrArray  *letters;   /* char*, owned: their letters, parallel to ids */
  GHashTable *by_id;     /* index id → its letter (owned by letters) */
  GHashTable *taken;     /* letters in use in the term, free or summed (not owned) */
  GPtrArray  *owned;     /* char*: the free indices' letters put in taken */
  guint       cursor;    /* the next summation letter to try */
} LetterMap;

static void
letter_map_init (LetterMap *map)
{
  map->ids = g_array_new (FALSE, FALSE, sizeof (int));
  map->letters = g_ptr_array_new_with_free_func (g_free);
  map->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
  map->taken = g_hash_table_new (g_str_hash, g_str_equal);
  map->owned = g_ptr_array_new_with_free_func (g_free);
  map->cursor = 0;
}

static void
letter_map_clear (LetterMap *map)
{
  g_hash_table_unref (map->by_id);
  g_hash_table_unref (map->taken);
  g_ptr_array_unref (map->letters);
  g_ptr_array_unref (map->owned);
  g_array_unref (map->ids);
}

static void
letter_map_reserve (LetterMap  *map,
                    const char *letter)
{
  char *copy;

  if (*letter == '\0' || g_hash_table_contains (map->taken, letter))
    return;
  copy = g_strdup (letter);
  g_ptr_array_add (map->owned, copy);
  g_hash_table_add (map->taken, copy);
}

static const char *
map_letter (const JacDeriveContext *d,
            const LetterMap        *map,
            int                     id)
{
  const char *letter;

  if (id == JAC_INDEX_ZERO)
    return "0";
  letter = g_hash_table_lookup (map->by_id, GINT_TO_POINTER (id));
  return letter != NULL ? letter : g_array_index (d->indices, JacIndexInfo, id).letter;
}

/* The @n-th summation letter: k l m n r s t u v a b … h, then k₁, k₂, k₃, … without end. */
static char *
summation_letter (guint n)
{
  static const char * const digits[] = {
    "₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉",
  };
  guint n_single = sizeof summation_letters - 1;
  g_autofree char *number = NULL;
  GString *letter;

  if (n < n_single)
    return g_strndup (summation_letters + n, 1);
  number = g_strdup_printf ("%u", n - n_single + 1);
  letter = g_string_new ("k");
  for (const char *c = number; *c != '\0'; c++)
    g_string_append (letter, digits[*c - '0']);
  return g_string_free (letter, FALSE);
}

static void
map_summed (const JacDeriveContext *d,
            LetterMap              *map,
            int                     id)
{
  const char *preferred = g_array_index (d->indices, JacIndexInfo, id).letter;
  char *letter;

  if (g_hash_table_contains (map->by_id, GINT_TO_POINTER (id)))
    return;
  if (*preferred != '\0' && !g_hash_table_contains (map->taken, preferred))
    letter = g_strdup (preferred);
  else
    for (;;)
      {
        letter = summation_letter (map->cursor++);
        if (!g_hash_table_contains (map->taken, letter))
          break;
        g_free (letter);
      }
  g_ptr_array_add (map->letters, letter);
  g_array_append_val (map->ids, id);
  g_hash_table_insert (map->by_id, GINT_TO_POINTER (id), letter);
  g_hash_table_add (map->taken, letter);
}

/* Summed indices are lettered in order of first appearance, so Σ_kl A_ik X_kl B_lj reads left to
 * right; they avoid the letters of the equation's free indices and those free in the term. */
static void
letter_term (const JacDeriveContext *d,
             const JacTerm          *term,
             LetterMap              *map)
{
  letter_map_init (map);
  for (const char *c = d->reserved; *c != '\0'; c++)
    {
      char letter[2] = { *c, 0 };

      letter_map_reserve (map, letter);
    }
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *x = &g_array_index (term->factors, JacFactor, f);

      for (guint a = 0; a < 2; a++)
        if (x->idx[a] > JAC_INDEX_ZERO && sum_position (term, x->idx[a]) < 0)
          letter_map_reserve (map, g_array_index (d->indices, JacIndexInfo, x->idx[a]).letter);
    }
  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *x = &g_array_index (term->factors, JacFactor, f);
      guint n_idx = x->kind == JAC_FACTOR_DELTA ? 2 : x->rank;

      for (guint a = 0; a < n_idx; a++)
        if (sum_position (term, x->idx[a]) >= 0)
          map_summed (d, map, x->idx[a]);
    }
  for (guint s = 0; s < term->sums->len; s++)
    map_summed (d, map, g_array_index (term->sums, int, s));
}

static char *
factor_letters (const JacDeriveContext *d,
                const LetterMap        *map,
                const JacFactor        *x)
{
  guint n_idx = x->kind == JAC_FACTOR_DELTA ? 2 : x->rank;
  GString *letters = g_string_new (NULL);

  for (guint a = 0; a < n_idx; a++)
    g_string_append (letters, map_letter (d, map, x->idx[a]));
  return g_string_free (letters, FALSE);
}

void
_jac_render_entry (const JacDeriveContext *d,
                   int                     symbol,
                   const char             *letters,
                   JacNotation            *out)
{
  const JacSymbol *sym = g_ptr_array_index (d->symbols, symbol);

  if (letters == NULL || letters[0] == '\0')
    {
      _jac_notation_add (out, sym->name.plain, sym->matrix_markup, sym->matrix_latex);
      return;
    }
  if (strchr (sym->name.latex, '^') != NULL)
    {
      /* W^{hh}_{kj} in braces, so that a power can follow: {W^{hh}_{kj}}^{2}. */
      g_string_append_c (out->latex, '{');
      _jac_notation_forms (out, &sym->name);
      _jac_notation_sub (out, letters);
      g_string_append_c (out->latex, '}');
      return;
    }
  _jac_notation_forms (out, &sym->name);
  _jac_notation_sub (out, letters);
}

static void
render_derivative_letters (const JacDeriveContext *d,
                           int                     symbol,
                           const char             *letters,
                           JacNotation            *out)
{
  g_autofree char *var_letters = NULL;
  JacNotation top, bottom;
  GString *wrt = g_string_new (NULL);

  for (guint t = 0; t < d->var_rank; t++)
    g_string_append (wrt, g_array_index (d->indices, JacIndexInfo, d->var_idx[t]).letter);
  var_letters = g_string_free (wrt, FALSE);

  _jac_notation_init (&top);
  _jac_notation_init (&bottom);
  _jac_render_entry (d, symbol, letters, &top);
  _jac_render_entry (d, d->variable_symbol, var_letters, &bottom);
  g_string_append_printf (out->plain, "∂%s/∂%s", top.plain->str, bottom.plain->str);
  g_string_append_printf (out->markup, "∂%s/∂%s", top.markup->str, bottom.markup->str);
  g_string_append_printf (out->latex, "\\frac{\\partial %s}{\\partial %s}", top.latex->str,
                          bottom.latex->str);
  _jac_notation_clear (&top);
  _jac_notation_clear (&bottom);
}

void
_jac_render_derivative (const JacDeriveContext *d,
                        int                     symbol,
                        const int              *idx,
                        JacNotation            *out)
{
  const JacSymbol *sym = g_ptr_array_index (d->symbols, symbol);
  GString *letters = g_string_new (NULL);

  for (guint a = 0; a < sym->rank; a++)
    g_string_append (letters, idx[a] == JAC_INDEX_ZERO ? "0" :
                     g_array_index (d->indices, JacIndexInfo, idx[a]).letter);
  render_derivative_letters (d, symbol, letters->str, out);
  g_string_free (letters, TRUE);
}

/* X_ij² and X_ij¹⁰ in plain text; markup and LaTeX raise the number. */
static void
render_power (int          power,
              JacNotation *out)
{
  static const char * const superscripts[] = {
    "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹",
  };
  int p = ABS (power);
  g_autofree char *n = NULL;
  g_autofree char *markup = NULL;
  g_autofree char *latex = NULL;
  GString *plain;

  if (p < 2)
    return;
  n = g_strdup_printf ("%d", p);
  plain = g_string_new (NULL);
  for (const char *c = n; *c != '\0'; c++)
    g_string_append (plain, superscripts[*c - '0']);
  markup = g_strdup_printf ("<sup>%d</sup>", p);
  latex = g_strdup_printf ("^{%d}", p);
  _jac_notation_add (out, plain->str, markup, latex);
  g_string_free (plain, TRUE);
}

void
_jac_render_func_open (JacFunc      func,
                       JacNotation *out)
{
  switch (func)
    {
    case JAC_FUNC_SIGMOID: _jac_notation_add (out, "σ(", NULL, "\\sigma("); break;
    case JAC_FUNC_SQRT: _jac_notation_add (out, "sqrt(", NULL, "\\sqrt{"); break;
    case JAC_FUNC_ABS: _jac_notation_add (out, "|", NULL, "\\lvert "); break;
    case JAC_FUNC_POWER: _jac_notation_add (out, "(", NULL, "\\left("); break;
    case JAC_FUNC_TANH:
    case JAC_FUNC_EXP:
    case JAC_FUNC_LOG:
    case JAC_FUNC_SIN:
    case JAC_FUNC_COS:
    case JAC_FUNC_TAN:
    case JAC_FUNC_ARCSIN:
    case JAC_FUNC_ARCCOS:
    case JAC_FUNC_ARCTAN:
    case JAC_FUNC_SINH:
    case JAC_FUNC_COSH:
      {
        g_autofree char *plain = g_strdup_printf ("%s(", jac_func_name (func));
        g_autofree char *latex = g_strdup_printf ("\\%s(", jac_func_name (func));

        _jac_notation_add (out, plain, NULL, latex);
      }
      break;
    default:
      {
        g_autofree char *plain = g_strdup_printf ("%s(", jac_func_name (func));
        g_autofree char *latex = g_strdup_printf ("\\operatorname{%s}(", jac_func_name (func));

        _jac_notation_add (out, plain, NULL, latex);
      }
      break;
    }
}

/* An exponent as a superscript: ^0.5 in plain text (^(−1) when negative, so that it cannot be
 * read as a subtraction), <sup>0.5</sup> in markup, ^{0.5} in LaTeX. */
void
_jac_render_exponent (double       p,
                      JacNotation *out)
{
  JacNotation number;
  g_autofree char *markup = NULL;
  g_autofree char *latex = NULL;
  g_autofree char *plain = NULL;

  _jac_notation_init (&number);
  _jac_notation_number (&number, p);
  plain = g_strdup_printf (p < 0 || strchr (number.plain->str, '/') != NULL ? "^(%s)" : "^%s",
                           number.plain->str);
  markup = g_strdup_printf ("<sup>%s</sup>", number.markup->str);
  latex = g_strdup_printf ("^{%s}", number.latex->str);
  _jac_notation_add (out, plain, markup, latex);
  _jac_notation_clear (&number);
}

void
_jac_render_func_close (JacFunc      func,
                        double       param,
                        JacNotation *out)
{
  switch (func)
    {
    case JAC_FUNC_SQRT: _jac_notation_add (out, ")", NULL, "}"); break;
    case JAC_FUNC_ABS: _jac_notation_add (out, "|", NULL, "\\rvert "); break;
    case JAC_FUNC_POWER:
      _jac_notation_add (out, ")", NULL, "\\right)");
      _jac_render_exponent (param, out);
      break;
    default: _jac_notation_add (out, ")", NULL, ")"); break;
    }
}

/* One index of a Kronecker product's operand in the three notations: ⌊i/3⌋ for A, (i mod 3) for
 * B, with B's extent 3 along that axis. */
static void
append_composite (const JacDeriveContext *d,
                  const LetterMap        *map,
                  int                     id,
                  gsize                   extent,
                  gboolean                inner,
                  JacNotation            *sub)
{
  const char *letter = map_letter (d, map, id);
  JacNotation tmp;
  g_autofree char *latex_letter = NULL;

  _jac_notation_init (&tmp);
  _jac_notation_sub (&tmp, letter);
  /* "_{k_{1}}" → "k_{1}" */
  latex_letter = g_strndup (tmp.latex->str + 2, tmp.latex->len - 3);
  _jac_notation_clear (&tmp);
  if (inner)
    {
      g_string_append_printf (sub->plain, "(%s mod %" G_GSIZE_FORMAT ")", letter, extent);
      g_string_append_printf (sub->markup, "(%s mod %" G_GSIZE_FORMAT ")", letter, extent);
      g_string_append_printf (sub->latex, "(%s \\bmod %" G_GSIZE_FORMAT ")", latex_letter,
                              extent);
    }
  else
    {
      g_string_append_printf (sub->plain, "⌊%s/%" G_GSIZE_FORMAT "⌋", letter, extent);
      g_string_append_printf (sub->markup, "⌊%s/%" G_GSIZE_FORMAT "⌋", letter, extent);
      g_string_append_printf (sub->latex, "\\lfloor %s/%" G_GSIZE_FORMAT "\\rfloor ",
                              latex_letter, extent);
    }
}

/* The subscript of @sub (built without the "_") added to @out. */
static void
add_subscript (JacNotation       *out,
               const JacNotation *sub)
{
  g_string_append_printf (out->plain, "_%s", sub->plain->str);
  g_string_append_printf (out->markup, "<sub>%s</sub>", sub->markup->str);
  g_string_append_printf (out->latex, "_{%s}", sub->latex->str);
}

static void
render_kron_factor (const JacDeriveContext *d,
                    const LetterMap        *map,
                    const JacFactor        *x,
                    JacNotation            *out)
{
  const JacNode *kron = jac_graph_node (d->graph, x->node);
  const JacNode *b = jac_graph_node (d->graph, kron->rhs);
  JacNotation sub;

  _jac_notation_init (&sub);
  if (x->kind == JAC_FACTOR_KRON_SELECT)
    {
      guint axis = (guint) (x->power - 1) % 2;

      append_composite (d, map, x->idx[0], b->shape[axis], x->power >= 3, &sub);
      _jac_notation_add (&sub, " ", NULL, " ");
      {
        JacNotation tmp;

        _jac_notation_init (&tmp);
        _jac_notation_sub (&tmp, map_letter (d, map, x->idx[1]));
        g_string_append (sub.plain, tmp.plain->str + 1);
        g_string_append_len (sub.markup, tmp.markup->str + 5, tmp.markup->len - 11);
        g_string_append_len (sub.latex, tmp.latex->str + 2, tmp.latex->len - 3);
        _jac_notation_clear (&tmp);
      }
      _jac_notation_add (out, "δ", NULL, "\\delta");
      add_subscript (out, &sub);
    }
  else
    {
      const JacSymbol *sym = g_ptr_array_index (d->symbols, x->symbol);

      for (guint a = 0; a < x->rank; a++)
        {
          if (a > 0)
            _jac_notation_add (&sub, " ", NULL, " ");
          append_composite (d, map, x->idx[a], b->shape[a], x->kind == JAC_FACTOR_KRON_INNER,
                            &sub);
        }
      g_string_append_c (out->latex, '{');
      _jac_notation_forms (out, &sym->name);
      add_subscript (out, &sub);
      g_string_append_c (out->latex, '}');
    }
  _jac_notation_clear (&sub);
}

static gboolean
needs_parentheses_as_factor (const JacMExpr *e)
{
  return e->kind == JAC_M_ADD || e->kind == JAC_M_SUB || e->kind == JAC_M_DIV ||
         e->kind == JAC_M_NEG || (e->kind == JAC_M_CONST && e->value < 0);
}

static void
render_factor (const JacDeriveContext *d,
               const LetterMap        *map,
               const JacFactor        *x,
               JacNotation            *out)
{
  g_autofree char *letters = factor_letters (d, map, x);
  const JacNode *node = x->node >= 0 ? jac_graph_node (d->graph, x->node) : NULL;

  switch (x->kind)
    {
    case JAC_FACTOR_DELTA:
      _jac_notation_add (out, "δ", NULL, "\\delta");
      _jac_notation_sub (out, letters);
      break;
    case JAC_FACTOR_ENTRY:
      _jac_render_entry (d, x->symbol, letters, out);
      render_power (x->power, out);
      break;
    case JAC_FACTOR_FUNC:
      if (node->func == JAC_FUNC_SQUARE)
        {
          _jac_render_entry (d, x->symbol, letters, out);
          _jac_notation_add (out, "²", "<sup>2</sup>", "^{2}");
          break;
        }
      if (node->func == JAC_FUNC_POWER)
        {
          /* An entry is one symbol: X_ij^0.5 needs no parentheses. */
          _jac_render_entry (d, x->symbol, letters, out);
          _jac_render_exponent (node->constant, out);
          break;
        }
      _jac_render_func_open (node->func, out);
      _jac_render_entry (d, x->symbol, letters, out);
      _jac_render_func_close (node->func, node->constant, out);
      break;
    case JAC_FACTOR_SOFTMAX:
      _jac_notation_add (out, "softmax(", NULL, "\\operatorname{softmax}(");
      _jac_render_entry (d, x->symbol, "", out);
      _jac_notation_add (out, ")", NULL, ")");
      _jac_notation_sub (out, letters);
      break;
    case JAC_FACTOR_KRON_OUTER:
    case JAC_FACTOR_KRON_INNER:
    case JAC_FACTOR_KRON_SELECT:
      render_kron_factor (d, map, x, out);
      break;
    case JAC_FACTOR_DET:
      _jac_notation_add (out, "det(", NULL, "\\det(");
      _jac_render_entry (d, x->symbol, "", out);
      _jac_notation_add (out, ")", NULL, ")");
      break;
    case JAC_FACTOR_LOGDET:
      _jac_notation_add (out, "log |det(", NULL, "\\log\\lvert\\det(");
      _jac_render_entry (d, x->symbol, "", out);
      _jac_notation_add (out, ")|", NULL, ")\\rvert ");
      break;
    case JAC_FACTOR_INVERSE:
      /* (Z⁻¹)_ij: the entry of the inverse, not the inverse of the entry. */
      _jac_notation_add (out, "(", NULL, "(");
      _jac_render_entry (d, x->symbol, "", out);
      _jac_notation_add (out, "⁻¹)", "<sup>−1</sup>)", "^{-1})");
      _jac_notation_sub (out, letters);
      break;
    case JAC_FACTOR_SLOPE:
      if (d->slope_symbol[x->node] >= 0)
        _jac_render_entry (d, d->slope_symbol[x->node], letters, out);
      else if (needs_parentheses_as_factor (d->slope[x->node]))
        {
          _jac_notation_add (out, "(", NULL, "\\left(");
          _jac_m_render (d, d->slope[x->node], letters, out);
          _jac_notation_add (out, ")", NULL, "\\right)");
        }
      else
        _jac_m_render (d, d->slope[x->node], letters, out);
      break;
    case JAC_FACTOR_DERIV:
      render_derivative_letters (d, x->symbol, letters, out);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
same_entry (const JacFactor *a,
            const JacFactor *b)
{
  return a->kind == JAC_FACTOR_ENTRY && b->kind == JAC_FACTOR_ENTRY && a->symbol == b->symbol &&
         a->power == b->power && ABS (a->power) == 1 && a->idx[0] == b->idx[0] &&
         (a->rank < 2 || a->idx[1] == b->idx[1]);
}

/* Side by side equal entries read as a square: Σ_k v_k v_k is Σ_k v_k². A factor written with
 * a leading number (the slope 2 Z_kl of Z ** 2) is set off by a dot from what precedes it, the
 * coefficient or another factor: "0.5 · 2 Z_kl", never "0.5 2 Z_kl" (which LaTeX typesets as
 * 0.52 Z_kl). @after_number: the term's coefficient was written just before. */
static void
render_factors (const JacDeriveContext *d,
                const LetterMap        *map,
                const JacTerm          *term,
                gboolean                denominator,
                gboolean                after_number,
                JacNotation            *out)
{
  gboolean first = !after_number;

  for (guint f = 0; f < term->factors->len; f++)
    {
      const JacFactor *x = &g_array_index (term->factors, JacFactor, f);
      JacNotation one;

      if ((x->power < 0) != denominator)
        continue;
      _jac_notation_init (&one);
      if (f + 1 < term->factors->len && same_entry (x, x + 1))
        {
          JacFactor square = *x;

          square.power = 2 * x->power;
          render_factor (d, map, &square, &one);
          f++;
        }
      else
        render_factor (d, map, x, &one);
      if (!first && g_ascii_isdigit (one.plain->str[0]))
        _jac_notation_add (out, " · ", NULL, " \\cdot ");
      else if (!first)
        _jac_notation_add (out, " ", NULL, " ");
      first = FALSE;
      g_string_append_len (out->plain, one.plain->str, one.plain->len);
      g_string_append_len (out->markup, one.markup->str, one.markup->len);
      g_string_append_len (out->latex, one.latex->str, one.latex->len);
      _jac_notation_clear (&one);
    }
}

static guint
count_factors (const JacTerm *term,
               gboolean       denominator)
{
  guint n = 0;

  for (guint f = 0; f < term->factors->len; f++)
    if ((g_array_index (term->factors, JacFactor, f).power < 0) == denominator)
      n++;
  return n;
}

static void
render_sums (const JacTerm   *term,
             const LetterMap *map,
             JacNotation     *out)
{
  GString *letters = g_string_new (NULL);

  for (guint m = 0; m < map->ids->len; m++)
    if (sum_position (term, g_array_index (map->ids, int, m)) >= 0)
      g_string_append (letters, g_ptr_array_index (map->letters, m));
  if (letters->len > 0)
    {
      _jac_notation_add (out, "Σ", NULL, "\\sum");
      _jac_notation_sub (out, letters->str);
      _jac_notation_add (out, " ", NULL, " ");
    }
  g_string_free (letters, TRUE);
}

static void
render_term (const JacDeriveContext *d,
             const JacTerm          *term,
             double                  magnitude,
             JacNotation            *out)
{
  LetterMap map;
  guint n_top = count_factors (term, FALSE), n_bottom = count_factors (term, TRUE);
  gboolean coefficient = magnitude != 1.0 || n_top == 0;

  letter_term (d, term, &map);
  render_sums (term, &map, out);
  if (coefficient)
    _jac_notation_number (out, magnitude);
  render_factors (d, &map, term, FALSE, coefficient, out);
  if (n_bottom > 0)
    {
      _jac_notation_add (out, " / ", NULL, " / ");
      if (n_bottom > 1)
        _jac_notation_add (out, "(", NULL, "(");
      render_factors (d, &map, term, TRUE, FALSE, out);
      if (n_bottom > 1)
        _jac_notation_add (out, ")", NULL, ")");
    }
  letter_map_clear (&map);
}

void
_jac_poly_render (const JacDeriveContext *d,
                  const GPtrArray        *poly,
                  JacNotation            *out)
{
  if (poly->len == 0)
    {
      _jac_notation_add (out, "0", NULL, NULL);
      return;
    }
  for (guint t = 0; t < poly->len; t++)
    {
      const JacTerm *term = g_ptr_array_index (poly, t);

      if (term->coef < 0)
        _jac_notation_add (out, t == 0 ? "−" : " − ", NULL, t == 0 ? "-" : " - ");
      else if (t > 0)
        _jac_notation_add (out, " + ", NULL, NULL);
      render_term (d, term, fabs (term->coef), out);
    }
}

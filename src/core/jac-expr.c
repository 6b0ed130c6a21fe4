/* jac-expr.c: size symbols, variable declarations, and the recursive-descent expression parser. */
#define G_LOG_DOMAIN "jac-expr"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jac-error.h"
#include "jac-expr.h"

#define UTF8_TIMES       "\xc3\x97"       /* × */
#define UTF8_MIDDLE_DOT  "\xc2\xb7"       /* · */
#define UTF8_MINUS       "\xe2\x88\x92"   /* − */
#define UTF8_ODOT        "\xe2\x8a\x99"   /* ⊙ */
#define UTF8_SUPER_T     "\xe1\xb5\x80"   /* ᵀ */

/* A declared shape; an axis given by a size symbol keeps the symbol, so that a size bound after
 * the declaration still applies (N×K, then K = 4), and one never bound is a free size that
 * the expression's shape inference settles. */
typedef struct
{
  guint  rank;
  gsize  shape[2];   /* 0: a symbol, resolved at lookup */
  char  *symbol[2];
} Decl;

static void
decl_free (gpointer data)
{
  Decl *decl = data;

  g_free (decl->symbol[0]);
  g_free (decl->symbol[1]);
  g_free (decl);
}

struct _JacShapeEnv
{
  GHashTable *sizes;   /* symbol → gsize* */
  GHashTable *decls;   /* name → Decl* */
};

/* ---- characters ---- */

static gboolean
is_ident_start (char c)
{
  return g_ascii_isalpha (c) || c == '_';
}

static gboolean
is_ident_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static gboolean
has_prefix (const char *p,
            const char *prefix)
{
  return strncmp (p, prefix, strlen (prefix)) == 0;
}

static const char *
skip_ident (const char *p)
{
  while (is_ident_char (*p))
    p++;
  return p;
}

static const char *
skip_blanks (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\r')
    p++;
  return p;
}

static const char *
skip_space (const char *p)
{
  while (g_ascii_isspace (*p))
    p++;
  return p;
}

/* The lexeme at @p, for messages: an identifier, a run of number characters, or one character. */
static char *
token_text (const char *p)
{
  const char *end = p;

  if (*p == '\0')
    return g_strdup ("end of input");
  if (is_ident_char (*p) || *p == '.')
    {
      while (is_ident_char (*end) || (*end == '.' && g_ascii_isdigit (*p)))
        end++;
      if (end > p)
        return g_strndup (p, end - p);
    }
  end = g_utf8_find_next_char (p, NULL);
  if (end == NULL || !g_utf8_validate (p, end - p, NULL))
    return g_strdup_printf ("\\x%02x", (guchar) *p);
  return g_strndup (p, end - p);
}

static gsize
char_offset (const char *text,
             const char *at)
{
  if (!g_utf8_validate (text, at - text, NULL))
    return at - text;
  return g_utf8_pointer_to_offset (text, at);
}

G_GNUC_PRINTF (6, 7)
static gboolean
fail_at (GError     **error,
         gsize       *error_pos,
         const char  *text,
         const char  *at,
         int          code,
         const char  *format,
         ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (error_pos != NULL)
    *error_pos = char_offset (text, at);
  g_set_error_literal (error, JAC_ERROR, code, message);
  return FALSE;
}

/* ---- the shape environment ---- */

JacShapeEnv *
jac_shape_env_new (void)
{
  JacShapeEnv *self = g_new0 (JacShapeEnv, 1);

  self->sizes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->decls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, decl_free);
  return self;
}

void
jac_shape_env_free (JacShapeEnv *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->sizes);
  g_hash_table_unref (self->decls);
  g_free (self);
}

void
jac_shape_env_set_size (JacShapeEnv *self,
                        const char  *symbol,
                        gsize        value)
{
  g_return_if_fail (self != NULL && symbol != NULL);
  g_hash_table_replace (self->sizes, g_strdup (symbol), g_memdup2 (&value, sizeof value));
}

gboolean
jac_shape_env_get_size (const JacShapeEnv *self,
                        const char        *symbol,
                        gsize             *value)
{
  const gsize *found;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (symbol != NULL, FALSE);

  found = g_hash_table_lookup (self->sizes, symbol);
  if (found == NULL)
    return FALSE;
  if (value != NULL)
    *value = *found;
  return TRUE;
}

void
jac_shape_env_declare (JacShapeEnv *self,
                       const char  *name,
                       guint        rank,
                       const gsize *shape)
{
  Decl *decl = g_new0 (Decl, 1);

  g_return_if_fail (self != NULL && name != NULL && rank <= 2);
  decl->rank = rank;
  for (guint a = 0; a < rank; a++)
    decl->shape[a] = shape[a];
  g_hash_table_replace (self->decls, g_strdup (name), decl);
}

static void
declare_symbolic (JacShapeEnv  *self,
                  const char   *name,
                  guint         rank,
                  const gsize  *shape,
                  char        **symbols)
{
  Decl *decl = g_new0 (Decl, 1);

  decl->rank = rank;
  for (guint a = 0; a < rank; a++)
    {
      decl->shape[a] = shape[a];
      decl->symbol[a] = g_strdup (symbols[a]);
    }
  g_hash_table_replace (self->decls, g_strdup (name), decl);
}

/* The declared shape with its symbols resolved where they are bound now; an unbound one is left
 * 0 with its symbol in @symbols (nullable). FALSE when @name is not declared. */
static gboolean
lookup_symbolic (const JacShapeEnv  *self,
                 const char         *name,
                 guint              *rank,
                 gsize              *shape,
                 const char        **symbols)
{
  const Decl *decl = g_hash_table_lookup (self->decls, name);

  if (decl == NULL)
    return FALSE;
  *rank = decl->rank;
  for (guint a = 0; a < decl->rank; a++)
    {
      shape[a] = decl->shape[a];
      if (decl->symbol[a] != NULL && !jac_shape_env_get_size (self, decl->symbol[a], &shape[a]))
        shape[a] = 0;
      if (symbols != NULL)
        symbols[a] = shape[a] == 0 ? decl->symbol[a] : NULL;
    }
  return TRUE;
}

gboolean
jac_shape_env_lookup (const JacShapeEnv *self,
                      const char        *name,
                      guint             *rank,
                      gsize             *shape)
{
  g_return_val_if_fail (self != NULL, FALSE);

  guint r;
  gsize s[2] = { 0, 0 };

  if (!lookup_symbolic (self, name, &r, s, NULL))
    return FALSE;
  for (guint a = 0; a < r; a++)
    if (s[a] == 0)
      return FALSE;   /* a size symbol still unbound */
  if (rank != NULL)
    *rank = r;
  if (shape != NULL)
    for (guint a = 0; a < r; a++)
      shape[a] = s[a];
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

GStrv
jac_shape_env_dup_names (const JacShapeEnv *self)
{
  g_autofree const char **keys = NULL;
  GStrv names;

  g_return_val_if_fail (self != NULL, NULL);

  keys = (const char **) g_hash_table_get_keys_as_array (self->decls, NULL);
  names = g_strdupv ((char **) keys);

  qsort (names, g_strv_length (names), sizeof (char *), compare_strings);
  return names;
}

/* ---- dims ---- */

typedef struct
{
  const JacShapeEnv *env;
  const char        *text;     /* the whole string, for positions */
  const char        *p;
  GError           **error;
  gsize             *error_pos;
  char             **symbols;  /* non-NULL: declarations, where a size symbol may be bound
                                * later (or never): the symbols read, per axis */
} DimReader;

static gboolean
read_number (const char  *p,
             const char **end,
             gsize       *value)
{
  guint64 v;

  errno = 0;
  v = g_ascii_strtoull (p, (char **) end, 10);
  if (*end == p || errno != 0 || v > G_MAXSIZE)
    return FALSE;
  *value = v;
  return TRUE;
}

/* A size: a positive number or a bound symbol; "NxH" is split at an 'x' after a bound prefix.
 * In a declaration an unbound symbol is kept for later: *value 0 and symbols[@axis] set. */
static gboolean
read_dim (DimReader *r,
          guint      axis,
          gsize     *value)
{
  const char *start = r->p = skip_blanks (r->p);
  const char *end;

  if (g_ascii_isdigit (*start))
    {
      if (!read_number (start, &end, value))
        return fail_at (r->error, r->error_pos, r->text, start, JAC_ERROR_INVALID,
                        "size out of range");
      if (*value == 0)
        return fail_at (r->error, r->error_pos, r->text, start, JAC_ERROR_INVALID,
                        "a size must be at least 1");
      r->p = end;
      return TRUE;
    }
  if (!is_ident_start (*start))
    {
      g_autofree char *found = token_text (start);

      return fail_at (r->error, r->error_pos, r->text, start, JAC_ERROR_INVALID,
                      "expected a size (a number or a size symbol), found “%s”", found);
    }

  end = skip_ident (start);
  for (const char *cut = end; cut > start; cut--)
    {
      g_autofree char *symbol = g_strndup (start, cut - start);

      if ((cut == end || *cut == 'x') && jac_shape_env_get_size (r->env, symbol, value))
        {
          r->p = cut;
          if (r->symbols != NULL)
            r->symbols[axis] = g_steal_pointer (&symbol);
          return TRUE;
        }
    }
  if (r->symbols != NULL)
    {
      r->symbols[axis] = g_strndup (start, end - start);
      *value = 0;
      r->p = end;
      return TRUE;
    }
  {
    g_autofree char *symbol = g_strndup (start, end - start);

    return fail_at (r->error, r->error_pos, r->text, start, JAC_ERROR_INVALID,
                    "unbound size symbol “%s” (bind it first, e.g. %s=3)", symbol, symbol);
  }
}

/* A '×', '*' or 'x' between two sizes; consumed when present. */
static gboolean
read_cross (DimReader *r)
{
  const char *p = skip_blanks (r->p);

  if (has_prefix (p, UTF8_TIMES))
    p += strlen (UTF8_TIMES);
  else if (*p == '*' || (*p == 'x' && (g_ascii_isdigit (p[1]) || is_ident_start (p[1]) ||
                                       p[1] == ' ')))
    p++;
  else
    return FALSE;
  r->p = p;
  return TRUE;
}

/* In a list of declarations, "H, H" continues the dims but "H, b: H" starts a new entry. */
static gboolean
comma_continues_dims (const char *comma)
{
  const char *p = skip_blanks (comma + 1);

  if (g_ascii_isdigit (*p))
    return TRUE;
  if (!is_ident_start (*p))
    return FALSE;
  p = skip_blanks (skip_ident (p));
  return *p != ':' && *p != '=';
}

static gboolean
read_dims (DimReader *r,
           gboolean   in_list,
           guint     *rank,
           gsize     *shape)
{
  gboolean paren;
  guint n = 0;

  r->p = skip_blanks (r->p);
  paren = *r->p == '(';
  if (paren)
    {
      r->p = skip_space (r->p + 1);
      if (*r->p == ')')
        {
          r->p++;
          *rank = 0;
          return TRUE;
        }
    }

  for (;;)
    {
      const char *at = skip_blanks (r->p);

      if (n == 2)
        return fail_at (r->error, r->error_pos, r->text, at, JAC_ERROR_SHAPE,
                        "a variable has at most 2 dimensions");
      if (!read_dim (r, n, &shape[n]))
        return FALSE;
      n++;
      if (read_cross (r))
        continue;
      r->p = paren ? skip_space (r->p) : skip_blanks (r->p);
      if (*r->p != ',')
        break;
      if (paren)
        {
          r->p = skip_space (r->p + 1);
          if (*r->p == ')')
            break;
          continue;
        }
      if (in_list && (n == 2 || !comma_continues_dims (r->p)))
        break;
      r->p++;
    }

  if (paren)
    {
      r->p = skip_space (r->p);
      if (*r->p != ')')
        {
          g_autofree char *found = token_text (r->p);

          return fail_at (r->error, r->error_pos, r->text, r->p, JAC_ERROR_INVALID,
                          "expected “)” to close the dims, found “%s”", found);
        }
      r->p++;
    }
  *rank = n;
  return TRUE;
}

gboolean
jac_shape_env_parse_dims (const JacShapeEnv  *self,
                          const char         *dims,
                          guint              *rank,
                          gsize              *shape,
                          gsize              *error_pos,
                          GError            **error)
{
  DimReader r = { self, dims, dims, error, error_pos };
  guint n;
  gsize s[2] = { 0, 0 };

  g_return_val_if_fail (dims != NULL, FALSE);
  if (*skip_space (dims) == '\0')
    return fail_at (error, error_pos, dims, dims, JAC_ERROR_INVALID,
                    "empty dims: write e.g. “H,H”, “H” or “()”");
  if (!read_dims (&r, FALSE, &n, s))
    return FALSE;
  r.p = skip_space (r.p);
  if (*r.p != '\0')
    {
      g_autofree char *found = token_text (r.p);

      return fail_at (error, error_pos, dims, r.p, JAC_ERROR_INVALID,
                      "unexpected “%s” after the dims", found);
    }
  *rank = n;
  shape[0] = s[0];
  shape[1] = s[1];
  return TRUE;
}

static gboolean
is_identifier (const char *start,
               const char *end)
{
  if (start == end || !is_ident_start (*start))
    return FALSE;
  return skip_ident (start) == end;
}

/* Splits "NAME=REST" with NAME an identifier (blanks around it allowed). */
static gboolean
split_assignment (const char  *text,
                  const char  *what,
                  char       **name,
                  const char **rest,
                  GError     **error)
{
  const char *eq = strchr (text, '=');
  const char *start = skip_space (text);
  const char *end = eq;

  if (eq == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "“%s” is not of the form %s", text, what);
      return FALSE;
    }
  while (end > start && g_ascii_isspace (end[-1]))
    end--;
  if (!is_identifier (start, end))
    {
      g_autofree char *bad = g_strndup (start, end - start);

      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "“%s” is not a valid name in “%s”", bad,
                   text);
      return FALSE;
    }
  *name = g_strndup (start, end - start);
  *rest = eq + 1;
  return TRUE;
}

static gboolean
read_size_value (const char  *text,
                 const char  *p,
                 const char **end,
                 gsize       *value,
                 gsize       *error_pos,
                 GError     **error)
{
  p = skip_blanks (p);
  if (g_ascii_isdigit (*p) && !read_number (p, end, value))
    {
      g_autofree char *found = token_text (p);

      /* All digits, too many of them: say so, not that it is no number. */
      return fail_at (error, error_pos, text, p, JAC_ERROR_INVALID,
                      "a size of “%s” is out of range (at most %" G_GSIZE_FORMAT ")", found,
                      G_MAXSIZE);
    }
  if (!g_ascii_isdigit (*p) || *value == 0)
    {
      g_autofree char *found = token_text (p);

      return fail_at (error, error_pos, text, p, JAC_ERROR_INVALID,
                      "a size must be a positive whole number, not “%s”", found);
    }
  return TRUE;
}

gboolean
jac_shape_env_parse_size (JacShapeEnv  *self,
                          const char   *text,
                          GError      **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  g_autofree char *symbol = NULL;
  const char *rest, *end;
  gsize value;

  if (!split_assignment (text, "SYM=NUM", &symbol, &rest, error) ||
      !read_size_value (text, rest, &end, &value, NULL, error))
    return FALSE;
  if (*skip_space (end) != '\0')
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "a size must be a positive whole number, not “%s”", skip_blanks (rest));
      return FALSE;
    }
  jac_shape_env_set_size (self, symbol, value);
  return TRUE;
}

gboolean
jac_shape_env_parse_shape (JacShapeEnv  *self,
                           const char   *text,
                           GError      **error)
{
  g_return_val_if_fail (self != NULL, FALSE);

  g_autofree char *name = NULL;
  g_autoptr(GError) local = NULL;
  char *symbols[2] = { NULL, NULL };
  const char *rest;
  guint rank = 0;
  gsize shape[2] = { 0, 0 };
  DimReader r = { self, NULL, NULL, NULL, NULL, symbols };

  if (!split_assignment (text, "NAME=DIMS", &name, &rest, error))
    return FALSE;
  r.text = rest;
  r.p = rest;
  r.error = &local;
  if (*skip_space (rest) == '\0')
    fail_at (&local, NULL, rest, rest, JAC_ERROR_INVALID,
             "empty dims: write e.g. “H,H”, “H” or “()”");
  else if (read_dims (&r, FALSE, &rank, shape) && *skip_space (r.p) != '\0')
    {
      g_autofree char *found = token_text (skip_space (r.p));

      fail_at (&local, NULL, rest, r.p, JAC_ERROR_INVALID, "unexpected “%s” after the dims",
               found);
    }
  if (local == NULL)
    declare_symbolic (self, name, rank, shape, symbols);
  g_free (symbols[0]);
  g_free (symbols[1]);
  if (local != NULL)
    {
      g_set_error (error, JAC_ERROR, local->code, "shape of “%s”: %s", name, local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_entry (JacShapeEnv  *self,
             const char   *text,
             const char  **p,
             gsize        *error_pos,
             GError      **error)
{
  const char *start = *p, *end = skip_ident (start);
  g_autofree char *name = g_strndup (start, end - start);
  const char *q = skip_blanks (end);

  if (*q == ':')
    {
      char *symbols[2] = { NULL, NULL };
      DimReader r = { self, text, q + 1, error, error_pos, symbols };
      guint rank;
      gsize shape[2] = { 0, 0 };
      gboolean ok = read_dims (&r, TRUE, &rank, shape);

      if (ok)
        declare_symbolic (self, name, rank, shape, symbols);
      g_free (symbols[0]);
      g_free (symbols[1]);
      if (!ok)
        return FALSE;
      *p = r.p;
      return TRUE;
    }
  if (*q == '=')
    {
      gsize value;

      if (!read_size_value (text, q + 1, p, &value, error_pos, error))
        return FALSE;
      jac_shape_env_set_size (self, name, value);
      return TRUE;
    }
  return fail_at (error, error_pos, text, q, JAC_ERROR_INVALID,
                  "expected “:” (a shape) or “=” (a size) after “%s”", name);
}

gboolean
jac_shape_env_parse_declarations (JacShapeEnv  *self,
                                  const char   *text,
                                  gsize        *error_pos,
                                  GError      **error)
{
  const char *p = text;

  g_return_val_if_fail (text != NULL, FALSE);
  for (;;)
    {
      p = skip_space (p);
      while (*p == ',' || *p == ';')
        p = skip_space (p + 1);
      if (*p == '\0')
        return TRUE;
      if (!is_ident_start (*p))
        {
          g_autofree char *found = token_text (p);

          return fail_at (error, error_pos, text, p, JAC_ERROR_INVALID,
                          "expected a name, found “%s”", found);
        }
      if (!parse_entry (self, text, &p, error_pos, error))
        return FALSE;
      p = skip_blanks (p);
      if (*p != '\0' && *p != ',' && *p != ';' && *p != '\n')
        {
          g_autofree char *found = token_text (p);

          return fail_at (error, error_pos, text, p, JAC_ERROR_INVALID,
                          "unexpected “%s”: entries are separated by “,”, “;” or new lines",
                          found);
        }
    }
}

/* ---- expressions ---- */

/* A parsed operand: a constant not yet in the graph (so constant operations fold), or a node. */
typedef struct
{
  gboolean    is_const;
  double      value;
  int         node;
  const char *start;
  const char *end;
} Operand;

/* ---- shape inference: a first pass over the expression with sizes as unknowns ----
 *
 * An undeclared variable is a vector when its name starts with a lowercase letter and a matrix
 * otherwise (the Cookbook's x and X); its sizes, and the size symbols no binding gives a value,
 * are unknowns that @, broadcasting, the square-only functions and kron tie together, by
 * union-find. What stays free gets a default, 2, 3, 4, … skipping the sizes the expression
 * already has, so that no two axes are confusable. The second pass builds the graph from the
 * shapes so settled; a real contradiction is left for it to report, at its operator and naming
 * both shapes, as a declared one always was. */

typedef struct
{
  int   parent;
  gsize value;   /* 0: unknown */
} DimClass;

typedef struct
{
  guint rank;
  int   dim[2];
} SymShape;

typedef struct
{
  GArray     *classes;    /* DimClass */
  GArray     *shapes;     /* SymShape, indexed as the pseudo nodes of the first pass */
  GHashTable *variables;  /* name → its pseudo node + 1 */
  GPtrArray  *inferred;   /* names of the variables with a free size, in order */
  GHashTable *symbols;    /* unbound size symbol → its class + 1 */
  GHashTable *used;       /* every known size, so that defaults avoid them */
  gsize       next_default;
} Infer;

static int
dim_new (Infer *inf,
         gsize  value)
{
  DimClass c = { (int) inf->classes->len, value };

  g_array_append_val (inf->classes, c);
  if (value != 0)
    g_hash_table_add (inf->used, GSIZE_TO_POINTER (value));
  return c.parent;
}

static int
dim_find (Infer *inf,
          int    c)
{
  while (g_array_index (inf->classes, DimClass, c).parent != c)
    {
      DimClass *x = &g_array_index (inf->classes, DimClass, c);

      x->parent = g_array_index (inf->classes, DimClass, x->parent).parent;
      c = x->parent;
    }
  return c;
}

static gsize
dim_value (Infer *inf,
           int    c)
{
  return g_array_index (inf->classes, DimClass, dim_find (inf, c)).value;
}

/* FALSE on a contradiction (two different known sizes), which the second pass reports. */
static gboolean
dim_unify (Infer *inf,
           int    a,
           int    b)
{
  DimClass *ca, *cb;

  a = dim_find (inf, a);
  b = dim_find (inf, b);
  if (a == b)
    return TRUE;
  ca = &g_array_index (inf->classes, DimClass, a);
  cb = &g_array_index (inf->classes, DimClass, b);
  if (ca->value != 0 && cb->value != 0 && ca->value != cb->value)
    return FALSE;
  if (ca->value == 0)
    ca->value = cb->value;
  cb->parent = a;
  return TRUE;
}

static int
sym_new (Infer *inf,
         guint  rank,
         int    d0,
         int    d1)
{
  SymShape shape = { rank, { d0, d1 } };

  g_array_append_val (inf->shapes, shape);
  return (int) inf->shapes->len - 1;
}

static SymShape
sym_at (Infer *inf,
        int    node)
{
  return g_array_index (inf->shapes, SymShape, node);
}

static void
infer_free (Infer *inf)
{
  g_array_unref (inf->classes);
  g_array_unref (inf->shapes);
  g_hash_table_unref (inf->variables);
  g_ptr_array_unref (inf->inferred);
  g_hash_table_unref (inf->symbols);
  g_hash_table_unref (inf->used);
}

typedef struct
{
  const char        *src;
  const char        *p;
  const JacShapeEnv *env;
  JacGraph          *graph;
  GArray            *spans;
  GError           **error;
  gsize             *error_pos;
  guint              depth;   /* nesting of unary operators, parentheses and calls */
  gsize             *offsets; /* per byte of src: its character offset (src is valid UTF-8) */
  Infer             *infer;   /* the first pass: nodes are SymShapes, no graph is built */
  const JacShapeEnv *declared;     /* the declarations as given (env may add inferred ones) */
  GHashTable        *assigned;     /* name → Operand*: the values of the statements so far */
  GHashTable        *assigned_at;  /* name → 1 + the statement that first assigns it */
  guint              statement;    /* the statement being parsed */
} Parser;

/* The graph operations the parser uses, in either pass. In the first one they never fail:
 * what does not fit is left for the second pass to report. */

static guint
pg_rank (Parser *P,
         int     node)
{
  if (P->infer != NULL)
    return sym_at (P->infer, node).rank;
  return jac_graph_node (P->graph, node)->rank;
}

/* A size, or 0 when the first pass does not know it yet. */
static gsize
pg_dim (Parser *P,
        int     node,
        guint   axis)
{
  if (P->infer != NULL)
    return dim_value (P->infer, sym_at (P->infer, node).dim[axis]);
  return jac_graph_node (P->graph, node)->shape[axis];
}

static int
pg_constant (Parser *P,
             double  value)
{
  if (P->infer != NULL)
    return sym_new (P->infer, 0, -1, -1);
  return jac_graph_add_constant (P->graph, value);
}

static int
sym_broadcast (Infer *inf,
               int    lhs,
               int    rhs)
{
  SymShape a = sym_at (inf, lhs), b = sym_at (inf, rhs);
  SymShape out = a.rank >= b.rank ? a : b;

  for (guint x = 0; x < out.rank; x++)
    {
      int ia = (int) x - (int) (out.rank - a.rank), ib = (int) x - (int) (out.rank - b.rank);

      if (ia < 0 || ib < 0)
        continue;
      if (dim_value (inf, a.dim[ia]) == 1)
        out.dim[x] = b.dim[ib];
      else if (dim_value (inf, b.dim[ib]) == 1)
        out.dim[x] = a.dim[ia];
      else
        dim_unify (inf, a.dim[ia], b.dim[ib]);
    }
  return sym_new (inf, out.rank, out.dim[0], out.dim[1]);
}

/* kron's sizes are products: its operands' free sizes are settled first. */
/* A free size gets the next default: the smallest from 2 up that no size of the expression
 * has, so that two axes never share a size by chance. */
static int
dim_settle (Infer *inf,
            int    c)
{
  DimClass *root = &g_array_index (inf->classes, DimClass, dim_find (inf, c));

  if (root->value != 0)
    return c;
  /* Constant time per size: the defaults only grow, and the used sizes are a set. */
  while (g_hash_table_contains (inf->used, GSIZE_TO_POINTER (inf->next_default)))
    inf->next_default++;
  root->value = inf->next_default++;
  g_hash_table_add (inf->used, GSIZE_TO_POINTER (root->value));
  return c;
}

static int
pg_binary (Parser  *P,
           JacOp    op,
           int      lhs,
           int      rhs,
           GError **error)
{
  Infer *inf = P->infer;

  if (inf == NULL)
    return jac_graph_add_binary (P->graph, op, lhs, rhs, error);
  if (op == JAC_OP_MATMUL)
    {
      SymShape a = sym_at (inf, lhs), b = sym_at (inf, rhs);

      if (a.rank != 2 || b.rank != 2)
        return sym_new (inf, 2, dim_new (inf, 0), dim_new (inf, 0));
      dim_unify (inf, a.dim[1], b.dim[0]);
      return sym_new (inf, 2, a.dim[0], b.dim[1]);
    }
  if (op == JAC_OP_KRON)
    {
      SymShape a = sym_at (inf, lhs), b = sym_at (inf, rhs);
      int d[2] = { -1, -1 };

      for (guint x = 0; x < MIN (a.rank, b.rank); x++)
        d[x] = dim_new (inf, dim_value (inf, dim_settle (inf, a.dim[x])) *
                             dim_value (inf, dim_settle (inf, b.dim[x])));
      return sym_new (inf, MIN (a.rank, b.rank), d[0], d[1]);
    }
  return sym_broadcast (inf, lhs, rhs);
}

static int
pg_unary (Parser  *P,
          JacOp    op,
          JacFunc  func,
          int      operand,
          GError **error)
{
  Infer *inf = P->infer;
  SymShape a;

  if (inf == NULL)
    return jac_graph_add_unary (P->graph, op, func, operand, error);
  a = sym_at (inf, operand);
  switch (op)
    {
    case JAC_OP_TRANSPOSE:
      return a.rank == 2 ? sym_new (inf, 2, a.dim[1], a.dim[0]) : operand;
    case JAC_OP_SUM:
      return sym_new (inf, 0, -1, -1);
    case JAC_OP_TRACE:
    case JAC_OP_DET:
    case JAC_OP_LOGDET:
    case JAC_OP_INV:
      if (a.rank == 2)
        dim_unify (inf, a.dim[0], a.dim[1]);
      return op == JAC_OP_INV ? operand : sym_new (inf, 0, -1, -1);
    case JAC_OP_DIAG:
      if (a.rank == 1)
        return sym_new (inf, 2, a.dim[0], a.dim[0]);
      if (a.rank == 2)
        dim_unify (inf, a.dim[0], a.dim[1]);
      return sym_new (inf, 1, a.dim[0], -1);
    default:
      return operand;
    }
}

static int
pg_power (Parser  *P,
          int      operand,
          double   p,
          GError **error)
{
  if (P->infer != NULL)
    return operand;
  return jac_graph_add_power (P->graph, operand, p, error);
}

static int
pg_sum_axis (Parser  *P,
             int      operand,
             guint    axis,
             GError **error)
{
  SymShape a;

  if (P->infer == NULL)
    return jac_graph_add_sum_axis (P->graph, operand, axis, error);
  a = sym_at (P->infer, operand);
  if (a.rank == 2)
    return sym_new (P->infer, 1, a.dim[1 - MIN (axis, 1)], -1);
  return sym_new (P->infer, 0, -1, -1);
}

static int
pg_reshape (Parser  *P,
            int      operand,
            guint    rank,
            guint    axis,
            GError **error)
{
  Infer *inf = P->infer;
  SymShape a;

  if (inf == NULL)
    return jac_graph_add_reshape (P->graph, operand, rank, axis, error);
  a = sym_at (inf, operand);
  if (rank == 2 && a.rank == 1)
    return axis == 0 ? sym_new (inf, 2, dim_new (inf, 1), a.dim[0])
                     : sym_new (inf, 2, a.dim[0], dim_new (inf, 1));
  if (rank == 1 && a.rank == 2)
    return sym_new (inf, 1, a.dim[1 - axis], -1);
  return sym_new (inf, 0, -1, -1);
}

/* Deeper input is refused rather than left to overflow the stack; no formula needs it. X is at
 * level 0, (X) and −X at level 1, … */
#define MAX_DEPTH 200
/* What is built may not be deeper than this either, however it is written (X-X-…-X, X.T.T…):
 * differentiating it walks that deep. A product of 2048 factors is 2048 deep. */
#define MAX_GRAPH_DEPTH 4096

static gboolean parse_sum (Parser  *P,
                           Operand *out);

G_GNUC_PRINTF (4, 5)
static gboolean
fail (Parser     *P,
      const char *at,
      int         code,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* The source is split into statements at NULs: offsets come from the table. */
  if (P->error_pos != NULL)
    *P->error_pos = P->offsets[at - P->src];
  g_set_error_literal (P->error, JAC_ERROR, code, message);
  return FALSE;
}

/* The character offset of @at in the source, in constant time: spans are recorded for every
 * node, and counting from the start each time made long input quadratic. */
static gsize
offset_of (const Parser *P,
           const char   *at)
{
  return P->offsets[at - P->src];
}

static void
record_span (Parser     *P,
             int         node,
             const char *start,
             const char *end,
             const char *op)
{
  JacSpan span = { offset_of (P, start), offset_of (P, end), offset_of (P, op) };

  if ((guint) node >= P->spans->len)
    g_array_set_size (P->spans, node + 1);
  g_array_index (P->spans, JacSpan, node) = span;
}

static int
materialize (Parser  *P,
             Operand *x)
{
  if (x->is_const)
    {
      x->node = pg_constant (P, x->value);
      x->is_const = FALSE;
      record_span (P, x->node, x->start, x->end, x->start);
    }
  return x->node;
}

static char *
operand_text (const Operand *x)
{
  return g_strndup (x->start, x->end - x->start);
}

static gboolean
check_matmul_operand (Parser        *P,
                      const char    *op_at,
                      const Operand *x)
{
  g_autofree char *text = operand_text (x);

  if (x->is_const)
    return fail (P, op_at, JAC_ERROR_SHAPE,
                 "@ takes matrices and vectors, but “%s” is a number: use * to scale", text);
  if (pg_rank (P, x->node) == 0)
    return fail (P, op_at, JAC_ERROR_SHAPE,
                 "@ takes matrices and vectors, but “%s” is a scalar: use * to scale", text);
  return TRUE;
}

/* A reshape node spanning @x's text. */
static gboolean
reshape_operand (Parser  *P,
                 Operand *x,
                 guint    rank,
                 guint    axis)
{
  g_autoptr(GError) local = NULL;
  int node = pg_reshape (P, x->node, rank, axis, &local);

  if (node < 0)
    return fail (P, x->start, local->code, "%s", local->message);
  record_span (P, node, x->start, x->end, x->start);
  x->node = node;
  return TRUE;
}

/* A @ B as NumPy has it: a vector on the left is a 1×n row, on the right an n×1 column, and
 * the axis that promotion added is removed from the product (x @ A @ y is a scalar, A @ x a
 * vector). The graph has only matrix products, so the promotions are reshape nodes. */
static gboolean
combine_matmul (Parser     *P,
                const char *op_at,
                Operand    *lhs,
                Operand    *rhs)
{
  g_autoptr(GError) local = NULL;
  const JacNode *a, *b;
  guint rank_a, rank_b;
  gsize inner_a, inner_b;
  int node;

  if (!check_matmul_operand (P, op_at, lhs) || !check_matmul_operand (P, op_at, rhs))
    return FALSE;
  rank_a = pg_rank (P, lhs->node);
  rank_b = pg_rank (P, rhs->node);
  inner_a = pg_dim (P, lhs->node, rank_a - 1);
  inner_b = pg_dim (P, rhs->node, 0);
  if (P->infer == NULL && inner_a != inner_b)
    {
      g_autofree char *sa = NULL;
      g_autofree char *sb = NULL;

      a = jac_graph_node (P->graph, lhs->node);
      b = jac_graph_node (P->graph, rhs->node);
      sa = jac_shape_string (a->rank, a->shape);
      sb = jac_shape_string (b->rank, b->shape);
      return fail (P, op_at, JAC_ERROR_SHAPE, "shape mismatch: %s @ %s (inner sizes differ)",
                   sa, sb);
    }
  if ((rank_a == 1 && !reshape_operand (P, lhs, 2, 0)) ||
      (rank_b == 1 && !reshape_operand (P, rhs, 2, 1)))
    return FALSE;
  node = pg_binary (P, JAC_OP_MATMUL, lhs->node, rhs->node, &local);
  if (node < 0)
    return fail (P, op_at, local->code, "%s", local->message);
  record_span (P, node, lhs->start, rhs->end, op_at);
  lhs->node = node;
  lhs->end = rhs->end;
  if (rank_a == 1 && rank_b == 1)
    return reshape_operand (P, lhs, 0, 0);
  if (rank_a == 1)
    return reshape_operand (P, lhs, 1, 0);
  if (rank_b == 1)
    return reshape_operand (P, lhs, 1, 1);
  return TRUE;
}

static gboolean
combine (Parser        *P,
         JacOp          op,
         const char    *op_at,
         Operand       *lhs,
         Operand       *rhs)
{
  g_autoptr(GError) local = NULL;
  int node;

  if (op == JAC_OP_MATMUL)
    return combine_matmul (P, op_at, lhs, rhs);
  if (lhs->is_const && rhs->is_const)
    {
      lhs->value = jac_op_apply (op, lhs->value, rhs->value);
      lhs->end = rhs->end;
      return TRUE;
    }
  node = pg_binary (P, op, materialize (P, lhs), materialize (P, rhs), &local);
  if (node < 0)
    return fail (P, op_at, local->code, "%s", local->message);
  record_span (P, node, lhs->start, rhs->end, op_at);
  lhs->node = node;
  lhs->end = rhs->end;
  return TRUE;
}

static gboolean
apply_unary (Parser     *P,
             JacOp       op,
             JacFunc     func,
             const char *start,
             const char *end,
             const char *op_at,
             Operand    *x)
{
  g_autoptr(GError) local = NULL;
  int node;

  if (x->is_const && op != JAC_OP_SOFTMAX)
    {
      if (op == JAC_OP_NEGATE)
        x->value = -x->value;
      else if (op == JAC_OP_APPLY)
        x->value = jac_func_apply (func, x->value);
      x->start = start;
      x->end = end;
      return TRUE;
    }
  node = pg_unary (P, op, func, materialize (P, x), &local);
  if (node < 0)
    return fail (P, op_at, local->code, "%s", local->message);
  record_span (P, node, start, end, op_at);
  x->node = node;
  x->start = start;
  x->end = end;
  return TRUE;
}

/* digits [. digits] [e [+-] digits], or . digits …; anything glued to it makes it a bad number. */
static gboolean
parse_number (Parser  *P,
              Operand *out)
{
  const char *start = P->p, *p = start;
  gboolean digits = FALSE;
  g_autofree char *lexeme = NULL;

  for (; g_ascii_isdigit (*p); p++)
    digits = TRUE;
  if (*p == '.' && p[1] != 'T')
    for (p++; g_ascii_isdigit (*p); p++)
      digits = TRUE;
  if (digits && (*p == 'e' || *p == 'E'))
    {
      const char *e = p + 1;

      if (*e == '+' || *e == '-')
        e++;
      digits = g_ascii_isdigit (*e);
      for (p = e; g_ascii_isdigit (*p); p++)
        ;
    }
  if (!digits || is_ident_char (*p) || (*p == '.' && p[1] != 'T'))
    {
      while (is_ident_char (*p) || *p == '.' || ((*p == '+' || *p == '-') &&
                                                 (p[-1] == 'e' || p[-1] == 'E')))
        p++;
      lexeme = g_strndup (start, p - start);
      return fail (P, start, JAC_ERROR_INVALID, "bad number “%s”", lexeme);
    }
  lexeme = g_strndup (start, p - start);
  *out = (Operand) { TRUE, g_ascii_strtod (lexeme, NULL), -1, start, p };
  if (!isfinite (out->value))
    return fail (P, start, JAC_ERROR_INVALID, "number “%s” is too large for a double", lexeme);
  P->p = p;
  return TRUE;
}

static gboolean
is_ambiguous_product (const char *p)
{
  return has_prefix (p, UTF8_TIMES) || has_prefix (p, UTF8_MIDDLE_DOT);
}

static gboolean
fail_ambiguous (Parser     *P,
                const char *at)
{
  g_autofree char *c = token_text (at);

  return fail (P, at, JAC_ERROR_INVALID,
               "“%s” is ambiguous: write @ for the matrix product or * for the element-wise one",
               c);
}

static gboolean
is_known_char (const char *p)
{
  return (*p != '\0' && strchr ("()+-*/@.=,", *p) != NULL) || g_ascii_isalnum (*p) ||
         *p == '_' ||
         has_prefix (p, UTF8_MINUS) || has_prefix (p, UTF8_ODOT) || has_prefix (p, UTF8_SUPER_T);
}

static gboolean
fail_unexpected (Parser     *P,
                 const char *at,
                 const char *expected)
{
  g_autofree char *found = token_text (at);

  if (*at == '\0')
    return fail (P, at, JAC_ERROR_INVALID, "expected %s at the end of the expression", expected);
  if (is_ambiguous_product (at))
    return fail_ambiguous (P, at);
  if (!is_known_char (at))
    return fail (P, at, JAC_ERROR_INVALID, "unknown character “%s”", found);
  return fail (P, at, JAC_ERROR_INVALID, "expected %s, found “%s”", expected, found);
}

static gboolean
is_declared (const Parser *P,
             const char   *name)
{
  guint rank;
  gsize shape[2];

  return lookup_symbolic (P->declared != NULL ? P->declared : P->env, name, &rank, shape, NULL);
}

static gboolean
parse_variable (Parser     *P,
                const char *start,
                const char *end,
                Operand    *out)
{
  g_autofree char *name = g_strndup (start, end - start);
  int node = P->infer != NULL ? -1 : jac_graph_find_variable (P->graph, name);
  g_autoptr(GError) budget_error = NULL;
  const Operand *assigned = g_hash_table_lookup (P->assigned, name);
  guint assigned_at = GPOINTER_TO_UINT (g_hash_table_lookup (P->assigned_at, name));

  if (assigned != NULL)
    {
      *out = *assigned;
      out->start = start;
      out->end = end;
      return TRUE;
    }
  /* A declared name is an input: its assignment is the error, reported there. */
  if (assigned_at > 0 && is_declared (P, name))
    assigned_at = 0;
  if (assigned_at == P->statement + 1)
    return fail (P, start, JAC_ERROR_INVALID,
                 "“%s” is used in its own assignment: a name is assigned once, so the value it "
                 "starts from is an input of another name (%s_prev)", name, name);
  if (assigned_at > 0)
    return fail (P, start, JAC_ERROR_INVALID,
                 "“%s” is used before it is assigned (statement %u assigns it)", name,
                 assigned_at);
  if (P->infer != NULL)
    {
      Infer *inf = P->infer;
      gpointer known = g_hash_table_lookup (inf->variables, name);
      const char *symbols[2] = { NULL, NULL };
      gsize shape[2] = { 0, 0 };
      int dim[2] = { -1, -1 };
      guint rank;
      gboolean free_size = FALSE;

      if (known != NULL)
        {
          *out = (Operand) { FALSE, 0.0, GPOINTER_TO_INT (known) - 1, start, end };
          return TRUE;
        }
      if (jac_shape_env_get_size (P->env, name, NULL) &&
          !lookup_symbolic (P->env, name, &rank, shape, symbols))
        {
          /* A size symbol is not a variable: the second pass says so. */
          *out = (Operand) { FALSE, 0.0, sym_new (inf, 0, -1, -1), start, end };
          return TRUE;
        }
      if (!lookup_symbolic (P->env, name, &rank, shape, symbols))
        {
          /* The Cookbook's convention: x is a vector, X a matrix. */
          rank = g_ascii_islower (name[0]) ? 1 : 2;
          free_size = TRUE;
        }
      for (guint a = 0; a < rank; a++)
        {
          if (shape[a] > 0)
            dim[a] = dim_new (inf, shape[a]);
          else if (symbols[a] != NULL)
            {
              gpointer c = g_hash_table_lookup (inf->symbols, symbols[a]);

              if (c == NULL)
                {
                  c = GINT_TO_POINTER (dim_new (inf, 0) + 1);
                  g_hash_table_insert (inf->symbols, g_strdup (symbols[a]), c);
                }
              dim[a] = GPOINTER_TO_INT (c) - 1;
              free_size = TRUE;
            }
          else
            dim[a] = dim_new (inf, 0);
        }
      node = sym_new (inf, rank, dim[0], dim[1]);
      g_hash_table_insert (inf->variables, g_strdup (name), GINT_TO_POINTER (node + 1));
      if (free_size)
        g_ptr_array_add (inf->inferred, g_strdup (name));
      *out = (Operand) { FALSE, 0.0, node, start, end };
      return TRUE;
    }
  if (node < 0)
    {
      guint rank;
      gsize shape[2];

      gsize size;

      if (!jac_shape_env_lookup (P->env, name, &rank, shape) &&
          jac_shape_env_get_size (P->env, name, &size))
        return fail (P, start, JAC_ERROR_INVALID,
                     "“%s” is a size (%s = %" G_GSIZE_FORMAT "), not a variable: use another name "
                     "for a variable", name, name, size);
      if (!jac_shape_env_lookup (P->env, name, &rank, shape))
        return fail (P, start, JAC_ERROR_INVALID,
                     "unknown variable “%s” (declare its shape or load it)", name);
      if (!jac_shape_fits_budget (rank, shape, name, &budget_error))
        return fail (P, start, JAC_ERROR_TOO_LARGE, "%s", budget_error->message);
      node = jac_graph_add_variable (P->graph, name, rank, shape);
      record_span (P, node, start, end, start);
    }
  *out = (Operand) { FALSE, 0.0, node, start, end };
  return TRUE;
}

/* The functions that are not element-wise, with how many arguments they take. */
typedef enum
{
  CALL_APPLY,       /* an element-wise function */
  CALL_SUM,
  CALL_MEAN,
  CALL_LOGSUMEXP,
  CALL_NORM,
  CALL_SOFTMAX,
  CALL_TRACE,
  CALL_DIAG,
  CALL_DET,
  CALL_LOGDET,
  CALL_INV,
  CALL_KRON,
} CallKind;

static const struct
{
  const char *name;
  CallKind    kind;
  guint       min_args;
  guint       max_args;
  const char *hint;     /* why a second argument is refused, or what the two are */
} calls[] = {
  { "sum", CALL_SUM, 1, 2, " (sum(X) adds every entry, sum(X, axis) along axis 0 or 1)" },
  { "mean", CALL_MEAN, 1, 2, " (mean(X) or mean(X, axis))" },
  { "logsumexp", CALL_LOGSUMEXP, 1, 2, " (logsumexp(X) or logsumexp(X, axis))" },
  { "norm", CALL_NORM, 1, 1, " (the Frobenius norm of all entries)" },
  { "softmax", CALL_SOFTMAX, 1, 1, " (it works along the rows)" },
  { "tr", CALL_TRACE, 1, 1, "" },
  { "trace", CALL_TRACE, 1, 1, "" },
  { "diag", CALL_DIAG, 1, 1, " (diag(v) makes a diagonal matrix, diag(X) takes the diagonal)" },
  { "det", CALL_DET, 1, 1, "" },
  { "logdet", CALL_LOGDET, 1, 1, " (log |det X|)" },
  { "inv", CALL_INV, 1, 1, "" },
  { "kron", CALL_KRON, 2, 2, " (kron(A, B))" },
};

static gboolean
find_call (const char *name,
           guint      *index)
{
  for (guint c = 0; c < G_N_ELEMENTS (calls); c++)
    if (g_str_equal (name, calls[c].name))
      {
        *index = c;
        return TRUE;
      }
  return FALSE;
}

/* A node over @x (materialized) spanning the whole call; @x becomes it. */
static gboolean
wrap_node (Parser     *P,
           int         node,
           GError     *local,
           const char *start,
           const char *end,
           const char *op_at,
           Operand    *x)
{
  if (node < 0)
    {
      gboolean ok = fail (P, op_at, local->code, "%s", local->message);

      g_error_free (local);
      return ok;
    }
  record_span (P, node, start, end, op_at);
  *x = (Operand) { FALSE, 0.0, node, start, end };
  return TRUE;
}

static gboolean
add_call_unary (Parser     *P,
                JacOp       op,
                JacFunc     func,
                const char *start,
                const char *end,
                const char *op_at,
                Operand    *x)
{
  GError *local = NULL;
  int node = pg_unary (P, op, func, materialize (P, x), &local);

  return wrap_node (P, node, local, start, end, op_at, x);
}

/* An axis: a whole number, 0 or 1 (−1 and −2 count from the end, as in NumPy), optionally
 * written axis=1. */
static gboolean
parse_axis (Parser        *P,
            const char    *name,
            const Operand *operand,
            guint         *axis)
{
  const char *at = skip_space (P->p);
  const char *value_at;
  Operand value;
  guint rank;

  if (has_prefix (at, "axis") && !is_ident_char (at[4]) && *skip_space (at + 4) == '=')
    P->p = skip_space (at + 4) + 1;
  value_at = skip_space (P->p);
  if (!parse_sum (P, &value))
    return FALSE;
  rank = operand->is_const ? 0 : pg_rank (P, operand->node);
  if (!value.is_const || value.value != round (value.value))
    {
      g_autofree char *text = operand_text (&value);

      return fail (P, value_at, JAC_ERROR_INVALID,
                   "the axis of “%s” must be a whole number (0 or 1), not “%s”", name, text);
    }
  if (value.value < -(double) rank || value.value >= rank)
    {
      g_autofree char *text = operand_text (&value);

      if (rank == 0)
        return fail (P, value_at, JAC_ERROR_SHAPE,
                     "bad axis %s: the argument of “%s” is a scalar, it has no axis", text, name);
      return fail (P, value_at, JAC_ERROR_SHAPE,
                   "bad axis %s for “%s”: its argument has %u ax%s (0%s)", text, name, rank,
                   rank == 1 ? "is" : "es", rank == 1 ? " only" : " or 1");
    }
  *axis = value.value < 0 ? (guint) (rank + value.value) : (guint) value.value;
  return TRUE;
}

/* sum(X, axis) as a node. */
static gboolean
add_sum_axis (Parser     *P,
              guint       axis,
              const char *start,
              const char *end,
              const char *op_at,
              Operand    *x)
{
  GError *local = NULL;
  int node = pg_sum_axis (P, materialize (P, x), axis, &local);

  return wrap_node (P, node, local, start, end, op_at, x);
}

/* x / n for a count n: the mean as the sum divided by the number of entries. */
static gboolean
add_divide_by (Parser     *P,
               gsize       count,
               const char *start,
               const char *end,
               const char *op_at,
               Operand    *x)
{
  GError *local = NULL;
  int divisor = pg_constant (P, (double) count);
  int node;

  record_span (P, divisor, start, end, op_at);
  node = pg_binary (P, JAC_OP_DIV, materialize (P, x), divisor, &local);
  return wrap_node (P, node, local, start, end, op_at, x);
}

/* Functions that are not element-wise become graph nodes, some of them several: mean(X) is
 * sum(X) / n, norm(X) is sqrt(sum(square(X))) and logsumexp(X) is log(sum(exp(X))), so that the
 * derivation, the figure and every check treat them with the rules they already have. */
static gboolean
build_call (Parser     *P,
            guint       c,
            Operand    *args,
            guint       n_args,
            guint       axis,
            const char *start,
            const char *end,
            Operand    *out)
{
  const char *name = calls[c].name;
  Operand *x = &args[0];

  *out = *x;
  if (calls[c].kind != CALL_KRON && x->is_const &&
      (calls[c].kind == CALL_SUM || calls[c].kind == CALL_MEAN) && n_args == 1)
    {
      /* A constant is its own sum and mean, as before. */
      out->start = start;
      out->end = end;
      return TRUE;
    }
  switch (calls[c].kind)
    {
    case CALL_SUM:
    case CALL_MEAN:
    case CALL_LOGSUMEXP:
      {
        guint rank = x->is_const ? 0 : pg_rank (P, x->node);
        int operand = x->node;
        gsize count = 1;

        if (calls[c].kind == CALL_LOGSUMEXP &&
            !add_call_unary (P, JAC_OP_APPLY, JAC_FUNC_EXP, start, end, start, out))
          return FALSE;
        if (n_args == 1)
          {
            if (!add_call_unary (P, JAC_OP_SUM, 0, start, end, start, out))
              return FALSE;
            for (guint a = 0; a < rank; a++)
              count *= MAX (pg_dim (P, operand, a), 1);
          }
        else
          {
            count = MAX (pg_dim (P, operand, axis), 1);
            if (!add_sum_axis (P, axis, start, end, start, out))
              return FALSE;
          }
        if (calls[c].kind == CALL_MEAN && count != 1)
          return add_divide_by (P, count, start, end, start, out);
        if (calls[c].kind == CALL_LOGSUMEXP)
          return add_call_unary (P, JAC_OP_APPLY, JAC_FUNC_LOG, start, end, start, out);
        return TRUE;
      }
    case CALL_NORM:
      return add_call_unary (P, JAC_OP_APPLY, JAC_FUNC_SQUARE, start, end, start, out) &&
             add_call_unary (P, JAC_OP_SUM, 0, start, end, start, out) &&
             add_call_unary (P, JAC_OP_APPLY, JAC_FUNC_SQRT, start, end, start, out);
    case CALL_SOFTMAX:
      return add_call_unary (P, JAC_OP_SOFTMAX, 0, start, end, start, out);
    case CALL_TRACE:
      return add_call_unary (P, JAC_OP_TRACE, 0, start, end, start, out);
    case CALL_DIAG:
      return add_call_unary (P, JAC_OP_DIAG, 0, start, end, start, out);
    case CALL_DET:
      return add_call_unary (P, JAC_OP_DET, 0, start, end, start, out);
    case CALL_LOGDET:
      return add_call_unary (P, JAC_OP_LOGDET, 0, start, end, start, out);
    case CALL_INV:
      return add_call_unary (P, JAC_OP_INV, 0, start, end, start, out);
    case CALL_KRON:
      {
        GError *local = NULL;
        int node;

        if (x->is_const || args[1].is_const)
          return fail (P, start, JAC_ERROR_SHAPE,
                       "kron takes two matrices or two vectors, but “%s” is given a number: use * "
                       "to scale", name);
        node = pg_binary (P, JAC_OP_KRON, x->node, args[1].node, &local);
        return wrap_node (P, node, local, start, end, start, out);
      }
    case CALL_APPLY:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
parse_call (Parser     *P,
            const char *name_start,
            const char *name_end,
            Operand    *out)
{
  g_autofree char *name = g_strndup (name_start, name_end - name_start);
  JacFunc func = JAC_FUNC_IDENTITY;
  Operand args[2];
  guint c = 0, n_args = 0, axis = 0;
  gboolean takes_axis, keepdims;

  if (!find_call (name, &c) && (!jac_func_from_name (name, &func) || func == JAC_FUNC_POWER))
    return fail (P, name_start, JAC_ERROR_INVALID, "unknown function “%s”", name);

  P->p = skip_space (P->p) + 1;   /* the '(' */
  if (*skip_space (P->p) == ')')
    return fail (P, skip_space (P->p), JAC_ERROR_INVALID, "“%s” takes %s", name,
                 find_call (name, &c) && calls[c].min_args == 2 ? "two arguments"
                 : find_call (name, &c) && calls[c].max_args == 2 ? "one or two arguments"
                                                                  : "one argument");
  if (!find_call (name, &c))
    {
      /* An element-wise function. */
      if (!parse_sum (P, out))
        return FALSE;
      P->p = skip_space (P->p);
      if (*P->p == ',')
        return fail (P, P->p, JAC_ERROR_INVALID, "“%s” takes one argument", name);
      if (*P->p != ')')
        return fail_unexpected (P, P->p, "an operator or “)”");
      P->p++;
      return apply_unary (P, JAC_OP_APPLY, func, name_start, P->p, name_start, out);
    }

  takes_axis = calls[c].kind == CALL_SUM || calls[c].kind == CALL_MEAN ||
               calls[c].kind == CALL_LOGSUMEXP;
  keepdims = FALSE;
  for (;;)
    {
      const char *at;

      if (n_args == 1 && takes_axis)
        {
          if (!parse_axis (P, name, &args[0], &axis))
            return FALSE;
        }
      else if (!parse_sum (P, &args[n_args]))
        return FALSE;
      n_args++;
      at = skip_space (P->p);
      if (*at != ',')
        break;
      if (n_args == 2 && takes_axis && has_prefix (skip_space (at + 1), "keepdims"))
        {
          /* keepdims=True, as NumPy has it: the summed axis stays, of extent 1, so that
           * X - mean(X, 1, keepdims=True) centres the rows. */
          const char *key = skip_space (at + 1), *value = skip_space (key + 8);

          if (*value != '=')
            return fail (P, value, JAC_ERROR_INVALID, "expected “=” after “keepdims”");
          value = skip_space (value + 1);
          if (has_prefix (value, "True") && !is_ident_char (value[4]))
            keepdims = TRUE;
          else if (!(has_prefix (value, "False") && !is_ident_char (value[5])))
            return fail (P, value, JAC_ERROR_INVALID, "keepdims is True or False");
          P->p = skip_ident (value);
          if (keepdims && pg_rank (P, args[0].node) != 2)
            return fail (P, key, JAC_ERROR_SHAPE,
                         "keepdims=True needs a matrix (a vector's sum is a scalar)");
          at = skip_space (P->p);
          if (*at == ',')
            return fail (P, at, JAC_ERROR_INVALID, "“%s” takes at most three arguments", name);
          break;
        }
      if (n_args == calls[c].max_args)
        return fail (P, at, JAC_ERROR_INVALID, "“%s” takes %s%s", name,
                     calls[c].max_args == 1 ? "one argument" : "at most two arguments",
                     calls[c].hint);
      P->p = at + 1;
      if (*skip_space (P->p) == ')' )
        return fail (P, skip_space (P->p), JAC_ERROR_INVALID, "expected an argument after “,”");
    }
  P->p = skip_space (P->p);
  if (*P->p != ')')
    return fail_unexpected (P, P->p, "an operator, “,” or “)”");
  if (n_args < calls[c].min_args)
    return fail (P, P->p, JAC_ERROR_INVALID, "“%s” takes two arguments%s", name,
                 calls[c].hint);
  P->p++;
  if (!build_call (P, c, args, n_args, axis, name_start, P->p, out))
    return FALSE;
  return !keepdims || reshape_operand (P, out, 2, axis);
}

static gboolean
is_function_name (const char *name)
{
  JacFunc func;
  guint c;

  return (jac_func_from_name (name, &func) && func != JAC_FUNC_POWER) || find_call (name, &c);
}

static gboolean
parse_name (Parser  *P,
            Operand *out)
{
  const char *start = P->p, *end = skip_ident (start);
  g_autofree char *name = g_strndup (start, end - start);

  P->p = end;
  if (*skip_space (end) == '(')
    return parse_call (P, start, end, out);
  if (is_function_name (name))
    return fail (P, start, JAC_ERROR_INVALID, "“%s” is a function: write %s(…)", name, name);
  return parse_variable (P, start, end, out);
}

static gboolean
is_dot_t (const char *p)
{
  return p[0] == '.' && p[1] == 'T' && !is_ident_char (p[2]);
}

static gboolean
parse_primary (Parser  *P,
               Operand *out)
{
  const char *at = P->p = skip_space (P->p);

  if (*at == '(')
    {
      P->p++;
      if (!parse_sum (P, out))
        return FALSE;
      P->p = skip_space (P->p);
      if (*P->p != ')')
        return fail_unexpected (P, P->p, "an operator or “)”");
      P->p++;
      out->start = at;
      out->end = P->p;
      return TRUE;
    }
  if (is_dot_t (at) || has_prefix (at, UTF8_SUPER_T))
    return fail (P, at, JAC_ERROR_INVALID, "“%s” has nothing to transpose",
                 *at == '.' ? ".T" : UTF8_SUPER_T);
  if (g_ascii_isdigit (*at) || (*at == '.' && g_ascii_isdigit (at[1])))
    return parse_number (P, out);
  if (is_ident_start (*at))
    return parse_name (P, out);
  return fail_unexpected (P, at, "an operand");
}

static gboolean
parse_postfix (Parser  *P,
               Operand *out)
{
  if (!parse_primary (P, out))
    return FALSE;
  for (;;)
    {
      const char *at = skip_space (P->p);
      const char *end;

      if (is_dot_t (at))
        end = at + 2;
      else if (has_prefix (at, UTF8_SUPER_T))
        end = at + strlen (UTF8_SUPER_T);
      else if (*at == '.')
        return fail (P, at, JAC_ERROR_INVALID, "expected “T” after “.” (only .T is supported)");
      else
        return TRUE;
      P->p = end;
      if (!apply_unary (P, JAC_OP_TRANSPOSE, 0, out->start, end, at, out))
        return FALSE;
    }
}

static gboolean parse_unary (Parser  *P,
                             Operand *out);

/* X ** p, element-wise, for a constant real p (folded: `X ** -1`, `X ** (1/2)`). ** binds
 * tighter than a prefix minus and to the right, as in NumPy: -X ** 2 is -(X²), and the exponent
 * may carry its own sign. p = 2 is square (X), so that X ** 2 reads X² as before. */
static gboolean
parse_power (Parser  *P,
             Operand *out)
{
  const char *at, *exponent_at;
  Operand exponent;
  g_autoptr(GError) local = NULL;
  int node;

  if (!parse_postfix (P, out))
    return FALSE;
  at = skip_space (P->p);
  if (!has_prefix (at, "**"))
    return TRUE;
  P->p = at + 2;
  exponent_at = skip_space (P->p);
  if (!parse_unary (P, &exponent))
    return FALSE;
  if (!exponent.is_const)
    {
      g_autofree char *text = operand_text (&exponent);

      return fail (P, exponent_at, JAC_ERROR_INVALID,
                   "the exponent of ** must be a constant number, not “%s” (use exp and log for "
                   "a variable power)", text);
    }
  if (exponent.value == 2.0)
    return apply_unary (P, JAC_OP_APPLY, JAC_FUNC_SQUARE, out->start, exponent.end, at, out);
  if (out->is_const)
    {
      out->value = pow (out->value, exponent.value);
      out->end = exponent.end;
      if (!isfinite (out->value))
        return fail (P, at, JAC_ERROR_INVALID, "the constant power is not a finite number");
      return TRUE;
    }
  node = pg_power (P, materialize (P, out), exponent.value, &local);
  if (node < 0)
    return fail (P, at, local->code, "%s", local->message);
  record_span (P, node, out->start, exponent.end, at);
  out->node = node;
  out->end = exponent.end;
  return TRUE;
}

static gboolean
parse_unary_inner (Parser  *P,
                   Operand *out);

static gboolean
parse_unary (Parser  *P,
             Operand *out)
{
  gboolean ok;

  /* The operand itself is parsed one call deeper than its level. */
  if (++P->depth > MAX_DEPTH + 1)
    return fail (P, skip_space (P->p), JAC_ERROR_INVALID,
                 "too deeply nested: more than %d levels", MAX_DEPTH);
  ok = parse_unary_inner (P, out);
  P->depth--;
  return ok;
}

static gboolean
parse_unary_inner (Parser  *P,
                   Operand *out)
{
  const char *at = P->p = skip_space (P->p);
  gsize len = *at == '-' || *at == '+' ? 1 : has_prefix (at, UTF8_MINUS) ? strlen (UTF8_MINUS) : 0;

  if (len == 0)
    return parse_power (P, out);
  P->p += len;
  if (!parse_unary (P, out))
    return FALSE;
  if (*at == '+')
    {
      out->start = at;
      return TRUE;
    }
  return apply_unary (P, JAC_OP_NEGATE, 0, at, out->end, at, out);
}

/* The operator at @p among '*', '/', '@' and '⊙' (but not "**"), with its length. */
static gboolean
product_operator (const char *p,
                  JacOp      *op,
                  gsize      *len)
{
  if (has_prefix (p, UTF8_ODOT))
    {
      *op = JAC_OP_MUL;
      *len = strlen (UTF8_ODOT);
      return TRUE;
    }
  *len = 1;
  switch (*p)
    {
    case '*': *op = JAC_OP_MUL; return p[1] != '*';
    case '/': *op = JAC_OP_DIV; return TRUE;
    case '@': *op = JAC_OP_MATMUL; return TRUE;
    default: return FALSE;
    }
}

static gboolean
parse_term (Parser  *P,
            Operand *out)
{
  if (!parse_unary (P, out))
    return FALSE;
  for (;;)
    {
      const char *at = skip_space (P->p);
      Operand rhs;
      JacOp op;
      gsize len;

      if (is_ambiguous_product (at))
        return fail_ambiguous (P, at);
      if (!product_operator (at, &op, &len))
        return TRUE;
      P->p = at + len;
      if (!parse_unary (P, &rhs) || !combine (P, op, at, out, &rhs))
        return FALSE;
    }
}

static gboolean
parse_sum (Parser  *P,
           Operand *out)
{
  if (!parse_term (P, out))
    return FALSE;
  for (;;)
    {
      const char *at = skip_space (P->p);
      gsize len = *at == '+' || *at == '-' ? 1 : has_prefix (at, UTF8_MINUS) ? strlen (UTF8_MINUS)
                                                                            : 0;
      Operand rhs;

      if (len == 0)
        return TRUE;
      P->p = at + len;
      if (!parse_term (P, &rhs) ||
          !combine (P, *at == '+' ? JAC_OP_ADD : JAC_OP_SUB, at, out, &rhs))
        return FALSE;
    }
}

/* ---- programs: statements, assignments ---- */

static void
assignment_clear (gpointer data)
{
  g_free (((JacAssignment *) data)->name);
}

/* One statement of the program, in the parser's copy of the source, where its separator has
 * been overwritten with NUL. */
typedef struct
{
  const char *start;
  const char *separator;  /* the ';' or new line that ended it in the source, NULL at the end */
  const char *name;       /* the assigned name, NULL when the statement has none */
  const char *name_end;
  const char *value;      /* what follows '=', or start */
} Statement;

/* "NAME =" (not "==") at @p: the end of NAME, or NULL. */
static const char *
assignment_name_end (const char *p)
{
  const char *end, *eq;

  if (!is_ident_start (*p))
    return NULL;
  end = skip_ident (p);
  eq = skip_blanks (end);
  if (eq[0] != '=' || eq[1] == '=')
    return NULL;
  return end;
}

static void
read_statement_name (Statement *s)
{
  const char *start = skip_space (s->start);
  const char *end = assignment_name_end (start);

  s->value = s->start;
  if (end == NULL)
    return;
  s->name = start;
  s->name_end = end;
  s->value = skip_blanks (end) + 1;
}

/* Splits @text in place at every ';' and at every new line outside parentheses that ends a
 * statement and that an assignment follows; any other new line is a space, so that an
 * expression may run over several lines and blank lines separate nothing. */
static GArray *
split_statements (char *text)
{
  GArray *statements = g_array_new (FALSE, TRUE, sizeof (Statement));
  Statement s = { text, NULL, NULL, NULL, NULL };
  int depth = 0;

  for (char *p = text; *p != '\0'; p++)
    {
      depth += *p == '(' ? 1 : *p == ')' && depth > 0 ? -1 : 0;
      if (*p != ';' && (*p != '\n' || depth > 0 ||
                        skip_space (s.start) >= p ||
                        assignment_name_end (skip_space (p + 1)) == NULL))
        continue;
      s.separator = p;
      *p = '\0';
      g_array_append_val (statements, s);
      s = (Statement) { p + 1, NULL, NULL, NULL, NULL };
      depth = 0;
    }
  g_array_append_val (statements, s);
  for (guint k = 0; k < statements->len; k++)
    read_statement_name (&g_array_index (statements, Statement, k));
  return statements;
}

/* Parentheses are checked first, so that "tanh((X)" points at the "(" that is never closed. */
static gboolean
check_parentheses (Parser     *P,
                   const char *start)
{
  g_autoptr(GArray) open = g_array_new (FALSE, FALSE, sizeof (const char *));

  for (const char *p = start; *p != '\0'; p++)
    {
      if (*p == '(')
        g_array_append_val (open, p);
      else if (*p == ')' && open->len == 0)
        return fail (P, p, JAC_ERROR_INVALID,
                     "unbalanced parenthesis: “)” at column %" G_GSIZE_FORMAT
                     " has no matching “(”", offset_of (P, p) + 1);
      else if (*p == ')')
        g_array_set_size (open, open->len - 1);
    }
  if (open->len > 0)
    {
      const char *p = g_array_index (open, const char *, open->len - 1);

      return fail (P, p, JAC_ERROR_INVALID,
                   "unbalanced parenthesis: “(” at column %" G_GSIZE_FORMAT " is never closed",
                   offset_of (P, p) + 1);
    }
  return TRUE;
}

static char *
default_output_name (const Parser *P)
{
  const char *candidates[] = { "Y", "F", "Out" };

  for (guint c = 0; c < G_N_ELEMENTS (candidates); c++)
    if (jac_graph_find_variable (P->graph, candidates[c]) < 0 &&
        !g_hash_table_contains (P->assigned, candidates[c]))
      return g_strdup (candidates[c]);
  return g_strdup ("Output");
}

/* Operands come before the nodes that use them, so one pass finds every node's depth. */
static gboolean
check_graph_depth (Parser *P)
{
  guint n = P->graph->nodes->len;
  g_autofree guint *depth = g_new0 (guint, MAX (n, 1));

  for (guint k = 0; k < n; k++)
    {
      const JacNode *node = jac_graph_node (P->graph, (int) k);
      guint d = 0;

      if (node->lhs >= 0)
        d = MAX (d, depth[node->lhs]);
      if (node->rhs >= 0)
        d = MAX (d, depth[node->rhs]);
      depth[k] = d + 1;
      if (depth[k] > MAX_GRAPH_DEPTH)
        {
          const JacSpan *span = k < P->spans->len ? &g_array_index (P->spans, JacSpan, k) : NULL;

          if (P->error_pos != NULL)
            *P->error_pos = span != NULL ? span->op : 0;
          g_set_error (P->error, JAC_ERROR, JAC_ERROR_INVALID,
                       "too deeply nested: more than %d operations one inside another",
                       MAX_GRAPH_DEPTH);
          return FALSE;
        }
    }
  return TRUE;
}

/* What a name to assign may not be: a function, a name assigned before, a declared input. */
static gboolean
check_assigned_name (Parser          *P,
                     const Statement *s,
                     const char      *name)
{
  gpointer first = g_hash_table_lookup (P->assigned_at, name);

  if (is_function_name (name))
    return fail (P, s->name, JAC_ERROR_INVALID, "“%s” is a function: assign another name", name);
  if (GPOINTER_TO_UINT (first) - 1 != P->statement)
    return fail (P, s->name, JAC_ERROR_INVALID,
                 "“%s” is assigned twice (first in statement %u): a name is assigned once", name,
                 GPOINTER_TO_UINT (first));
  return TRUE;
}

/* Checked once the value is read, so that a syntax error in it comes first. */
static gboolean
check_not_declared (Parser          *P,
                    const Statement *s,
                    const char      *name)
{
  if (is_declared (P, name))
    return fail (P, s->name, JAC_ERROR_INVALID,
                 "“%s” cannot also be a variable: it is assigned here and declared as an input; "
                 "rename one", name);
  return TRUE;
}

/* After a statement's value: nothing but its end. */
static gboolean
check_statement_end (Parser *P)
{
  g_autofree char *found = NULL;

  P->p = skip_space (P->p);
  if (*P->p == '\0')
    return TRUE;
  found = token_text (P->p);
  if (*P->p == '=')
    return fail (P, P->p, JAC_ERROR_INVALID,
                 "unexpected “=”: only an output name may come before “=”, as in h = …");
  if (is_known_char (P->p) || is_ambiguous_product (P->p))
    return fail (P, P->p, JAC_ERROR_INVALID,
                 "unexpected “%s” after a complete expression (missing an operator?)", found);
  return fail_unexpected (P, P->p, "an operator");
}

/* Labels the statement's value with its name, unless it is a variable or another name's value
 * (a = x, b = a): an alias adds no node. */
static void
label_value (Parser        *P,
             const Operand *value,
             const char    *name)
{
  JacNode *node;

  if (P->infer != NULL || value->is_const)
    return;
  node = jac_graph_node (P->graph, value->node);
  if (node->op != JAC_OP_VARIABLE && node->label == NULL)
    node->label = g_strdup (name);
}

static gboolean
parse_assignment (Parser          *P,
                  JacExpr         *expr,
                  const Statement *s,
                  Operand         *value)
{
  g_autofree char *name = s->name != NULL ? g_strndup (s->name, s->name_end - s->name) : NULL;
  JacAssignment assignment = { NULL, -1, 0 };

  if (!check_parentheses (P, s->start) || (name != NULL && !check_assigned_name (P, s, name)))
    return FALSE;
  P->p = s->value;
  if (name != NULL && *skip_space (P->p) == '\0')
    return fail (P, P->p, JAC_ERROR_INVALID, "expected an expression after “=”");
  if (!parse_sum (P, value) || !check_statement_end (P))
    return FALSE;
  if (name == NULL)
    return TRUE;
  if (!check_not_declared (P, s, name))
    return FALSE;
  label_value (P, value, name);
  g_hash_table_insert (P->assigned, g_strdup (name), g_memdup2 (value, sizeof *value));
  assignment.name = g_steal_pointer (&name);
  assignment.node = value->is_const ? -1 : value->node;
  assignment.position = offset_of (P, s->name);
  g_array_append_val (expr->assignments, assignment);
  return TRUE;
}

/* An empty statement is an error, but for one after the last ';' (a; b;). */
static gboolean
check_empty_statements (Parser *P,
                        GArray *statements)
{
  for (guint k = 0; k < statements->len; k++)
    {
      const Statement *s = &g_array_index (statements, Statement, k);

      if (*skip_space (s->start) != '\0')
        continue;
      if (statements->len == 1)
        return fail (P, P->src, JAC_ERROR_INVALID, "empty expression");
      if (k + 1 == statements->len)
        {
          g_array_set_size (statements, k);
          return TRUE;
        }
      return fail (P, s->separator, JAC_ERROR_INVALID,
                   "empty statement: nothing before this “%s”",
                   *s->separator == ';' ? ";" : "new line");
    }
  return TRUE;
}

/* Every statement's name, so that a use before the assignment can say so. */
static void
collect_assigned_names (Parser *P,
                        GArray *statements)
{
  for (guint k = 0; k < statements->len; k++)
    {
      const Statement *s = &g_array_index (statements, Statement, k);
      g_autofree char *name = NULL;

      if (s->name == NULL)
        continue;
      name = g_strndup (s->name, s->name_end - s->name);
      if (!g_hash_table_contains (P->assigned_at, name))
        g_hash_table_insert (P->assigned_at, g_steal_pointer (&name), GUINT_TO_POINTER (k + 1));
    }
}

static gboolean
parse_statements (Parser  *P,
                  JacExpr *expr,
                  GArray  *statements,
                  Operand *root)
{
  for (guint k = 0; k < statements->len; k++)
    {
      const Statement *s = &g_array_index (statements, Statement, k);

      P->statement = k;
      if (s->name == NULL && k + 1 < statements->len)
        return fail (P, skip_space (s->start), JAC_ERROR_INVALID,
                     "every statement but the last assigns a name: NAME = …");
      if (!parse_assignment (P, expr, s, root))
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_program (Parser  *P,
               JacExpr *expr)
{
  g_autoptr(GArray) statements = split_statements ((char *) P->src);
  const Statement *last;
  Operand root;

  if (!check_empty_statements (P, statements))
    return FALSE;
  collect_assigned_names (P, statements);
  if (!parse_statements (P, expr, statements, &root))
    return FALSE;
  last = &g_array_index (statements, Statement, statements->len - 1);
  if (root.is_const)
    return fail (P, skip_space (last->start), JAC_ERROR_INVALID,
                 "the expression has no variable: there is nothing to differentiate");
  if (last->name != NULL)
    expr->output_name = g_strndup (last->name, last->name_end - last->name);
  if (expr->output_name != NULL && jac_graph_find_variable (P->graph, expr->output_name) >= 0)
    return fail (P, skip_space (last->start), JAC_ERROR_INVALID,
                 "the output “%s” cannot also be a variable of its expression", expr->output_name);
  if (P->infer == NULL && !check_graph_depth (P))
    return FALSE;
  expr->output_named = expr->output_name != NULL;
  if (expr->output_name == NULL)
    expr->output_name = default_output_name (P);
  P->graph->output = root.node;
  return TRUE;
}

/* ---- choosing the output ---- */

/* Keeps the nodes the new output depends on; spans and assignments follow the renumbering. */
static void
prune_to_output (JacExpr *self,
                 int      output)
{
  g_autofree int *renumber = jac_graph_keep_ancestors (self->graph, output);
  guint n_nodes = self->spans->len;

  for (guint n = 0; n < n_nodes; n++)
    if (renumber[n] >= 0)
      g_array_index (self->spans, JacSpan, renumber[n]) = g_array_index (self->spans, JacSpan, n);
  g_array_set_size (self->spans, self->graph->nodes->len);
  for (guint a = self->assignments->len; a-- > 0;)
    {
      JacAssignment *assignment = &g_array_index (self->assignments, JacAssignment, a);

      if (assignment->node >= 0 && renumber[assignment->node] >= 0)
        assignment->node = renumber[assignment->node];
      else
        g_array_remove_index (self->assignments, a);
    }
}

static JacExpr *
expr_new (const char *source)
{
  JacExpr *expr = g_new0 (JacExpr, 1);

  expr->source = g_strdup (source);
  expr->graph = jac_graph_new ();
  expr->spans = g_array_new (FALSE, TRUE, sizeof (JacSpan));
  expr->assignments = g_array_new (FALSE, TRUE, sizeof (JacAssignment));
  g_array_set_clear_func (expr->assignments, assignment_clear);
  return expr;
}

/* Either pass over @expr's source, on a copy that the statements are split in. */
static gboolean
run_parser (Parser  *P,
            JacExpr *expr)
{
  g_autofree char *text = g_strdup (expr->source);
  gboolean ok;

  P->src = P->p = text;
  P->graph = expr->graph;
  P->spans = expr->spans;
  P->assigned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  P->assigned_at = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ok = parse_program (P, expr);
  g_hash_table_unref (P->assigned);
  g_hash_table_unref (P->assigned_at);
  P->src = P->p = NULL;
  return ok;
}

/* The first pass: NULL when every variable is declared with known sizes; otherwise a copy of
 * @env with the inferred shapes declared, described in *@inferred ("X: (2, 3), W: (3, 4)"). */
static JacShapeEnv *
infer_shapes (const char         *source,
              const JacShapeEnv  *env,
              gsize              *offsets,
              char              **inferred)
{
  Infer inf = { g_array_new (FALSE, FALSE, sizeof (DimClass)),
                g_array_new (FALSE, FALSE, sizeof (SymShape)),
                g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                g_ptr_array_new_with_free_func (g_free),
                g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                g_hash_table_new (g_direct_hash, g_direct_equal), 2 };
  g_autoptr(JacExpr) scratch = expr_new (source);
  g_autoptr(GError) ignored = NULL;
  JacShapeEnv *result = NULL;
  GString *text;
  Parser P = { 0 };

  P.env = env;
  P.error = &ignored;
  P.offsets = offsets;
  P.infer = &inf;
  /* A failure here is the second pass's to report, where it has the real shapes. */
  run_parser (&P, scratch);
  if (inf.inferred->len == 0)
    {
      infer_free (&inf);
      return NULL;
    }

  result = jac_shape_env_new ();
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, env->sizes);
    while (g_hash_table_iter_next (&iter, &key, &value))
      jac_shape_env_set_size (result, key, *(gsize *) value);
    g_hash_table_iter_init (&iter, env->decls);
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        guint rank;
        gsize shape[2] = { 0, 0 };

        lookup_symbolic (env, key, &rank, shape, NULL);
        if ((rank < 1 || shape[0] > 0) && (rank < 2 || shape[1] > 0))
          jac_shape_env_declare (result, key, rank, shape);
      }
  }
  text = g_string_new (NULL);
  for (guint v = 0; v < inf.inferred->len; v++)
    {
      const char *name = g_ptr_array_index (inf.inferred, v);
      SymShape sym = sym_at (&inf, GPOINTER_TO_INT (g_hash_table_lookup (inf.variables, name)) - 1);
      gsize shape[2] = { 0, 0 };
      g_autofree char *shape_text = NULL;

      for (guint a = 0; a < sym.rank; a++)
        shape[a] = dim_value (&inf, dim_settle (&inf, sym.dim[a]));
      jac_shape_env_declare (result, name, sym.rank, shape);
      shape_text = jac_shape_string (sym.rank, shape);
      g_string_append_printf (text, "%s%s: %s", v > 0 ? ", " : "", name, shape_text);
    }
  *inferred = g_string_free (text, FALSE);
  infer_free (&inf);
  return result;
}

JacExpr *
jac_expr_parse (const char         *source,
                const JacShapeEnv  *env,
                gsize              *error_pos,
                GError            **error)
{
  g_autoptr(JacExpr) expr = NULL;
  g_autofree gsize *offsets = NULL;
  g_autoptr(JacShapeEnv) inferred_env = NULL;
  const char *bad = NULL;
  gsize chars = 0;
  Parser P = { 0 };

  g_return_val_if_fail (source != NULL && env != NULL, NULL);

  if (!g_utf8_validate (source, -1, &bad))
    {
      /* The caret goes under the byte; the byte itself is named, never echoed. */
      if (error_pos != NULL)
        *error_pos = g_utf8_strlen (source, bad - source);
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "the expression is not valid UTF-8: byte \\x%02x at character %" G_GSIZE_FORMAT,
                   (guchar) *bad, (gsize) g_utf8_strlen (source, bad - source) + 1);
      return NULL;
    }
  expr = expr_new (source);
  offsets = g_new (gsize, strlen (source) + 1);
  for (const char *c = source;; c = g_utf8_next_char (c))
    {
      const char *next = *c != '\0' ? g_utf8_next_char (c) : c + 1;

      for (const char *b = c; b < next; b++)
        offsets[b - source] = chars;
      chars++;
      if (*c == '\0')
        break;
    }
  inferred_env = infer_shapes (expr->source, env, offsets, &expr->inferred);
  P.env = inferred_env != NULL ? inferred_env : env;
  P.declared = env;
  P.error = error;
  P.error_pos = error_pos;
  P.offsets = offsets;
  if (!run_parser (&P, expr))
    return NULL;
  g_array_set_size (expr->spans, expr->graph->nodes->len);
  /* What the output does not use (a statement nothing reads) is not part of it. */
  prune_to_output (expr, expr->graph->output);
  return g_steal_pointer (&expr);
}

void
jac_expr_free (JacExpr *self)
{
  if (self == NULL)
    return;
  g_free (self->source);
  g_free (self->output_name);
  g_free (self->inferred);
  jac_graph_free (self->graph);
  if (self->spans != NULL)
    g_array_unref (self->spans);
  if (self->assignments != NULL)
    g_array_unref (self->assignments);
  g_free (self);
}

gboolean
jac_expr_set_output (JacExpr     *self,
                     const char  *name,
                     GError     **error)
{
  g_autofree char *names = NULL;

  g_return_val_if_fail (self != NULL && name != NULL, FALSE);

  for (guint a = 0; a < self->assignments->len; a++)
    {
      const JacAssignment *assignment = &g_array_index (self->assignments, JacAssignment, a);

      if (!g_str_equal (assignment->name, name))
        continue;
      if (assignment->node < 0)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "“%s” is a constant: there is nothing to differentiate", name);
          return FALSE;
        }
      g_free (self->output_name);
      self->output_name = g_strdup (name);
      self->output_named = TRUE;
      prune_to_output (self, assignment->node);
      return TRUE;
    }
  names = jac_expr_dup_assigned_names (self);
  g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
               "“%s” is not assigned by the expression (its names: %s)", name,
               *names != '\0' ? names : "none");
  return FALSE;
}

char *
jac_expr_dup_assigned_names (const JacExpr *self)
{
  GString *names = g_string_new (NULL);

  g_return_val_if_fail (self != NULL, NULL);

  for (guint a = 0; a < self->assignments->len; a++)
    g_string_append_printf (names, "%s%s", a > 0 ? ", " : "",
                            g_array_index (self->assignments, JacAssignment, a).name);
  return g_string_free (names, FALSE);
}

const JacSpan *
jac_expr_span (const JacExpr *self,
               int            node)
{
  g_return_val_if_fail (node >= 0 && (guint) node < self->spans->len, NULL);
  return &g_array_index (self->spans, JacSpan, node);
}

char *
jac_expr_dup_node_text (const JacExpr *self,
                        int            node)
{
  g_return_val_if_fail (self != NULL, NULL);

  const JacSpan *span = jac_expr_span (self, node);
  const char *start, *end;

  if (span == NULL)
    return NULL;
  start = g_utf8_offset_to_pointer (self->source, span->start);
  end = g_utf8_offset_to_pointer (self->source, span->end);
  return g_strndup (start, end - start);
}

#define CARET_WINDOW 72

char *
jac_expr_format_caret (const char *raw_source,
                       gsize       position)
{
  g_autofree char *source = NULL;
  glong length;
  const char *at, *line, *line_end;
  GString *out;
  gboolean cut_before = FALSE, cut_after = FALSE;
  glong before = 0, after = 0;

  g_return_val_if_fail (raw_source != NULL, NULL);

  /* Invalid bytes are shown as U+FFFD, one character each, so that the caret still lines up
   * and no raw byte reaches the terminal. */
  source = g_utf8_make_valid (raw_source, -1);
  length = g_utf8_strlen (source, -1);
  at = g_utf8_offset_to_pointer (source, MIN ((glong) position, length));
  line = line_end = at;
  out = g_string_new ("  ");
  while (line > source && line[-1] != '\n')
    line--;
  while (*line_end != '\0' && *line_end != '\n')
    line_end++;
  /* A long line (a 100 kB expression) is shown as a window of at most CARET_WINDOW characters
   * around the caret, cut ends marked with “…”, so that the error stays readable. */
  before = g_utf8_strlen (line, at - line);
  after = g_utf8_strlen (at, line_end - at);
  if (before + after > CARET_WINDOW)
    {
      glong keep_before = MIN (before, MAX (CARET_WINDOW / 2, CARET_WINDOW - after));
      glong keep_after = MIN (after, CARET_WINDOW - keep_before);

      cut_before = keep_before < before;
      cut_after = keep_after < after;
      line = g_utf8_offset_to_pointer (at, -keep_before);
      line_end = g_utf8_offset_to_pointer (at, keep_after);
    }
  if (cut_before)
    g_string_append (out, "…");
  g_string_append_len (out, line, line_end - line);
  if (cut_after)
    g_string_append (out, "…");
  g_string_append (out, "\n  ");
  if (cut_before)
    g_string_append_c (out, ' ');
  /* Tabs stay tabs so that the caret lines up however wide the terminal draws them. */
  for (const char *c = line; c < at; c = g_utf8_next_char (c))
    g_string_append_c (out, *c == '\t' ? '\t' : ' ');
  g_string_append_c (out, '^');
  return g_string_free (out, FALSE);
}

const char *
jac_expr_first_variable (const JacExpr *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  for (guint n = 0; n < self->graph->nodes->len; n++)
    {
      const JacNode *node = jac_graph_node (self->graph, n);

      if (node->op == JAC_OP_VARIABLE)
        return node->name;
    }
  return NULL;
}

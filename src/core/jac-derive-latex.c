/* jac-derive-latex.c: the derivation as LaTeX for a paper: sentences, display math that fits. */
#define G_LOG_DOMAIN "jac-derive"

#include <stdlib.h>
#include <string.h>

#include "jac-analysis.h"
#include "jac-derive-private.h"

/* ---- names ---- */

/* A name in LaTeX as the window writes it: W_{hh}, h_{\mathrm{prev}} (a suffix of three letters
 * or more is a word and goes upright; two, such as hh, read as the letters they are), a base
 * longer than one letter in \mathit. @indexed raises the suffix as the markup does (W^{hh}_{kj}), so that the
 * indices keep the subscript to themselves. Underscores past the first are written out, never as
 * an escaped underscore (which does not exist in math mode). */
char *
_jac_latex_name (const char *name,
                 gboolean    indexed)
{
  const char *underscore = strchr (name, '_');
  GString *s = g_string_new (NULL);
  g_autofree char *base = NULL;
  g_autoptr(GString) suffix = NULL;
  gboolean word = TRUE;

  /* The one non-ASCII name the derivation picks: Γ for G when a variable is called G. */
  if (g_str_equal (name, "Γ"))
    return g_string_free (g_string_append (s, "\\Gamma"), FALSE);
  if (underscore == NULL || underscore == name || underscore[1] == '\0')
    underscore = NULL;
  base = underscore != NULL ? g_strndup (name, underscore - name) : g_strdup (name);
  if (strlen (base) == 1)
    g_string_append (s, base);
  else
    {
      g_autoptr(GString) escaped = g_string_new (base);

      g_string_replace (escaped, "_", "\\text{\\textunderscore}", 0);
      g_string_append_printf (s, "\\mathit{%s}", escaped->str);
    }
  if (underscore == NULL)
    return g_string_free (s, FALSE);
  suffix = g_string_new (underscore + 1);
  for (const char *c = suffix->str; *c != '\0'; c++)
    word &= g_ascii_isalpha (*c) || *c == '_';
  word &= suffix->len >= 3;
  g_string_replace (suffix, "_", "\\text{\\textunderscore}", 0);
  g_string_append_printf (s, word ? "%s{\\mathrm{%s}}" : "%s{%s}", indexed ? "^" : "_",
                          suffix->str);
  return g_string_free (s, FALSE);
}

/* ---- sentences ---- */

/* Non-ASCII characters the sentences use, with what pdflatex takes without a package. */
static const struct { const char *plain, *latex; } text_symbols[] = {
  { "δ", "$\\delta$" }, { "≠", "$\\neq$" }, { "·", "$\\cdot$" }, { "Σ", "$\\sum$" },
  { "⊙", "$\\odot$" }, { "ᵀ", "$^{\\top}$" }, { "−", "$-$" }, { "×", "$\\times$" },
  { "’", "'" }, { "‘", "`" }, { "“", "``" }, { "”", "''" }, { "—", "---" }, { "–", "--" },
  { "…", "\\dots{}" },
};

static gboolean
is_word_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static void
append_word (GString            *out,
             const char         *word,
             gsize               length,
             const char         *letters,
             const char * const *names,
             const char * const *latex_names)
{
  for (guint n = 0; names != NULL && names[n] != NULL; n++)
    if (strlen (names[n]) == length && strncmp (names[n], word, length) == 0)
      {
        g_string_append_printf (out, "$%s$", latex_names[n]);
        return;
      }
  if (length == 1 && g_ascii_isalpha (word[0]) && strchr (letters, word[0]) != NULL)
    {
      g_string_append_printf (out, "$%c$", word[0]);
      return;
    }
  for (gsize c = 0; c < length; c++)
    {
      /* Only a name's underscore is legal here; write any other as text. */
      if (word[c] == '_')
        g_string_append (out, "\\textunderscore{}");
      else
        g_string_append_c (out, word[c]);
    }
}

/* One character of text at *@p, moving past it. */
static void
append_symbol (GString     *out,
               const char **p)
{
  static const char specials[] = "%&#{}$";

  for (guint s = 0; s < G_N_ELEMENTS (text_symbols); s++)
    if (g_str_has_prefix (*p, text_symbols[s].plain))
      {
        g_string_append (out, text_symbols[s].latex);
        *p += strlen (text_symbols[s].plain);
        return;
      }
  if (strchr (specials, **p) != NULL)
    g_string_append_printf (out, "\\%c", **p);
  else if (**p == '<' || **p == '>')
    g_string_append_printf (out, "$%c$", **p);   /* OT1 text has ¡ and ¿ in their places */
  else if (**p == '~')
    g_string_append (out, "\\textasciitilde{}");
  else if (**p == '^')
    g_string_append (out, "\\textasciicircum{}");
  else if (**p == '\\')
    g_string_append (out, "\\textbackslash{}");
  else if ((guchar) **p < 0x80)
    g_string_append_c (out, **p);
  else
    {
      /* A character the table does not know: better a question mark than a pdflatex error. */
      g_string_append_c (out, '?');
      *p = g_utf8_next_char (*p);
      return;
    }
  (*p)++;
}

char *
_jac_latex_words (const char         *plain,
                  const char         *letters,
                  const char * const *names,
                  const char * const *latex_names)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = plain;

  while (*p != '\0')
    {
      if (is_word_char (*p))
        {
          const char *start = p;

          while (is_word_char (*p))
            p++;
          append_word (out, start, p - start, letters, names, latex_names);
        }
      else
        append_symbol (out, &p);
    }
  /* "$p$ = $i$" reads as one formula: "$p = i$". */
  g_string_replace (out, "$ = $", " = ", 0);
  g_string_replace (out, "$ $\\neq$ $", " \\neq ", 0);
  g_string_replace (out, "$$", " ", 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- widths ---- */

/* How wide @math comes out in display style at 10 pt, in pt: a deliberately generous estimate
 * (capitals as wide as W, every operator with its spacing), so that a formula judged to fit does
 * fit. @size is 1 for the main line, 0.7 in scripts. */
static double measure         (const char **p,
                               const char  *end,
                               double       size);
static double measure_command (const char **p,
                               const char  *end,
                               double       size);

static double
measure_group (const char **p,
               const char  *end,
               double       size)
{
  const char *start;
  int depth = 1;

  while (*p < end && g_ascii_isspace (**p))
    (*p)++;
  if (*p >= end)
    return 0;
  if (**p != '{')
    {
      const char *one = *p;

      /* ^\top: one command, not the rest of the formula */
      if (*one == '\\')
        return measure_command (p, end, size);
      (*p)++;
      return measure (&one, one + 1, size);
    }
  start = ++(*p);
  while (*p < end && depth > 0)
    {
      if (**p == '\\' && *p + 1 < end)
        (*p)++;
      else if (**p == '{')
        depth++;
      else if (**p == '}')
        depth--;
      (*p)++;
    }
  return measure (&start, *p - 1, size);
}

/* Upright words: \text, \mathrm, \operatorname, \tanh … A command inside (\textunderscore)
 * counts as one character, braces as none. */
static double
word_width (const char *s,
            gsize       length,
            double      size)
{
  double w = 0;

  for (gsize c = 0; c < length; c++)
    {
      if (s[c] == '{' || s[c] == '}')
        continue;
      if (s[c] == '\\')
        {
          while (c + 1 < length && g_ascii_isalpha (s[c + 1]))
            c++;
          w += 5.2 * size;
          continue;
        }
      w += (s[c] == ' ' ? 3.4 : g_ascii_isupper (s[c]) ? 7.5 : 5.2) * size;
    }
  return w;
}

static double
measure_text_group (const char **p,
                    const char  *end,
                    double       size)
{
  const char *start;

  if (*p >= end || **p != '{')
    return 0;
  start = *p + 1;
  measure_group (p, end, size);   /* only to find the closing brace */
  return word_width (start, *p - 1 - start, size);
}

static double
measure_command (const char **p,
                 const char  *end,
                 double       size)
{
  static const struct { const char *name; double width; } symbols[] = {
    { "partial", 5.8 }, { "delta", 4.5 }, { "sigma", 5.8 }, { "top", 7.8 }, { "quad", 10 },
    { "qquad", 20 }, { "odot", 12.2 }, { "oslash", 12.2 }, { "cdot", 7.2 }, { "neq", 13.4 },
    { "times", 12.2 }, { "dots", 12 }, { "cdots", 12 }, { "infty", 10 }, { "le", 13.4 },
    { "ge", 13.4 }, { "textunderscore", 5 }, { "char", 5 },
  };
  const char *name = *p + 1;
  gsize length = 0;
  double w;

  while (name + length < end && g_ascii_isalpha (name[length]))
    length++;
  if (length == 0)
    {
      /* \, \; \! \{ \} \\ */
      *p = MIN (end, name + 1);
      return *name == ',' ? 1.7 : *name == ';' ? 2.8 : *name == '!' ? -1.7 : 5 * size;
    }
  *p = name + length;
#define IS(word) (length == strlen (word) && strncmp (name, word, length) == 0)
  if (IS ("frac"))
    {
      double top = measure_group (p, end, size);
      double bottom = measure_group (p, end, size);   /* in this order: both move *p */

      return MAX (top, bottom) + 2.4 * size;
    }
  if (IS ("sum"))
    {
      double below = 0;

      /* Display style: the limits go under the Σ. */
      while (*p < end && (**p == '_' || **p == '^'))
        {
          double limit;

          (*p)++;
          limit = measure_group (p, end, size * 0.7);
          below = MAX (below, limit);
        }
      return MAX (14.5 * size, below) + 1.7 * size;
    }
  if (IS ("sqrt"))
    return measure_group (p, end, size) + 9 * size;
  if (IS ("text") || IS ("mathrm") || IS ("operatorname") || IS ("mathit") || IS ("mathbf"))
    return measure_text_group (p, end, size) + (IS ("operatorname") ? 1.7 * size : 0);
  if (IS ("left") || IS ("right"))
    {
      if (*p < end)
        (*p)++;
      return 4 * size;
    }
  if (IS ("begin") || IS ("end"))
    {
      measure_group (p, end, size);
      return 0;
    }
  for (guint s = 0; s < G_N_ELEMENTS (symbols); s++)
    if (IS (symbols[s].name))
      return symbols[s].width * size;
  w = word_width (name, length, size) + 1.7 * size;   /* \tanh, \exp, \log … */
#undef IS
  return w;
}

static double
measure (const char **p,
         const char  *end,
         double       size)
{
  double width = 0;

  while (*p < end)
    {
      char c = **p;

      if (c == '\\')
        width += measure_command (p, end, size);
      else if (c == '{')
        width += measure_group (p, end, size);
      else if (c == '_' || c == '^')
        {
          double script = MAX (0.5, size * 0.7), first, second = 0;

          /* A subscript and a superscript stack: the wider counts. */
          (*p)++;
          first = measure_group (p, end, script);
          if (*p < end && (**p == '_' || **p == '^') && **p != c)
            {
              (*p)++;
              second = measure_group (p, end, script);
            }
          width += MAX (first, second);
        }
      else
        {
          width += size * (g_ascii_isupper (c) ? 8.0 : g_ascii_isalpha (c) ? 5.8 :
                           g_ascii_isdigit (c) ? 5.0 : strchr ("=<>", c) != NULL ? 13.4 :
                           c == '+' || c == '-' ? 12.2 : c == ',' ? 4.5 :
                           c == ' ' || c == '&' ? 0 : 4.0);
          (*p)++;
        }
    }
  return width;
}

static double
width_of (const char *math,
          gsize       length)
{
  const char *p = math;

  return measure (&p, math + length, 1.0);
}

/* ---- display math that fits ---- */

#define TEXT_WIDTH 345.0   /* \textwidth of \documentclass{article} at 10 pt */
#define LINE_WIDTH 320.0   /* what a line may take: the estimate is rough, keep a margin */

typedef enum
{
  BREAK_LIST = 0,      /* ",\quad " between definitions: a new line, no continuation mark */
  BREAK_RELATION,      /* " = " */
  BREAK_SUM,           /* " + ", " - " outside parentheses */
  BREAK_INNER,         /* " + ", " - ", " \odot " inside parentheses, " \odot " outside */
  BREAK_FACTOR,        /* the space between two factors */
  BREAK_NONE,
} BreakKind;

typedef struct
{
  gsize     start;   /* of the piece, its operator included */
  gsize     end;
  BreakKind kind;    /* of the break before it */
  double    width;
} Piece;

static BreakKind
break_at (const char *math,
          gsize       at,
          int         parens)
{
  const char *s = math + at;

  if (g_str_has_prefix (s, ",\\quad "))
    return parens == 0 ? BREAK_LIST : BREAK_NONE;
  if (*s != ' ')
    return BREAK_NONE;
  if (g_str_has_prefix (s, " = "))
    return parens == 0 ? BREAK_RELATION : BREAK_INNER;
  if (g_str_has_prefix (s, " + ") || g_str_has_prefix (s, " - "))
    return parens == 0 ? BREAK_SUM : BREAK_INNER;
  if (g_str_has_prefix (s, " \\odot ") || g_str_has_prefix (s, " \\oslash "))
    return BREAK_INNER;
  /* Between factors, but not inside "\sum_{k} A", after an operator or before a closing one. */
  if (at > 0 && strchr ("(=+-[", math[at - 1]) == NULL && strchr (")]=+-^_", s[1]) == NULL &&
      !g_str_has_prefix (s, " \\odot") && !g_str_has_prefix (s, " \\oslash"))
    {
      const char *word = s;

      while (word > math && word[-1] != ' ')
        word--;
      if (g_str_has_prefix (word, "\\sum") || g_str_has_prefix (word, "\\odot") ||
          g_str_has_prefix (word, "\\oslash") || g_str_has_prefix (word, "\\quad") ||
          (at >= 5 && strncmp (s - 5, "\\quad", 5) == 0))
        return BREAK_NONE;
      return BREAK_FACTOR;
    }
  return BREAK_NONE;
}

/* Splits @math where it may break: at brace depth 0, never inside \frac or a subscript. */
static GArray *
split_pieces (const char *math)
{
  GArray *pieces = g_array_new (FALSE, FALSE, sizeof (Piece));
  gsize length = strlen (math), start = 0;
  int braces = 0, parens = 0, sized = 0;
  BreakKind kind = BREAK_NONE;

  for (gsize at = 0; at < length; at++)
    {
      char c = math[at];
      BreakKind here;

      if (c == '\\' && at + 1 < length && strchr ("{}", math[at + 1]) != NULL)
        {
          at++;
          continue;
        }
      /* Nothing breaks between \left and \right: TeX wants them on one line. */
      if (braces == 0 && g_str_has_prefix (math + at, "\\left"))
        sized++;
      else if (braces == 0 && g_str_has_prefix (math + at, "\\right"))
        sized = MAX (0, sized - 1);
      if (c == '{' || c == '}')
        braces += c == '{' ? 1 : -1;
      else if (braces == 0 && (c == '(' || c == '['))
        parens++;
      else if (braces == 0 && (c == ')' || c == ']'))
        parens = MAX (0, parens - 1);
      if (braces != 0 || sized != 0 || at == 0)
        continue;
      here = break_at (math, at, parens);
      if (here == BREAK_NONE)
        continue;
      g_array_append_val (pieces, ((Piece) { start, at, kind, 0 }));
      start = at;
      kind = here;
    }
  g_array_append_val (pieces, ((Piece) { start, length, kind, 0 }));
  for (guint n = 0; n < pieces->len; n++)
    {
      Piece *piece = &g_array_index (pieces, Piece, n);

      piece->width = width_of (math + piece->start, piece->end - piece->start);
    }
  return pieces;
}

/* The piece after which the line from @first should end, at most @room wide. Each break that
 * fits is scored: its kind (an = is the best place, between factors the worst), how much of the
 * line it leaves empty, and whether it would leave a short orphan for the next line. */
static guint
line_end (const GArray *pieces,
          guint         first,
          double        room)
{
  static const double kind_penalty[] = { 0, 0, 8, 30, 60, 1000 };
  double width = 0, rest = 0, best_score = G_MAXDOUBLE;
  guint best = first;

  for (guint n = first; n < pieces->len; n++)
    rest += g_array_index (pieces, Piece, n).width;
  for (guint n = first; n < pieces->len; n++)
    {
      double piece = g_array_index (pieces, Piece, n).width, empty, score;
      BreakKind next;

      width += piece;
      rest -= piece;
      if (n > first && width > room)
        break;
      if (n + 1 == pieces->len)
        return n;
      next = g_array_index (pieces, Piece, n + 1).kind;
      if (next == BREAK_LIST)
        return n;
      empty = 1 - width / room;
      score = kind_penalty[next] + 100 * empty * empty + (rest < 0.2 * room ? 40 : 0);
      if (score <= best_score)
        best = n, best_score = score;
    }
  return best;
}

static void
append_piece (GString     *out,
              const char  *math,
              const Piece *piece,
              gboolean     line_start)
{
  const char *s = math + piece->start;
  gsize length = piece->end - piece->start;

  if (line_start && piece->kind == BREAK_LIST && length >= strlen (",\\quad "))
    {
      s += strlen (",\\quad ");
      length -= strlen (",\\quad ");
    }
  while (line_start && length > 0 && *s == ' ')
    s++, length--;
  /* An operator starting a line still needs something on its left to keep its spacing. */
  if (line_start && (piece->kind == BREAK_SUM || piece->kind == BREAK_INNER ||
                     piece->kind == BREAK_RELATION))
    g_string_append (out, "{}");
  g_string_append_len (out, s, length);
}

/* A display taller than a page cannot break across pages: a long one is cut into several. */
#define LINES_PER_DISPLAY 12

/* Line @first … @last of an aligned display. Its & goes before its = on the first line and on a
 * new definition of a list, else at its start, followed there by the continuation's indent. */
static char *
line_text (const char   *math,
           const GArray *pieces,
           guint         first,
           guint         last,
           gboolean      aligned)
{
  GString *line = g_string_new (NULL);
  BreakKind head = g_array_index (pieces, Piece, first).kind;
  guint align_at = first;

  if (aligned && (first == 0 || head == BREAK_LIST))
    for (guint n = last + 1; n-- > first;)
      if (g_array_index (pieces, Piece, n).kind == BREAK_RELATION)
        align_at = n;
  for (guint n = first; n <= last; n++)
    {
      if (n == align_at)
        {
          g_string_append (line, n > first ? " &" : "&");
          if (n == first && first > 0 && head != BREAK_LIST &&
              (head != BREAK_RELATION || !aligned))
            g_string_append (line, aligned ? "\\quad " : "\\qquad ");
        }
      append_piece (line, math, &g_array_index (pieces, Piece, n), n == first && n > 0);
    }
  return g_string_free (line, FALSE);
}

void
_jac_latex_display (GString    *out,
                    const char *math)
{
  g_autoptr(GArray) pieces = split_pieces (math);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  double total = 0, lhs = 0, indent;
  guint first = 0, relation = 0;
  gboolean aligned;

  for (guint n = 0; n < pieces->len; n++)
    total += g_array_index (pieces, Piece, n).width;
  if (total <= LINE_WIDTH)
    {
      g_string_append_printf (out, "\\[ %s \\]\n", math);
      return;
    }

  /* Align on the first = when what is left of it is short; else lines hang from the left. */
  for (guint n = 0; n < pieces->len && relation == 0; n++)
    {
      const Piece *piece = &g_array_index (pieces, Piece, n);

      if (piece->kind == BREAK_RELATION)
        relation = n;
      else
        lhs += piece->width;
    }
  aligned = relation > 0 && lhs <= 0.35 * LINE_WIDTH;
  indent = aligned ? lhs + 10 : 20;

  while (first < pieces->len)
    {
      guint last = line_end (pieces, first, first == 0 ? LINE_WIDTH : LINE_WIDTH - indent);

      /* A list's comma ends the line before the next definition. */
      if (first > 0 && g_array_index (pieces, Piece, first).kind == BREAK_LIST)
        {
          char *previous = g_ptr_array_index (lines, lines->len - 1);

          g_ptr_array_index (lines, lines->len - 1) = g_strconcat (previous, ",", NULL);
          g_free (previous);
        }
      g_ptr_array_add (lines, line_text (math, pieces, first, last, aligned));
      first = last + 1;
    }
  for (guint l = 0; l < lines->len; l++)
    {
      if (l % LINES_PER_DISPLAY == 0)
        g_string_append (out, l == 0 ? "\\[\n\\begin{aligned}\n"
                                     : "\n\\end{aligned}\n\\]\n\\[\n\\begin{aligned}\n");
      else
        g_string_append (out, " \\\\\n");
      g_string_append (out, g_ptr_array_index (lines, l));
    }
  g_string_append (out, "\n\\end{aligned}\n\\]\n");
}

/* ---- the whole derivation ---- */

static char *
shape_latex (guint        rank,
             const gsize *shape)
{
  GString *s = g_string_new (NULL);

  if (rank == 0)
    g_string_append (s, "a scalar");
  for (guint a = 0; a < rank; a++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, a > 0 ? " \\times " : "$", shape[a]);
  if (rank > 0)
    g_string_append_c (s, '$');
  return g_string_free (s, FALSE);
}

/* What is differentiated, the shapes, and how many entries a δ leaves. */
static void
append_preamble (GString           *out,
                 const JacAnalysis *self)
{
  const JacDerivation *d = self->derivation;
  const JacNode *output = jac_graph_node (self->graph, self->graph->output);
  const JacNode *variable = jac_graph_node (self->graph, self->wrt_node);
  g_autofree char *out_name = _jac_latex_name (self->output_name, FALSE);
  g_autofree char *wrt_name = _jac_latex_name (self->wrt_name, FALSE);
  g_autofree char *out_shape = shape_latex (output->rank, output->shape);
  g_autofree char *wrt_shape = shape_latex (variable->rank, variable->shape);
  gsize shape[JAC_MAX_RANK];
  guint rank = jac_structured_dense_shape (self->jacobian, shape);
  g_autofree char *jac_shape = shape_latex (rank, shape);

  g_string_append_printf (out, "\\paragraph{The Jacobian $\\partial %s / \\partial %s$}\n",
                          out_name, wrt_name);
  if (d->expression_latex != NULL && d->expression_latex[0] != '\0')
    _jac_latex_display (out, d->expression_latex);
  g_string_append_printf (out, "$%s$ is %s and $%s$ is %s, so $J$ has shape %s: "
                          "%" G_GSIZE_FORMAT " entries, %" G_GSIZE_FORMAT " not forced to 0 by "
                          "a $\\delta$.\n", out_name, out_shape, wrt_name, wrt_shape, jac_shape,
                          self->sparsity.n_entries, self->sparsity.n_free_entries);
}

/* A sentence of text and $…$ formulas, then a full stop. A formula too long to sit in a line of
 * text (it could only break at its few + and = signs, or not at all) goes to display math, where
 * it breaks as the steps do; the punctuation that led to it stays in the text. */
static void
append_sentence (GString    *out,
                 const char *sentence)
{
  const char *p = sentence;
  gboolean after_display = FALSE;

  while (*p != '\0')
    {
      const char *open = strchr (p, '$');
      const char *close = open != NULL ? strchr (open + 1, '$') : NULL;
      g_autofree char *math = NULL;

      if (after_display)
        while (*p == ':' || *p == ';' || *p == ',' || *p == ' ')
          p++;
      after_display = FALSE;
      if (close == NULL)
        {
          g_string_append (out, p);
          p += strlen (p);
          break;
        }
      math = g_strndup (open + 1, close - open - 1);
      if (width_of (math, strlen (math)) <= LINE_WIDTH / 2)
        {
          g_string_append_len (out, p, close + 1 - p);
          p = close + 1;
          continue;
        }
      g_string_append_len (out, p, open - p);
      g_string_append_c (out, '\n');
      _jac_latex_display (out, math);
      p = close + 1;
      after_display = TRUE;
      if (*p != '\0' && *p != '.')
        g_string_append (out, "\\noindent ");
    }
  if (!after_display)
    g_string_append (out, ".\n");
}

static void
append_structure (GString           *out,
                  const JacAnalysis *self,
                  gboolean           denominator_layout)
{
  g_autofree char *letters = g_strconcat (self->derivation->out_letters,
                                          self->derivation->wrt_letters, NULL);
  g_autofree char *sparsity = _jac_latex_words (self->sparsity.sentence, letters, NULL, NULL);
  g_autofree char *block = jac_analysis_block_latex (self, denominator_layout);

  /* An expression's block formula ends with the sparsity sentence already. */
  g_autofree char *layout = g_strdup_printf ("\\noindent %s layout: %s",
                                             denominator_layout ? "Denominator" : "Numerator",
                                             block);

  if (strstr (block, sparsity) == NULL)
    {
      g_string_append (out, "\n\\noindent Sparsity: ");
      append_sentence (out, sparsity);
    }
  g_string_append_c (out, '\n');
  append_sentence (out, layout);
}

static void
append_why (GString           *out,
            const JacAnalysis *self)
{
  g_autofree char *why = jac_analysis_why_latex (self);

  g_autofree char *sentence = NULL;

  /* "why the transpose: …" reads as its own heading. */
  if (g_str_has_prefix (why, "why "))
    sentence = g_strdup_printf ("\\noindent\\emph{Why} %s", why + strlen ("why "));
  else if (why[0] != '\0')
    sentence = g_strdup_printf ("\\noindent\\emph{Why:} %s", why);
  if (sentence != NULL)
    append_sentence (out, sentence);
}

static void
append_steps (GString           *out,
              const JacAnalysis *self,
              gboolean           denominator_layout)
{
  const JacDerivation *d = self->derivation;
  gboolean structure_done = FALSE, why_done = FALSE;

  for (guint s = 0; s < d->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (d->steps, s);
      static const char * const upstream[] = { "G", NULL };
      g_autofree char *title = _jac_latex_words (step->title, "", upstream, upstream);

      g_string_append_printf (out, "\n\\paragraph{%u. %s}\n", s + 1, title);
      if (g_str_equal (step->title, "Structure"))
        {
          /* A sentence, not a formula: it breaks like text. */
          g_autofree char *sentence = g_strdup (step->latex);

          sentence[0] = g_ascii_toupper (sentence[0]);
          append_sentence (out, sentence);
          append_structure (out, self, denominator_layout);
          structure_done = TRUE;
          continue;
        }
      _jac_latex_display (out, step->latex);
      if (g_str_equal (step->title, "Contract with G"))
        {
          append_why (out, self);
          why_done = TRUE;
        }
    }
  if (!structure_done)
    append_structure (out, self, denominator_layout);
  if (!why_done)
    append_why (out, self);
}

static void
append_contracted (GString           *out,
                   const JacAnalysis *self)
{
  const JacDerivation *d = self->derivation;
  char difference[G_ASCII_DTOSTR_BUF_SIZE];
  g_autoptr(GString) exponent = NULL;

  g_string_append (out, "\n\\paragraph{Contracted form}\n");
  _jac_latex_display (out, d->contracted_latex);
  if (d->where_latex != NULL)
    {
      g_string_append (out, "where\n");
      _jac_latex_display (out, d->where_latex);
    }
  g_ascii_formatd (difference, sizeof difference, "%.1e", self->contract_max_diff);
  exponent = g_string_new (self->contract_max_diff == 0 ? "0" : difference);
  /* 1.1e-16 as 1.1 \cdot 10^{-16} */
  if (strchr (exponent->str, 'e') != NULL)
    {
      char *e = strchr (exponent->str, 'e');
      int power = atoi (e + 1);

      g_string_truncate (exponent, e - exponent->str);
      g_string_append_printf (exponent, " \\cdot 10^{%d}", power);
    }
  g_string_append_printf (out, "\\noindent Checked against $\\sum G \\cdot J$ from the tensor: "
                          "the largest difference is $%s$.\n", exponent->str);
}

char *
jac_analysis_latex (const JacAnalysis *self,
                    gboolean           denominator_layout,
                    gboolean           standalone)
{
  GString *out;

  g_return_val_if_fail (self != NULL && self->derivation != NULL, NULL);

  out = g_string_new (NULL);
  if (standalone)
    g_string_append (out, "% A complete LaTeX document from Jacscope: pdflatex FILE.tex\n"
                          "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n");
  else
    g_string_append (out, "% Needs \\usepackage{amsmath} (and nothing else) in "
                          "\\documentclass{article}; from Jacscope.\n");
  append_preamble (out, self);
  append_steps (out, self, denominator_layout);
  append_contracted (out, self);
  if (standalone)
    g_string_append (out, "\\end{document}\n");
  return g_string_free (out, FALSE);
}

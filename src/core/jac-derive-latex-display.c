/* jac-derive-latex-display.c: display math that fits the page: widths, and where to break. */
#define G_LOG_DOMAIN "jac-derive"

#include <string.h>

#include "jac-derive-private.h"

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

double
_jac_latex_width (const char *math)
{
  return width_of (math, strlen (math));
}

/* ---- display math that fits ---- */

/* \textwidth of \documentclass{article} at 10 pt is 345 pt; a line takes at most
 * _JAC_LATEX_LINE_WIDTH of it, as the estimate is rough. */
#define LINE_WIDTH _JAC_LATEX_LINE_WIDTH

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

/* jac-derive-latex.c: the derivation as LaTeX for a paper: names, sentences, the whole document. */
#define G_LOG_DOMAIN "jac-derive"

#include <stdlib.h>
#include <string.h>

#include "jac-analysis.h"
#include "jac-kron.h"
#include "jac-derive-private.h"
#include "jac-hessian.h"

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
  { "…", "\\dots{}" }, { "⌊", "$\\lfloor$" }, { "⌋", "$\\rfloor$" },
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

/* @text in \texttt: the characters LaTeX treats specially escaped. Pure ASCII (a source
 * may hold ᵀ or ⊙: those become their ASCII spellings). */
static void
append_texttt (GString    *out,
               const char *text)
{
  g_string_append (out, "\\texttt{");
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0x1D40)
        g_string_append (out, ".T");
      else if (c == 0x2299)
        g_string_append (out, "*");
      else if (c == 0x2212)
        g_string_append (out, "-");
      else if (strchr ("#$%&_{}", (int) c) != NULL && c < 0x80)
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\\' || c == '^' || c == '~')
        g_string_append_printf (out, "\\char%u{}", (guint) c);
      else if (c < 0x80)
        g_string_append_c (out, (char) c);
      else
        g_string_append_c (out, '?');
    }
  g_string_append (out, "}");
}

/* A Hessian: whose, and that it is the Jacobian of the gradient that follows. */
static void
append_hessian_preamble (GString              *out,
                         const JacHessianInfo *h,
                         gboolean              zero)
{
  g_autofree char *f = _jac_latex_name (h->function_name, FALSE);
  g_autofree char *x = _jac_latex_name (h->wrt, FALSE);
  g_autofree char *y = _jac_latex_name (h->wrt2, FALSE);

  if (g_strcmp0 (h->wrt, h->wrt2) == 0)
    g_string_append_printf (out, "\\paragraph{The Hessian $\\partial^2 %s / \\partial %s^2$}\n",
                            f, x);
  else
    g_string_append_printf (out,
                            "\\paragraph{The Hessian $\\partial^2 %s / \\partial %s \\, "
                            "\\partial %s$}\n", f, x, y);
  g_string_append_printf (out, "of $%s = {}$", f);
  append_texttt (out, h->function_source);
  g_string_append_printf (out, " is the Jacobian of its gradient $\\partial %s / \\partial %s$, "
                          "written as the expression ", f, x);
  append_texttt (out, h->gradient_source);
  g_string_append_printf (out, " and differentiated again with respect to $%s$. It is "
                          "contracted with a direction $V$ shaped like $%s$.", y, x);
  if (zero)
    g_string_append_printf (out, " The Hessian is identically zero: the gradient does not "
                            "depend on $%s$.", y);
  g_string_append (out, "\n\n");
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

  if (self->hessian != NULL)
    append_hessian_preamble (out, self->hessian, !self->derivation->depends);
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
      if (_jac_latex_width (math) <= _JAC_LATEX_LINE_WIDTH / 2)
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
  g_autofree char *layout = g_strdup_printf ("\\noindent %s layout: %s",
                                             denominator_layout ? "Denominator" : "Numerator",
                                             block);
  g_autoptr(JacKron) kron = NULL;
  g_autofree char *row = NULL;
  g_autofree char *column = NULL;

  /* An expression's block formula ends with the sparsity sentence already. */
  if (strstr (block, sparsity) == NULL)
    {
      g_string_append (out, "\n\\noindent Sparsity: ");
      append_sentence (out, sparsity);
    }
  g_string_append_c (out, '\n');
  append_sentence (out, layout);
  kron = jac_kron_from_analysis (self);
  row = jac_kron_form (kron, FALSE, JAC_KRON_LATEX);
  column = jac_kron_form (kron, TRUE, JAC_KRON_LATEX);
  if (row != NULL && column != NULL)
    /* Displayed, one convention a line: inline, the two do not fit a column. */
    g_string_append_printf (out, "\n\\noindent As one matrix, $J_{\\mathrm{vec}} = \\partial "
                            "\\operatorname{vec}(\\text{out}) / \\partial \\operatorname{vec}"
                            "(\\text{variable})$:\n\\[ J_{\\mathrm{vec}} = %s \\quad \\text{(row-major vec)} \\]\n"
                            "\\[ J_{\\mathrm{vec}} = %s \\quad \\text{(column-major vec, "
                            "Magnus--Neudecker)} \\]\n", row, column);
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
      static const char * const upstream[] = { "G", "V", NULL };
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
      if (g_str_has_prefix (step->title, "Contract with "))
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

/* 1.1e-16 as 1.1 \cdot 10^{-16}, 0 as 0. */
static char *
scientific_latex (double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];
  char *e;

  if (value == 0)
    return g_strdup ("0");
  g_ascii_formatd (text, sizeof text, "%.1e", value);
  e = strchr (text, 'e');
  if (e == NULL)
    return g_strdup (text);
  *e = '\0';
  return g_strdup_printf ("%s \\cdot 10^{%d}", text, atoi (e + 1));
}

static void
append_contracted (GString           *out,
                   const JacAnalysis *self)
{
  const JacDerivation *d = self->derivation;
  g_autofree char *difference = scientific_latex (self->contract_max_diff);

  g_string_append (out, "\n\\paragraph{Contracted form}\n");
  _jac_latex_display (out, d->contracted_latex);
  if (d->where_latex != NULL)
    {
      g_string_append (out, "where\n");
      _jac_latex_display (out, d->where_latex);
    }
  g_string_append_printf (out, "\\noindent Checked against $\\sum G \\cdot J$ from the tensor: "
                          "the largest difference is $%s$.\n", difference);
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

/* jac-render-tikz.c: a figure as a TikZ picture: LaTeX text, TikZ hatching, one image beneath. */
#define G_LOG_DOMAIN "jac-render"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "core/jac-atomic-file.h"
#include "core/jac-error.h"
#include "jac-render-tikz-private.h"

/* Image pixels per figure unit, at least: 288 dpi for a paper figure, enough for its curves. */
#define IMAGE_SCALE 4.0
#define MAX_IMAGE_PIXELS 8192.0

/* The medium's minimums, and how far the text written since @floor was reset may be narrowed
 * without going below them (the largest minimum ÷ size of its parts). */
typedef struct
{
  double min_text;
  double min_script;
  double floor;
} JacTexType;

typedef struct
{
  double   scale;        /* image pixels per figure unit */
  JacTexType type;
  double   frame;        /* the width of frames, as on a vector page of the medium */
  GString *hatches;
  GString *fills;
  GString *frames;
  GString *texts;
  GString *colours;      /* \definecolor lines */
  GString *patterns;     /* pattern declarations */
  GHashTable *colour_names;   /* "r,g,b" → name */
  GHashTable *pattern_names;  /* "spacing/width" → TRUE */
} JacTikz;

static const cairo_user_data_key_t tikz_key;

static JacTikz *
tikz_from_cairo (cairo_t *cr)
{
  return cr != NULL ? cairo_get_user_data (cr, &tikz_key) : NULL;
}

/* ---- numbers, points, colours ---- */

/* Locale-independent, at most two decimals, no trailing zeros: TeX reads only "1.5". */
static void
append_number (GString *out,
               double   value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  char *end;

  if (fabs (value) < 0.005)
    value = 0;
  g_ascii_formatd (buffer, sizeof buffer, "%.2f", value);
  end = buffer + strlen (buffer) - 1;
  while (end > buffer && *end == '0')
    *end-- = '\0';
  if (*end == '.')
    *end = '\0';
  g_string_append (out, buffer);
}

static void
append_point (GString *out,
              double   x,
              double   y)
{
  g_string_append_c (out, '(');
  append_number (out, x);
  g_string_append_c (out, ',');
  append_number (out, y);
  g_string_append_c (out, ')');
}

/* From @cr's user space to figure units. */
static void
figure_point (JacTikz *tikz,
              cairo_t *cr,
              double  *x,
              double  *y)
{
  cairo_user_to_device (cr, x, y);
  *x /= tikz->scale;
  *y /= tikz->scale;
}

static void
figure_rect (JacTikz       *tikz,
             cairo_t       *cr,
             const JacRect *rect,
             JacRect       *out)
{
  double x0 = rect->x, y0 = rect->y, x1 = rect->x + rect->width, y1 = rect->y + rect->height;

  figure_point (tikz, cr, &x0, &y0);
  figure_point (tikz, cr, &x1, &y1);
  *out = (JacRect) { MIN (x0, x1), MIN (y0, y1), fabs (x1 - x0), fabs (y1 - y0) };
}

/* A name for @rgb, defined once per picture (the names are local to the tikzpicture). */
static const char *
colour_name (JacTikz      *tikz,
             const JacRgb *rgb)
{
  g_autoptr(GString) key = g_string_new (NULL);
  const char *name;

  append_number (key, rgb->red);
  g_string_append_c (key, ',');
  append_number (key, rgb->green);
  g_string_append_c (key, ',');
  append_number (key, rgb->blue);
  name = g_hash_table_lookup (tikz->colour_names, key->str);
  if (name == NULL)
    {
      char *new_name = g_strdup_printf ("jacscope%u", g_hash_table_size (tikz->colour_names));

      g_string_append_printf (tikz->colours, "\\definecolor{%s}{rgb}{%s}\n", new_name, key->str);
      g_hash_table_insert (tikz->colour_names, g_strdup (key->str), new_name);
      name = new_name;
    }
  return name;
}

static const char *
source_colour (JacTikz *tikz,
               cairo_t *cr)
{
  JacRgb rgb = { 0, 0, 0 };
  double alpha;

  if (cairo_pattern_get_rgba (cairo_get_source (cr), &rgb.red, &rgb.green, &rgb.blue,
                              &alpha) != CAIRO_STATUS_SUCCESS)
    rgb = (JacRgb) { 0, 0, 0 };
  return colour_name (tikz, &rgb);
}

/* ---- characters ---- */

typedef struct
{
  gunichar    c;
  const char *tex;
} JacTexChar;

/* Every character the figures and the derivation use, and the usual neighbours of each, in
 * forms that pdflatex sets in any text font with the default OT1 encoding. */
static const JacTexChar tex_chars[] = {
  { 0x00a0, "~" }, { 0x00a7, "\\S{}" }, { 0x00a9, "\\copyright{}" }, { 0x00ac, "$\\neg$" },
  { 0x00b0, "$^{\\circ}$" }, { 0x00b1, "$\\pm$" }, { 0x00b5, "$\\mu$" }, { 0x00b6, "\\P{}" },
  { 0x00b7, "$\\cdot$" }, { 0x00bd, "$\\frac{1}{2}$" }, { 0x00d7, "$\\times$" },
  { 0x00df, "\\ss{}" }, { 0x00e6, "\\ae{}" }, { 0x00c6, "\\AE{}" }, { 0x00f8, "\\o{}" },
  { 0x00d8, "\\O{}" }, { 0x00f7, "$\\div$" }, { 0x0131, "\\i{}" },
  /* Greek */
  { 0x0391, "A" }, { 0x0392, "B" }, { 0x0393, "$\\Gamma$" }, { 0x0394, "$\\Delta$" },
  { 0x0395, "E" }, { 0x0396, "Z" }, { 0x0397, "H" }, { 0x0398, "$\\Theta$" }, { 0x0399, "I" },
  { 0x039a, "K" }, { 0x039b, "$\\Lambda$" }, { 0x039c, "M" }, { 0x039d, "N" },
  { 0x039e, "$\\Xi$" }, { 0x039f, "O" }, { 0x03a0, "$\\Pi$" }, { 0x03a1, "P" },
  { 0x03a3, "$\\Sigma$" }, { 0x03a4, "T" }, { 0x03a5, "$\\Upsilon$" }, { 0x03a6, "$\\Phi$" },
  { 0x03a7, "X" }, { 0x03a8, "$\\Psi$" }, { 0x03a9, "$\\Omega$" },
  { 0x03b1, "$\\alpha$" }, { 0x03b2, "$\\beta$" }, { 0x03b3, "$\\gamma$" },
  { 0x03b4, "$\\delta$" }, { 0x03b5, "$\\varepsilon$" }, { 0x03b6, "$\\zeta$" },
  { 0x03b7, "$\\eta$" }, { 0x03b8, "$\\theta$" }, { 0x03b9, "$\\iota$" }, { 0x03ba, "$\\kappa$" },
  { 0x03bb, "$\\lambda$" }, { 0x03bc, "$\\mu$" }, { 0x03bd, "$\\nu$" }, { 0x03be, "$\\xi$" },
  { 0x03bf, "o" }, { 0x03c0, "$\\pi$" }, { 0x03c1, "$\\rho$" }, { 0x03c2, "$\\varsigma$" },
  { 0x03c3, "$\\sigma$" }, { 0x03c4, "$\\tau$" }, { 0x03c5, "$\\upsilon$" },
  { 0x03c6, "$\\varphi$" }, { 0x03c7, "$\\chi$" }, { 0x03c8, "$\\psi$" }, { 0x03c9, "$\\omega$" },
  { 0x03d1, "$\\vartheta$" }, { 0x03d5, "$\\phi$" }, { 0x03d6, "$\\varpi$" },
  { 0x03f1, "$\\varrho$" }, { 0x03f5, "$\\epsilon$" },
  /* punctuation and spaces */
  { 0x2002, "\\enspace{}" }, { 0x2003, "\\quad{}" }, { 0x2009, "\\,"}, { 0x200a, "\\,"},
  { 0x200b, "" }, { 0x202f, "\\," }, { 0x2010, "-" }, { 0x2011, "-" }, { 0x2012, "--" },
  { 0x2013, "--" }, { 0x2014, "---" }, { 0x2018, "`" }, { 0x2019, "'" }, { 0x201c, "``" },
  { 0x201d, "''" }, { 0x2020, "$\\dagger$" }, { 0x2022, "$\\bullet$" }, { 0x2026, "\\ldots{}" },
  { 0x2032, "$'$" }, { 0x2033, "$''$" },
  /* arrows */
  { 0x2190, "$\\leftarrow$" }, { 0x2191, "$\\uparrow$" }, { 0x2192, "$\\rightarrow$" },
  { 0x2193, "$\\downarrow$" }, { 0x2194, "$\\leftrightarrow$" }, { 0x21a6, "$\\mapsto$" },
  { 0x21d0, "$\\Leftarrow$" }, { 0x21d2, "$\\Rightarrow$" }, { 0x21d4, "$\\Leftrightarrow$" },
  /* mathematics */
  { 0x2200, "$\\forall$" }, { 0x2202, "$\\partial$" }, { 0x2203, "$\\exists$" },
  { 0x2205, "$\\emptyset$" }, { 0x2207, "$\\nabla$" }, { 0x2208, "$\\in$" },
  { 0x2209, "$\\notin$" }, { 0x220f, "$\\prod$" }, { 0x2211, "$\\sum$" }, { 0x2212, "$-$" },
  { 0x2213, "$\\mp$" }, { 0x2215, "/" }, { 0x2217, "$\\ast$" }, { 0x2218, "$\\circ$" },
  { 0x2219, "$\\cdot$" }, { 0x221a, "$\\surd$" }, { 0x221d, "$\\propto$" },
  { 0x221e, "$\\infty$" }, { 0x2223, "$\\mid$" }, { 0x2225, "$\\parallel$" },
  { 0x2227, "$\\wedge$" }, { 0x2228, "$\\vee$" }, { 0x2229, "$\\cap$" }, { 0x222a, "$\\cup$" },
  { 0x222b, "$\\int$" }, { 0x223c, "$\\sim$" }, { 0x2243, "$\\simeq$" }, { 0x2245, "$\\cong$" },
  { 0x2248, "$\\approx$" }, { 0x2260, "$\\neq$" }, { 0x2261, "$\\equiv$" }, { 0x2264, "$\\leq$" },
  { 0x2265, "$\\geq$" }, { 0x226a, "$\\ll$" }, { 0x226b, "$\\gg$" }, { 0x2282, "$\\subset$" },
  { 0x2286, "$\\subseteq$" }, { 0x2295, "$\\oplus$" }, { 0x2296, "$\\ominus$" },
  { 0x2297, "$\\otimes$" }, { 0x2298, "$\\oslash$" }, { 0x2299, "$\\odot$" },
  { 0x22a4, "$\\top$" }, { 0x22c5, "$\\cdot$" }, { 0x22ee, "$\\vdots$" }, { 0x22ef, "$\\cdots$" },
  { 0x22f1, "$\\ddots$" }, { 0x2308, "$\\lceil$" }, { 0x2309, "$\\rceil$" },
  { 0x230a, "$\\lfloor$" }, { 0x230b, "$\\rfloor$" }, { 0x27e8, "$\\langle$" },
  { 0x27e9, "$\\rangle$" }, { 0x2016, "$\\|$" }, { 0x25a0, "$\\blacksquare$" },
};

/* Superscript and subscript characters, as the ordinary character they raise or lower. */
static const JacTexChar sup_chars[] = {
  { 0x00b2, "2" }, { 0x00b3, "3" }, { 0x00b9, "1" }, { 0x2070, "0" }, { 0x2071, "i" },
  { 0x2074, "4" }, { 0x2075, "5" }, { 0x2076, "6" }, { 0x2077, "7" }, { 0x2078, "8" },
  { 0x2079, "9" }, { 0x207a, "+" }, { 0x207b, "\xe2\x88\x92" }, { 0x207c, "=" },
  { 0x207d, "(" }, { 0x207e, ")" }, { 0x207f, "n" }, { 0x1d40, "T" }, { 0x1d57, "t" },
  { 0x02b2, "j" }, { 0x1d4f, "k" }, { 0x02e1, "l" }, { 0x1d50, "m" }, { 0x1d56, "p" },
  { 0x02b3, "r" }, { 0x02e2, "s" }, { 0x02e3, "x" }, { 0x02b8, "y" }, { 0x1d43, "a" },
  { 0x1d47, "b" }, { 0x1d48, "d" }, { 0x1d49, "e" }, { 0x1d4d, "g" }, { 0x02b0, "h" },
  { 0x1d52, "o" }, { 0x1d58, "u" }, { 0x1d5b, "v" }, { 0x02b7, "w" },
};

static const JacTexChar sub_chars[] = {
  { 0x2080, "0" }, { 0x2081, "1" }, { 0x2082, "2" }, { 0x2083, "3" }, { 0x2084, "4" },
  { 0x2085, "5" }, { 0x2086, "6" }, { 0x2087, "7" }, { 0x2088, "8" }, { 0x2089, "9" },
  { 0x208a, "+" }, { 0x208b, "\xe2\x88\x92" }, { 0x208c, "=" }, { 0x208d, "(" },
  { 0x208e, ")" }, { 0x2090, "a" }, { 0x2091, "e" }, { 0x2092, "o" }, { 0x2093, "x" },
  { 0x2095, "h" }, { 0x2096, "k" }, { 0x2097, "l" }, { 0x2098, "m" }, { 0x2099, "n" },
  { 0x209a, "p" }, { 0x209b, "s" }, { 0x209c, "t" }, { 0x1d62, "i" }, { 0x2c7c, "j" },
  { 0x1d63, "r" }, { 0x1d64, "u" }, { 0x1d65, "v" },
};

static const char *
lookup (const JacTexChar *table,
        gsize             n,
        gunichar          c)
{
  for (gsize k = 0; k < n; k++)
    if (table[k].c == c)
      return table[k].tex;
  return NULL;
}

/* Accented Latin letters by their decomposition, e.g. é → \'{e}. */
static gboolean
append_accented (GString  *out,
                 gunichar  c)
{
  static const JacTexChar accents[] = {
    { 0x0300, "\\`" }, { 0x0301, "\\'" }, { 0x0302, "\\^" }, { 0x0303, "\\~" }, { 0x0304, "\\=" },
    { 0x0306, "\\u" }, { 0x0307, "\\." }, { 0x0308, "\\\"" }, { 0x030a, "\\r" }, { 0x030b, "\\H" },
    { 0x030c, "\\v" }, { 0x0327, "\\c" }, { 0x0328, "\\k" },
  };
  gunichar parts[2];
  const char *accent;

  if (!g_unichar_decompose (c, &parts[0], &parts[1]) || parts[1] == 0
      || parts[0] >= 0x80 || !g_ascii_isalpha ((char) parts[0]))
    return FALSE;
  accent = lookup (accents, G_N_ELEMENTS (accents), parts[1]);
  if (accent == NULL)
    return FALSE;
  g_string_append_printf (out, "%s{%c}", accent, (char) parts[0]);
  return TRUE;
}

static void append_escaped (GString    *out,
                            const char *text,
                            gssize      length,
                            double      size,
                            gboolean    script,
                            JacTexType *type);

static void
append_ascii (GString    *out,
              char        c,
              const char *next)
{
  switch (c)
    {
    case '#': case '$': case '%': case '&': case '_': case '{': case '}':
      g_string_append_c (out, '\\');
      g_string_append_c (out, c);
      break;
    case '~':
      g_string_append (out, "\\textasciitilde{}");
      break;
    case '^':
      g_string_append (out, "\\textasciicircum{}");
      break;
    case '\\':
      g_string_append (out, "\\textbackslash{}");
      break;
    case '<': case '>': case '|':
      g_string_append_printf (out, "$%c$", c);
      break;
    case '"':
      g_string_append (out, "''");
      break;
    case '-': case '!': case '?': case '`': case '\'':
      g_string_append_c (out, c);
      /* OT1 ligatures: -- is a dash, !` and ?` are inverted marks, '' and `` quotes. */
      if (*next == '-' || *next == '`' || *next == '\'')
        g_string_append (out, "{}");
      break;
    default:
      if (g_ascii_iscntrl (c))
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, c);
      break;
    }
}

/* A run of superscript (or subscript) characters, set as Pango sets <sup> (<sub>): 0.8 of the
 * text, never below the medium's smallest script, raised 0.42 (lowered 0.18) of the text. */
static const char *
append_scripts (GString    *out,
                const char *c,
                const char *end,
                gboolean    sup,
                double      size,
                JacTexType *type)
{
  g_autoptr(GString) base = g_string_new (NULL);
  double script = MIN (size, MAX (size * 0.8, type->min_script));

  for (; c < end; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);
      const char *plain = sup ? lookup (sup_chars, G_N_ELEMENTS (sup_chars), u)
                              : lookup (sub_chars, G_N_ELEMENTS (sub_chars), u);

      if (plain == NULL)
        break;
      g_string_append (base, plain);
    }
  g_string_append (out, "\\raisebox{");
  append_number (out, (sup ? 0.42 : -0.18) * size);
  g_string_append (out, "bp}{\\fontsize{");
  append_number (out, script);
  g_string_append (out, "bp}{");
  append_number (out, script);
  g_string_append (out, "bp}\\selectfont ");
  append_escaped (out, base->str, base->len, script, TRUE, type);
  g_string_append (out, "}");
  return c;
}

static void
append_escaped (GString    *out,
                const char *text,
                gssize      length,
                double      size,
                gboolean    script,
                JacTexType *type)
{
  const char *end = text + (length < 0 ? (gssize) strlen (text) : length);
  const char *c = text;

  if (size > 0 && end > text)
    type->floor = MAX (type->floor, (script ? type->min_script : type->min_text) / size);

  while (c < end)
    {
      gunichar u = g_utf8_get_char_validated (c, end - c);
      const char *tex;

      if (u == (gunichar) -1 || u == (gunichar) -2)
        {
          g_string_append_c (out, '?');
          c++;
          continue;
        }
      if (u == ' ' && c > text && c[-1] == ' ')
        {
          /* Pango keeps runs of spaces (the figures space out separators with them). */
          g_string_append (out, "\\ ");
          c++;
          continue;
        }
      if (u < 0x80)
        {
          append_ascii (out, (char) u, c + 1 < end ? c + 1 : "");
          c++;
          continue;
        }
      if (lookup (sup_chars, G_N_ELEMENTS (sup_chars), u) != NULL)
        {
          c = append_scripts (out, c, end, TRUE, size, type);
          continue;
        }
      if (lookup (sub_chars, G_N_ELEMENTS (sub_chars), u) != NULL)
        {
          c = append_scripts (out, c, end, FALSE, size, type);
          continue;
        }
      tex = lookup (tex_chars, G_N_ELEMENTS (tex_chars), u);
      if (tex != NULL)
        g_string_append (out, tex);
      else if (!append_accented (out, u))
        {
          /* Anything else would stop pdflatex; a visible mark keeps the rest readable. */
          g_debug ("no LaTeX form for U+%04X: written as ?", u);
          g_string_append_c (out, '?');
        }
      c = g_utf8_next_char (c);
    }
}

char *
_jac_tikz_escape (const char *text,
                  double      size,
                  double      min_script)
{
  GString *out = g_string_new (NULL);
  JacTexType type = { 0, min_script, 0 };

  g_return_val_if_fail (text != NULL, NULL);

  append_escaped (out, text, -1, size, FALSE, &type);
  return g_string_free (out, FALSE);
}

/* ---- text ---- */

/* Pango sizes: absolute ones are figure units, others points at the context's 96 dpi. */
static double
font_size (const PangoFontDescription *font)
{
  double size = (double) pango_font_description_get_size (font) / PANGO_SCALE;

  return pango_font_description_get_size_is_absolute (font) ? size : size * 96.0 / 72.0;
}

typedef struct
{
  double   size;
  double   rise;
  gboolean bold;
  gboolean italic;
} JacRunStyle;

static void
append_run (JacTikz           *tikz,
            GString           *out,
            const char        *text,
            gsize              length,
            const JacRunStyle *run,
            const JacRunStyle *base)
{
  gboolean plain = run->size == base->size && run->rise == 0 && run->bold == base->bold
                   && run->italic == base->italic;

  if (length == 0)
    return;
  if (plain)
    {
      append_escaped (out, text, length, run->size, FALSE, &tikz->type);
      return;
    }
  if (run->rise != 0)
    {
      g_string_append (out, "\\raisebox{");
      append_number (out, run->rise);
      g_string_append (out, "bp}");
    }
  g_string_append_c (out, '{');
  if (run->size != base->size)
    {
      g_string_append (out, "\\fontsize{");
      append_number (out, run->size);
      g_string_append (out, "bp}{");
      append_number (out, run->size * 1.2);
      g_string_append (out, "bp}\\selectfont");
    }
  if (run->bold != base->bold)
    g_string_append (out, run->bold ? "\\bfseries" : "\\mdseries");
  if (run->italic != base->italic)
    g_string_append (out, run->italic ? "\\itshape" : "\\upshape");
  g_string_append_c (out, ' ');
  append_escaped (out, text, length, run->size, run->rise != 0, &tikz->type);
  g_string_append_c (out, '}');
}

static void
run_style (const PangoFontDescription *font,
           GSList                     *extra,
           JacRunStyle                *style)
{
  style->size = font_size (font);
  style->bold = pango_font_description_get_weight (font) >= PANGO_WEIGHT_SEMIBOLD;
  style->italic = pango_font_description_get_style (font) != PANGO_STYLE_NORMAL;
  style->rise = 0;
  for (GSList *l = extra; l != NULL; l = l->next)
    {
      PangoAttribute *attr = l->data;

      if (attr->klass->type == PANGO_ATTR_RISE)
        style->rise = (double) ((PangoAttrInt *) attr)->value / PANGO_SCALE;
    }
}

/* The text of bytes [@start, @end) of @text's layout, its attributes as LaTeX font changes. */
static void
append_line (JacTikz           *tikz,
             GString           *out,
             PangoLayout       *text,
             int                start,
             int                end,
             const JacRunStyle *base)
{
  const char *all = pango_layout_get_text (text);
  PangoAttrList *attrs = pango_layout_get_attributes (text);
  const PangoFontDescription *font = pango_layout_get_font_description (text);
  PangoAttrIterator *iter;

  while (end > start && (all[end - 1] == ' ' || all[end - 1] == '\n'))
    end--;
  if (attrs == NULL || font == NULL)
    {
      append_escaped (out, all + start, end - start, base->size, FALSE, &tikz->type);
      return;
    }
  iter = pango_attr_list_get_iterator (attrs);
  do
    {
      PangoFontDescription *run_font = pango_font_description_copy (font);
      GSList *extra = NULL;
      JacRunStyle run;
      int s, e;

      pango_attr_iterator_range (iter, &s, &e);
      s = MAX (s, start);
      e = MIN (e, end);
      pango_attr_iterator_get_font (iter, run_font, NULL, &extra);
      run_style (run_font, extra, &run);
      if (s < e)
        append_run (tikz, out, all + s, e - s, &run, base);
      g_slist_free_full (extra, (GDestroyNotify) pango_attribute_destroy);
      pango_font_description_free (run_font);
    }
  while (pango_attr_iterator_next (iter));
  pango_attr_iterator_destroy (iter);
}

static const char *
anchor_name (double xalign)
{
  return xalign < 0.25 ? "base west" : xalign > 0.75 ? "base east" : "base";
}

/* A line of text as a node: its anchor point on the baseline, in figure units. */
typedef struct
{
  double             x, y;
  double             xalign;
  double             angle;    /* degrees, clockwise as the figure's y axis points down */
  double             width;    /* the line's width in the figure's font */
  const char        *colour;
  const JacRunStyle *base;
} JacTextNode;

static void
append_node (JacTikz           *tikz,
             const JacTextNode *node,
             const char        *tex)
{
  GString *out = tikz->texts;

  g_string_append_printf (out, "\\node[anchor=%s,inner sep=0pt,outer sep=0pt,text=%s,"
                          "font=\\fontsize{", anchor_name (node->xalign), node->colour);
  append_number (out, node->base->size);
  g_string_append (out, "bp}{");
  append_number (out, node->base->size * 1.2);
  g_string_append_printf (out, "bp}\\selectfont%s%s", node->base->bold ? "\\bfseries" : "",
                          node->base->italic ? "\\itshape" : "");
  if (fabs (node->angle) > 0.01)
    {
      /* TikZ turns counter-clockwise on the page. */
      g_string_append (out, ",rotate=");
      append_number (out, -node->angle);
    }
  g_string_append (out, "] at ");
  append_point (out, node->x, node->y);
  g_string_append (out, " {\\jacscopefit{");
  append_number (out, node->width);
  g_string_append (out, "bp}{");
  append_number (out, MIN (1, ceil (tikz->type.floor * 100) / 100));
  g_string_append_printf (out, "}{%s}};\n", tex);
}

/* One node per line, anchored on the line's baseline at the point Pango aligned it by, so that
 * text set in the document's font, wider or narrower, stays where the figure put it. */
static void
add_text (JacTikz     *tikz,
          cairo_t     *cr,
          PangoLayout *text,
          double       x,
          double       y,
          double       xalign)
{
  const PangoFontDescription *font = pango_layout_get_font_description (text);
  PangoLayoutIter *iter = pango_layout_get_iter (text);
  g_autoptr(GString) tex = g_string_new (NULL);
  JacRunStyle base = { 8, 0, FALSE, FALSE };
  JacTextNode node = { 0, 0, xalign, 0, 0, source_colour (tikz, cr), &base };
  cairo_matrix_t matrix;
  double units;

  if (pango_layout_get_line_count (text) > 1)
    {
      PangoAlignment alignment = pango_layout_get_alignment (text);

      node.xalign = alignment == PANGO_ALIGN_CENTER ? 0.5 : alignment == PANGO_ALIGN_RIGHT ? 1 : 0;
    }
  if (font != NULL)
    run_style (font, NULL, &base);
  cairo_get_matrix (cr, &matrix);
  node.angle = atan2 (matrix.yx, matrix.xx) * 180 / G_PI;
  units = hypot (matrix.xx, matrix.yx) / tikz->scale;
  do
    {
      PangoLayoutLine *line = pango_layout_iter_get_line_readonly (iter);
      PangoRectangle logical;

      pango_layout_iter_get_line_extents (iter, NULL, &logical);
      node.x = x + (logical.x + node.xalign * logical.width) / PANGO_SCALE;
      node.y = y + (double) pango_layout_iter_get_baseline (iter) / PANGO_SCALE;
      figure_point (tikz, cr, &node.x, &node.y);
      node.width = logical.width / (double) PANGO_SCALE * units;
      g_string_truncate (tex, 0);
      tikz->type.floor = 0;
      append_line (tikz, tex, text, line->start_index, line->start_index + line->length, &base);
      append_node (tikz, &node, tex->str);
    }
  while (pango_layout_iter_next_line (iter));
  pango_layout_iter_free (iter);
}

gboolean
_jac_tikz_take_label (cairo_t        *cr,
                      const JacLabel *label)
{
  JacTikz *tikz = tikz_from_cairo (cr);

  if (tikz == NULL)
    return FALSE;
  add_text (tikz, cr, label->layout, label->x, label->y, label->xalign);
  return TRUE;
}

gboolean
_jac_tikz_take_text (cairo_t     *cr,
                     PangoLayout *text,
                     double       x,
                     double       y,
                     double       xalign)
{
  JacTikz *tikz = tikz_from_cairo (cr);

  if (tikz == NULL)
    return FALSE;
  add_text (tikz, cr, text, x, y, xalign);
  return TRUE;
}

/* ---- hatching and patches ---- */

static void
append_rectangle (GString       *out,
                  const JacRect *rect)
{
  append_point (out, rect->x, rect->y);
  g_string_append (out, " rectangle ");
  append_point (out, rect->x + rect->width, rect->y + rect->height);
}

/* A pattern of lines rising to the right, @spacing apart horizontally: the figure's hatch
 * (x + y = k · spacing with y downwards). Declared once per document, as pgf requires. */
static char *
hatch_pattern (JacTikz *tikz,
               double   spacing,
               double   line_width)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autoptr(GString) w = g_string_new (NULL);
  g_autoptr(GString) over = g_string_new (NULL);
  char *name;

  append_number (s, spacing);
  append_number (w, line_width);
  /* The line runs a little past the tile's corners so that tiles join without gaps. */
  append_number (over, spacing + line_width);
  name = g_strdup_printf ("jacscope hatch %s/%s", s->str, w->str);
  if (!g_hash_table_contains (tikz->pattern_names, name))
    {
      g_string_append_printf (tikz->patterns,
                              "\\ifcsname pgf@pattern@name@%s\\endcsname\\else\n"
                              "  \\pgfdeclarepatternformonly{%s}{\\pgfqpoint{-%sbp}{-%sbp}}"
                              "{\\pgfqpoint{%sbp}{%sbp}}{\\pgfqpoint{%sbp}{%sbp}}{%%\n"
                              "    \\pgfsetlinewidth{%sbp}%%\n"
                              "    \\pgfpathmoveto{\\pgfqpoint{-%sbp}{-%sbp}}%%\n"
                              "    \\pgfpathlineto{\\pgfqpoint{%sbp}{%sbp}}%%\n"
                              "    \\pgfusepath{stroke}}%%\n"
                              "\\fi\n", name, name, w->str, w->str, over->str, over->str,
                              s->str, s->str, w->str, w->str, w->str, over->str, over->str);
      g_hash_table_add (tikz->pattern_names, g_strdup (name));
    }
  return name;
}

gboolean
_jac_tikz_take_hatch (cairo_t       *cr,
                      const JacRect *rects,
                      guint          n_rects,
                      double         spacing,
                      double         line_width,
                      const JacRgb  *line)
{
  JacTikz *tikz = tikz_from_cairo (cr);
  g_autofree char *pattern = NULL;
  double x0 = 0, y0 = 0, x1 = spacing, y1 = line_width;

  if (tikz == NULL)
    return FALSE;
  if (n_rects == 0)
    return TRUE;
  /* From user units to figure units: the caller may have scaled to device pixels. */
  figure_point (tikz, cr, &x0, &y0);
  figure_point (tikz, cr, &x1, &y1);
  pattern = hatch_pattern (tikz, MAX (fabs (x1 - x0), 1), MAX (fabs (y1 - y0), 0.1));
  g_string_append_printf (tikz->hatches, "\\begin{scope}\\pgfsetfillpattern{%s}{%s}\n",
                          pattern, colour_name (tikz, line));
  for (guint k = 0; k < n_rects; k++)
    {
      JacRect rect;

      figure_rect (tikz, cr, &rects[k], &rect);
      g_string_append (tikz->hatches, "  \\fill ");
      append_rectangle (tikz->hatches, &rect);
      g_string_append (tikz->hatches, ";\n");
    }
  g_string_append (tikz->hatches, "\\end{scope}\n");
  return TRUE;
}

void
_jac_tikz_add_fill (cairo_t       *cr,
                    const JacRect *rect,
                    const JacRgb  *fill)
{
  JacTikz *tikz = tikz_from_cairo (cr);
  JacRect box;

  if (tikz == NULL)
    return;
  figure_rect (tikz, cr, rect, &box);
  g_string_append_printf (tikz->fills, "\\fill[%s] ", colour_name (tikz, fill));
  append_rectangle (tikz->fills, &box);
  g_string_append (tikz->fills, ";\n");
}

gboolean
_jac_tikz_take_frame (cairo_t       *cr,
                      const JacRect *rect,
                      const JacRgb  *colour)
{
  JacTikz *tikz = tikz_from_cairo (cr);
  JacRect box;

  if (tikz == NULL)
    return FALSE;
  figure_rect (tikz, cr, rect, &box);
  /* Centred half its width outside the rectangle, as the figure strokes it. */
  box = (JacRect) { box.x - tikz->frame / 2, box.y - tikz->frame / 2, box.width + tikz->frame,
                    box.height + tikz->frame };
  g_string_append_printf (tikz->frames, "\\draw[%s,line width=", colour_name (tikz, colour));
  append_number (tikz->frames, tikz->frame);
  g_string_append (tikz->frames, "bp] ");
  append_rectangle (tikz->frames, &box);
  g_string_append (tikz->frames, ";\n");
  return TRUE;
}

/* ---- the files ---- */

static JacTikz *
tikz_new (double    scale,
          JacMedium medium)
{
  JacTikz *tikz = g_new0 (JacTikz, 1);
  JacType type;

  _jac_type_init (&type, medium, 1, 100, 100);
  tikz->scale = scale;
  tikz->type = (JacTexType) { type.min_text, type.min_script, 0 };
  /* _jac_figure_frame_width () on a vector page: a 0.4 pt hairline on paper, else a unit. */
  tikz->frame = medium == JAC_MEDIUM_PAPER ? 0.4 : 1;
  tikz->hatches = g_string_new (NULL);
  tikz->fills = g_string_new (NULL);
  tikz->frames = g_string_new (NULL);
  tikz->texts = g_string_new (NULL);
  tikz->colours = g_string_new (NULL);
  tikz->patterns = g_string_new (NULL);
  tikz->colour_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  tikz->pattern_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return tikz;
}

static void
tikz_free (JacTikz *tikz)
{
  g_string_free (tikz->hatches, TRUE);
  g_string_free (tikz->fills, TRUE);
  g_string_free (tikz->frames, TRUE);
  g_string_free (tikz->texts, TRUE);
  g_string_free (tikz->colours, TRUE);
  g_string_free (tikz->patterns, TRUE);
  g_hash_table_unref (tikz->colour_names);
  g_hash_table_unref (tikz->pattern_names);
  g_free (tikz);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacTikz, tikz_free)

/* "fig.tex" → "fig-1.png": letters, digits and '-' only, which \includegraphics reads as is. */
static char *
image_name (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');
  GString *name = g_string_new (NULL);

  if (dot != NULL && dot != base)
    *dot = '\0';
  for (const char *c = base; *c != '\0'; c++)
    g_string_append_c (name, g_ascii_isalnum (*c) || *c == '-' ? *c : '-');
  g_string_append (name, "-1.png");
  return g_string_free (name, FALSE);
}

static cairo_status_t
write_png_cb (void                *closure,
              const unsigned char *data,
              unsigned int         length)
{
  FILE *stream = closure;

  return fwrite (data, 1, length, stream) == length ? CAIRO_STATUS_SUCCESS
                                                    : CAIRO_STATUS_WRITE_ERROR;
}

/* The figure without its text and hatching, into @stream as PNG; the recorder collects them. */
static cairo_status_t
draw_image (JacTikz           *tikz,
            FILE              *stream,
            double             width,
            double             height,
            JacRenderDrawFunc  draw,
            gpointer           user_data)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32,
                                                         (int) ceil (width * tikz->scale),
                                                         (int) ceil (height * tikz->scale));
  cairo_status_t status = cairo_surface_status (surface);
  cairo_t *cr;

  if (status != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      return status;
    }
  cr = cairo_create (surface);
  cairo_set_user_data (cr, &tikz_key, tikz, NULL);
  cairo_scale (cr, tikz->scale, tikz->scale);
  draw (cr, width, height, user_data);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, write_png_cb, stream);
  cairo_surface_destroy (surface);
  return status;
}

static char *
picture_text (JacTikz    *tikz,
              const char *tex_name,
              const char *png_name,
              double      width,
              double      height)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%% Jacscope figure (TikZ). Needs \\usepackage{tikz} and "
                          "\\usepackage{graphicx}; use it as \\input{%s}, with %s beside it.\n",
                          tex_name, png_name);
  g_string_append (out, "% Its text takes the document's fonts; with a scalable font "
                   "(e.g. \\usepackage{lmodern}) at exactly the figure's sizes.\n");
  g_string_append (out, "% Size: ");
  append_number (out, width);
  g_string_append (out, " bp x ");
  append_number (out, height);
  g_string_append (out, " bp (72 bp = 1 in). Written by Jacscope: edit with care.\n");
  g_string_append (out, "\\begin{tikzpicture}[x=1bp,y=-1bp]\n");
  /* \input{dir/fig.tex} looks for the image in dir/ (LaTeX 2021 and later know the folder). */
  g_string_append (out, "\\edef\\jacscopedir{\\ifdefined\\CurrentFilePath"
                   "\\ifx\\CurrentFilePath\\empty\\else\\CurrentFilePath/\\fi\\fi}\n");
  /* \jacscopefit{width}{floor}{text}: a line wider in the document's font than in the
   * figure's is narrowed to the figure's width, so that it neither runs into its neighbours
   * nor out of the figure; past what floor allows it is only condensed, so that no glyph is
   * set below the medium's minimum. */
  g_string_append (out, "\\def\\jacscopefit#1#2#3{\\sbox0{#3}\\ifdim\\wd0>#1\\relax"
                   "\\dimen0=#2\\wd0 \\ifdim\\dimen0>#1\\relax\\ifdim\\ht0>0pt"
                   "\\resizebox{#1}{#2\\height}{\\usebox0}\\else\\usebox0\\fi"
                   "\\else\\resizebox{#1}{!}{\\usebox0}\\fi\\else\\usebox0\\fi}\n");
  g_string_append (out, tikz->patterns->str);
  g_string_append (out, tikz->colours->str);
  /* The picture is exactly the requested size, whatever the widths of the document's fonts. */
  g_string_append (out, "\\useasboundingbox (0,0) rectangle ");
  append_point (out, width, height);
  /* Nothing is drawn outside the figure, as on a PDF page. */
  g_string_append (out, ";\n\\clip (0,0) rectangle ");
  append_point (out, width, height);
  g_string_append (out, ";\n\\node[anchor=north west,inner sep=0pt,outer sep=0pt] at (0,0) "
                   "{\\includegraphics[width=");
  append_number (out, width);
  g_string_append (out, "bp,height=");
  append_number (out, height);
  g_string_append_printf (out, "bp]{\\jacscopedir %s}};\n", png_name);
  g_string_append (out, tikz->hatches->str);
  g_string_append (out, tikz->fills->str);
  g_string_append (out, tikz->frames->str);
  g_string_append (out, tikz->texts->str);
  g_string_append (out, "\\end{tikzpicture}%\n");
  return g_string_free (out, FALSE);
}

static gboolean
write_error (const char  *path,
             int          saved_errno,
             GError     **error)
{
  g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", path,
               g_strerror (saved_errno != 0 ? saved_errno : EIO));
  return FALSE;
}

gboolean
_jac_tikz_save (const char         *path,
                double              width,
                double              height,
                double              scale,
                JacMedium           medium,
                JacRenderDrawFunc   draw,
                gpointer            user_data,
                GError            **error)
{
  g_autofree char *png_name = image_name (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *png_path = g_build_filename (dir, png_name, NULL);
  g_autofree char *tex_name = g_path_get_basename (path);
  g_autofree char *text = NULL;
  g_autoptr(JacTikz) tikz = NULL;
  JacAtomicFile *png_file, *tex_file;
  cairo_status_t status;

  g_return_val_if_fail (path != NULL && draw != NULL, FALSE);

  tikz = tikz_new (MIN (MAX (scale, IMAGE_SCALE), MAX_IMAGE_PIXELS / MAX (width, height)),
                   medium);
  png_file = jac_atomic_file_new (png_path, error);
  if (png_file == NULL)
    return FALSE;
  tex_file = jac_atomic_file_new (path, error);
  if (tex_file == NULL)
    {
      jac_atomic_file_abort (png_file);
      return FALSE;
    }
  errno = 0;
  status = draw_image (tikz, jac_atomic_file_get_stream (png_file), width, height, draw,
                       user_data);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      int saved_errno = errno;

      jac_atomic_file_abort (png_file);
      jac_atomic_file_abort (tex_file);
      if (status == CAIRO_STATUS_NO_MEMORY)
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_TOO_LARGE,
                       "not enough memory to draw a %g×%g figure for %s", width, height, path);
          return FALSE;
        }
      return write_error (png_path, saved_errno, error);
    }
  text = picture_text (tikz, tex_name, png_name, width, height);
  if (fputs (text, jac_atomic_file_get_stream (tex_file)) == EOF)
    {
      int saved_errno = errno;

      jac_atomic_file_abort (png_file);
      jac_atomic_file_abort (tex_file);
      return write_error (path, saved_errno, error);
    }
  if (!jac_atomic_file_commit (png_file, error))
    {
      jac_atomic_file_abort (tex_file);
      return FALSE;
    }
  if (!jac_atomic_file_commit (tex_file, error))
    {
      /* Neither or both: the image is of no use without its picture. */
      g_unlink (png_path);
      return FALSE;
    }
  return TRUE;
}

/* test-tikz.c: TikZ export: every figure compiles with pdflatex and carries its text as LaTeX. */
#define G_LOG_DOMAIN "test-tikz"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "jac-test-util.h"
#include "core/jac-analysis.h"
#include "core/jac-error.h"
#include "core/jac-sequence.h"
#include "render/jac-figure.h"
#include "render/jac-render-tikz-private.h"
#include "render/jac-sequence-figure.h"

/* The documents of the issue: the column of an article, and a 7 in page for the wide size. */
#define PREAMBLE "\\documentclass{article}\n"
#define PACKAGES "\\usepackage{tikz}\\usepackage{graphicx}\\usepackage{amsmath}\n"
#define WIDE_PAGE "\\usepackage[margin=0.75in]{geometry}\n"

typedef struct
{
  double width, height;
} PaperSize;

/* 3.5 in × 2.5 in, and 7 in at 16:9. */
static const PaperSize paper_sizes[] = { { 252, 180 }, { 504, 283.5 } };

/* ---- helpers ---- */

static JacAnalysis *
make_analysis (JacVariable wrt)
{
  return jac_test_rnn_analysis (2, 3, 3, JAC_FUNC_TANH, FALSE, wrt);
}

static JacAnalysis *
make_expr_analysis (const char *source,
                    const char *shapes,
                    const char *wrt)
{
  return jac_test_expr_analysis (source, shapes, wrt);
}

static void
paper_style (JacFigureStyle *style)
{
  jac_figure_style_init (style);
  style->medium = JAC_MEDIUM_PAPER;
}

static gboolean
have_latex (void)
{
  g_autofree char *pdflatex = g_find_program_in_path ("pdflatex");
  g_autofree char *pdftotext = g_find_program_in_path ("pdftotext");

  if (pdflatex != NULL && pdftotext != NULL)
    return TRUE;
  g_test_skip ("pdflatex or pdftotext is not installed (build-aux/install-deps installs them)");
  return FALSE;
}

static char *
without_spaces (const char *text)
{
  g_autofree char *normal = g_utf8_normalize (text, -1, G_NORMALIZE_ALL_COMPOSE);
  GString *s = g_string_new (NULL);

  /* NFKC also turns the ligatures pdftotext may report (ﬁ, ﬀ) into their letters. */
  for (const char *c = normal; *c != '\0'; c = g_utf8_next_char (c))
    if (!g_unichar_isspace (g_utf8_get_char (c)))
      g_string_append_unichar (s, g_utf8_get_char (c));
  return g_string_free (s, FALSE);
}

/* Compiles @body in @dir as doc.tex; asserts a clean log and returns the text of the PDF. */
static char *
compile (const char *dir,
         const char *body,
         gboolean    wide)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *doc = g_build_filename (dir, "doc.tex", NULL);
  g_autofree char *log_path = g_build_filename (dir, "doc.log", NULL);
  g_autofree char *source = g_strconcat (PREAMBLE, wide ? WIDE_PAGE : "", PACKAGES,
                                         "\\begin{document}\n", body, "\\end{document}\n", NULL);
  g_autofree char *log = NULL, *out = NULL;
  const char *latex[] = { "pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex",
                          NULL };
  const char *totext[] = { "pdftotext", "-enc", "UTF-8", "doc.pdf", "-", NULL };
  int status = 0;

  g_assert_true (g_file_set_contents (doc, source, -1, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_sync (dir, (char **) latex, NULL, G_SPAWN_SEARCH_PATH
                               | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("%s", log);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (log, "Overfull"));
  g_assert_null (strstr (log, "\n! "));
  g_assert_null (strstr (log, "Undefined control sequence"));
  g_assert_true (g_spawn_sync (dir, (char **) totext, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, &error));
  return without_spaces (out);
}

/* Whether @text is in @pdf: a number as a whole, else each of its words of three or more
 * letters and digits (sub- and superscripts may land elsewhere in pdftotext's reading). */
static void
assert_text_in (const char *pdf,
                const char *text)
{
  g_autofree char *compact = without_spaces (text);
  gboolean number = compact[0] != '\0';

  for (const char *c = compact; *c != '\0'; c = g_utf8_next_char (c))
    if (!g_ascii_isdigit (*c) && *c != '.' && g_utf8_get_char (c) != 0x2212)
      number = FALSE;
  if (number)
    {
      if (strstr (pdf, compact) == NULL)
        g_error ("the number “%s” is not in the compiled figure", text);
      return;
    }
  for (const char *c = text; *c != '\0';)
    {
      const char *start = c;
      g_autofree char *word = NULL;

      while (g_ascii_isalnum (*c))
        c++;
      word = g_strndup (start, c - start);
      if (strlen (word) >= 3 && strstr (pdf, word) == NULL)
        g_error ("“%s” (of “%s”) is not in the compiled figure", word, text);
      if (*c != '\0' && c == start)
        c++;
    }
}

/* Removes @dir and what the tests wrote in it (one level of folders), unless
 * JACSCOPE_KEEP_TIKZ is set to look at the files. */
static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  if (g_getenv ("JACSCOPE_KEEP_TIKZ") != NULL)
    {
      g_test_message ("kept %s", dir);
      return;
    }
  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static char *
body_for (const char *name)
{
  return g_strdup_printf ("\\input{%s}\n", name);
}

/* Writes @style's Jacobian figure at @size, compiles it, and checks its text made it. */
static void
check_figure (const JacAnalysis    *analysis,
              const JacFigureStyle *style,
              const PaperSize      *size,
              const char           *must_have,
              guint                 min_hatched)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *tex = g_build_filename (dir, "fig.tex", NULL);
  g_autofree char *png = g_build_filename (dir, "fig-1.png", NULL);
  g_autofree char *first_line = NULL, *pdf = NULL, *body = NULL, *contents = NULL;
  g_autoptr(GArray) texts = NULL;
  gboolean wide = size->width > 300;

  g_assert_no_error (error);
  g_assert_true (jac_figure_save (tex, size->width, size->height, 1, analysis, style, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (tex, &contents, NULL, &error));
  first_line = g_strndup (contents, strcspn (contents, "\n"));
  g_assert_true (g_str_has_prefix (first_line, "% Jacscope figure (TikZ)."));
  g_assert_nonnull (strstr (first_line, "\\usepackage{tikz}"));
  g_assert_nonnull (strstr (first_line, "\\usepackage{graphicx}"));
  g_assert_nonnull (strstr (first_line, "\\input{fig.tex}"));
  g_assert_nonnull (strstr (contents, "\\includegraphics"));
  /* Structural zeros (and the legend's sample of them) are TikZ patterns, not pixels. */
  {
    guint hatched = 0;

    for (const char *c = contents; (c = strstr (c, "\n  \\fill (")) != NULL; c++)
      hatched++;
    g_assert_cmpuint (hatched, >=, min_hatched);
    g_assert_true (hatched == 0 || strstr (contents, "\\pgfsetfillpattern{jacscope hatch"));
  }

  if (style->medium != JAC_MEDIUM_PAPER)
    {
      /* A figure in px, as the window's pane: scaled to the column, as one would. */
      body = g_strdup ("\\noindent\\resizebox{\\linewidth}{!}{\\input{fig.tex}}\n");
      wide = FALSE;
    }
  else
    body = wide ? g_strdup ("\\noindent\\input{fig.tex}\n") : body_for ("fig.tex");
  pdf = compile (dir, body, wide);
  texts = jac_figure_text_rects (size->width, size->height, analysis, style);
  g_assert_cmpuint (texts->len, >, 3);
  for (guint k = 0; k < texts->len; k++)
    assert_text_in (pdf, g_array_index (texts, JacTextRect, k).text);
  /* Every text is LaTeX, one node per line: none is left in the image. */
  {
    guint nodes = 0;

    for (const char *c = contents; (c = strstr (c, "\\node[anchor=base")) != NULL; c++)
      nodes++;
    g_assert_cmpuint (nodes, >=, texts->len);
  }
  if (must_have != NULL)
    g_assert_nonnull (strstr (pdf, must_have));
  g_test_message ("%s: %u texts in the compiled figure", dir, texts->len);
  remove_tree (dir);
}

/* ---- tests ---- */

static void
test_rnn_every_wrt (void)
{
  static const JacVariable wrts[] = {
    JAC_VAR_H_PREV, JAC_VAR_X, JAC_VAR_W_HH, JAC_VAR_W_XH, JAC_VAR_B,
  };

  if (!have_latex ())
    return;
  for (guint w = 0; w < G_N_ELEMENTS (wrts); w++)
    for (guint layout = 0; layout < 2; layout++)
      for (guint s = 0; s < G_N_ELEMENTS (paper_sizes); s++)
        {
          g_autoptr(JacAnalysis) analysis = make_analysis (wrts[w]);
          JacFigureStyle style;

          paper_style (&style);
          style.denominator_layout = layout == 1;
          /* The 7 in page has room for the contracted form beside the grid. */
          check_figure (analysis, &style, &paper_sizes[s],
                        s == 1 && wrts[w] == JAC_VAR_H_PREV ? "back-propagation" : NULL, 3);
        }
}

static void
test_rnn_views (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);

  if (!have_latex ())
    return;
  for (guint s = 0; s < G_N_ELEMENTS (paper_sizes); s++)
    {
      JacFigureStyle style;

      paper_style (&style);
      style.focus_row = 1;
      check_figure (analysis, &style, &paper_sizes[s], NULL, 2);
      paper_style (&style);
      style.show_contraction = FALSE;
      check_figure (analysis, &style, &paper_sizes[s], NULL, 2);
      paper_style (&style);
      style.dark = TRUE;
      style.colormap = JAC_COLORMAP_GRAY;
      check_figure (analysis, &style, &paper_sizes[s], NULL, 2);
    }
}

/* The window's pane at a projector's resolution, in px written as bp. */
static void
test_screen_figure (void)
{
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_W_HH);
  const PaperSize pane = { 930, 470 };
  JacFigureStyle style;

  if (!have_latex ())
    return;
  jac_figure_style_init (&style);
  check_figure (analysis, &style, &pane, "back-propagation", 2);
}

static void
test_expression (void)
{
  g_autoptr(JacAnalysis) analysis = make_expr_analysis ("X.T @ X", "X: 3x2", "X");

  if (!have_latex ())
    return;
  for (guint s = 0; s < G_N_ELEMENTS (paper_sizes); s++)
    {
      JacFigureStyle style;

      paper_style (&style);
      check_figure (analysis, &style, &paper_sizes[s], NULL, 0);
    }
}

/* Twelve steps of the default RNN, with its norms and ∂h_T/∂h_{T−3}. */
static JacSequence *
make_sequence (JacSequenceNorms **norms,
               JacStructured    **jacobian,
               JacSequenceView   *view)
{
  g_autoptr(GError) error = NULL;
  JacSequenceConfig config;
  JacSequence *seq;

  jac_sequence_config_init_default (&config);
  config.steps = 12;
  seq = jac_sequence_new (&config, &error);
  g_assert_no_error (error);
  *norms = jac_sequence_norms (seq, FALSE, &error);
  g_assert_no_error (error);
  *jacobian = jac_sequence_jacobian (seq, 3, &error);
  g_assert_no_error (error);
  jac_sequence_view_init (view);
  view->lag = 3;
  return seq;
}

static void
test_through_time (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacSequence) seq = NULL;
  g_autoptr(JacSequenceNorms) norms = NULL;
  g_autoptr(JacStructured) jac = NULL;
  JacSequenceView view;
  JacFigureStyle style;

  if (!have_latex ())
    return;
  seq = make_sequence (&norms, &jac, &view);
  paper_style (&style);
  for (guint s = 0; s < G_N_ELEMENTS (paper_sizes); s++)
    {
      const PaperSize *size = &paper_sizes[s];
      g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
      g_autofree char *tex = g_build_filename (dir, "seq.tex", NULL);
      g_autofree char *pdf = NULL;
      g_autoptr(GArray) texts = NULL;
      gboolean wide = size->width > 300;

      g_assert_true (jac_sequence_figure_save (tex, size->width, size->height, 1, seq, jac, norms,
                                               &view, &style, &error));
      g_assert_no_error (error);
      pdf = compile (dir, wide ? "\\noindent\\input{seq.tex}\n" : "\\input{seq.tex}\n", wide);
      texts = _jac_sequence_figure_text_rects (size->width, size->height, 1, seq, jac, norms,
                                               &view, &style);
      g_assert_cmpuint (texts->len, >, 3);
      for (guint k = 0; k < texts->len; k++)
        assert_text_in (pdf, g_array_index (texts, JacTextRect, k).text);
      remove_tree (dir);
    }
}

/* The same picture twice in one document, in floats (groups): its patterns are declared once,
 * and \input{sub/fig.tex} finds the image in sub/. Nothing but tikz and graphicx is needed. */
static void
test_twice_in_a_folder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_W_HH);
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_autofree char *tex = g_build_filename (sub, "fig.tex", NULL);
  g_autofree char *doc = g_build_filename (dir, "doc.tex", NULL);
  g_autofree char *log_path = g_build_filename (dir, "doc.log", NULL);
  g_autofree char *log = NULL;
  const char *latex[] = { "pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex",
                          NULL };
  JacFigureStyle style;
  int status = 0;

  if (!have_latex ())
    return;
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  paper_style (&style);
  g_assert_true (jac_figure_save (tex, 252, 180, 1, analysis, &style, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (doc, "\\documentclass{article}\n"
                                      "\\usepackage{tikz}\\usepackage{graphicx}\n"
                                      "\\begin{document}\n"
                                      "\\begin{figure}\\centering\\input{sub/fig.tex}\\end{figure}\n"
                                      "\\begin{figure}\\centering\\input{sub/fig.tex}\\end{figure}\n"
                                      "\\end{document}\n", -1, &error));
  g_assert_true (g_spawn_sync (dir, (char **) latex, NULL, G_SPAWN_SEARCH_PATH
                               | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_true (g_file_get_contents (log_path, &log, NULL, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (log, "\n! "));
  g_assert_nonnull (strstr (log, "sub/fig-1.png"));
  remove_tree (dir);
}

/* Every character the sources use, LaTeX's specials, and characters with no LaTeX form. */
static void
test_characters (void)
{
  static const char *samples[] = {
    "∂h/∂h_prev = diag(S_i) W_hhᵀ · δ_ip", "Σ ⊙ ⊘ × − → ↓ ← ↑ ± ‖ ≈ ≠ ≤ ≥ ½ ⋯ √ ∘ µ Ā",
    "x² x³ 10⁻¹⁷ ⁿ h₀ h₁ h₉ W′", "φ ρ σ λ ε β α Γ ∇ ⌈n⌉ ∞", "“why” it’s … — – a\u2009b",
    "# $ % & _ { } ~ ^ \\ < > | \" -- !` ?`", "café naïve ß", "snow ☃ and 𝔸 and 中",
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL, *pdf = NULL;
  g_autoptr(GString) body = g_string_new (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (samples); k++)
    {
      g_autofree char *tex = _jac_tikz_escape (samples[k], 8, 6);

      /* Only ASCII goes to LaTeX. */
      for (const char *c = tex; *c != '\0'; c++)
        g_assert_cmpint ((guchar) *c, <, 0x80);
      g_string_append_printf (body, "\\noindent %s\\par\n", tex);
    }
  {
    g_autofree char *unknown = _jac_tikz_escape ("☃", 8, 6);
    g_autofree char *specials = _jac_tikz_escape ("50% of $x_1$ & {y}", 8, 6);

    g_assert_cmpstr (unknown, ==, "?");
    g_assert_cmpstr (specials, ==, "50\\% of \\$x\\_1\\$ \\& \\{y\\}");
  }
  if (!have_latex ())
    return;
  dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_assert_no_error (error);
  pdf = compile (dir, body->str, FALSE);
  for (const char *word = "diag\0prev\0why\0caf\0snow\0"; *word != '\0';
       word += strlen (word) + 1)
    g_assert_nonnull (strstr (pdf, word));
  /* \_ is drawn as a rule, which pdftotext does not read. */
  g_assert_nonnull (strstr (pdf, "#$%&{}"));
  g_assert_nonnull (strstr (pdf, "∂"));
  remove_tree (dir);
}

static gboolean
dir_is_empty_but (const char *dir,
                  const char *keep)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (d)) != NULL)
    if (g_strcmp0 (name, keep) != 0)
      return FALSE;
  return TRUE;
}

/* A failed write leaves neither the picture nor its image, nor any temporary file. */
static void
test_failure_leaves_nothing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *tex = g_build_filename (dir, "fig.tex", NULL);
  g_autofree char *locked = g_build_filename (dir, "locked", NULL);
  g_autofree char *locked_tex = g_build_filename (locked, "fig.tex", NULL);
  JacFigureStyle style;

  paper_style (&style);
  /* The picture's own path is taken by a folder: the image must not stay behind alone. */
  g_assert_cmpint (g_mkdir (tex, 0755), ==, 0);
  g_assert_false (jac_figure_save (tex, 252, 180, 1, analysis, &style, &error));
  g_assert_error (error, JAC_ERROR, JAC_ERROR_IO);
  g_clear_error (&error);
  g_assert_true (dir_is_empty_but (dir, "fig.tex"));
  g_rmdir (tex);

  g_assert_cmpint (g_mkdir (locked, 0555), ==, 0);
  if (geteuid () != 0)
    {
      g_assert_false (jac_figure_save (locked_tex, 252, 180, 1, analysis, &style, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_assert_true (dir_is_empty_but (locked, NULL));
    }
  g_rmdir (locked);
  g_rmdir (dir);
}

/* A paper figure's SVG is measured in pt and its PDF page is its size in pt; a screen figure's
 * SVG stays in px. */
static void
test_paper_units (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *svg = g_build_filename (dir, "fig.svg", NULL);
  g_autofree char *pdf = g_build_filename (dir, "fig.pdf", NULL);
  JacFigureStyle style;

  for (guint medium = 0; medium < 2; medium++)
    {
      g_autofree char *contents = NULL;

      jac_figure_style_init (&style);
      style.medium = medium == 0 ? JAC_MEDIUM_PAPER : JAC_MEDIUM_SCREEN;
      g_assert_true (jac_figure_save (svg, 252, 180, 1, analysis, &style, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (svg, &contents, NULL, &error));
      g_assert_nonnull (strstr (contents, medium == 0 ? "width=\"252pt\" height=\"180pt\""
                                                      : "width=\"252px\" height=\"180px\""));
      g_unlink (svg);
    }
  {
    static const char media_box[] = "/MediaBox [ 0 0 252 180 ]";
    g_autofree char *contents = NULL;
    gboolean found = FALSE;
    gsize length = 0;

    paper_style (&style);
    g_assert_true (jac_figure_save (pdf, 252, 180, 1, analysis, &style, &error));
    g_assert_true (g_file_get_contents (pdf, &contents, &length, &error));
    /* A PDF holds NUL bytes: search all of it. */
    for (gsize k = 0; !found && k + sizeof media_box - 1 <= length; k++)
      found = memcmp (contents + k, media_box, sizeof media_box - 1) == 0;
    g_assert_true (found);
    g_unlink (pdf);
  }
  g_rmdir (dir);
}

/* The share of 6 × 6 pixel tiles whose mean colour differs clearly between two PNGs of the
 * same size: glyphs of another font in the same place average out, a misplaced or missing
 * image or hatch does not. */
static double
tiles_apart (const char *a_path,
             const char *b_path)
{
  cairo_surface_t *a = cairo_image_surface_create_from_png (a_path);
  cairo_surface_t *b = cairo_image_surface_create_from_png (b_path);
  int width = cairo_image_surface_get_width (a), height = cairo_image_surface_get_height (a);
  guint64 apart = 0, tiles = 0;
  const int tile = 6;

  g_assert_cmpint (cairo_surface_status (a), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_surface_status (b), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (width, ==, cairo_image_surface_get_width (b));
  g_assert_cmpint (height, ==, cairo_image_surface_get_height (b));
  for (int ty = 0; ty + tile <= height; ty += tile)
    for (int tx = 0; tx + tile <= width; tx += tile)
      {
        double most = 0;

        for (int shift = 0; shift < 24; shift += 8)
          {
            double sum = 0;

            for (int y = ty; y < ty + tile; y++)
              {
                const guint32 *ra = (const guint32 *) (gconstpointer) (cairo_image_surface_get_data (a)
                                                       + y * cairo_image_surface_get_stride (a));
                const guint32 *rb = (const guint32 *) (gconstpointer) (cairo_image_surface_get_data (b)
                                                       + y * cairo_image_surface_get_stride (b));

                for (int x = tx; x < tx + tile; x++)
                  sum += (double) ((ra[x] >> shift) & 0xff) - (double) ((rb[x] >> shift) & 0xff);
              }
            most = MAX (most, fabs (sum) / (tile * tile));
          }
        apart += most > 32;
        tiles++;
      }
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
  return (double) apart / tiles;
}

static void
rasterize (const char *dir,
           const char *pdf,
           const char *stem)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "pdftoppm", "-png", "-r", "72", "-singlefile", pdf, stem, NULL };
  int status = 0;

  g_assert_true (g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH
                               | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));
}

/* Compiles fig.tex of @dir on a page of its own size and compares it with fig.pdf, the PDF
 * export of the same figure: only the glyphs of its text may differ. */
static void
assert_matches_pdf (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *doc = g_build_filename (dir, "doc.tex", NULL);
  g_autofree char *export_png = g_build_filename (dir, "export.png", NULL);
  g_autofree char *latex_png = g_build_filename (dir, "latex.png", NULL);
  g_autofree char *blank_png = g_build_filename (dir, "blank.png", NULL);
  const char *latex[] = { "pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex",
                          NULL };
  cairo_surface_t *blank;
  cairo_t *cr;
  double apart, apart_blank;
  int status = 0;

  g_assert_true (g_file_set_contents (doc, "\\documentclass{article}\n"
                                      "\\usepackage[paperwidth=504bp,paperheight=283.5bp,"
                                      "margin=0pt]{geometry}\n"
                                      "\\usepackage{tikz}\\usepackage{graphicx}\n"
                                      "\\pagestyle{empty}\\begin{document}\n"
                                      "\\noindent\\input{fig.tex}\n\\end{document}\n",
                                      -1, &error));
  g_assert_true (g_spawn_sync (dir, (char **) latex, NULL, G_SPAWN_SEARCH_PATH
                               | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, &error));
  rasterize (dir, "fig.pdf", "export");
  rasterize (dir, "doc.pdf", "latex");
  apart = tiles_apart (export_png, latex_png);

  /* What a picture without its image would score: the comparison can tell. */
  blank = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 504, 284);
  cr = cairo_create (blank);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_destroy (cr);
  g_assert_cmpint (cairo_surface_write_to_png (blank, blank_png), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (blank);
  apart_blank = tiles_apart (export_png, blank_png);
  g_test_message ("tiles apart: %.4f (a blank page: %.4f)", apart, apart_blank);
  g_assert_cmpfloat (apart, <, 0.04);
  g_assert_cmpfloat (apart_blank, >, 5 * apart);
}

static gboolean
have_pdftoppm (void)
{
  g_autofree char *pdftoppm = g_find_program_in_path ("pdftoppm");

  if (pdftoppm == NULL)
    g_test_skip ("pdftoppm is not installed");
  return pdftoppm != NULL;
}

static void
test_matches_pdf (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JacAnalysis) analysis = make_analysis (JAC_VAR_H_PREV);
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *tex = g_build_filename (dir, "fig.tex", NULL);
  g_autofree char *pdf = g_build_filename (dir, "fig.pdf", NULL);
  JacFigureStyle style;

  if (!have_latex () || !have_pdftoppm ())
    return;
  paper_style (&style);
  g_assert_true (jac_figure_save (tex, 504, 283.5, 1, analysis, &style, &error));
  g_assert_true (jac_figure_save (pdf, 504, 283.5, 1, analysis, &style, &error));
  g_assert_no_error (error);
  assert_matches_pdf (dir);
  remove_tree (dir);
}

static void
test_through_time_matches_pdf (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("jacscope-tikz-XXXXXX", &error);
  g_autofree char *tex = g_build_filename (dir, "fig.tex", NULL);
  g_autofree char *pdf = g_build_filename (dir, "fig.pdf", NULL);
  g_autoptr(JacSequence) seq = NULL;
  g_autoptr(JacSequenceNorms) norms = NULL;
  g_autoptr(JacStructured) jac = NULL;
  JacSequenceView view;
  JacFigureStyle style;

  if (!have_latex () || !have_pdftoppm ())
    return;
  seq = make_sequence (&norms, &jac, &view);
  paper_style (&style);
  g_assert_true (jac_sequence_figure_save (tex, 504, 283.5, 1, seq, jac, norms, &view, &style,
                                           &error));
  g_assert_true (jac_sequence_figure_save (pdf, 504, 283.5, 1, seq, jac, norms, &view, &style,
                                           &error));
  g_assert_no_error (error);
  assert_matches_pdf (dir);
  remove_tree (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tikz/characters", test_characters);
  g_test_add_func ("/tikz/failure-leaves-nothing", test_failure_leaves_nothing);
  g_test_add_func ("/tikz/paper-units", test_paper_units);
  g_test_add_func ("/tikz/rnn-every-wrt", test_rnn_every_wrt);
  g_test_add_func ("/tikz/rnn-views", test_rnn_views);
  g_test_add_func ("/tikz/screen-figure", test_screen_figure);
  g_test_add_func ("/tikz/expression", test_expression);
  g_test_add_func ("/tikz/through-time", test_through_time);
  g_test_add_func ("/tikz/twice-in-a-folder", test_twice_in_a_folder);
  g_test_add_func ("/tikz/matches-pdf", test_matches_pdf);
  g_test_add_func ("/tikz/through-time-matches-pdf", test_through_time_matches_pdf);
  return g_test_run ();
}

/* jac-cli-figure.c: the options that shape a rendered figure. */
#define G_LOG_DOMAIN "jac-cli"

#include <math.h>

#include "cli/jac-cli-private.h"
#include "core/jac-error.h"

GOptionGroup *
_jac_cli_figure_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "width", 0, 0, G_OPTION_ARG_FILENAME, &o->width_text,
      "Width in px (default 1600), or pt, in, cm, mm for a page size, e.g. 3.5in", "W[UNIT]" },
    { "height", 0, 0, G_OPTION_ARG_FILENAME, &o->height_text,
      "Height in px (default 900), or pt, in, cm, mm, e.g. 2.5in", "H[UNIT]" },
    { "dpi", 0, 0, G_OPTION_ARG_FILENAME, &o->dpi_text,
      "Pixels per inch of a PNG sized in pt, in, cm or mm, and of px in a .tex (default 96, "
      "10 to 1152)", "D" },
    { "scale", 0, 0, G_OPTION_ARG_FILENAME, &o->scale_text,
      "PNG pixels per unit: 1, 2 or 3 (times DPI/72 for a physical size)", "K" },
    { "presentation", 0, 0, G_OPTION_ARG_NONE, &o->presentation,
      "Projector type, all text ≥ 18 px (sizes in px only)", NULL },
    { "layout", 0, 0, G_OPTION_ARG_FILENAME, &o->layout_text,
      "numerator (default), denominator, vec (∂vec(out)/∂vec(wrt)) or per-sample (the N blocks "
      "(i, i))", "NAME" },
    { "colormap", 0, 0, G_OPTION_ARG_FILENAME, &o->colormap_text,
      "blue-red (default), purple-green or gray", "NAME" },
    { "row", 0, 0, G_OPTION_ARG_FILENAME, &o->row_text, "Show J[i, :, p, :] for every p, large",
      "I" },
    { "show-values", 0, 0, G_OPTION_ARG_NONE, &o->show_values, "Write values in large cells",
      NULL },
    { "dark", 0, 0, G_OPTION_ARG_NONE, &o->dark, "Dark background", NULL },
    { "no-contraction", 0, 0, G_OPTION_ARG_NONE, &o->no_contraction,
      "Leave out the contracted form", NULL },
    { NULL }
  };
  GOptionGroup *group = g_option_group_new ("figure", "Figure options (render):",
                                            "Show figure options", NULL, NULL);

  _jac_cli_add_entries (group, entries, o->subcommand);
  return group;
}

gboolean
_jac_cli_resolve_figure_options (JacCliOptions  *o,
                                 GError        **error)
{
  o->scale = 1.0;
  o->dpi = 96.0;
  if (o->width_text && !_jac_cli_parse_length ("--width", o->width_text, &o->width_length, error))
    return FALSE;
  if (o->height_text &&
      !_jac_cli_parse_length ("--height", o->height_text, &o->height_length, error))
    return FALSE;
  if (o->dpi_text && !_jac_cli_parse_dpi (o->dpi_text, &o->dpi, error))
    return FALSE;
  if (o->scale_text)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (o->scale_text, 10, 1, 3, &v, NULL))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "--scale: “%s” is not 1, 2 or 3",
                       o->scale_text);
          return FALSE;
        }
      o->scale = (double) v;
    }
  if (o->layout_text)
    {
      int layout;

      if (!_jac_cli_parse_enum (JAC_TYPE_LAYOUT, "--layout", o->layout_text, -1, &layout, error))
        return FALSE;
      jac_figure_style_set_layout (&o->style, layout);
    }
  if (o->colormap_text)
    {
      int colormap;

      if (!_jac_cli_parse_enum (JAC_TYPE_COLORMAP, "--colormap", o->colormap_text, -1, &colormap,
                                error))
        return FALSE;
      o->style.colormap = colormap;
    }
  if (o->row_text)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (o->row_text, 10, 0, G_MAXINT32, &v, NULL))
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID, "--row: “%s” is not a row number",
                       o->row_text);
          return FALSE;
        }
      o->style.focus_row = (gssize) v;
    }
  o->style.show_values = o->show_values;
  o->style.dark = o->dark;
  o->style.show_contraction = !o->no_contraction;
  return TRUE;
}

/* ---- the size and medium, once the format is known ---- */

/* The renderer's limits: figure units (px or pt) and PNG pixels a side, PNG pixels per unit. */
#define MIN_SIDE 16
#define MAX_SIDE 16384
#define MAX_SAVE_SCALE 16

static gboolean
check_medium_options (const JacCliOptions  *o,
                      JacFigureFormat       format,
                      GError              **error)
{
  const char *physical = o->width_length.physical ? "--width" :
                         o->height_length.physical ? "--height" : NULL;
  const char *text = o->width_length.physical ? o->width_text : o->height_text;

  if (o->presentation && physical != NULL)
    g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE,
                 "--presentation and %s “%s” do not go together: presentation type is laid out "
                 "in px (e.g. --width 1280 --height 720); pt, in, cm and mm are for the page",
                 physical, text);
  else if (o->presentation && format == JAC_FIGURE_TIKZ)
    g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE,
                 "--presentation and -o %s do not go together: a .tex figure is for the page",
                 o->output_path);
  /* Accepted with px it would change nothing, which a script would take for a bug in itself or
   * in jacscope; with a physical size it is taken for every format, so that one command line
   * makes the PNG and the PDF. */
  else if (o->dpi_text != NULL && physical == NULL && format != JAC_FIGURE_TIKZ)
    g_set_error (error, JAC_ERROR, JAC_ERROR_USAGE,
                 "--dpi %s goes with --width or --height in pt, in, cm or mm, or with a .tex "
                 "output: a figure sized in px has its pixels already", o->dpi_text);
  else
    return TRUE;
  return FALSE;
}

/* A side left out follows the other at 16:9; with neither (a .tex), the LaTeX page's 7 in. */
static void
set_paper_size (JacCliOptions *o)
{
  double width = o->width_text ? _jac_cli_length_to_points (&o->width_length, o->dpi) : 0;
  double height = o->height_text ? _jac_cli_length_to_points (&o->height_length, o->dpi) : 0;

  if (width == 0 && height == 0)
    width = 7 * 72;
  o->width = width > 0 ? width : height * 16 / 9;
  o->height = height > 0 ? height : width * 9 / 16;
}

/* The option to name for a side out of range: its own, or the one it follows. */
static void
blame_side (const JacCliOptions  *o,
            gboolean              is_width,
            const char          **option,
            const char          **text)
{
  gboolean width = (is_width ? o->width_text : o->height_text) != NULL ? is_width : !is_width;

  *option = width ? "--width" : "--height";
  *text = width ? o->width_text : o->height_text;
  if (*text == NULL)
    *text = "the default";
}

static gboolean
check_pixels (const JacCliOptions  *o,
              gboolean              paper,
              GError              **error)
{
  double pixels[2] = { round (o->width * o->save_scale), round (o->height * o->save_scale) };

  for (guint s = 0; s < 2; s++)
    if (!(pixels[s] >= MIN_SIDE && pixels[s] <= MAX_SIDE))
      {
        g_autoptr(GString) how = g_string_new (NULL);
        const char *option, *text;

        if (paper)
          g_string_append_printf (how, " at %g dpi", o->dpi);
        if (o->scale != 1)
          g_string_append_printf (how, "%s --scale %g", paper ? " and" : " at", o->scale);
        blame_side (o, s == 0, &option, &text);
        g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                     "%s: “%s” makes the PNG %.0f×%.0f pixels%s; each side must be %d to %d",
                     option, text, pixels[0], pixels[1], how->str, MIN_SIDE, MAX_SIDE);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_size (const JacCliOptions  *o,
            JacFigureFormat       format,
            gboolean              paper,
            GError              **error)
{
  double sides[2] = { o->width, o->height };
  const char *unit = paper ? "pt" : "px";

  if (o->save_scale > MAX_SAVE_SCALE)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--dpi: %s with --scale %g is %.3g pixels per pt, past the %d the renderer "
                   "draws (dpi × scale at most %d)", o->dpi_text, o->scale, o->save_scale,
                   MAX_SAVE_SCALE, MAX_SAVE_SCALE * 72);
      return FALSE;
    }
  if (format == JAC_FIGURE_PNG && !check_pixels (o, paper, error))
    return FALSE;
  for (guint s = 0; s < 2; s++)
    if (!(sides[s] >= MIN_SIDE && sides[s] <= MAX_SIDE))
      {
        const char *option, *text;

        blame_side (o, s == 0, &option, &text);
        g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                     "%s: “%s” makes the figure %.4g×%.4g %s; each side must be %d to %d %s",
                     option, text, o->width, o->height, unit, MIN_SIDE, MAX_SIDE, unit);
        return FALSE;
      }
  return TRUE;
}

/* A physical size, or a .tex, lays the figure out in pt with the paper medium; PNG pixels are
 * then dpi/72 a pt. Sizes in px keep the screen medium, or presentation's. */
gboolean
_jac_cli_resolve_figure_size (JacCliOptions    *o,
                              JacFigureFormat   format,
                              GError          **error)
{
  gboolean paper = o->width_length.physical || o->height_length.physical ||
                   format == JAC_FIGURE_TIKZ;

  if (!check_medium_options (o, format, error))
    return FALSE;
  if (paper)
    {
      o->style.medium = JAC_MEDIUM_PAPER;
      set_paper_size (o);
    }
  else
    {
      o->style.medium = o->presentation ? JAC_MEDIUM_PRESENTATION : JAC_MEDIUM_SCREEN;
      o->width = o->width_text ? o->width_length.value : 1600;
      o->height = o->height_text ? o->height_length.value : 900;
    }
  if (format == JAC_FIGURE_PNG || format == JAC_FIGURE_TIKZ)
    o->save_scale = paper ? o->dpi / 72 * o->scale : o->scale;
  else
    o->save_scale = 1;
  return check_size (o, format, paper, error);
}

/* A failed render exits 2 for options that do not go together, 1 for anything else. */
int
_jac_cli_render_status (const GError *error)
{
  return g_error_matches (error, JAC_ERROR, JAC_ERROR_USAGE) ? 2 : 1;
}

gboolean
_jac_cli_check_focus_row (JacCliOptions      *o,
                          const JacAnalysis  *analysis,
                          GError            **error)
{
  if (o->style.focus_row >= 0 && (gsize) o->style.focus_row >= analysis->sparsity.n_block_rows)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--row: %" G_GSSIZE_FORMAT " is past the last row, %" G_GSIZE_FORMAT,
                   o->style.focus_row, analysis->sparsity.n_block_rows - 1);
      return FALSE;
    }
  if (o->style.per_sample && o->style.focus_row >= 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--row goes with the grid, not --layout per-sample");
      return FALSE;
    }
  /* The same refusal, naming the same block, as compute --per-sample. */
  if (o->style.per_sample && !jac_analysis_is_batch_diagonal (analysis, error))
    {
      g_prefix_error (error, "--layout per-sample: ");
      return FALSE;
    }
  return TRUE;
}

void
_jac_cli_clear_figure_options (JacCliOptions *o)
{
  g_free (o->width_text);
  g_free (o->height_text);
  g_free (o->scale_text);
  g_free (o->dpi_text);
  g_free (o->layout_text);
  g_free (o->colormap_text);
  g_free (o->row_text);
  g_free (o->repeat_text);
}

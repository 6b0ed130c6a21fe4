/* jac-cli-figure.c: the options that shape a rendered figure. */
#define G_LOG_DOMAIN "jac-cli"

#include "cli/jac-cli-private.h"
#include "core/jac-error.h"

GOptionGroup *
_jac_cli_figure_option_group (JacCliOptions *o)
{
  GOptionEntry entries[] = {
    { "width", 0, 0, G_OPTION_ARG_FILENAME, &o->width_text, "Figure width (default 1600)", "PX" },
    { "height", 0, 0, G_OPTION_ARG_FILENAME, &o->height_text, "Figure height (default 900)", "PX" },
    { "scale", 0, 0, G_OPTION_ARG_FILENAME, &o->scale_text, "PNG pixels per unit: 1, 2 or 3",
      "K" },
    { "layout", 0, 0, G_OPTION_ARG_FILENAME, &o->layout_text, "numerator (default) or denominator",
      "NAME" },
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

  g_option_group_add_entries (group, entries);
  return group;
}

static gboolean
parse_pixels (const char  *option,
              const char  *text,
              int         *value,
              GError     **error)
{
  guint64 v;

  if (!g_ascii_string_to_unsigned (text, 10, 16, 16384, &v, NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s: “%s” is not a size from 16 to 16384 pixels", option, text);
      return FALSE;
    }
  *value = (int) v;
  return TRUE;
}

gboolean
_jac_cli_resolve_figure_options (JacCliOptions  *o,
                                 GError        **error)
{
  o->width = 1600;
  o->height = 900;
  o->scale = 1.0;
  if (o->width_text && !parse_pixels ("--width", o->width_text, &o->width, error))
    return FALSE;
  if (o->height_text && !parse_pixels ("--height", o->height_text, &o->height, error))
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
      if (g_strcmp0 (o->layout_text, "numerator") == 0)
        o->style.denominator_layout = FALSE;
      else if (g_strcmp0 (o->layout_text, "denominator") == 0)
        o->style.denominator_layout = TRUE;
      else
        {
          g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                       "--layout: unknown “%s” (expected numerator or denominator)",
                       o->layout_text);
          return FALSE;
        }
    }
  if (o->colormap_text && !jac_colormap_from_name (o->colormap_text, &o->style.colormap))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--colormap: unknown “%s” (expected blue-red, purple-green or gray)",
                   o->colormap_text);
      return FALSE;
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
  return TRUE;
}

void
_jac_cli_clear_figure_options (JacCliOptions *o)
{
  g_free (o->width_text);
  g_free (o->height_text);
  g_free (o->scale_text);
  g_free (o->layout_text);
  g_free (o->colormap_text);
  g_free (o->row_text);
  g_free (o->repeat_text);
}

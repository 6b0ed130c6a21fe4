/* jac-export.c: what the Export dialog asks for, and the figure size and medium it comes to. */
#define G_LOG_DOMAIN "jac-export"

#include <math.h>

#include "jac-export.h"

#define POINTS_PER_INCH 72.0
/* The LaTeX presets are 7:5, the figure's usual shape: 3.5 × 2.5 in fits a column. */
#define LATEX_ASPECT (5.0 / 7.0)
#define COLUMN_WIDTH_IN 3.5
#define PAGE_WIDTH_IN 7.0
#define DEFAULT_DPI 300

void
jac_export_choices_init (JacExportChoices *choices)
{
  g_return_if_fail (choices != NULL);

  *choices = (JacExportChoices) {
    .format = JAC_FIGURE_PNG,
    .preset = JAC_EXPORT_PANE,
    .custom_width = 3.5,
    .custom_height = 2.5,
    .custom_unit = JAC_UNIT_IN,
    .scale = 2,
    .dpi = DEFAULT_DPI,
  };
}

void
jac_export_choices_copy (JacExportChoices       *dest,
                         const JacExportChoices *src)
{
  g_return_if_fail (dest != NULL && src != NULL);

  if (dest == src)
    return;
  jac_export_choices_clear (dest);
  *dest = *src;
  dest->folder = g_strdup (src->folder);
  dest->name = g_strdup (src->name);
}

void
jac_export_choices_clear (JacExportChoices *choices)
{
  g_return_if_fail (choices != NULL);

  g_clear_pointer (&choices->folder, g_free);
  g_clear_pointer (&choices->name, g_free);
}

gboolean
jac_unit_is_physical (JacUnit unit)
{
  return unit != JAC_UNIT_PX;
}

double
jac_unit_points (JacUnit unit)
{
  switch (unit)
    {
    case JAC_UNIT_PT: return 1.0;
    case JAC_UNIT_IN: return POINTS_PER_INCH;
    case JAC_UNIT_CM: return POINTS_PER_INCH / 2.54;
    case JAC_UNIT_MM: return POINTS_PER_INCH / 25.4;
    case JAC_UNIT_PX:
    case JAC_N_UNITS:
    default: return 0.0;
    }
}

const char *
jac_unit_name (JacUnit unit)
{
  static const char * const names[] = { "px", "pt", "in", "cm", "mm" };

  g_return_val_if_fail (unit < JAC_N_UNITS, "px");

  return names[unit];
}

const char *
jac_export_format_extension (JacFigureFormat format)
{
  switch (format)
    {
    case JAC_FIGURE_SVG: return "svg";
    case JAC_FIGURE_PDF: return "pdf";
    case JAC_FIGURE_TIKZ: return "tex";
    case JAC_FIGURE_PNG:
    default: return "png";
    }
}

/* A physical size: paper type, in points, and PNG pixels from the DPI. */
static void
set_paper (JacExportSize *size,
           double         width_pt,
           double         height_pt,
           int            dpi)
{
  size->width = width_pt;
  size->height = height_pt;
  size->medium = JAC_MEDIUM_PAPER;
  size->scale = dpi / POINTS_PER_INCH;
}

static void
set_pixels (JacExportSize *size,
            double         width,
            double         height,
            int            scale,
            JacMedium      medium)
{
  size->width = width;
  size->height = height;
  size->medium = medium;
  size->scale = scale;
}

void
jac_export_resolve (const JacExportChoices *choices,
                    double                  pane_width,
                    double                  pane_height,
                    JacMedium               pane_medium,
                    JacExportSize          *size)
{
  int dpi, scale;

  g_return_if_fail (choices != NULL && size != NULL);

  dpi = CLAMP (choices->dpi, 36, 2400);
  scale = CLAMP (choices->scale, 1, 3);
  switch (choices->preset)
    {
    case JAC_EXPORT_SLIDE_16_9:
      set_pixels (size, 1920, 1080, scale, JAC_MEDIUM_PRESENTATION);
      break;
    case JAC_EXPORT_SLIDE_4_3:
      set_pixels (size, 1024, 768, scale, JAC_MEDIUM_PRESENTATION);
      break;
    case JAC_EXPORT_COLUMN:
      set_paper (size, COLUMN_WIDTH_IN * POINTS_PER_INCH,
                 COLUMN_WIDTH_IN * POINTS_PER_INCH * LATEX_ASPECT, dpi);
      break;
    case JAC_EXPORT_PAGE:
      set_paper (size, PAGE_WIDTH_IN * POINTS_PER_INCH,
                 PAGE_WIDTH_IN * POINTS_PER_INCH * LATEX_ASPECT, dpi);
      break;
    case JAC_EXPORT_CUSTOM:
      if (jac_unit_is_physical (choices->custom_unit))
        set_paper (size, MAX (choices->custom_width, 0.01) * jac_unit_points (choices->custom_unit),
                   MAX (choices->custom_height, 0.01) * jac_unit_points (choices->custom_unit),
                   dpi);
      else
        set_pixels (size, MAX (round (choices->custom_width), 1),
                    MAX (round (choices->custom_height), 1), scale, JAC_MEDIUM_SCREEN);
      break;
    case JAC_EXPORT_PANE:
    case JAC_N_EXPORT_PRESETS:
    default:
      set_pixels (size, MAX (pane_width, 1), MAX (pane_height, 1), scale, pane_medium);
      break;
    }
}

static const char *
medium_words (JacMedium medium)
{
  switch (medium)
    {
    case JAC_MEDIUM_PRESENTATION: return "projector type (≥ 18 px)";
    case JAC_MEDIUM_PAPER: return "paper type (8 pt, ≥ 6 pt)";
    case JAC_MEDIUM_SCREEN:
    case JAC_N_MEDIA:
    default: return "screen type (≥ 11 px)";
    }
}

char *
jac_export_size_describe (const JacExportSize *size,
                          JacFigureFormat      format)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (size != NULL, NULL);

  if (size->medium == JAC_MEDIUM_PAPER)
    g_string_append_printf (text, "%.0f × %.0f pt (%.2f × %.2f in)", size->width, size->height,
                            size->width / POINTS_PER_INCH, size->height / POINTS_PER_INCH);
  else
    g_string_append_printf (text, "%.0f × %.0f px", size->width, size->height);
  g_string_append_printf (text, " · %s", medium_words (size->medium));
  if (format == JAC_FIGURE_PNG)
    g_string_append_printf (text, " · PNG of %.0f × %.0f pixels", round (size->width * size->scale),
                            round (size->height * size->scale));
  return g_string_free (text, FALSE);
}

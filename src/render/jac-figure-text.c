/* jac-figure-text.c: the figure's type (Pango), number formats and markup. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"

#define FONT_FAMILY "Cantarell, DejaVu Sans, Sans"
#define MINUS "\xe2\x88\x92"

/* Unhinted, unrounded metrics: the same text measures the same whatever the target, so the
 * layout computed for hit-testing is the one drawn. */
PangoContext *
_jac_text_context_new (cairo_t *cr)
{
  PangoContext *context;
  cairo_font_options_t *options = cairo_font_options_create ();

  if (cr != NULL)
    context = pango_cairo_create_context (cr);
  else
    context = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (context, options);
  pango_cairo_context_set_resolution (context, 96);
  pango_context_set_round_glyph_positions (context, FALSE);
  cairo_font_options_destroy (options);
  return context;
}

JacLabel *
_jac_label_new (PangoContext *context,
                const char   *markup,
                double        size_px,
                gboolean      bold,
                double        wrap_width)
{
  JacLabel *label = g_new0 (JacLabel, 1);
  PangoFontDescription *font = pango_font_description_from_string (FONT_FAMILY);
  PangoRectangle logical;

  pango_font_description_set_absolute_size (font, MAX (size_px, 1) * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  label->layout = pango_layout_new (context);
  pango_layout_set_font_description (label->layout, font);
  if (wrap_width > 0)
    {
      pango_layout_set_width (label->layout, (int) (wrap_width * PANGO_SCALE));
      pango_layout_set_wrap (label->layout, PANGO_WRAP_WORD);
    }
  pango_layout_set_markup (label->layout, markup, -1);
  pango_layout_get_extents (label->layout, NULL, &logical);
  label->width = (double) logical.width / PANGO_SCALE;
  label->height = (double) logical.height / PANGO_SCALE;
  pango_font_description_free (font);
  return label;
}

void
_jac_label_free (gpointer data)
{
  JacLabel *label = data;

  if (label == NULL)
    return;
  g_clear_object (&label->layout);
  g_free (label);
}

void
_jac_label_place (JacLabel *label,
                  double    x,
                  double    y,
                  double    xalign,
                  double    yalign)
{
  label->x = x - xalign * label->width;
  label->y = y - yalign * label->height;
}

void
_jac_set_source_rgb (cairo_t      *cr,
                     const JacRgb *rgb)
{
  cairo_set_source_rgb (cr, rgb->red, rgb->green, rgb->blue);
}

guint32
_jac_rgb_argb (const JacRgb *rgb)
{
  return 0xff000000u
         | (guint32) lround (rgb->red * 255) << 16
         | (guint32) lround (rgb->green * 255) << 8
         | (guint32) lround (rgb->blue * 255);
}

/* Replaces every ASCII '-' of a printf result by the Unicode minus sign. */
static char *
with_minus_signs (const char *text)
{
  GString *s = g_string_sized_new (strlen (text) + 8);

  for (const char *c = text; *c != '\0'; c++)
    if (*c == '-')
      g_string_append (s, MINUS);
    else
      g_string_append_c (s, *c);
  return g_string_free (s, FALSE);
}

char *
_jac_format_value (double value)
{
  g_autofree char *plain = NULL;
  double magnitude = fabs (value);

  if (value == 0)
    return g_strdup ("0");
  if (isnan (value))
    return g_strdup ("NaN");
  if (magnitude >= 0.005 && magnitude < 1e4)
    plain = g_strdup_printf ("%.2f", value);
  else
    plain = g_strdup_printf ("%.1e", value);
  return with_minus_signs (plain);
}

char *
_jac_format_cell (double value)
{
  double m = fabs (value);
  g_autofree char *plain = NULL;

  /* A value that rounds to zero is shown as 0.00, not −0.00; "0" alone means a δ. */
  if (m < 0.005)
    return g_strdup ("0.00");
  plain = g_strdup_printf (m >= 100 ? "%.0f" : m >= 10 ? "%.1f" : "%.2f", value);
  return with_minus_signs (plain);
}

char *
_jac_format_count (gsize count)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GSIZE_FORMAT, count);
  gsize n = strlen (digits);
  GString *s = g_string_new (NULL);

  /* Groups of three with a thin space, from 10 000 on. */
  for (gsize k = 0; k < n; k++)
    {
      if (n > 4 && k > 0 && (n - k) % 3 == 0)
        g_string_append (s, "\xe2\x80\x89");
      g_string_append_c (s, digits[k]);
    }
  return g_string_free (s, FALSE);
}

char *
_jac_format_tick (double value,
                  double step)
{
  g_autofree char *plain = NULL;
  int decimals = 0;

  if (fabs (value) < step * 1e-6)
    return g_strdup ("0");
  while (decimals < 6)
    {
      double scaled = step * pow (10, decimals);

      if (fabs (scaled - round (scaled)) < 1e-6 * MAX (1, scaled))
        break;
      decimals++;
    }
  if (step < 1e-4 || step >= 1e5 || decimals >= 6)
    plain = g_strdup_printf ("%.2g", value);
  else
    plain = g_strdup_printf ("%.*f", decimals, value);
  return with_minus_signs (plain);
}

char *
_jac_format_scientific_markup (double value)
{
  g_autofree char *mantissa = NULL;
  int exponent;

  if (value == 0 || !isfinite (value))
    return _jac_format_value (value);
  exponent = (int) floor (log10 (fabs (value)));
  if (exponent >= -2 && exponent < 4)
    return _jac_format_value (value);
  mantissa = _jac_format_tick (value / pow (10, exponent), 0.1);
  return g_strdup_printf ("%s×10<sup>%s%d</sup>", mantissa, exponent < 0 ? MINUS : "",
                          ABS (exponent));
}

char *
_jac_markup_from_text (const char *text)
{
  g_autofree char *escaped = g_markup_escape_text (text != NULL ? text : "", -1);
  GString *s = g_string_sized_new (strlen (escaped) + 16);

  for (const char *c = escaped; *c != '\0'; c++)
    {
      if (*c == '_' && g_ascii_isalnum (c[1]))
        {
          g_string_append (s, "<sub>");
          while (g_ascii_isalnum (c[1]))
            g_string_append_c (s, *++c);
          g_string_append (s, "</sub>");
        }
      else
        g_string_append_c (s, *c);
    }
  return g_string_free (s, FALSE);
}

char *
_jac_variable_markup (JacVariable variable)
{
  return _jac_markup_from_text (jac_variable_name (variable));
}

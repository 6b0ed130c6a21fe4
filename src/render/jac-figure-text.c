/* jac-figure-text.c: the figure's type (Pango), number formats and markup. */
#define G_LOG_DOMAIN "jac-figure"

#include <math.h>
#include <string.h>

#include "jac-figure-private.h"

#define FONT_FAMILY "Cantarell, DejaVu Sans, Sans"
#define MINUS "\xe2\x88\x92"

/* Unhinted, unrounded metrics in user space: the same text measures the same whatever the
 * target and its scale, so the layout computed for hit-testing is the one drawn, and a 2× or 3×
 * drawing is the 1× one with more pixels. The context deliberately ignores @cr's transformation:
 * Pango 1.50 sizes <sub> and <sup> from the device size when the context carries a scaled
 * matrix, which drew subscripts larger than their base at 2×. */
PangoContext *
_jac_text_context_new (cairo_t *cr)
{
  PangoContext *context;
  cairo_font_options_t *options = cairo_font_options_create ();

  (void) cr;
  context = pango_font_map_create_context (pango_cairo_font_map_get_default ());
  cairo_font_options_set_hint_metrics (options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style (options, CAIRO_HINT_STYLE_NONE);
  pango_cairo_context_set_font_options (context, options);
  pango_cairo_context_set_resolution (context, 96);
  pango_context_set_round_glyph_positions (context, FALSE);
  cairo_font_options_destroy (options);
  return context;
}

void
_jac_type_init (JacType   *type,
                JacMedium  medium,
                double     text_scale,
                double     width,
                double     height)
{
  double scale = text_scale > 0 && isfinite (text_scale) ? text_scale : 1;

  switch (medium)
    {
    case JAC_MEDIUM_PRESENTATION:
      type->min_text = type->min_script = 18;
      type->body = MAX (CLAMP (MIN (height / 36, width / 64), 20, 44) * scale, 20);
      break;
    case JAC_MEDIUM_PAPER:
      /* Points: a figure set at 8 pt reads like a caption of the page around it. */
      type->min_text = type->min_script = 6;
      type->body = MAX (8 * scale, 8);
      break;
    case JAC_MEDIUM_SCREEN:
    case JAC_N_MEDIA:
    default:
      type->min_text = 11;
      type->min_script = 9;
      type->body = MAX (CLAMP (MIN (height / 50, width / 84), 13, 24) * scale, 13);
      break;
    }
  type->small = MAX (type->body * 0.86, type->min_text);
  /* A page's figure sits under its own caption: its title need not shout. */
  type->title = type->body * (medium == JAC_MEDIUM_PAPER ? 1.15 : 1.3);
}

static GQuark
script_min_quark (void)
{
  return g_quark_from_static_string ("jac-script-min");
}

void
_jac_text_context_set_type (PangoContext  *context,
                            const JacType *type)
{
  double *min_script = g_new (double, 1);

  *min_script = type->min_script;
  g_object_set_qdata_full (G_OBJECT (context), script_min_quark (), min_script, g_free);
}

/* Pango's own <sub> and <sup> take their size from the font's metrics, which can fall below a
 * medium's minimum and, under a scaled context, grow instead of shrink; they are rewritten to
 * spans of an explicit size and rise. Returns the new markup and the smallest size in it. */
static char *
explicit_scripts (const char *markup,
                  double      size,
                  double      min_script,
                  double     *min_size)
{
  GString *out = g_string_sized_new (strlen (markup) + 64);
  double stack[16];
  guint depth = 0;
  double current = size;

  *min_size = size;
  for (const char *c = markup; *c != '\0';)
    {
      gboolean sub = g_str_has_prefix (c, "<sub>"), sup = g_str_has_prefix (c, "<sup>");

      if ((sub || sup) && depth < G_N_ELEMENTS (stack))
        {
          double script = MIN (current, MAX (current * 0.8, min_script));
          /* Pango's markup sizes are points at the context's 96 dpi; rises are Pango units. */
          int points = (int) lround (script * 72.0 / 96.0 * PANGO_SCALE);
          int rise = (int) lround ((sub ? -0.18 : 0.42) * current * PANGO_SCALE);

          stack[depth++] = current;
          current = script;
          *min_size = MIN (*min_size, script);
          g_string_append_printf (out, "<span size=\"%d\" rise=\"%d\">", points, rise);
          c += 5;
        }
      else if ((g_str_has_prefix (c, "</sub>") || g_str_has_prefix (c, "</sup>")) && depth > 0)
        {
          current = stack[--depth];
          g_string_append (out, "</span>");
          c += 6;
        }
      else
        g_string_append_c (out, *c++);
    }
  return g_string_free (out, FALSE);
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
  double *min_script = g_object_get_qdata (G_OBJECT (context), script_min_quark ());
  g_autofree char *scripted = NULL;
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
  scripted = explicit_scripts (markup, MAX (size_px, 1), min_script != NULL ? *min_script : 0,
                               &label->min_size);
  label->size = MAX (size_px, 1);
  pango_layout_set_markup (label->layout, scripted, -1);
  pango_layout_get_extents (label->layout, NULL, &logical);
  label->width = (double) logical.width / PANGO_SCALE;
  label->height = (double) logical.height / PANGO_SCALE;
  pango_font_description_free (font);
  return label;
}

PangoLayout *
_jac_text_layout_new (PangoContext *context,
                      double        size_px)
{
  PangoLayout *text;
  PangoFontDescription *font;

  g_return_val_if_fail (PANGO_IS_CONTEXT (context), NULL);

  text = pango_layout_new (context);
  font = pango_font_description_from_string (FONT_FAMILY);
  pango_font_description_set_absolute_size (font, size_px * PANGO_SCALE);
  pango_layout_set_font_description (text, font);
  pango_font_description_free (font);
  return text;
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
  label->xalign = xalign;
  label->yalign = yalign;
}

void
_jac_set_source_rgb (cairo_t      *cr,
                     const JacRgb *rgb)
{
  cairo_set_source_rgb (cr, rgb->red, rgb->green, rgb->blue);
}

JacRgb
_jac_rgb_hex (guint32 hex)
{
  return (JacRgb) { ((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0,
                    (hex & 0xff) / 255.0 };
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

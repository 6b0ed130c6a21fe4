/* jac-colormap.c: ColorBrewer RdBu and PRGn (colour-blind safe) and a grey map, as tables. */
#define G_LOG_DOMAIN "jac-colormap"

#include <math.h>
#include <string.h>

#include "jac-colormap.h"

#define N_ANCHORS 11

/* From −1 to +1; the middle anchor is replaced by pure white so that zero reads as "nothing". */
static const guint32 anchors[JAC_N_COLORMAPS][N_ANCHORS] = {
  [JAC_COLORMAP_BLUE_RED] = {
    0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xffffff,
    0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f,
  },
  [JAC_COLORMAP_PURPLE_GREEN] = {
    0x40004b, 0x762a83, 0x9970ab, 0xc2a5cf, 0xe7d4e8, 0xffffff,
    0xd9f0d3, 0xa6dba0, 0x5aae61, 0x1b7837, 0x00441b,
  },
  [JAC_COLORMAP_GRAY] = {
    0x141414, 0x2b2b2b, 0x424242, 0x595959, 0x707070, 0x878787,
    0x9e9e9e, 0xb5b5b5, 0xcccccc, 0xe3e3e3, 0xfafafa,
  },
};

static guint32 tables[JAC_N_COLORMAPS][JAC_COLORMAP_SIZE];

const char *
jac_colormap_name (JacColormap colormap)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (JAC_TYPE_COLORMAP);
  const GEnumValue *value;

  g_return_val_if_fail (colormap < JAC_N_COLORMAPS, NULL);

  /* The registered enum's nick ("blue-red"): the one table of names, interned so it outlives
   * the class reference. */
  value = g_enum_get_value (klass, colormap);
  return value != NULL ? g_intern_static_string (value->value_nick) : NULL;
}

gboolean
jac_colormap_from_name (const char  *name,
                        JacColormap *colormap)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (JAC_TYPE_COLORMAP);
  g_autofree char *lower = NULL;
  const GEnumValue *value;

  g_return_val_if_fail (name != NULL, FALSE);

  lower = g_ascii_strdown (name, -1);
  value = g_enum_get_value_by_nick (klass, lower);
  if (value == NULL)
    return FALSE;
  if (colormap != NULL)
    *colormap = value->value;
  return TRUE;
}

static double
channel (guint32 rgb,
         guint   shift)
{
  return ((rgb >> shift) & 0xff) / 255.0;
}

void
jac_colormap_rgb (JacColormap  colormap,
                  double       t,
                  double      *red,
                  double      *green,
                  double      *blue)
{
  const guint32 *a;
  double position, frac;
  guint k;

  g_return_if_fail (colormap < JAC_N_COLORMAPS);

  a = anchors[colormap];
  if (isnan (t))
    t = 0;
  position = (CLAMP (t, -1.0, 1.0) + 1.0) * 0.5 * (N_ANCHORS - 1);
  k = MIN ((guint) position, N_ANCHORS - 2);
  frac = position - k;
  *red = channel (a[k], 16) * (1 - frac) + channel (a[k + 1], 16) * frac;
  *green = channel (a[k], 8) * (1 - frac) + channel (a[k + 1], 8) * frac;
  *blue = channel (a[k], 0) * (1 - frac) + channel (a[k + 1], 0) * frac;
}

static void
build_tables (void)
{
  for (guint c = 0; c < JAC_N_COLORMAPS; c++)
    for (guint e = 0; e < JAC_COLORMAP_SIZE; e++)
      {
        double t = (2.0 * e) / (JAC_COLORMAP_SIZE - 1) - 1.0;
        double r, g, b;

        jac_colormap_rgb (c, t, &r, &g, &b);
        tables[c][e] = 0xff000000u
                       | (guint32) lround (r * 255) << 16
                       | (guint32) lround (g * 255) << 8
                       | (guint32) lround (b * 255);
      }
}

const guint32 *
jac_colormap_table (JacColormap colormap)
{
  static gsize initialized = 0;

  g_return_val_if_fail (colormap < JAC_N_COLORMAPS, NULL);

  if (g_once_init_enter (&initialized))
    {
      build_tables ();
      g_once_init_leave (&initialized, 1);
    }
  return tables[colormap];
}

guint32
jac_colormap_argb (JacColormap colormap,
                   double      value,
                   double      range)
{
  const guint32 *table = jac_colormap_table (colormap);
  const double half = (JAC_COLORMAP_SIZE - 1) / 2.0;
  double t;

  if (!(range > 0) || isnan (value))
    return table[(JAC_COLORMAP_SIZE - 1) / 2];
  t = CLAMP (value / range, -1.0, 1.0);
  return table[(gsize) lround ((t + 1.0) * half)];
}

static double
linear (double c)
{
  return c <= 0.04045 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

gboolean
jac_colormap_prefers_dark_ink (guint32 argb)
{
  double luminance = 0.2126 * linear (channel (argb, 16))
                     + 0.7152 * linear (channel (argb, 8))
                     + 0.0722 * linear (channel (argb, 0));

  /* The crossover where black and white text have equal contrast ratios. */
  return luminance > 0.179;
}

double
jac_colormap_tick_step (double range)
{
  static const double nice[] = { 1, 2, 2.5, 5, 10 };
  double raw, magnitude;

  if (!(range > 0) || !isfinite (range))
    return 1;
  raw = range / 3.0;
  magnitude = pow (10, floor (log10 (raw)));
  for (guint k = 0; k < G_N_ELEMENTS (nice); k++)
    if (nice[k] * magnitude >= raw * 0.999)
      return nice[k] * magnitude;
  return 10 * magnitude;
}

guint32
jac_colormap_value_zero_argb (JacColormap colormap)
{
  g_return_val_if_fail (colormap < JAC_N_COLORMAPS, 0);

  /* Amber is in neither RdBu nor PRGn, and light enough for black ink on a projector. */
  return colormap == JAC_COLORMAP_GRAY ? 0xffffffffu : 0xfff6c445u;
}

/* jac-cli-length.c: lengths on the command line (1280, 1280px, 252pt, 3.5in, 8.89cm, 88.9mm). */
#define G_LOG_DOMAIN "jac-cli"

#include <math.h>
#include <string.h>

#include "cli/jac-cli-private.h"
#include "core/jac-error.h"

#define UNIT_NAMES "px, pt, in, cm or mm"

/* pt per unit; px has none of its own: it becomes pt only at a resolution (--dpi). */
static const struct
{
  const char *suffix;
  double      points;
} units[] = {
  { "", 0 },
  { "px", 0 },
  { "pt", 1 },
  { "in", 72 },
  { "cm", 72 / 2.54 },
  { "mm", 72 / 25.4 },
};

/* The numeric prefix of @text, returning where it ends, or NULL without a digit. It takes an
 * optional sign, digits and one decimal point only: g_ascii_strtod would also take "nan", "inf",
 * hex and exponents, which no one means as a figure size. */
static const char *
scan_number (const char *text,
             double     *value)
{
  g_autofree char *number = NULL;
  const char *p = text;
  gboolean point = FALSE;
  guint digits = 0;

  if (*p == '+' || *p == '-')
    p++;
  for (; g_ascii_isdigit (*p) || (*p == '.' && !point); p++)
    {
      if (*p == '.')
        point = TRUE;
      else
        digits++;
    }
  if (digits == 0)
    return NULL;
  number = g_strndup (text, p - text);
  *value = g_ascii_strtod (number, NULL);
  return p;
}

static gboolean
is_unit (const char *text)
{
  for (guint u = 0; u < G_N_ELEMENTS (units); u++)
    if (g_str_equal (text, units[u].suffix))
      return TRUE;
  return FALSE;
}

gboolean
_jac_cli_parse_length (const char    *option,
                       const char    *text,
                       JacCliLength  *length,
                       GError       **error)
{
  const char *unit;
  double value = 0;

  unit = scan_number (text, &value);
  if (unit == NULL)
    {
      const char *bare = text + (*text == '+' || *text == '-');

      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   is_unit (bare) ? "%s: “%s” has no number (e.g. 3.5in; units " UNIT_NAMES ")"
                                  : "%s: “%s” is not a length (e.g. 1280, 3.5in; units "
                                    UNIT_NAMES ")", option, text);
      return FALSE;
    }
  for (guint u = 0; u < G_N_ELEMENTS (units); u++)
    if (g_str_equal (unit, units[u].suffix))
      {
        if (!isfinite (value) || value <= 0)
          {
            g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                         "%s: “%s” is not a size above zero", option, text);
            return FALSE;
          }
        length->physical = units[u].points > 0;
        length->value = length->physical ? value * units[u].points : value;
        return TRUE;
      }
  g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
               "%s: unknown unit “%s” in “%s” (expected " UNIT_NAMES ")", option, unit, text);
  return FALSE;
}

gboolean
_jac_cli_parse_dpi (const char  *text,
                    double      *dpi,
                    GError     **error)
{
  const char *end = scan_number (text, dpi);

  if (end == NULL || *end != '\0' || !isfinite (*dpi) || *dpi < JAC_CLI_MIN_DPI ||
      *dpi > JAC_CLI_MAX_DPI)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "--dpi: “%s” is not a resolution from %d to %d dots per inch", text,
                   JAC_CLI_MIN_DPI, JAC_CLI_MAX_DPI);
      return FALSE;
    }
  return TRUE;
}

double
_jac_cli_length_to_points (const JacCliLength *length,
                           double              dpi)
{
  return length->physical ? length->value : length->value * 72 / dpi;
}

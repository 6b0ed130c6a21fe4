/* jac-notation.c: writing one formula in plain Unicode, Pango markup and LaTeX side by side. */
#define G_LOG_DOMAIN "jac-notation"

#include <math.h>

#include "jac-derive-private.h"

void
_jac_notation_init (JacNotation *self)
{
  self->plain = g_string_new (NULL);
  self->markup = g_string_new (NULL);
  self->latex = g_string_new (NULL);
}

void
_jac_notation_clear (JacNotation *self)
{
  if (self->plain != NULL)
    g_string_free (self->plain, TRUE);
  if (self->markup != NULL)
    g_string_free (self->markup, TRUE);
  if (self->latex != NULL)
    g_string_free (self->latex, TRUE);
  self->plain = self->markup = self->latex = NULL;
}

void
_jac_notation_add (JacNotation *self,
                   const char  *plain,
                   const char  *markup,
                   const char  *latex)
{
  g_string_append (self->plain, plain);
  if (markup != NULL)
    g_string_append (self->markup, markup);
  else
    {
      g_autofree char *escaped = g_markup_escape_text (plain, -1);

      g_string_append (self->markup, escaped);
    }
  g_string_append (self->latex, latex != NULL ? latex : plain);
}

void
_jac_notation_forms (JacNotation    *self,
                     const JacForms *forms)
{
  _jac_notation_add (self, forms->plain, forms->markup, forms->latex);
}

/* k₁ (a summation letter past the alphabet, in UTF-8) is k_{1} in LaTeX; runs of subscript
 * digits ₀…₉ (U+2080…U+2089) become one group. */
static void
append_latex_letters (GString    *latex,
                      const char *letters)
{
  gboolean in_number = FALSE;

  for (const char *c = letters; *c != '\0'; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);

      if (u >= 0x2080 && u <= 0x2089)
        {
          if (!in_number)
            g_string_append (latex, "_{");
          g_string_append_c (latex, (char) ('0' + (u - 0x2080)));
          in_number = TRUE;
          continue;
        }
      if (in_number)
        g_string_append_c (latex, '}');
      in_number = FALSE;
      g_string_append_unichar (latex, u);
    }
  if (in_number)
    g_string_append_c (latex, '}');
}

void
_jac_notation_sub (JacNotation *self,
                   const char  *letters)
{
  if (letters == NULL || *letters == '\0')
    return;
  g_string_append_printf (self->plain, "_%s", letters);
  g_string_append_printf (self->markup, "<sub>%s</sub>", letters);
  g_string_append (self->latex, "_{");
  append_latex_letters (self->latex, letters);
  g_string_append_c (self->latex, '}');
}

void
_jac_notation_append (JacNotation       *self,
                      const JacNotation *other)
{
  g_string_append_len (self->plain, other->plain->str, other->plain->len);
  g_string_append_len (self->markup, other->markup->str, other->markup->len);
  g_string_append_len (self->latex, other->latex->str, other->latex->len);
}

void
_jac_notation_steal (JacNotation *self,
                     JacForms    *forms)
{
  forms->plain = g_string_free (g_steal_pointer (&self->plain), FALSE);
  forms->markup = g_string_free (g_steal_pointer (&self->markup), FALSE);
  forms->latex = g_string_free (g_steal_pointer (&self->latex), FALSE);
}

void
_jac_forms_clear (JacForms *forms)
{
  g_clear_pointer (&forms->plain, g_free);
  g_clear_pointer (&forms->markup, g_free);
  g_clear_pointer (&forms->latex, g_free);
}

/* A coefficient: 3, 1.75, or 1/3 (\frac{1}{3}) when a short decimal would not be exact, so that
 * ∂(X ⊙ X ⊙ X / 9) reads 1/3 X_ij² rather than 0.333333 X_ij². */
void
_jac_notation_number (JacNotation *self,
                      double       value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  double magnitude = fabs (value);

  if (value < 0)
    _jac_notation_add (self, "−", NULL, "-");
  if (isfinite (magnitude) && magnitude < 1e9 &&
      fabs (magnitude * 1000.0 - round (magnitude * 1000.0)) > 1e-9 * MAX (1.0, magnitude))
    for (int q = 2; q <= 12; q++)
      {
        double p = round (magnitude * q);

        if (fabs (magnitude * q - p) < 1e-9 * MAX (1.0, p))
          {
            g_autofree char *plain = g_strdup_printf ("%.0f/%d", p, q);
            g_autofree char *latex = g_strdup_printf ("\\frac{%.0f}{%d}", p, q);

            _jac_notation_add (self, plain, NULL, latex);
            return;
          }
      }
  g_ascii_formatd (buffer, sizeof buffer, "%g", magnitude);
  _jac_notation_add (self, buffer, NULL, NULL);
}

/* jac-derivation.c: the index-notation derivation of a Jacobian, as Pango markup. */
#define G_LOG_DOMAIN "jac-derivation"

#include "core/jac-derive.h"
#include "core/jac-kron.h"
#include "jac-derivation.h"

static void
append_size (GString           *markup,
             const JacAnalysis *analysis)
{
  g_autofree char *shape_text = NULL;
  gsize shape[JAC_MAX_RANK];
  guint rank;

  rank = jac_structured_dense_shape (analysis->jacobian, shape);
  shape_text = jac_shape_string (rank, shape);
  g_string_append_printf (markup, "\n    <span alpha=\"70%%\">J has shape %s: %" G_GSIZE_FORMAT
                          " entries, %" G_GSIZE_FORMAT " not forced to 0 by a δ</span>",
                          shape_text, analysis->sparsity.n_entries,
                          analysis->sparsity.n_free_entries);
}

/* The Kronecker identity of the matricized Jacobian, in both vec conventions, when it has one. */
static void
append_kron (GString           *markup,
             const JacAnalysis *analysis)
{
  g_autofree char *identity = jac_kron_analysis_identity (analysis, JAC_KRON_MARKUP);

  if (identity != NULL)
    g_string_append_printf (markup, "\n    As one matrix: %s", identity);
}

/* core's steps, with the size after "Substitute", the block formula in the layout shown and the
 * Kronecker form under "Structure", why the contracted form has its shape under "Contract with
 * G", and the contracted form as the figure checks it. The same for every expression. */
char *
jac_derivation_markup (const JacAnalysis *analysis,
                       gboolean           denominator_layout)
{
  const JacDerivation *derivation;
  GString *markup;
  const char *size_after;
  g_autofree char *block = NULL;
  g_autofree char *why = NULL;

  g_return_val_if_fail (analysis != NULL, NULL);

  derivation = analysis->derivation;
  size_after = jac_derivation_find_step (derivation, "Substitute") != NULL ? "Substitute"
                                                                           : "Structure";
  block = jac_analysis_reads_as_blocks (analysis)
          ? jac_analysis_block_markup (analysis, denominator_layout) : NULL;
  why = jac_analysis_why_markup (analysis);
  markup = g_string_new ("<span line_height=\"1.3\">");
  for (guint s = 0; s < derivation->steps->len; s++)
    {
      const JacDerivationStep *step = g_ptr_array_index (derivation->steps, s);
      g_autofree char *title = g_markup_escape_text (step->title, -1);

      g_string_append_printf (markup, "%s<b>%u. %s</b>   %s", s > 0 ? "\n" : "", s + 1, title,
                              step->markup);
      if (g_str_equal (step->title, size_after))
        append_size (markup, analysis);
      if (g_str_equal (step->title, "Structure"))
        {
          if (block != NULL)
            g_string_append_printf (markup, "\n    %s layout: %s",
                                    denominator_layout ? "Denominator" : "Numerator", block);
          append_kron (markup, analysis);
        }
      else if (g_str_has_prefix (step->title, "Contract with ") && why != NULL && *why != '\0')
        g_string_append_printf (markup, "\n    <i>Why:</i> %s", why);
    }
  {
    g_autofree char *sparsity = g_markup_escape_text (analysis->sparsity.sentence, -1);
    g_autofree char *diff = g_strdup_printf ("%.1e", analysis->contract_max_diff);

    g_string_append_printf (markup, "\n<b>Contracted form</b>   %s"
                            "\n    <span alpha=\"70%%\">%s · checked against Σ G·J from the"
                            " tensor: max |difference| = %s%s</span>",
                            derivation->contracted_markup, sparsity, diff,
                            denominator_layout ? " · blocks shown in denominator layout" : "");
  }
  g_string_append (markup, "</span>");
  return g_string_free (markup, FALSE);
}

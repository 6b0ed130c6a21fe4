/* jac-derivation.h: the index-notation derivation of a Jacobian, as Pango markup. */
#pragma once

#include "core/jac-analysis.h"

G_BEGIN_DECLS

/* The steps core/jac-derive.c takes from Z to the contraction with G, for the analysis'
 * variable, with what the blocks look like in numerator or denominator layout and where the
 * transpose comes from. */
char *jac_derivation_markup (const JacAnalysis *analysis,
                             gboolean           denominator_layout);
/* The LaTeX is core's jac_analysis_latex (), which `jacscope derive --latex` prints too. */

G_END_DECLS

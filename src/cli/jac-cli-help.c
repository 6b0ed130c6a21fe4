/* jac-cli-help.c: which commands each option is for, so that `jacscope CMD --help` lists those. */
#define G_LOG_DOMAIN "jac-cli"

#include <string.h>

#include "cli/jac-cli-private.h"

enum
{
  FOR_COMPUTE = 1 << 0,
  FOR_RENDER  = 1 << 1,
  FOR_CHECK   = 1 << 2,
  FOR_BENCH   = 1 << 3,
  FOR_DERIVE  = 1 << 4,
  FOR_NORMS   = 1 << 5,
};

/* Options missing here are for every command (sizes, --seed, --var, --weights, --threads, …).
 * The others are still parsed everywhere, so that a misplaced one is refused by name ("--numpy
 * goes with derive") instead of being unknown. */
static const struct
{
  const char *name;
  guint       commands;
} option_commands[] = {
  { "grad", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE | FOR_NORMS },
  { "upstream", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE },
  { "vjp-output", FOR_COMPUTE },
  { "output", FOR_COMPUTE | FOR_RENDER },
  /* figures; derive --latex follows the layout */
  { "width", FOR_RENDER },
  { "height", FOR_RENDER },
  { "dpi", FOR_RENDER },
  { "scale", FOR_RENDER },
  { "presentation", FOR_RENDER },
  { "layout", FOR_RENDER | FOR_DERIVE },
  { "colormap", FOR_RENDER },
  { "row", FOR_RENDER },
  { "show-values", FOR_RENDER },
  { "dark", FOR_RENDER },
  { "no-contraction", FOR_RENDER },
  { "repeat", FOR_BENCH },
  /* typed expressions */
  { "expr", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE },
  { "shape", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE },
  { "size", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE },
  { "preset", FOR_COMPUTE | FOR_RENDER | FOR_CHECK | FOR_DERIVE },
  { "latex", FOR_DERIVE },
  { "standalone", FOR_DERIVE },
  { "list-presets", FOR_DERIVE },
  { "numpy", FOR_DERIVE },
  { "torch", FOR_DERIVE },
  { "hessian", FOR_COMPUTE | FOR_RENDER | FOR_DERIVE },
  { "wrt2", FOR_COMPUTE | FOR_RENDER | FOR_DERIVE },
  { "direction", FOR_COMPUTE | FOR_RENDER | FOR_DERIVE },
  { "zeros-output", FOR_COMPUTE },
  { "per-sample", FOR_COMPUTE },
  /* through time */
  { "steps", FOR_COMPUTE | FOR_RENDER | FOR_BENCH | FOR_NORMS },
  { "lag", FOR_COMPUTE | FOR_RENDER | FOR_BENCH },
  { "cell", FOR_COMPUTE | FOR_RENDER | FOR_BENCH | FOR_NORMS },
  { "gain", FOR_COMPUTE | FOR_RENDER | FOR_BENCH | FOR_NORMS },
  { "carry-bias", FOR_COMPUTE | FOR_RENDER | FOR_BENCH | FOR_NORMS },
  { "orthogonal", FOR_COMPUTE | FOR_RENDER | FOR_BENCH | FOR_NORMS },
  { "norm", FOR_RENDER },
  { "shared-range", FOR_RENDER },
  { "compare-cells", FOR_RENDER },
};

static guint
command_bit (const char *subcommand)
{
  static const char * const names[] = { "compute", "render", "check", "bench", "derive",
                                        "norms" };

  for (guint k = 0; k < G_N_ELEMENTS (names); k++)
    if (g_strcmp0 (subcommand, names[k]) == 0)
      return 1u << k;
  return 0;
}

gboolean
_jac_cli_option_is_for (const char *subcommand,
                        const char *option)
{
  g_return_val_if_fail (option != NULL, FALSE);

  for (guint k = 0; k < G_N_ELEMENTS (option_commands); k++)
    if (g_str_equal (option_commands[k].name, option))
      return (option_commands[k].commands & command_bit (subcommand)) != 0;
  return TRUE;
}

void
_jac_cli_add_entries (GOptionGroup        *group,
                      const GOptionEntry  *entries,
                      const char          *subcommand)
{
  g_autofree GOptionEntry *copy = NULL;
  guint n = 0;

  g_return_if_fail (group != NULL && entries != NULL);

  while (entries[n].long_name != NULL)
    n++;
  copy = g_memdup2 (entries, (n + 1) * sizeof *entries);
  for (guint k = 0; k < n; k++)
    if (!_jac_cli_option_is_for (subcommand, copy[k].long_name))
      copy[k].flags |= G_OPTION_FLAG_HIDDEN;
  g_option_group_add_entries (group, copy);
}

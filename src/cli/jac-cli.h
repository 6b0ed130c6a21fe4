/* jac-cli.h: the command-line subcommands compute, render, check and bench. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean jac_cli_is_subcommand (const char  *word);
/* argv[1] is the subcommand (an unknown word is a usage error naming it). Returns the exit
 * status: 0, 1 for errors, 2 for usage errors. */
int      jac_cli_main          (int          argc,
                                char       **argv);

G_END_DECLS

/* main.c: dispatch a subcommand to the command line, anything else to the application. */
#define G_LOG_DOMAIN "jacscope"

#include "app/jac-app-main.h"
#include "cli/jac-cli.h"

int
main (int    argc,
      char **argv)
{
  /* The window takes options only (it opens no files): any other first word is a command,
   * and jac_cli_main () refuses one it does not know. */
  if (argc > 1 && (jac_cli_is_subcommand (argv[1]) || (argv[1][0] != '-' && argv[1][0] != '\0')))
    return jac_cli_main (argc, argv);

  return jac_app_main (argc, argv);
}

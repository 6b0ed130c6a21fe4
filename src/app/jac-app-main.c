/* jac-app-main.c: start the GTK application. */
#define G_LOG_DOMAIN "jacscope"

#include "jac-app-main.h"
#include "jac-application.h"
#include "jac-profile.h"

int
jac_app_main (int    argc,
              char **argv)
{
  g_autoptr(JacApplication) application = NULL;
  int status;

  jac_profile_mark_start ();
  application = jac_application_new ();
  status = g_application_run (G_APPLICATION (application), argc, argv);
  return status != 0 ? status : jac_application_get_exit_status (application);
}

/* jac-app-main.h: start the GTK application. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int jac_app_main (int    argc,
                  char **argv);

G_END_DECLS

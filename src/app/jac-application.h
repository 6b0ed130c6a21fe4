/* jac-application.h: the GtkApplication: style sheet, app actions, --screenshot. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define JAC_APPLICATION_ID "org.jacscope.Jacscope"
#define JAC_TYPE_APPLICATION (jac_application_get_type ())

G_DECLARE_FINAL_TYPE (JacApplication, jac_application, JAC, APPLICATION, AdwApplication)

/* The app's settings (schema org.jacscope.Jacscope), or NULL when the schema is not installed. */
GSettings *jac_application_dup_settings (void);

JacApplication *jac_application_new             (void);
/* 1 when --screenshot could not save its file. */
int             jac_application_get_exit_status (JacApplication *self);

G_END_DECLS

/* jac-profile.h: timings logged when JACSCOPE_PROFILE=1, to check the speed targets. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean jac_profile_enabled  (void);
/* Microseconds since the process started jac_app_main (or first asked). */
gint64   jac_profile_start_us (void);
void     jac_profile_mark_start (void);
void     jac_profile_log      (const char *format,
                               ...) G_GNUC_PRINTF (1, 2);
/* Logs "@what: N ms" since the start. */
void     jac_profile_mark     (const char *what);

G_END_DECLS

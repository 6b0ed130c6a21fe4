/* jac-profile.c: timings logged when JACSCOPE_PROFILE=1, to check the speed targets. */
#define G_LOG_DOMAIN "jac-profile"

#include <stdio.h>

#include "jac-profile.h"

static gint64 start_us;

gboolean
jac_profile_enabled (void)
{
  static int enabled = -1;

  if (enabled < 0)
    enabled = g_strcmp0 (g_getenv ("JACSCOPE_PROFILE"), "1") == 0;
  return enabled;
}

void
jac_profile_mark_start (void)
{
  if (start_us == 0)
    start_us = g_get_monotonic_time ();
}

gint64
jac_profile_start_us (void)
{
  jac_profile_mark_start ();
  return start_us;
}

void
jac_profile_log (const char *format,
                 ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (!jac_profile_enabled ())
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "jacscope-profile: %s\n", message);
}

void
jac_profile_mark (const char *what)
{
  gint64 elapsed = g_get_monotonic_time () - jac_profile_start_us ();

  jac_profile_log ("%s: %.1f ms", what, elapsed / 1000.0);
}

/* jac-application.c: the AdwApplication: app actions, --screenshot. libadwaita loads the style
 * sheet (style.css in the resources) and follows the desktop's light or dark style. */
#define G_LOG_DOMAIN "jac-application"

#include "app/jac-config.h"
#include "jac-application.h"
#include "jac-profile.h"
#include "jac-window-private.h"

struct _JacApplication
{
  AdwApplication  parent_instance;

  /* owned */
  char           *screenshot_path;
  char           *view;
  double          text_scale;      /* 0: the window's own */
  int             width;           /* 0: the window's default size */
  int             height;
  gboolean        presentation;
  int             status;
};

G_DEFINE_FINAL_TYPE (JacApplication, jac_application, ADW_TYPE_APPLICATION)

/* From the generated jacscope-resources.c. Calling it links that object out of the static
 * library, and with it the constructor that registers the resources. */
GResource *jacscope_get_resource (void);

/* ---- actions ---------------------------------------------------------------------------- */

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  static const char *developers[] = { "The Jacscope authors", NULL };
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  GtkWindow *about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                "transient-for", window,
                "application-name", "Jacscope",
                "application-icon", JAC_APPLICATION_ID,
                "version", PACKAGE_VERSION,
                "comments", "The whole derivative of a matrix expression — the full Jacobian "
                            "tensor, the zeros its Kronecker deltas force, and the contracted "
                            "form back-propagation computes — for the RNN step and any "
                            "expression you type",
                "license-type", GTK_LICENSE_GPL_3_0,
                "developers", developers,
                NULL);

  gtk_window_present (about);
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = about_action },
  { .name = "quit", .activate = quit_action },
};

/* ---- screenshot ------------------------------------------------------------------------- */

static gboolean
screenshot_cb (gpointer user_data)
{
  JacApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GError) error = NULL;

  if (window == NULL || !jac_window_save_screenshot (JAC_WINDOW (window), self->screenshot_path,
                                                     &error))
    {
      g_printerr ("jacscope: %s\n", error != NULL ? error->message : "no window");
      self->status = 1;
    }
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static void
first_frame_cb (GdkFrameClock  *frame_clock,
                JacApplication *self)
{
  g_signal_handlers_disconnect_by_func (frame_clock, first_frame_cb, self);
  g_idle_add_full (G_PRIORITY_LOW, screenshot_cb, g_object_ref (self), g_object_unref);
}

static void
window_realize_cb (GtkWidget      *window,
                   JacApplication *self)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                    G_CALLBACK (first_frame_cb), self);
}

/* ---- GApplication overrides ------------------------------------------------------------- */

static gboolean
read_text_scale (JacApplication *self,
                 GVariantDict   *options)
{
  g_autoptr(GTypeClass) window_class = g_type_class_ref (JAC_TYPE_WINDOW);
  GParamSpecDouble *range;
  double scale;

  if (!g_variant_dict_lookup (options, "text-scale", "d", &scale))
    return TRUE;
  range = G_PARAM_SPEC_DOUBLE (g_object_class_find_property (G_OBJECT_CLASS (window_class),
                                                             "text-scale"));
  if (!(scale >= range->minimum && scale <= range->maximum))
    {
      g_printerr ("jacscope: --text-scale: %g is outside %.2f … %.2f\n", scale, range->minimum,
                  range->maximum);
      return FALSE;
    }
  self->text_scale = scale;
  return TRUE;
}

/* "1280x720": the window's size at start, e.g. a projector's, for screenshots. */
static gboolean
read_window_size (JacApplication *self,
                  GVariantDict   *options)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) parts = NULL;
  guint64 w, h;

  if (!g_variant_dict_lookup (options, "window-size", "s", &text))
    return TRUE;
  parts = g_strsplit (text, "x", 2);
  if (g_strv_length (parts) != 2 || !g_ascii_string_to_unsigned (parts[0], 10, 320, 16384, &w, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 240, 16384, &h, NULL))
    {
      g_printerr ("jacscope: --window-size: “%s” is not WIDTHxHEIGHT in pixels (at least "
                  "320x240)\n", text);
      return FALSE;
    }
  self->width = (int) w;
  self->height = (int) h;
  return TRUE;
}

static int
jac_application_handle_local_options (GApplication *application,
                                      GVariantDict *options)
{
  JacApplication *self = JAC_APPLICATION (application);
  g_autofree char *path = NULL;
  g_autofree char *view = NULL;

  if (g_variant_dict_lookup (options, "view", "s", &view))
    {
      g_autoptr(GEnumClass) views = g_type_class_ref (JAC_TYPE_VIEW);

      if (g_enum_get_value_by_nick (views, view) == NULL)
        {
          g_printerr ("jacscope: --view: unknown “%s” (expected step or sequence)\n", view);
          return 2;
        }
      self->view = g_steal_pointer (&view);
    }
  if (!read_text_scale (self, options))
    return 2;
  if (!read_window_size (self, options))
    return 2;
  g_variant_dict_lookup (options, "presentation", "b", &self->presentation);
  if (g_variant_dict_lookup (options, "screenshot", "^ay", &path))
    {
      self->screenshot_path = g_steal_pointer (&path);
      g_application_set_flags (application,
                               g_application_get_flags (application) | G_APPLICATION_NON_UNIQUE);
    }
  return -1;
}

static void
jac_application_startup (GApplication *application)
{
  static const char *quit_accels[] = { "<Control>q", NULL };

  jac_profile_mark ("startup begins");
  G_APPLICATION_CLASS (jac_application_parent_class)->startup (application);
  jac_profile_mark ("gtk ready");

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);

  gtk_window_set_default_icon_name (JAC_APPLICATION_ID);
}

GSettings *
jac_application_dup_settings (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* Run from the build tree without GSETTINGS_SCHEMA_DIR, there is no schema: nothing persists. */
  if (source == NULL)
    return NULL;
  schema = g_settings_schema_source_lookup (source, JAC_APPLICATION_ID, TRUE);
  return schema != NULL ? g_settings_new_full (schema, NULL, NULL) : NULL;
}

static void
jac_application_activate (GApplication *application)
{
  JacApplication *self = JAC_APPLICATION (application);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));
  JacSession *session;

  if (window == NULL)
    {
      window = GTK_WINDOW (jac_window_new (GTK_APPLICATION (application)));
      /* The last run's state, unless a screenshot must show the defaults. Options given on the
       * command line below win over it. */
      if (self->screenshot_path == NULL)
        {
          g_autoptr(GSettings) settings = jac_application_dup_settings ();

          if (settings != NULL)
            _jac_window_bind_settings (JAC_WINDOW (window), settings);
        }
      session = jac_window_get_session (JAC_WINDOW (window));
      if (self->view != NULL)
        {
          g_autoptr(GEnumClass) views = g_type_class_ref (JAC_TYPE_VIEW);

          g_object_set (session, "view", g_enum_get_value_by_nick (views, self->view)->value,
                        NULL);
        }
      if (self->text_scale > 0)
        g_object_set (session, "text-scale", self->text_scale, NULL);
      if (self->width > 0)
        gtk_window_set_default_size (window, self->width, self->height);
      if (self->presentation)
        g_object_set (session, "presentation", TRUE, NULL);
      if (self->screenshot_path != NULL)
        g_signal_connect (window, "realize", G_CALLBACK (window_realize_cb), self);
    }
  jac_profile_mark ("window built");
  gtk_window_present (window);
  jac_profile_mark ("window presented");
}

static void
jac_application_finalize (GObject *object)
{
  JacApplication *self = JAC_APPLICATION (object);

  g_clear_pointer (&self->screenshot_path, g_free);
  g_clear_pointer (&self->view, g_free);

  G_OBJECT_CLASS (jac_application_parent_class)->finalize (object);
}

static void
jac_application_class_init (JacApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = jac_application_finalize;
  application_class->handle_local_options = jac_application_handle_local_options;
  application_class->startup = jac_application_startup;
  application_class->activate = jac_application_activate;
}

static const GOptionEntry option_entries[] = {
  { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Save the window as PNG after its first frame, then quit", "FILE.png" },
  { "view", 0, 0, G_OPTION_ARG_STRING, NULL,
    "Open on one step (step, the default) or through time (sequence)", "VIEW" },
  { "text-scale", 0, 0, G_OPTION_ARG_DOUBLE, NULL,
    "Open with the type this many times its usual size (Ctrl+plus, Ctrl+minus)", "SCALE" },
  { "window-size", 0, 0, G_OPTION_ARG_STRING, NULL,
    "Open the window at this size, e.g. 1280x720", "WxH" },
  { "presentation", 0, 0, G_OPTION_ARG_NONE, NULL,
    "Open in presentation mode (F11)", NULL },
  { NULL },
};

static void
jac_application_init (JacApplication *self)
{
  g_assert (jacscope_get_resource () != NULL);
  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                     "[COMMAND [OPTIONS]]");
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            "Without a command, open the window; a command "
                                            "(below) runs without a display.");
  g_application_set_option_context_description (G_APPLICATION (self),
    "Commands (jacscope COMMAND --help for their options):\n"
    "  compute   write the full Jacobian as .npy (dense float64, shape out + wrt)\n"
    "  render    draw the figure as PNG, SVG, PDF or TikZ (.tex)\n"
    "  check     compare the engine with independent paths; exit 1 past tolerance\n"
    "  bench     time against the floor, one JSON object per line\n"
    "  derive    the derivation in index notation (--latex for LaTeX)\n"
    "  norms     through time: norms per lag and row, as CSV\n");
}

/* ---- public API ------------------------------------------------------------------------- */

JacApplication *
jac_application_new (void)
{
  return g_object_new (JAC_TYPE_APPLICATION,
                       "application-id", JAC_APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/org/jacscope/Jacscope",
                       NULL);
}

int
jac_application_get_exit_status (JacApplication *self)
{
  g_return_val_if_fail (JAC_IS_APPLICATION (self), 1);

  return self->status;
}

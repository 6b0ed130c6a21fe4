/* jac-window.h: the main window: controls, the figure, the derivation. */
#pragma once

#include <adwaita.h>

#include "core/jac-analysis.h"
#include "jac-session.h"

G_BEGIN_DECLS

#define JAC_TYPE_WINDOW (jac_window_get_type ())

G_DECLARE_FINAL_TYPE (JacWindow, jac_window, JAC, WINDOW, GtkApplicationWindow)

JacWindow         *jac_window_new             (GtkApplication *application);
/* The state the window shows, its controls bound to it. */
JacSession        *jac_window_get_session     (JacWindow      *self);
/* The analysis on show; recomputes first if a control changed since. */
const JacAnalysis *jac_window_get_analysis    (JacWindow      *self);
/* The message shown in the window's info bar, or NULL when none is shown. */
const char        *jac_window_get_message     (JacWindow      *self);
gboolean           jac_window_get_message_is_error (JacWindow *self);
/* Saves the figure on show (one step without zoom, or through time) to @path, in the format
 * its extension names. */
gboolean           jac_window_export          (JacWindow      *self,
                                               const char     *path,
                                               GError        **error);
/* Loads @path as the variable @name; on failure the window shows why and keeps what it had. */
gboolean           jac_window_load_variable   (JacWindow      *self,
                                               const char     *name,
                                               const char     *path,
                                               GError        **error);
/* The effective figure scale: text_scale of the figure style as drawn. */
double             jac_window_get_figure_text_scale (JacWindow *self);
/* Saves a PNG of the whole window as it is on screen. */
gboolean           jac_window_save_screenshot (JacWindow      *self,
                                               const char     *path,
                                               GError        **error);

G_END_DECLS

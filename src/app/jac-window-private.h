/* jac-window-private.h: JacWindow's state, shared by jac-window.c and jac-window-actions.c. */
#pragma once

#include <math.h>

#include "jac-export-dialog.h"
#include "jac-expression-panel.h"
#include "jac-figure-view.h"
#include "jac-history.h"
#include "jac-sequence-controls.h"
#include "jac-session-private.h"
#include "jac-step-controls.h"
#include "jac-time-view.h"
#include "jac-window.h"

G_BEGIN_DECLS

struct _JacWindow
{
  GtkApplicationWindow parent_instance;

  /* the sidebar's panels, each a template of its own */
  JacSequenceControls *sequence_controls;
  JacExpressionPanel  *expression_panel;
  JacStepControls     *step_controls;

  /* template widgets */
  GtkWidget        *all_steps_window;
  GtkLabel         *derivation_label;
  GtkWidget        *derivation_pane;
  JacFigureView    *figure_view;
  GtkLabel         *hover_label;
  GtkInfoBar       *info_bar;
  GtkLabel         *info_label;
  GtkLabel         *key_contract_label;
  GtkLabel         *key_delta_label;
  GtkScale         *gain_scale;
  GtkScale         *lag_scale;
  GtkMenuButton    *export_menu_button;
  GtkMenuButton    *primary_menu_button;
  GtkSpinner       *sequence_spinner;
  GtkLabel         *sequence_summary_label;
  JacTimeView      *time_view;
  GtkStack         *view_stack;
  GtkWidget        *sidebar;
  GtkLabel         *wrt_caption;
  GtkBox           *wrt_box;
  GtkLabel         *zoom_label;
  GtkWidget        *zoom_controls;
  gboolean          pointer_on_figure;

  /* borrowed */
  const JacAnalysis *analysis;       /* figure_view owns it */

  /* owned */
  JacTensor        *loaded[JAC_N_VARS];
  char             *loaded_path[JAC_N_VARS];
  GHashTable       *loaded_expr;       /* an expression's variables from files: name → JacTensor */
  GHashTable       *loaded_expr_path;  /* name → path */
  char             *wrt_names;         /* the variables the wrt buttons were built for, "\n"-joined */
  char             *expr_error;        /* the inline error on show, or NULL */
  gboolean          hessian;           /* show the Hessian of a scalar expression */
  char             *message;
  guint             recompute_source;
  guint             message_source;
  JacHistory       *history;          /* undo and redo of the session's changes */
  GSettings        *settings;         /* what persists between runs, or NULL */
  GtkNativeDialog  *dialog;
  JacExportDialog  *export_dialog;   /* while it is open */
  JacExportChoices  export_choices;  /* the Export dialog's last choices, for the session */
  char             *export_offered_name;  /* the file name the dialog offered last */
  char             *derivation_markup;
  char             *key_steps_markup;
  GtkCssProvider   *type_provider;   /* the window's font size: the text scale */
  gint64            change_us;       /* when a control last changed, for JACSCOPE_PROFILE */
  gint64            frame_start_us;
  gulong            before_paint_id;
  gulong            after_paint_id;
  gulong            kron_paint_id;   /* the frame after which a pending Kronecker form is found */
  guint             kron_source;

  /* what the window shows: its controls are bound to it, its actions act on it */
  JacSession       *session;
  gboolean          sidebar_before_presentation;
  gboolean          derivation_before_presentation;
  gboolean          message_is_error;
  gboolean          in_compute;      /* what a computation sets (the sizes it settled on, the
                                      * variable it chose) is not a change to compute again */
};

void _jac_window_class_add_actions (GtkWidgetClass *widget_class);
void _jac_window_show_message      (JacWindow      *self,
                                    GtkMessageType  type,
                                    const char     *message);
void _jac_window_hide_message      (JacWindow      *self);
/* Shows which variables come from files, and locks the sizes they fix. */
void _jac_window_update_loaded     (JacWindow      *self);
void _jac_window_recompute_now     (JacWindow      *self);
/* The variables one can differentiate with respect to, in the order of the wrt buttons. */
GStrv _jac_window_dup_variables    (JacWindow      *self);
/* Applies a preset of core's gallery (jac-presets.h) by its id: "rnn", "matmul", "trace-ax", … */
/* Undo and redo (jac-window.c), and the settings that persist. */
void     _jac_window_undo          (JacWindow      *self);
void     _jac_window_redo          (JacWindow      *self);
/* Binds the state to @settings (org.jacscope.Jacscope) and restores the window's size. */
void     _jac_window_bind_settings (JacWindow      *self,
                                    GSettings      *settings);
gboolean _jac_window_apply_preset  (JacWindow      *self,
                                    const char     *preset);
GMenuModel *_jac_window_preset_menu (void);
/* Applies what the expression and shapes entries hold now. */
void _jac_window_apply_entries     (JacWindow      *self);
/* The inline error under the expression entry, or NULL. */
const char *_jac_window_get_expr_error (JacWindow  *self);

/* jac-window.c */
JacUpstreamKind _jac_window_upstream_kind  (JacWindow   *self);
/* The window's medium: presentation in presentation mode, else screen. */
JacMedium   _jac_window_medium             (JacWindow   *self);
/* What @choices come to for the pane on show. */
void        _jac_window_export_size        (JacWindow              *self,
                                            const JacExportChoices *choices,
                                            JacExportSize          *size);
/* Draws the figure on show (one step without zoom, or through time) at @size. */
gboolean    _jac_window_draw_figure        (JacWindow           *self,
                                            cairo_t             *cr,
                                            const JacExportSize *size);
void        _jac_window_install_analysis   (JacWindow   *self,
                                            JacAnalysis *analysis);

/* jac-window-expr.c */
gboolean    _jac_window_is_expr_mode       (JacWindow   *self);
char       *_jac_window_name_markup        (const char  *name);
/* On failure, @culprit is the entry to mark, and the message ends with the text and a caret. */
JacAnalysis *_jac_window_compute_expr      (JacWindow           *self,
                                            GHashTable          *loaded,
                                            JacExpressionField  *culprit,
                                            GError             **error);
void        _jac_window_show_expr_error    (JacWindow           *self,
                                            JacExpressionField   culprit,
                                            const char          *message);
void        _jac_window_clear_expr_error   (JacWindow   *self);
void        _jac_window_sync_variables     (JacWindow   *self);
void        _jac_window_sync_mode          (JacWindow   *self);
/* The panel's "apply" and notify::hessian. */
void        _jac_window_expr_apply_cb      (JacExpressionPanel *panel,
                                            JacWindow          *self);
void        _jac_window_hessian_cb         (JacExpressionPanel *panel,
                                            GParamSpec         *pspec,
                                            JacWindow          *self);
gboolean    _jac_window_load_expr_variable (JacWindow   *self,
                                            const char  *name,
                                            const char  *path,
                                            GError     **error);
void _jac_window_queue_recompute   (JacWindow      *self);

/* jac-window-sequence.c */
gboolean    _jac_window_is_sequence_view   (JacWindow   *self);
/* Binds the sequence's controls; once, from init. */
void        _jac_window_init_sequence      (JacWindow   *self);
/* Shows the controls of the view on show, and hands the sequence its config when it is. */
void        _jac_window_sync_view          (JacWindow   *self);
/* Hands the through-time view the config the controls describe, if it is on show. */
void        _jac_window_sync_sequence      (JacWindow   *self);
void        _jac_window_sequence_config    (JacWindow   *self,
                                            JacSequenceConfig *config);
/* The view's summary line: ρ, gain and the norms at k. */
char       *_jac_window_sequence_summary   (JacWindow   *self);

G_END_DECLS

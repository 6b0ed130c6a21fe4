/* jac-window-private.h: JacWindow's state, shared by jac-window.c and jac-window-actions.c. */
#pragma once

#include "jac-figure-view.h"
#include "jac-window.h"

G_BEGIN_DECLS

struct _JacWindow
{
  GtkApplicationWindow parent_instance;

  /* template widgets */
  GtkDropDown      *activation_dropdown;
  GtkSpinButton    *batch_spin;
  GtkButton        *clear_loaded_button;
  GtkDropDown      *colormap_dropdown;
  GtkLabel         *derivation_label;
  JacFigureView    *figure_view;
  GtkSpinButton    *hidden_spin;
  GtkLabel         *hover_label;
  GtkInfoBar       *info_bar;
  GtkLabel         *info_label;
  GtkSpinButton    *input_spin;
  GtkLabel         *loaded_label;
  GtkMenuButton    *load_menu_button;
  GtkMenuButton    *export_menu_button;
  GtkMenuButton    *primary_menu_button;
  GtkSpinButton    *row_spin;
  GtkSpinButton    *seed_spin;
  GtkWidget        *sidebar;
  GtkDropDown      *upstream_dropdown;
  GtkLabel         *zoom_label;

  /* borrowed */
  const JacAnalysis *analysis;       /* figure_view owns it */

  /* owned */
  JacTensor        *loaded[JAC_N_VARS];
  char             *loaded_path[JAC_N_VARS];
  char             *message;
  guint             recompute_source;
  guint             message_source;
  GtkNativeDialog  *dialog;
  char             *derivation_markup;
  double            derivation_scale;
  gint64            change_us;       /* when a control last changed, for JACSCOPE_PROFILE */
  gint64            frame_start_us;
  gulong            before_paint_id;
  gulong            after_paint_id;

  /* state, each a property and an action of the same name */
  int               batch;
  int               input;
  int               hidden;
  int               seed;
  char             *activation;
  char             *b_shape;         /* "H" or "NxH" */
  char             *upstream;        /* "ones", "random", "loss" */
  char             *wrt;
  char             *layout;          /* "numerator" or "denominator" */
  char             *colormap;
  gboolean          show_values;
  gboolean          show_contraction;
  gboolean          row_view;
  int               row;
  gboolean          presentation;
  double            text_scale;
  int               export_scale;
  gboolean          show_sidebar;
  gboolean          sidebar_before_presentation;
  gboolean          dark_style;
  gboolean          message_is_error;
};

typedef enum
{
  PROP_0,
  PROP_BATCH,
  PROP_INPUT,
  PROP_HIDDEN,
  PROP_SEED,
  PROP_ACTIVATION,
  PROP_B_SHAPE,
  PROP_UPSTREAM,
  PROP_WRT,
  PROP_LAYOUT,
  PROP_COLORMAP,
  PROP_SHOW_VALUES,
  PROP_SHOW_CONTRACTION,
  PROP_ROW_VIEW,
  PROP_ROW,
  PROP_PRESENTATION,
  PROP_TEXT_SCALE,
  PROP_EXPORT_SCALE,
  PROP_SHOW_SIDEBAR,
  PROP_DARK_STYLE,
  N_PROPS
} JacWindowProperty;

extern GParamSpec *_jac_window_properties[N_PROPS];

#define JAC_WINDOW_MAX_BATCH 64
#define JAC_WINDOW_MAX_SIZE 256

void _jac_window_class_add_actions (GtkWidgetClass *widget_class);
void _jac_window_show_message      (JacWindow      *self,
                                    GtkMessageType  type,
                                    const char     *message);
void _jac_window_hide_message      (JacWindow      *self);
/* Shows which variables come from files, and locks the sizes they fix. */
void _jac_window_update_loaded     (JacWindow      *self);
void _jac_window_recompute_now     (JacWindow      *self);
void _jac_window_queue_recompute   (JacWindow      *self);

G_END_DECLS

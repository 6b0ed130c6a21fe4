/* jac-session-private.h: JacSession's fields, for the app's reading. Every change goes through
 * the properties of the same names, so that bindings, the history and the settings see it. */
#pragma once

#include "jac-session.h"

G_BEGIN_DECLS

struct _JacSession
{
  GObject          parent_instance;

  /* the RNN step */
  int              batch;             /* N */
  int              input;             /* D */
  int              hidden;            /* H */
  int              seed;
  JacActivation    activation;
  JacBiasShape     b_shape;
  JacUpstreamKind  upstream;          /* never JAC_UPSTREAM_GIVEN */
  char            *wrt;
  /* an expression instead: "" for the RNN step */
  char            *expression;
  char            *shapes;            /* declarations of the expression's variables */

  /* the figure */
  JacLayout        layout;
  JacColormap      colormap;
  gboolean         show_values;
  gboolean         show_contraction;
  gboolean         row_view;
  int              row;
  int              export_scale;

  /* the window */
  gboolean         presentation;
  double           text_scale;
  gboolean         show_sidebar;
  gboolean         show_derivation;   /* the pane under the figure */
  gboolean         show_all_steps;    /* every step there, not only the key ones */
  gboolean         dark_style;

  /* through time */
  JacView          view;
  JacCell          cell;              /* the recurrent cell through time */
  int              steps;             /* T */
  int              lag;               /* k, at most T */
  double           gain;
  gboolean         orthogonal;
  JacSequenceNorm  norm;              /* spectral or Frobenius */
  gboolean         shared_range;

  /* a scalar expression's second derivative instead of its gradient */
  gboolean         hessian;
};

G_END_DECLS

/* jac-sequence-figure-private.h: what the through-time figure's files (jac-sequence-figure.c,
 * -layout.c, -blocks.c, -plot.c) and the cells' comparison (jac-sequence-compare.c) share: the
 * scene drawn, its layout and the painter. */
#pragma once

#include "jac-figure-paint.h"
#include "jac-sequence-figure.h"

G_BEGIN_DECLS

#define MINUS "\xe2\x88\x92"
#define MAX_COLORED_ROWS 7     /* more rows are drawn as one family with their mean */

/* What a figure shows: one sequence (its blocks at the view's lag and its norms), or, with
 * @cells, the three cells compared. Both figures are saved by one draw callback over it. */
typedef struct
{
  double                          width;
  double                          height;
  const JacSequence              *sequence;
  const JacStructured            *jacobian;   /* or NULL: the blocks panel is left empty */
  const JacSequenceNorms         *norms;      /* or NULL: no curves (hit-testing) */
  const JacSequence * const      *cells;      /* the comparison's four, or NULL */
  const JacSequenceNorms * const *cell_norms;
  const JacSequenceView          *view;
  const JacFigureStyle           *style;
} JacSequenceScene;

typedef enum
{
  JAC_LEGEND_ROW,     /* a row's colour, or (row G_MAXSIZE) the faint family of many rows */
  JAC_LEGEND_MEAN,
  JAC_LEGEND_NORM_1,
  JAC_LEGEND_RHO_K,
} JacLegendKind;

typedef struct
{
  JacLabel      *label;
  JacLegendKind  kind;
  gsize          row;
  double         x;        /* where its stroke starts */
  double         y;        /* the stroke's centre line */
} JacLegendEntry;

/* What a figure too small for everything at its medium's minimum type leaves out, in this
 * order (each step keeps the ones before it): the secondary captions (the model line under the
 * title, "showing rows …" and the colour range's note), then the legend of the curves, then the
 * blocks panel (the plot takes the whole figure). Minor ticks take no room of their own, so
 * leaving them out would free nothing: they stay. The title, the plot and the two captions that
 * state the answer are always drawn; a corner says what was left out. */
typedef enum
{
  JAC_SEQUENCE_DROP_SECONDARY = 1 << 0,
  JAC_SEQUENCE_DROP_LEGEND    = 1 << 1,
  JAC_SEQUENCE_DROP_BLOCKS    = 1 << 2,
} JacSequenceDrop;

/* Every text but the tick labels is measured here, before anything is placed, so that the
 * layout is the one drawn and hit-testing (which has no norms, so no y ticks) agrees with it.
 * Everything is in figure units (px at 1×, pt on paper), never device pixels: 2× and 3× lay
 * out exactly as 1×. */
typedef struct
{
  JacFigureStyle  style;
  JacSequenceView view;
  JacPalette      palette;
  PangoContext   *context;      /* borrowed: text is measured with it */
  double          width;
  double          height;
  JacType         type;         /* from the medium: body, small, title and the minimums */
  guint           dropped;      /* JacSequenceDrop */
  gboolean        overflow;     /* a text did not fit its room even at the minimum size */
  gboolean        stacked;      /* blocks above the plot (a tall figure), else side by side */
  double          split;        /* side by side: the blocks' share of the width */
  gboolean        block_by_width; /* the blocks are as large as the column's width allows */
  double          base;         /* body text */
  double          small;
  double          small_height; /* one line of small text, superscripts included */
  double          line;         /* line width */
  double          margin;
  double          top;          /* below the title */
  double          bottom;
  JacLabel       *title;
  JacLabel       *subtitle;     /* or NULL when left out */
  JacLabel       *answer;       /* what the blocks are, in the figure's layout */
  JacLabel       *why;          /* why the curves vanish or explode */
  JacLabel       *left_out;     /* "left out: …", or NULL */
  char            ratio[96];    /* "∂h_T/∂h_{T−k}" as markup, or c for the LSTM's cell state */
  char            ratio_rows[128]; /* "∂h_T[i]/∂h_{T−k}[i]" */

  /* the blocks */
  JacRect         left;
  gboolean        full_grid;    /* N × N blocks, zeros included */
  gsize           shown;        /* diagonal blocks drawn */
  gsize           grid_cols;
  gsize           grid_rows;
  double          grid_x;
  double          grid_y;
  double          block;        /* side of a block */
  double          pitch_x;
  double          pitch_y;
  double          name_height;  /* "i = p = 3" above each block, when not the full grid */
  JacRect         colorbar;
  double          range;
  JacLabel       *blocks_header;
  JacLabel       *bar_ticks[3];
  JacLabel       *range_label;  /* or NULL when left out */
  JacLabel       *caption_more; /* "showing rows …", or NULL */

  /* the plot */
  JacRect         right;
  JacRect         plot;
  double          lag_max;      /* x runs over [0, T] */
  double          tick_width;   /* room for the y tick labels */
  double          axis_gap;     /* between the widest y tick label and the y title */
  JacLabel       *plot_header;
  JacLabel       *x_title;
  JacLabel       *y_title;
  GArray         *legend;       /* JacLegendEntry */
} JacSequenceLayout;

typedef struct
{
  cairo_t                *cr;
  PangoContext           *context;
  JacSequenceLayout      *layout;
  GArray                 *record;     /* JacTextRect, or NULL */
  cairo_matrix_t          to_figure;  /* from device space back to figure units */
  gboolean                in_cell;    /* the text being painted is a value inside a cell */
  const JacSequenceScene *scene;
} JacSequencePainter;

/* jac-sequence-layout.c */
/* The layout with everything, or with the fewest elements left out that lets the rest fit. */
void   _jac_sequence_layout_init     (JacSequenceLayout        *layout,
                                      PangoContext             *context,
                                      const JacSequenceScene   *scene);
void   _jac_sequence_layout_clear    (JacSequenceLayout        *layout);

/* jac-sequence-figure.c: text, recorded for tests when the painter keeps a record */
void   _jac_sequence_paint_label     (JacSequencePainter       *p,
                                      const JacLabel           *label,
                                      const JacRgb             *rgb);
/* Draws @markup with its anchor (@xalign, @yalign) at (@x, @y); returns its width. */
double _jac_sequence_show_text       (JacSequencePainter       *p,
                                      const char               *markup,
                                      double                    size,
                                      gboolean                  bold,
                                      double                    x,
                                      double                    y,
                                      double                    xalign,
                                      double                    yalign,
                                      const JacRgb             *rgb);
/* The same for a value inside a block's cell. */
void   _jac_sequence_show_inner_text (JacSequencePainter       *p,
                                      const char               *markup,
                                      double                    size,
                                      gboolean                  bold,
                                      double                    x,
                                      double                    y,
                                      double                    xalign,
                                      double                    yalign,
                                      const JacRgb             *rgb);
/* The draw callback of _jac_render_save () for a JacSequenceScene. */
void   _jac_sequence_scene_draw_cb   (cairo_t                  *cr,
                                      double                    width,
                                      double                    height,
                                      gpointer                  scene);

/* jac-sequence-blocks.c: the left panel, ∂h_T/∂h_{T−k}'s blocks and their colour bar */
void   _jac_sequence_draw_blocks     (JacSequencePainter       *p);

/* jac-sequence-plot.c: the right panel, log₁₀ of the norms against k */
void   _jac_sequence_draw_plot       (JacSequencePainter       *p);

/* jac-sequence-compare.c */
void   _jac_sequence_compare_draw    (cairo_t                  *cr,
                                      const JacSequenceScene   *scene);

G_END_DECLS

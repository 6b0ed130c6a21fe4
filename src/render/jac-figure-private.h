/* jac-figure-private.h: the figure's layout, palette and text helpers shared inside src/render. */
#pragma once

#include <pango/pangocairo.h>

#include "jac-figure.h"
#include "jac-heatmap.h"

G_BEGIN_DECLS

typedef struct
{
  double x, y, width, height;
} JacRect;

typedef struct
{
  double red, green, blue;
} JacRgb;

typedef struct
{
  JacRgb background;
  JacRgb ink;
  JacRgb faint_ink;
  JacRgb frame;       /* thin frames around blocks and matrices */
  JacRgb zero_fill;   /* structural zeros */
  JacRgb zero_line;   /* their hatch */
  JacRgb zero_ink;    /* their "0" */
  JacRgb outline;     /* highlight */
  JacRgb halo;        /* around the highlight, so that it reads on any colour */
} JacPalette;

typedef enum
{
  JAC_INK_NORMAL,
  JAC_INK_FAINT,
} JacInk;

typedef struct
{
  PangoLayout *layout;
  double       x;        /* top-left corner of the logical rectangle */
  double       y;
  double       width;
  double       height;
  double       size;     /* its font size */
  double       min_size; /* its smallest glyphs' size, sub/superscripts included */
  double       xalign;   /* the anchor it was placed by, for writers that reflow text (TikZ) */
  double       yalign;
  JacInk       ink;
} JacLabel;

/* The type sizes of a figure, from its medium (see JacMedium), in figure units. */
typedef struct
{
  double body;        /* ordinary text */
  double small;       /* secondary text: captions, ticks, block labels, values in cells */
  double title;
  double min_text;    /* no text is set smaller than this, */
  double min_script;  /* and no sub/superscript smaller than this */
} JacType;

typedef struct
{
  double x0, y0, x1, y1;
  double width;          /* in units of the figure's line width */
  JacInk ink;
} JacRule;

/* One small heatmap of the contracted form; a rank-1 tensor is shown as one row. */
typedef struct
{
  JacPanel         panel;
  const JacTensor *tensor;
  gsize            rows;
  gsize            cols;
  double           range;
  JacRect          rect;
} JacMatrixView;

#define JAC_MAX_MATRIX_VIEWS 8

/* What a drawing did, for tests that check it is bounded by what is visible. */
typedef struct
{
  guint   blocks;        /* Jacobian blocks whose cells were coloured */
  guint   zero_blocks;   /* structural-zero blocks filled */
  guint   matrices;      /* heatmaps of the contracted form painted */
  guint   values;        /* numbers written in cells */
  guint   labels;        /* labels drawn */
  guint64 pixels;        /* heatmap pixels computed */
  GArray *texts;         /* or NULL; else every text drawn is appended, as JacTextRect */
} JacFigureCounters;

/* Slots [row0, row1) × [col0, col1) of the Jacobian's arrangement. */
typedef struct
{
  gsize row0, row1;
  gsize col0, col1;
} JacSlotRange;

/* What a figure leaves out when its area cannot hold everything at the medium's minimum type,
 * in this order (each step keeps the ones before it): text is never set smaller instead. */
typedef enum
{
  JAC_OMIT_SCALE_NOTE      = 1 << 0,  /* the contracted form's "each matrix has its own scale" */
  JAC_OMIT_ARRANGEMENT     = 1 << 1,  /* the caption above the grid: how blocks are arranged */
  JAC_OMIT_INTERMEDIATES   = 1 << 2,  /* the contracted form's intermediate matrices (G ⊙ S = …) */
  JAC_OMIT_MATRIX_CAPTIONS = 1 << 3,  /* "(2, 3)  ±0.92" under each matrix of the contracted form */
  JAC_OMIT_MINOR_TICKS     = 1 << 4,  /* the colour bar's ticks but −max, 0 and max */
  JAC_OMIT_SHAPE           = 1 << 5,  /* the line with the tensor's shape and counts */
  JAC_OMIT_CONTRACTION     = 1 << 6,  /* the whole contracted-form panel */
  JAC_OMIT_SPARSITY        = 1 << 7,  /* the sparsity sentence beside the structural-zero swatch */
  JAC_OMIT_WHY             = 1 << 8,  /* the line on why the contracted form has its shape */
  JAC_OMIT_BLOCK_CAPTION   = 1 << 9,  /* the caption with the block formula */
  JAC_OMIT_ALL             = (1 << 10) - 1,
} JacOmit;

typedef struct
{
  const JacAnalysis *analysis;
  JacFigureStyle     style;
  JacOmit            omit;          /* what this layout leaves out */
  double             grid_share;    /* of the width, beside the contracted form */
  gboolean           fits;          /* everything it kept fits at the medium's type */
  double             width;
  double             height;
  JacType            type;
  double             font_px;       /* type.body, type.small and type.title */
  double             small_px;
  double             title_px;
  double             line_width;
  JacPalette         palette;
  PangoContext      *context;

  /* The Jacobian. Block columns are wrapped into n_bands bands of band_cols columns each when
   * the grid is much wider than high; each band holds rows_per_band block rows (all of them, or
   * just the focus row). Slot (r, c) of the slot_rows × slot_cols arrangement is then block
   * (r mod rows_per_band, (r div rows_per_band) · band_cols + c), or (focus row, …), and slots
   * past the last block column stay empty. */
  gboolean           focus;
  gsize              focus_block_row;
  /* Per-sample view: one row of blocks, as with a focus row, slot c being block (c, c). */
  gboolean           per_sample;
  /* Denominator layout transposes the whole figure: the arrangement's rows are then the
   * variable's block index p and its columns the output's i (not with a focus row, whose one
   * row of blocks is simply wrapped). disp_rows × disp_cols blocks are arranged. */
  gboolean           transposed;
  /* The vec layout (jac-figure-vec.c): blocks butted together into one matrix, rows (i, j) and
   * columns (p, q), never transposed nor focused. */
  gboolean           vec;
  gsize              disp_rows;
  gsize              disp_cols;
  gsize              rows_per_band;
  gsize              n_bands;
  gsize              band_cols;
  gsize              slot_rows;
  gsize              slot_cols;
  double             grid_x;
  double             grid_y;
  double             block_width;
  double             block_height;
  double             pitch_x;
  double             pitch_y;
  double             band_pitch;    /* from one band to the next */
  gsize              cell_rows;     /* a block's cells as displayed (swapped when denominator) */
  gsize              cell_cols;
  JacRect            grid;
  double             range;         /* the Jacobian's symmetric colour range */
  JacRect            colorbar;
  JacRect            legend_swatch; /* a sample of the structural-zero style */

  JacMatrixView      matrices[JAC_MAX_MATRIX_VIEWS];
  guint              n_matrices;

  GPtrArray         *labels;        /* JacLabel */
  GArray            *rules;         /* JacRule */

  /* Drawing only: the part of the figure the target shows (the whole figure unless a zoomed
   * view clips it); nothing entirely outside is computed or drawn. */
  JacRect            visible;
  JacFigureCounters *counters;      /* or NULL */
} JacFigureLayout;

/* A rectangle of cells [row0, row1) × [col0, col1) to outline; for the Jacobian, of block
 * (block_row, block_col), in numerator terms (rows j, columns q). */
typedef struct
{
  JacPanel panel;
  gsize    block_row;
  gsize    block_col;
  gsize    row0, row1;
  gsize    col0, col1;
  gboolean primary;
} JacMark;

/* Reads J[i, j, p, q] (block (i, p), entry (j, q)) straight from the structured core when its
 * δ pattern is one this file understands, else through jac_analysis_block_entry (). */
typedef struct
{
  const JacAnalysis *analysis;
  gboolean           direct;
  int                i_tie;       /* 0: i = p is forced, 1: i = q is forced, -1: none */
  int                j_tie;       /* 0: j = p, 1: j = q, -1: none */
  gsize              stride_i;
  gsize              stride_j;
  gsize              stride_p;    /* 0 when p is tied */
  gsize              stride_q;    /* 0 when q is tied */
  const double      *core;
} JacJacobianAccess;

/* jac-figure-layout.c */
JacFigureLayout *_jac_figure_layout_new     (const JacAnalysis     *analysis,
                                             const JacFigureStyle  *style,
                                             double                 width,
                                             double                 height,
                                             cairo_t               *cr);
void             _jac_figure_layout_free    (JacFigureLayout       *layout);
/* Whether @rect, grown by @margin on every side, meets the visible part of the figure. */
gboolean         _jac_figure_layout_visible (const JacFigureLayout *layout,
                                             const JacRect         *rect,
                                             double                 margin);
/* The visible part of the figure in device pixels of @cr, a pixel to spare around it. */
void             _jac_figure_layout_visible_device (const JacFigureLayout *layout,
                                                    cairo_t               *cr,
                                                    JacPixelRect          *device);
/* The slots of the Jacobian that meet the visible part of the figure. */
void             _jac_figure_layout_visible_slots (const JacFigureLayout *layout,
                                                   JacSlotRange          *range);
/* Of @n cells side by side over [@start, @start + @extent), those [*first, *last) that meet
 * [@from, @to); whether there are any. */
gboolean         _jac_span_visible          (double                 start,
                                             double                 extent,
                                             gsize                  n,
                                             double                 from,
                                             double                 to,
                                             gsize                 *first,
                                             gsize                 *last);
gboolean         _jac_figure_layout_slot_block (const JacFigureLayout *layout,
                                                gsize                  slot_row,
                                                gsize                  slot_col,
                                                gsize                 *block_row,
                                                gsize                 *block_col);
gboolean         _jac_figure_layout_block_slot (const JacFigureLayout *layout,
                                                gsize                  block_row,
                                                gsize                  block_col,
                                                gsize                 *slot_row,
                                                gsize                 *slot_col);
void             _jac_figure_layout_slot_rect  (const JacFigureLayout *layout,
                                                gsize                  slot_row,
                                                gsize                  slot_col,
                                                JacRect               *rect);
/* The rectangle of entry (j, q) of the block in a slot, wherever the layout puts it. */
void             _jac_figure_layout_entry_rect (const JacFigureLayout *layout,
                                                const JacRect         *block,
                                                gsize                  row0,
                                                gsize                  row1,
                                                gsize                  col0,
                                                gsize                  col1,
                                                JacRect               *rect);
gboolean         _jac_figure_layout_hit     (const JacFigureLayout *layout,
                                             double                 x,
                                             double                 y,
                                             JacFigureHit          *hit);
void             _jac_palette_init          (JacPalette            *palette,
                                             const JacFigureStyle  *style);
/* Appends a placed label to @layout, which takes it. */
JacLabel        *_jac_figure_layout_take_label (JacFigureLayout    *layout,
                                                JacLabel           *label,
                                                double              x,
                                                double              y,
                                                double              xalign,
                                                double              yalign,
                                                JacInk              ink);
/* Measures and places a one-line label in one go. */
JacLabel        *_jac_figure_layout_add_label (JacFigureLayout     *layout,
                                               const char          *markup,
                                               double               size,
                                               gboolean             bold,
                                               double               x,
                                               double               y,
                                               double               xalign,
                                               double               yalign,
                                               JacInk               ink);
double           _jac_figure_layout_text_width (JacFigureLayout    *layout,
                                                const char         *markup,
                                                double              size);
void             _jac_figure_layout_add_rule (JacFigureLayout      *layout,
                                              double                x0,
                                              double                y0,
                                              double                x1,
                                              double                y1,
                                              double                width,
                                              JacInk                ink);

/* jac-figure-grid.c */
void             _jac_figure_layout_grid    (JacFigureLayout       *layout,
                                             const JacRect         *area);

/* jac-figure-vec.c */
/* The caption above the matrix: what its rows and columns are. */
char            *_jac_figure_vec_caption_markup (const JacFigureLayout *layout);
/* The answer under it: the Kronecker identity in both vec conventions, or why there is none. */
char            *_jac_figure_vec_answer_markup  (const JacAnalysis     *analysis);
/* The room the row indices take on the left and the column indices on top. */
void             _jac_figure_vec_margins        (JacFigureLayout       *layout,
                                                 double                *left,
                                                 double                *top);
/* Row and column indices, and the lines between blocks, once the matrix is placed. */
void             _jac_figure_vec_place_headers  (JacFigureLayout       *layout,
                                                 double                 top);

/* jac-figure-contraction.c */
void             _jac_figure_layout_contraction (JacFigureLayout   *layout,
                                                 const JacRect     *area);

/* jac-figure-text.c */
/* The type of a @width × @height figure for @medium; @text_scale (the window's Ctrl+plus/minus)
 * scales it, never below the medium's minimums. */
void             _jac_type_init             (JacType               *type,
                                             JacMedium              medium,
                                             double                 text_scale,
                                             double                 width,
                                             double                 height);
PangoContext    *_jac_text_context_new      (cairo_t               *cr);
/* Labels made with @context set sub/superscripts at 0.8 of their text, never below
 * @type->min_script (nor above the text itself). */
void             _jac_text_context_set_type (PangoContext          *context,
                                             const JacType         *type);
JacLabel        *_jac_label_new             (PangoContext          *context,
                                             const char            *markup,
                                             double                 size_px,
                                             gboolean               bold,
                                             double                 wrap_width);
void             _jac_label_free            (gpointer               label);
/* A layout for plain text (cell values) in the labels' font at @size_px. */
PangoLayout     *_jac_text_layout_new       (PangoContext          *context,
                                             double                 size_px);
/* Puts @label's anchor point (@xalign, @yalign ∈ [0, 1] of its box) at (@x, @y). */
void             _jac_label_place          (JacLabel              *label,
                                             double                 x,
                                             double                 y,
                                             double                 xalign,
                                             double                 yalign);
void             _jac_set_source_rgb        (cairo_t               *cr,
                                             const JacRgb          *rgb);
guint32          _jac_rgb_argb              (const JacRgb          *rgb);
/* 0xrrggbb as a colour. */
JacRgb           _jac_rgb_hex               (guint32                hex);
/* Numbers as shown: two decimals, or an exponent for very small or large ones; "−" for minus. */
char            *_jac_format_value          (double                 value);
/* Short enough for a cell: two decimals below 10, fewer above. */
char            *_jac_format_cell           (double                 value);
char            *_jac_format_count          (gsize                  count);
char            *_jac_format_tick           (double                 value,
                                             double                 step);
/* "3.1×10<sup>−17</sup>" */
char            *_jac_format_scientific_markup (double              value);
/* Escapes @text and turns "W_hh" into W<sub>hh</sub>. */
char            *_jac_markup_from_text      (const char            *text);
/* Whether @style asks for the per-sample view and the Jacobian is batch-diagonal. */
gboolean         _jac_figure_shows_per_sample (const JacAnalysis    *analysis,
                                               const JacFigureStyle *style);
char            *_jac_variable_markup       (JacVariable            variable);

/* jac-render-save.c */
/* Draws into (0, 0, @width, @height) of @cr. */
typedef void (*JacRenderDrawFunc) (cairo_t  *cr,
                                   double    width,
                                   double    height,
                                   gpointer  user_data);
/* Saves what @draw draws atomically to @path, in the format its extension names; @scale
 * multiplies PNG pixels; @title names a PDF; @medium's unit (px or pt) is an SVG's. */
gboolean         _jac_render_save           (const char            *path,
                                             double                 width,
                                             double                 height,
                                             double                 scale,
                                             JacMedium              medium,
                                             const char            *title,
                                             JacRenderDrawFunc      draw,
                                             gpointer               user_data,
                                             GError               **error);

/* jac-figure.c */
/* jac_figure_draw (), adding up its work in @counters (may be NULL); with @whole, as if all of
 * the figure were visible: the plain reference that drawing only what is visible is tested
 * against. */
void             _jac_figure_draw_counted   (cairo_t               *cr,
                                             double                 width,
                                             double                 height,
                                             const JacAnalysis     *analysis,
                                             const JacFigureStyle  *style,
                                             gboolean               whole,
                                             JacFigureCounters     *counters);

/* The width of frames around blocks and matrices, in device units of @cr. */
double           _jac_figure_frame_width    (const JacFigureLayout *layout,
                                             cairo_t               *cr);
/* Appends what @layout draws at (@x, @y) to the counters' texts, when they are kept. */
void             _jac_figure_record_text    (const JacFigureLayout *layout,
                                             PangoLayout           *text,
                                             double                 x,
                                             double                 y,
                                             double                 size,
                                             gboolean               value);

/* jac-figure-jacobian.c */
void             _jac_jacobian_access_init  (JacJacobianAccess     *access,
                                             const JacAnalysis     *analysis);
double           _jac_jacobian_access_entry (const JacJacobianAccess *access,
                                             gsize                  block_row,
                                             gsize                  block_col,
                                             gsize                  row,
                                             gsize                  col,
                                             gboolean              *structural_zero);
void             _jac_figure_draw_jacobian  (cairo_t               *cr,
                                             const JacFigureLayout *layout);
/* Writes values in cells of @cell_width × @cell_height when they fit; returns the font size
 * used, or 0 when they do not fit. */
double           _jac_figure_value_font     (const JacFigureLayout *layout,
                                             double                 cell_width,
                                             double                 cell_height);

/* jac-figure-describe.c */
GArray          *_jac_figure_marks          (const JacAnalysis     *analysis,
                                             const JacFigureHit    *hit);

/* Which factor of the contracted form each panel shows: JAC_PANEL_GATED the one that is an
 * element-wise product (G ⊙ S), or the left one; JAC_PANEL_FACTOR the other (W_hhᵀ, Aᵀ). */
guint            _jac_panel_gated_factor  (const JacAnalysis    *analysis);
/* The tensor a panel shows (NULL for the grid and for panels the analysis has not); for
 * JAC_PANEL_SLOPE the part of G ⊙ S that is not G. */
const JacTensor *_jac_panel_tensor        (const JacAnalysis    *analysis,
                                           JacPanel              panel);
/* The part of the inner product that is G (0 or 1), or -1 when there is none to draw. */
int              _jac_panel_inner_upstream (const JacAnalysis   *analysis);

G_END_DECLS

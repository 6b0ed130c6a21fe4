/* jac-figure.h: the Jacobian figure, drawn into any cairo_t, and saved as PNG, SVG or PDF. */
#pragma once

#include <cairo.h>

#include "core/jac-analysis.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_COLORMAP_BLUE_RED,      /* diverging, colour-blind safe, white at zero */
  JAC_COLORMAP_PURPLE_GREEN,  /* diverging, colour-blind safe, white at zero */
  JAC_COLORMAP_GRAY,          /* dark → mid-grey → light: the sign kept without hue, for
                               * black-and-white handouts */
  JAC_N_COLORMAPS /*< skip >*/
} JacColormap;

/* How the Jacobian's blocks are laid out; the nicks are the names of --layout and the window. */
typedef enum
{
  JAC_LAYOUT_NUMERATOR,    /* blocks (i, p) with rows j and columns q */
  JAC_LAYOUT_DENOMINATOR,  /* the same blocks transposed: rows q, columns j */
  JAC_LAYOUT_VEC,          /* the matrix ∂vec(out)/∂vec(wrt) */
  JAC_LAYOUT_PER_SAMPLE,   /* only the N blocks (i, i) of a batch-diagonal Jacobian */
} JacLayout;

#include "jac-render-enums.h"

typedef enum
{
  JAC_FIGURE_PNG,
  JAC_FIGURE_SVG,
  JAC_FIGURE_PDF,
  JAC_FIGURE_TIKZ,  /* .tex: a TikZ picture, text as LaTeX, heatmaps as PNG images beside it */
} JacFigureFormat;

/* Where a figure is seen; it chooses the type sizes and the figure's unit. A figure never sets
 * text below its medium's minimum: when the area is too small it leaves elements out instead
 * (see jac-figure-layout.c for the order) and says so in a corner. */
typedef enum
{
  JAC_MEDIUM_SCREEN,        /* units are px at 1×: text ≥ 11 px, sub/superscripts ≥ 9 px */
  JAC_MEDIUM_PRESENTATION,  /* units are px at 1×: all text ≥ 18 px */
  JAC_MEDIUM_PAPER,         /* units are pt (72 per inch): body 8 pt, all text ≥ 6 pt */
  JAC_N_MEDIA
} JacMedium;

typedef enum
{
  JAC_PANEL_NONE,
  JAC_PANEL_JACOBIAN,     /* the grid of blocks (or, with focus_row ≥ 0, one row of blocks) */
  JAC_PANEL_UPSTREAM,     /* G */
  JAC_PANEL_SLOPE,        /* S = φ'(Z) */
  JAC_PANEL_GATED,        /* G ⊙ S */
  JAC_PANEL_FACTOR,       /* W_hhᵀ, W_xhᵀ, h_prevᵀ or xᵀ: what G ⊙ S is multiplied by */
  JAC_PANEL_FORMULA,      /* the contraction by the matrix formula, e.g. (G⊙S) W_hhᵀ */
  JAC_PANEL_CONTRACTION,  /* the contraction Σ G·J from the tensor */
  JAC_N_PANELS
} JacPanel;

/* One cell of one panel. For JAC_PANEL_JACOBIAN, (block_row, block_col) is the block (i, p) and
 * (row, col) the entry (j, q) inside it in numerator layout, whatever the style's layout; for the
 * other panels, only (row, col) are used. */
typedef struct
{
  JacPanel panel;
  gsize    block_row;
  gsize    block_col;
  gsize    row;
  gsize    col;
} JacFigureHit;

typedef struct
{
  gboolean    denominator_layout;  /* blocks with rows q and columns j */
  gboolean    vec_layout;          /* the (N·H)×(P·Q) matrix ∂vec(out)/∂vec(wrt), row-major vec,
                                    * with its Kronecker identity; takes precedence over
                                    * denominator_layout and focus_row */
  JacColormap colormap;
  gboolean    show_values;         /* write values in cells large enough to hold them */
  gboolean    dark;                /* dark background, light ink */
  JacMedium   medium;              /* screen (default), presentation or paper */
  double      text_scale;          /* 1 normally; the window's Ctrl+plus/minus; never takes
                                    * text below the medium's minimum */
  double      line_scale;          /* 1 normally; thicker lines for presentation */
  gssize      focus_row;           /* -1: the whole grid; i ≥ 0: J[i, :, p, :] for every p */
  gboolean    per_sample;          /* only the N blocks (i, i) of a batch-diagonal Jacobian */
  gboolean    show_contraction;    /* draw the contracted-form panels beside the Jacobian */
  gboolean    has_highlight;       /* outline @highlight and the entries it is made of */
  JacFigureHit highlight;
} JacFigureStyle;

void     jac_figure_style_init        (JacFigureStyle        *style);
/* Sets the style's layout flags (denominator_layout, vec_layout, per_sample) for @layout. */
void     jac_figure_style_set_layout  (JacFigureStyle        *style,
                                       JacLayout              layout);
const char *jac_colormap_name         (JacColormap            colormap);
gboolean jac_colormap_from_name       (const char            *name,
                                       JacColormap           *colormap);
gboolean jac_figure_format_from_path  (const char            *path,
                                       JacFigureFormat       *format,
                                       GError               **error);
/* Draws the whole figure (Jacobian grid, colour bar, sparsity sentence, contracted form) into
 * the rectangle (0, 0, @width, @height) of @cr. */
void     jac_figure_draw              (cairo_t               *cr,
                                       double                 width,
                                       double                 height,
                                       const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style);
/* Which cell of which panel lies under (@x, @y) in a figure drawn with the same size and style. */
gboolean jac_figure_hit_test          (const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style,
                                       double                 width,
                                       double                 height,
                                       double                 x,
                                       double                 y,
                                       JacFigureHit          *hit);
/* A line naming the cell and its value as the product it is made of, e.g.
 * "J[1,2,1,0] = ∂h[1,2]/∂h_prev[1,0] = S[1,2] · W_hh[0,2] = 0.41 × −0.73 = −0.30". */
char    *jac_figure_describe_hit      (const JacAnalysis     *analysis,
                                       const JacFigureHit    *hit);
/* Saves atomically to @path in the format its extension names. @width × @height are in the
 * figure's units (px, or pt for the paper medium): the page size of a PDF or SVG, and times
 * @scale the pixels of a PNG (for paper at D dpi, @scale = D / 72). */
gboolean jac_figure_save              (const char            *path,
                                       double                 width,
                                       double                 height,
                                       double                 scale,
                                       const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style,
                                       GError               **error);

/* For tests and the TikZ writer: a piece of text a figure drew, where and how large. */
typedef struct
{
  char    *text;                  /* the plain text, markup stripped */
  double   x, y, width, height;   /* its logical box, in figure units */
  double   size;                  /* its smallest glyph size, sub/superscripts included */
  gboolean value;                 /* a number written inside a cell */
} JacTextRect;

/* Lays the figure out as jac_figure_draw () would and returns every text it draws, values in
 * cells included, as JacTextRect (free with the array). */
GArray  *jac_figure_text_rects        (double                 width,
                                       double                 height,
                                       const JacAnalysis     *analysis,
                                       const JacFigureStyle  *style);

G_END_DECLS

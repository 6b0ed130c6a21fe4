/* jac-cli-private.h: what the subcommands of the command line share. */
#pragma once

#include "core/jac-analysis.h"
#include "core/jac-sequence.h"
#include "render/jac-figure.h"

G_BEGIN_DECLS

/* --dpi: from a coarse preview to 16 pixels per pt, the finest the renderer draws. */
#define JAC_CLI_MIN_DPI 10
#define JAC_CLI_MAX_DPI 1152

/* A --width or --height as given: in px, or a physical length converted to pt. */
typedef struct
{
  double   value;     /* px, or pt when physical */
  gboolean physical;  /* given in pt, in, cm or mm */
} JacCliLength;

typedef struct
{
  const char    *subcommand;     /* the command the options are for: "compute", … */

  /* as GOption collected them */
  char          *batch_text;
  char          *input_text;
  char          *hidden_text;
  char          *seed_text;
  char          *activation_text;
  char          *b_shape_text;
  char         **var_texts;
  char          *wrt_text;
  char          *grad_path;
  char          *upstream_text;
  char          *vjp_path;
  char          *output_path;
  char          *zeros_path;     /* --zeros-output */
  gboolean       per_sample;     /* --per-sample */
  char          *threads_text;
  char          *budget_text;
  char          *width_text;
  char          *height_text;
  char          *scale_text;
  char          *dpi_text;
  gboolean       presentation;
  char          *layout_text;
  char          *colormap_text;
  char          *row_text;
  gboolean       show_values;
  gboolean       dark;
  gboolean       no_contraction;
  char          *repeat_text;
  char          *expr_text;
  char          *preset_text;    /* --preset NAME */
  const char    *preset_shapes;  /* its declarations, read before --size and --shape */
  gboolean       list_presets;
  char         **shape_texts;
  char         **size_texts;
  gboolean       latex;
  gboolean       standalone;
  gboolean       numpy;          /* derive --numpy: a self-checking NumPy script */
  gboolean       torch;          /* derive --torch: the same, checked by torch.autograd */
  gboolean       hessian;        /* --hessian: the second derivative of a scalar --expr */
  char          *wrt2_text;      /* --wrt2 NAME: the mixed Hessian's second variable */
  char          *direction_path; /* --direction FILE.npy: V of the Hessian-vector product */
  char          *steps_text;
  char          *lag_text;
  char          *gain_text;
  char          *norm_text;
  gboolean       orthogonal;
  gboolean       shared_range;
  char          *cell_text;          /* --cell */
  char          *weights_path;       /* --weights FILE.npz */
  char          *output_state_text;  /* --output-state h|c */
  gboolean       compare_cells;      /* render --compare-cells */
  char          *carry_bias_text;    /* --carry-bias */

  /* resolved */
  JacRnnConfig    config;
  JacVariable     wrt;
  JacUpstreamKind upstream_kind;
  JacTensor      *upstream;
  JacTensor      *loaded[JAC_N_VARS];  /* the RNN's variables, borrowed from loaded_by_name */
  GHashTable     *loaded_by_name;      /* name → JacTensor, every --var (and --weights') */
  GHashTable     *from_weights;        /* the names --weights gave a program, or NULL */
  gsize           budget_bytes;
  JacCliLength    width_length;   /* value 0 when --width is not given */
  JacCliLength    height_length;
  double          dpi;
  double          scale;          /* --scale */
  double          width;          /* the figure's size in its units (px, or pt for paper) … */
  double          height;
  double          save_scale;     /* … and PNG pixels per unit: --scale, times dpi/72 for paper */
  JacFigureStyle  style;
  guint           repeat;
} JacCliOptions;

void          _jac_cli_fail                   (const char     *subcommand,
                                               const GError   *error);
/* jac-cli-help.c. Whether the long option @option (without "--") is for @subcommand; the
 * entries added to @group with the others hidden from its --help. */
gboolean      _jac_cli_option_is_for          (const char     *subcommand,
                                               const char     *option);
void          _jac_cli_add_entries            (GOptionGroup       *group,
                                               const GOptionEntry *entries,
                                               const char         *subcommand);
JacAnalysis  *_jac_cli_build_analysis         (JacCliOptions  *options,
                                               GError        **error);
GOptionGroup *_jac_cli_figure_option_group    (JacCliOptions  *options);
gboolean      _jac_cli_resolve_figure_options (JacCliOptions  *options,
                                               GError        **error);
gboolean      _jac_cli_resolve_figure_size    (JacCliOptions  *options,
                                               JacFigureFormat format,
                                               GError        **error);
gboolean      _jac_cli_check_focus_row        (JacCliOptions  *options,
                                               const JacAnalysis *analysis,
                                               GError        **error);
void          _jac_cli_clear_figure_options   (JacCliOptions  *options);
GOptionGroup *_jac_cli_bench_option_group     (JacCliOptions  *options);
GOptionGroup *_jac_cli_expr_option_group      (JacCliOptions  *options);
JacAnalysis  *_jac_cli_build_expr_analysis    (JacCliOptions  *options,
                                               GError        **error);
GOptionGroup *_jac_cli_compute_option_group   (JacCliOptions  *options);
void          _jac_cli_check_compute_combinations (const char    *subcommand,
                                                   JacCliOptions *options,
                                                   const char   **option,
                                                   const char   **why);
int           _jac_cli_run_compute            (JacCliOptions  *options);
int           _jac_cli_run_derive             (JacCliOptions  *options);
int           _jac_cli_run_check_expr         (JacCliOptions  *options);
GOptionGroup *_jac_cli_sequence_option_group  (JacCliOptions  *options);
void          _jac_cli_clear_sequence_options (JacCliOptions  *options);
int           _jac_cli_compute_sequence       (JacCliOptions  *options);
int           _jac_cli_render_sequence        (JacCliOptions  *options);
int           _jac_cli_run_norms              (JacCliOptions  *options);
JacSequence  *_jac_cli_build_sequence         (JacCliOptions  *options,
                                               gsize          *lag,
                                               GError        **error);
/* --steps left out: T follows a --var x=FILE.npy of rank 3 (T, N, D). Sets steps_text to "". */
gboolean      _jac_cli_detect_sequence        (JacCliOptions  *options,
                                               GError        **error);
/* --weights for the one-step view: the RNN's W_hh, W_xh, b from a PyTorch state dict. */
gboolean      _jac_cli_load_step_weights      (JacCliOptions  *options,
                                               GError        **error);
/* --weights with --expr or --preset lstm|gru: the state dict as the program's variables (W_ii …,
 * W_hh, W_xh, b for an RNN's), D and H from them. */
gboolean      _jac_cli_load_program_weights   (JacCliOptions  *options,
                                               GError        **error);
int           _jac_cli_run_bench              (JacCliOptions  *options);
int           _jac_cli_render_status          (const GError   *error);
/* Parses @text as a nick of the registered enum @type (not @except, or -1): "--layout: unknown
 * “x” (expected numerator, denominator, vec or per-sample)" otherwise. */
gboolean      _jac_cli_parse_enum             (GType           type,
                                               const char     *option,
                                               const char     *text,
                                               int             except,
                                               int            *result,
                                               GError        **error);

gboolean      _jac_cli_parse_length           (const char     *option,
                                               const char     *text,
                                               JacCliLength   *length,
                                               GError        **error);
gboolean      _jac_cli_parse_dpi              (const char     *text,
                                               double         *dpi,
                                               GError        **error);
double        _jac_cli_length_to_points       (const JacCliLength *length,
                                               double          dpi);

G_END_DECLS

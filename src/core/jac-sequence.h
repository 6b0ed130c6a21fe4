/* jac-sequence.h: the RNN unrolled over T steps, ∂h_T/∂h_{T−k} for every lag, and its norms. */
#pragma once

#include <gio/gio.h>

#include "jac-rnn.h"

G_BEGIN_DECLS

/*
 * The sequence x_1 … x_T drives T steps that share W_hh, W_xh and b:
 *
 *   Z_s = h_{s−1} W_hh + x_s W_xh + b      h_s = φ(Z_s)      S_s = φ'(Z_s)      s = 1 … T
 *
 * ∂h_T/∂h_{T−k} is, like the single step, a 4th-order tensor of shape (N, H, N, H) that is zero
 * unless p = i. Its diagonal block i (rows j = output unit, columns q = input unit) is
 *
 *   B_i^(k) = diag(S_T[i,:]) W_hhᵀ · diag(S_{T−1}[i,:]) W_hhᵀ ⋯ diag(S_{T−k+1}[i,:]) W_hhᵀ
 *
 * and is returned as a JacStructured with pair = {0, −1} and core[i, j, q] = B_i^(k)[j, q], the
 * same form jac_rnn_jacobian () gives for wrt h_prev (k = 1 is exactly that Jacobian).
 *
 * Random variables are drawn as in JacRnn, each from a GRand stream of its own seeded
 * {seed, variable}: h_0 from h_prev's stream, x_1 … x_T one after the other from x's stream (so
 * x_1 is JacRnn's x), W_xh and b as in JacRnn. W_hh is drawn as in JacRnn (uniform,
 * ±1/√H) or, when orthogonal, as the Q of a Gaussian matrix's QR (signs fixed by R's diagonal,
 * so that Q is Haar-distributed); then, with unit_radius, divided by its spectral radius; then
 * multiplied by gain. With unit_radius (the default) ρ(W_hh) = gain, so the class watches the
 * norms tip from vanishing to exploding as gain crosses 1. steps = 1, gain = 1, orthogonal and
 * unit_radius FALSE give JacRnn's variables exactly.
 */
/*
 * Gated cells, with PyTorch's equations, gate order and weight layout (a = x W_ihᵀ + b_ih +
 * h_{s−1} W_hhᵀ + b_hh, W_ih of shape (G·H, D), W_hh (G·H, H), biases (G·H)):
 *
 *   LSTM (G = 4: i, f, g, o)   c_s = f ⊙ c_{s−1} + i ⊙ g        h_s = o ⊙ tanh(c_s)
 *   GRU  (G = 3: r, z, n)      n = tanh(a_in + r ⊙ (h_{s−1} W_hnᵀ + b_hn))
 *                              h_s = (1 − z) ⊙ n + z ⊙ h_{s−1}
 *
 * The state u_s is h_s, or (h_s, c_s) for the LSTM. Rows of the batch never mix, so every
 * ∂(·)_T/∂(·)_{T−k} is block diagonal in the batch like the RNN's: its block i is the (output,
 * wrt) part of the product of k one-step state Jacobians ∂u_s/∂u_{s−1}[i]. Drawn weights are
 * PyTorch's default (uniform ±1/√H), W_hh then multiplied by the gain; x and h_0 are drawn from
 * the same streams as the RNN's, so the three cells see the same sequence; c_0 has a stream of
 * its own. For a gated cell `slopes` holds the direct carry of each step (f for the LSTM, the
 * diagonal of ∂c_s/∂c_{s−1}; z for the GRU) and spectral_radius is NaN (it does not apply).
 */
typedef enum
{
  JAC_CELL_RNN,
  JAC_CELL_LSTM,
  JAC_CELL_GRU,
} JacCell;

/* Which part of the state: h, or the LSTM's cell state c. */
typedef enum
{
  JAC_STATE_H,
  JAC_STATE_C,
} JacState;

/* The weights one can differentiate: Jacscope's names for the RNN (W_hh (H, H), W_xh (D, H),
 * b (H) or (N, H)) and PyTorch's state-dict keys for every cell (in PyTorch's shapes). */
typedef enum
{
  JAC_PARAM_W_HH,
  JAC_PARAM_W_XH,
  JAC_PARAM_B,
  JAC_PARAM_WEIGHT_IH,
  JAC_PARAM_WEIGHT_HH,
  JAC_PARAM_BIAS_IH,
  JAC_PARAM_BIAS_HH,
  JAC_N_PARAMS /*< skip >*/
} JacParam;

typedef struct
{
  JacRnnConfig config;       /* N, D, H, seed, activation (identity, tanh, sigmoid, relu), b */
  JacCell      cell;         /* rnn (default), lstm or gru; activation applies to the RNN only */
  JacState     output;       /* h_T (default) or c_T (LSTM) */
  JacState     wrt;          /* h_{T−k} (default) or c_{T−k} (LSTM) */
  double       carry_bias;   /* added to the drawn bias_ih of the gate that carries the state
                              * (the LSTM's f, the GRU's z): 0 is PyTorch's default; 1 to 3 is
                              * the usual forget-gate initialisation (Gers et al. 2000,
                              * Jozefowicz et al. 2015) */
  gsize        steps;        /* T ≥ 1 */
  double       gain;         /* ≥ 0: W_hh is multiplied by it */
  gboolean     orthogonal;   /* draw W_hh orthogonal */
  gboolean     unit_radius;  /* scale W_hh to spectral radius 1 before the gain */
} JacSequenceConfig;

typedef struct _JacSequence
{
  JacSequenceConfig config;
  JacTensor *w_hh;             /* (H, H) */
  JacTensor *w_xh;             /* (D, H) */
  JacTensor *b;                /* (H) or (N, H) */
  JacTensor *inputs;           /* (T, N, D): x_1 … x_T */
  JacTensor *states;           /* (T + 1, N, H): h_0 … h_T */
  JacTensor *slopes;           /* (T, N, H): S_1 … S_T (gated: the carry f or z) */
  double     spectral_radius;  /* ρ(W_hh), max |eigenvalue| from LAPACK's dgeev_ */
  double     mean_slope;       /* the mean of slopes, taken once after the forward pass */
  /* gated cells only (NULL for the RNN, whose w_hh, w_xh and b are NULL for gated cells) */
  JacTensor *weight_ih;        /* (G·H, D) */
  JacTensor *weight_hh;        /* (G·H, H) */
  JacTensor *bias_ih;          /* (G·H) */
  JacTensor *bias_hh;          /* (G·H) */
  JacTensor *cells;            /* LSTM: (T + 1, N, H): c_0 … c_T */
  JacTensor *gates;            /* (T, N, G·H): the gates after their activations */
  JacTensor *hidden_n;         /* GRU: (T, N, H): h_{s−1} W_hnᵀ + b_hn */
  gboolean   weights_loaded;   /* W_hh came from the data (a file), not drawn */
} JacSequence;

/* Values to use instead of drawing them; every member may be NULL. Sizes follow the tensors
 * (T from x, which is (T, N, D)); shapes that disagree are an error naming both. The RNN takes
 * either Jacscope's w_hh, w_xh, b or PyTorch's four (converted: W_hh = weight_hhᵀ,
 * W_xh = weight_ihᵀ, b = bias_ih + bias_hh); gated cells take PyTorch's only, weight_ih and
 * weight_hh both, biases both or neither (bias=False: zero). Loaded weights are used as they
 * are: gain, orthogonal and unit_radius apply to drawn W_hh only. */
typedef struct
{
  const JacTensor *x;          /* (T, N, D) */
  const JacTensor *h0;         /* (N, H) */
  const JacTensor *c0;         /* (N, H), LSTM */
  const JacTensor *w_hh;
  const JacTensor *w_xh;
  const JacTensor *b;
  const JacTensor *weight_ih;
  const JacTensor *weight_hh;
  const JacTensor *bias_ih;
  const JacTensor *bias_hh;
} JacSequenceData;

typedef enum
{
  JAC_SEQUENCE_NORM_SPECTRAL,   /* ‖B‖₂ = σ_max */
  JAC_SEQUENCE_NORM_FROBENIUS,  /* ‖B‖_F = √(Σ σ²) */
  JAC_SEQUENCE_NORM_MAX_ABS,    /*< skip >*/ /* max |entry|: the colour range of a block */
  JAC_SEQUENCE_N_NORMS /*< skip >*/
} JacSequenceNorm;

/* The registered enums' nicks ("rnn", "lstm", "gru"; "spectral", "frobenius") are the names the
 * command line and the window use. */
#include "jac-core-enums.h"

/*
 * For every lag k = 1 … T and batch row i, norms of B_i^(k). Values are kept as log₁₀ (a block
 * may lie far outside the range of a double: 3^800 explodes, 0.1^400 vanishes; the products are
 * kept with a power-of-two exponent per row, so nothing overflows or turns subnormal).
 *
 * Frobenius norms and max |entry| are exact (to rounding) from the formed products. Spectral
 * norms are exact from dgesvd_ when singular values were asked for every block; otherwise they
 * come from the Lanczos process on BᵀB of each formed block (Golub–Kahan–Lanczos
 * bidiagonalization's Krylov space, full reorthogonalization), warm-started from the previous
 * lag's top left Ritz vector and run until the estimate,
 * which approaches σ_max from below, changes by less than a relative 1e-14 between steps — or,
 * in the rare block where it has not within 48 steps, from dgesvd_ on that block.
 */
typedef struct
{
  gsize   steps;                 /* T */
  gsize   batch;                 /* N */
  gsize   hidden;                /* H */
  double *log10[JAC_SEQUENCE_N_NORMS];  /* [(k − 1) N + i] */
  double *singular_values;       /* NULL, or (T, N, H) descending: [((k − 1) N + i) H + r] */
  double  spectral_radius;       /* ρ(W_hh) */
  gsize   n_svd;                 /* blocks whose spectral norm came from dgesvd_ */
  gsize   n_lanczos_steps;       /* Lanczos steps over all blocks */
} JacSequenceNorms;

typedef struct _JacSequenceCursor JacSequenceCursor;

void         jac_sequence_config_init_default (JacSequenceConfig  *config);

/* Draws the variables and runs the forward pass, keeping h_s and S_s of every step. */
JacSequence *jac_sequence_new                (const JacSequenceConfig *config,
                                              GError            **error);
/* As jac_sequence_new, with the values in @data (may be NULL) instead of drawn ones. A
 * config->steps of 0 takes T from data->x. */
JacSequence *jac_sequence_new_with_data      (const JacSequenceConfig *config,
                                              const JacSequenceData   *data,
                                              GError            **error);
void         jac_sequence_free               (JacSequence        *self);

const char  *jac_cell_name                   (JacCell             cell);
gboolean     jac_cell_from_name              (const char         *name,
                                              JacCell            *cell);
/* G: 1, 4 or 3 */
guint        jac_cell_n_gates                (JacCell             cell);
const char  *jac_param_name                  (JacParam            param);
gboolean     jac_param_from_name             (const char         *name,
                                              JacParam           *param);

/* Borrows weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 from a PyTorch state dict (as
 * jac_npz_read returns it) into @data. Any other key is an error naming it: a layer other than
 * 0 (weight_hh_l1: one layer only), bidirectional weights (…_reverse), an unknown key; so is a
 * missing weight or a shape that is not @cell's (G·H rows), naming the key and what it should
 * be. */
gboolean     jac_sequence_data_from_state_dict (GHashTable       *state_dict,
                                                JacCell           cell,
                                                JacSequenceData  *data,
                                                GError          **error);
/* The RNN step's W_hh = weight_hhᵀ, W_xh = weight_ihᵀ and b = bias_ih + bias_hh (each NULL in
 * when absent) from PyTorch's nn.RNN weights: PyTorch computes h W_hhᵀ where Jacscope computes
 * h W_hh. New tensors in the three out arguments. */
gboolean     jac_sequence_rnn_weights_from_pytorch (const JacTensor *weight_ih,
                                                    const JacTensor *weight_hh,
                                                    const JacTensor *bias_ih,
                                                    const JacTensor *bias_hh,
                                                    JacTensor      **w_hh,
                                                    JacTensor      **w_xh,
                                                    JacTensor      **b,
                                                    GError         **error);
/*
 * One step of the LSTM and the GRU as programs of the expression language (the gallery's "lstm"
 * and "gru"), with PyTorch's equations and gate order, in Jacscope's layout: x @ W_ii where
 * PyTorch writes x W_iiᵀ, so that each W_i? is (D, H) and each W_h? is (H, H). PyTorch's two
 * biases of a gate are one b_? where only their sum matters; the GRU's n keeps b_in and b_hn
 * apart, since r multiplies b_hn. Sizes are N, D, H, bound by whoever parses them.
 */
#define JAC_LSTM_PROGRAM \
  "i = sigmoid(x @ W_ii + h_prev @ W_hi + b_i); " \
  "f = sigmoid(x @ W_if + h_prev @ W_hf + b_f); " \
  "g = tanh(x @ W_ig + h_prev @ W_hg + b_g); " \
  "o = sigmoid(x @ W_io + h_prev @ W_ho + b_o); " \
  "c = f * c_prev + i * g; " \
  "h = o * tanh(c)"
#define JAC_LSTM_SHAPES \
  "x: N×D, h_prev: N×H, c_prev: N×H, " \
  "W_ii: D×H, W_if: D×H, W_ig: D×H, W_io: D×H, " \
  "W_hi: H×H, W_hf: H×H, W_hg: H×H, W_ho: H×H, " \
  "b_i: H, b_f: H, b_g: H, b_o: H"
#define JAC_GRU_PROGRAM \
  "r = sigmoid(x @ W_ir + h_prev @ W_hr + b_r); " \
  "z = sigmoid(x @ W_iz + h_prev @ W_hz + b_z); " \
  "n = tanh(x @ W_in + b_in + r * (h_prev @ W_hn + b_hn)); " \
  "h = (1 - z) * n + z * h_prev"
#define JAC_GRU_SHAPES \
  "x: N×D, h_prev: N×H, " \
  "W_ir: D×H, W_iz: D×H, W_in: D×H, W_hr: H×H, W_hz: H×H, W_hn: H×H, " \
  "b_r: H, b_z: H, b_in: H, b_hn: H"

/* The program of @cell (LSTM or GRU) and its declarations; NULL for the RNN, whose step is
 * jac_rnn_source (). */
const char  *jac_cell_program                (JacCell             cell);
const char  *jac_cell_program_shapes         (JacCell             cell);
/* The cell whose weights a state dict holds: G = weight_hh_l0's rows / its columns (1, 4 or
 * 3); FALSE with an error naming the key when that is no cell's. */
gboolean     jac_cell_from_state_dict        (GHashTable         *state_dict,
                                              JacCell            *cell,
                                              GError            **error);
/* PyTorch's nn.LSTM or nn.GRU weights (weight_ih (G·H, D), weight_hh (G·H, H), the biases
 * (G·H) both or neither: bias=False is zero) as the variables of @cell's program, inserted
 * into @variables (a table that frees its keys with g_free and its values with
 * jac_tensor_free): W_i? is gate ?'s block of rows of weight_ih,
 * transposed (D, H); W_h? likewise of weight_hh (H, H); b_? = bias_ih[?] + bias_hh[?], but the
 * GRU's b_in = bias_ih[n] and b_hn = bias_hh[n]. Shapes that are not @cell's are an error
 * naming the key and what it should be. */
gboolean     jac_cell_program_variables_from_pytorch (JacCell          cell,
                                              const JacTensor    *weight_ih,
                                              const JacTensor    *weight_hh,
                                              const JacTensor    *bias_ih,
                                              const JacTensor    *bias_hh,
                                              GHashTable         *variables,
                                              GError            **error);

/* h_s (s = 0 … T), S_s and x_s (s = 1 … T) as N × H (N × D) row-major matrices. */
const double *jac_sequence_state             (const JacSequence  *self,
                                              gsize               step);
const double *jac_sequence_slope             (const JacSequence  *self,
                                              gsize               step);
const double *jac_sequence_input             (const JacSequence  *self,
                                              gsize               step);
/* The single step s as a JacRnn: h_prev = h_{s−1}, x = x_s and the shared weights. */
JacRnn      *jac_sequence_step_rnn           (const JacSequence  *self,
                                              gsize               step,
                                              GError            **error);
/* Runs steps @from + 1 … T from @h_from (N × H) instead of h_@from; writes h_T to @h_out. */
void         jac_sequence_propagate          (const JacSequence  *self,
                                              gsize               from,
                                              const double       *h_from,
                                              double             *h_out);

/* Runs steps @from + 1 … @to from the state (@h_from, and @c_from for the LSTM, else NULL) and
 * writes h_@to (and c_@to) to @h_out (@c_out may be NULL). */
void         jac_sequence_propagate_states   (const JacSequence  *self,
                                              gsize               from,
                                              gsize               to,
                                              const double       *h_from,
                                              const double       *c_from,
                                              double             *h_out,
                                              double             *c_out);
/* c_s (s = 0 … T) of the LSTM, N × H; NULL for the other cells. */
const double *jac_sequence_cell_state        (const JacSequence  *self,
                                              gsize               step);
/* The one-step Jacobian of the whole state, ∂u_@step/∂u_{@step−1}, per row: shape (N, m, m) with
 * m = H, or 2H for the LSTM (rows and columns: h's units, then c's). */
JacTensor   *jac_sequence_step_state_jacobian (const JacSequence *self,
                                               gsize              step,
                                               GError           **error);

/* Back-propagation through time of L = Σ G ⊙ (config.output)_T, @upstream G of shape (N, H),
 * over the last @lag steps (1 ≤ lag ≤ T). Writes ∂L/∂h_{T−lag} to @grad_h and, for the LSTM,
 * ∂L/∂c_{T−lag} to @grad_c (N × H; either may be NULL); with @param_grad, the gradient of L with
 * respect to @param summed over those steps, in @param's shape (jac_sequence_param_shape). */
gboolean     jac_sequence_backward           (const JacSequence  *self,
                                              const double       *upstream,
                                              gsize               lag,
                                              double             *grad_h,
                                              double             *grad_c,
                                              JacParam            param,
                                              JacTensor          *param_grad,
                                              GError            **error);
/* The shape of @param for this sequence; FALSE with an error when it does not apply to the cell
 * (Jacscope's names are the RNN's; PyTorch's name every cell's weights). */
gboolean     jac_sequence_param_shape        (const JacSequence  *self,
                                              JacParam            param,
                                              guint              *rank,
                                              gsize              *shape,
                                              GError            **error);
/* The BPTT gradient ∂L/∂@param through every step, L = Σ G ⊙ (config.output)_T. */
JacTensor   *jac_sequence_param_vjp          (const JacSequence  *self,
                                              const JacTensor    *upstream,
                                              JacParam            param,
                                              GError            **error);
/* ∂L/∂(config.wrt)_{T−@lag}, (N, H). */
JacTensor   *jac_sequence_state_vjp          (const JacSequence  *self,
                                              const JacTensor    *upstream,
                                              gsize               lag,
                                              GError            **error);
/* The full ∂(config.output)_T/∂@param through every step, dense: (N, H) + @param's shape, one
 * backward pass per output entry; @budget_bytes bounds it (0: the memory budget). */
JacTensor   *jac_sequence_param_jacobian     (const JacSequence  *self,
                                              JacParam            param,
                                              gsize               budget_bytes,
                                              GError            **error);

/* ∂h_T/∂h_{T−@lag}, 0 ≤ lag ≤ T (lag 0 is the identity), by an (R·H × H) · (H × H) GEMM per
 * step for each range of R rows the threads share: the diagonal scaling of every row's running
 * product is applied as a column scaling.
 * For a gated cell, ∂(config.output)_T/∂(config.wrt)_{T−lag}: the running product of the whole
 * state's Jacobians, a step per row one (H × m) · (m × H) GEMM with the row's gates folded into
 * W_hh (m = H, or 2H for the LSTM). */
JacStructured *jac_sequence_jacobian         (const JacSequence  *self,
                                              gsize               lag,
                                              GError            **error);
/*
 * ∂(output)_T/∂(wrt)_{T−k} for the lags a slider visits: the running product is kept between
 * calls and extended a step at a time, so the next lag costs one step's GEMMs instead of k.
 * Moving back resumes from the nearest state saved on the way: the last lags visited (and the
 * last ones before each target) and evenly spaced anchors, within @budget_bytes (0: an eighth
 * of the memory budget, at most 1 GiB). Results are bit for bit jac_sequence_jacobian's.
 * Not thread-safe: one caller at a time. The cursor borrows @sequence.
 */
JacSequenceCursor *jac_sequence_cursor_new   (const JacSequence  *sequence,
                                              gsize               budget_bytes);
void         jac_sequence_cursor_free        (JacSequenceCursor  *cursor);
JacStructured *jac_sequence_cursor_jacobian  (JacSequenceCursor  *cursor,
                                              gsize               lag,
                                              GError            **error);
/* Starts the running product and writes once into the memory the lags visited next will be
 * kept in, so that the first slider steps of a sequence copy into pages used before instead of
 * fresh ones (at N = 64, H = 256 each kept lag is 32 MiB, which the kernel would fault in and
 * zero during the step). For a worker that has time, after the norms. */
gboolean     jac_sequence_cursor_reserve     (JacSequenceCursor  *cursor,
                                              GError            **error);
/* Steps advanced over all calls: for tests and profiling. */
gsize        jac_sequence_cursor_steps_taken (const JacSequenceCursor *cursor);

/* The same product block by block, with jac_gemm_naive and no rescaling: the reference. */
JacStructured *jac_sequence_jacobian_naive   (const JacSequence  *self,
                                              gsize               lag);
/* Singular values of every diagonal block of a Jacobian with pair {0, −1} and a core of shape
 * (N, H, H): shape (N, H), descending, from LAPACK's dgesvd_. */
JacTensor   *jac_sequence_block_singular_values (const JacStructured *jacobian,
                                                 GError             **error);

JacSequenceNorms *jac_sequence_norms         (const JacSequence  *self,
                                              gboolean            singular_values_for_all,
                                              GError            **error);
/* As jac_sequence_norms, and on the way saves in @seed (a cursor of the same sequence) the
 * anchors it would form itself: the first lag a slider asks for then costs a few steps. */
JacSequenceNorms *jac_sequence_norms_seeding (const JacSequence  *self,
                                              gboolean            singular_values_for_all,
                                              JacSequenceCursor  *seed,
                                              GError            **error);
/* How far a long computation is, 0 … 1, called from the thread that computes. */
typedef void (*JacSequenceProgressFunc) (double   fraction,
                                         gpointer user_data);
/* As jac_sequence_norms_seeding, checking @cancellable (nullable) between lags — cancelled, it
 * returns NULL with G_IO_ERROR_CANCELLED — and reporting the fraction of lags done to
 * @progress (nullable) before each lag and 1 at the end. */
JacSequenceNorms *jac_sequence_norms_full    (const JacSequence  *self,
                                              gboolean            singular_values_for_all,
                                              JacSequenceCursor  *seed,
                                              GCancellable       *cancellable,
                                              JacSequenceProgressFunc progress,
                                              gpointer            progress_data,
                                              GError            **error);
void         jac_sequence_norms_free         (JacSequenceNorms   *norms);
/* The norm of B_i^(lag), 1 ≤ lag ≤ T: as log₁₀, or as a value (which may be 0 or ∞ when it lies
 * outside the range of a double). */
double       jac_sequence_norms_get_log10    (const JacSequenceNorms *norms,
                                              JacSequenceNorm     norm,
                                              gsize               lag,
                                              gsize               row);
double       jac_sequence_norms_get          (const JacSequenceNorms *norms,
                                              JacSequenceNorm     norm,
                                              gsize               lag,
                                              gsize               row);

/* The tolerance of "stays ≈ 1": a row's block stays when its per-step factor ‖B^(k)‖^{1/k} is
 * within [1/(1 + tol), 1 + tol], or when its norm is within [1/band, band] — the transient
 * growth of a non-normal W_hh at ρ = 1 reaches a few units without any geometric trend. */
#define JAC_SEQUENCE_STAYS_TOLERANCE 0.02
#define JAC_SEQUENCE_STAYS_BAND 4.0

typedef enum
{
  JAC_SEQUENCE_STAYS,      /* every row's per-step factor within the tolerance of 1 */
  JAC_SEQUENCE_VANISHES,   /* every row below it */
  JAC_SEQUENCE_EXPLODES,   /* every row above it */
  JAC_SEQUENCE_MIXED,      /* rows on both sides */
} JacSequenceFate;

/* What the norms at @lag do, from the per-step factor ‖B_i^(lag)‖^{1/lag} of every row. */
JacSequenceFate jac_sequence_norms_fate       (const JacSequenceNorms *norms,
                                               JacSequenceNorm     norm,
                                               gsize               lag);
/* The mean of S over every step and row: φ′ for the RNN, the carry (f, z) for gated cells. */
double       jac_sequence_mean_slope         (const JacSequence  *self);
/* The lesson in words, plain UTF-8: "stays ≈ 1 (×0.99–1.01 per step)", "< 1: vanishes (×0.82
 * per step)", "> 1: explodes …", "rows on both sides of 1"; and when the RNN's ρ(W_hh) is above
 * 1 yet the norms vanish because the activation saturates, why: "— ρ = 1.5 > 1, but tanh
 * saturates: mean φ′ = 0.35, ρ · φ′ = 0.53 < 1; try identity". */
char        *jac_sequence_lesson             (const JacSequence  *self,
                                              const JacSequenceNorms *norms,
                                              JacSequenceNorm     norm,
                                              gsize               lag);

/* ρ(M) of a square row-major @n × @n matrix: max |eigenvalue|, from dgeev_. */
gboolean     jac_spectral_radius             (const double       *matrix,
                                              gsize               n,
                                              double             *radius,
                                              GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacSequence, jac_sequence_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacSequenceNorms, jac_sequence_norms_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacSequenceCursor, jac_sequence_cursor_free)

G_END_DECLS

/* jac-sequence.h: the RNN unrolled over T steps, ∂h_T/∂h_{T−k} for every lag, and its norms. */
#pragma once

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
typedef struct
{
  JacRnnConfig config;       /* N, D, H, seed, activation (identity, tanh, sigmoid, relu), b */
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
  JacTensor *slopes;           /* (T, N, H): S_1 … S_T */
  double     spectral_radius;  /* ρ(W_hh), max |eigenvalue| from LAPACK's dgeev_ */
} JacSequence;

typedef enum
{
  JAC_SEQUENCE_NORM_SPECTRAL,   /* ‖B‖₂ = σ_max */
  JAC_SEQUENCE_NORM_FROBENIUS,  /* ‖B‖_F = √(Σ σ²) */
  JAC_SEQUENCE_NORM_MAX_ABS,    /* max |entry|: the colour range of a block */
  JAC_SEQUENCE_N_NORMS
} JacSequenceNorm;

/*
 * For every lag k = 1 … T and batch row i, norms of B_i^(k). Values are kept as log₁₀ (a block
 * may lie far outside the range of a double: 3^800 explodes, 0.1^400 vanishes; the products are
 * kept with a power-of-two exponent per row, so nothing overflows or turns subnormal).
 *
 * Frobenius norms and max |entry| are exact (to rounding) from the formed products. Spectral
 * norms are exact from dgesvd_ when singular values were asked for every block; otherwise they
 * come from Golub–Kahan–Lanczos bidiagonalization (full reorthogonalization) of each formed
 * block, warm-started from the previous lag's top left Ritz vector and run until the estimate,
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

void         jac_sequence_config_init_default (JacSequenceConfig  *config);

/* Draws the variables and runs the forward pass, keeping h_s and S_s of every step. */
JacSequence *jac_sequence_new                (const JacSequenceConfig *config,
                                              GError            **error);
void         jac_sequence_free               (JacSequence        *self);
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

/* ∂h_T/∂h_{T−@lag}, 0 ≤ lag ≤ T (lag 0 is the identity), by one (N·H × H) · (H × H) GEMM per
 * step: the diagonal scaling of every row's running product is applied as a column scaling. */
JacStructured *jac_sequence_jacobian         (const JacSequence  *self,
                                              gsize               lag,
                                              GError            **error);
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

/* ρ(M) of a square row-major @n × @n matrix: max |eigenvalue|, from dgeev_. */
gboolean     jac_spectral_radius             (const double       *matrix,
                                              gsize               n,
                                              double             *radius,
                                              GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacSequence, jac_sequence_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JacSequenceNorms, jac_sequence_norms_free)

G_END_DECLS

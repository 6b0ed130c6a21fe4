/* jac-sequence-private.h: LAPACK and the chain of per-step blocks, shared by the jac-sequence files. */
#pragma once

#include "jac-sequence.h"

G_BEGIN_DECLS

/* Blocks stay within 2^±300 of 1 between steps; the rest is kept as a power of two per row. */
#define JAC_SEQUENCE_RESCALE_EXPONENT 300

/* Called once per lag with the N blocks of B^(lag) (N·H × H, row-major), block i being
 * ldexp (blocks[i], exponent[i]). @sum_squares and @max_abs are those of the stored values. */
typedef gboolean (*JacSequenceLagFunc) (gsize         lag,
                                        const double *blocks,
                                        const int    *exponent,
                                        const double *sum_squares,
                                        const double *max_abs,
                                        gpointer      user_data,
                                        GError      **error);

/* Forms B^(1) … B^(@max_lag) one after the other, calling @func for each. */
gboolean _jac_sequence_chain           (const JacSequence  *self,
                                        gsize               max_lag,
                                        JacSequenceLagFunc  func,
                                        gpointer            user_data,
                                        GError            **error);

/* The gated cells' parts (jac-sequence-cell.c). */
gboolean _jac_sequence_draw_gated      (JacSequence        *self,
                                        const JacSequenceData *data,
                                        GError            **error);
void     _jac_sequence_forward_gated   (JacSequence        *self);
gboolean _jac_sequence_chain_gated     (const JacSequence  *self,
                                        gsize               max_lag,
                                        JacSequenceLagFunc  func,
                                        gpointer            user_data,
                                        GError            **error);
void     _jac_sequence_rnn_step        (const JacSequence  *self,
                                        gsize               step,
                                        const double       *h,
                                        double             *z,
                                        double             *h_next);
/* A stream of its own for each drawn variable, seeded {seed, @stream}. */
GRand   *_jac_sequence_stream          (const JacSequenceConfig *config,
                                        guint32             stream);

/* Singular values of a row-major @n × @n matrix, descending, into @values (n); @matrix is
 * overwritten. */
gboolean _jac_lapack_singular_values   (double             *matrix,
                                        gsize               n,
                                        double             *values,
                                        GError            **error);
/* Overwrites the row-major @n × @n @matrix, filled with Gaussian entries, with an orthogonal
 * matrix: the Q of its QR with signs fixed so that R's diagonal is positive. */
gboolean _jac_lapack_orthogonalize     (double             *matrix,
                                        gsize               n,
                                        GError            **error);

G_END_DECLS

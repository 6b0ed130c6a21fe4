/* jac-sequence-private.h: LAPACK and the chain of per-step blocks, shared by the jac-sequence files. */
#pragma once

#include "jac-sequence.h"
#include "jac-blas.h"

G_BEGIN_DECLS

/* The inner loops run on whatever x86-64 this is: built for the baseline and for x86-64-v3 (AVX2
 * and FMA) too, chosen when the program loads (GCC's and clang's target_clones, through glibc's
 * ifunc), since a distribution's build cannot assume AVX2. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__GLIBC__) \
    && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 11))
#define JAC_VECTOR_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define JAC_VECTOR_CLONES
#endif

/* Four doubles in one vector register (SSE2 pairs in the baseline clone, AVX2 in the other),
 * loaded from any double's address: GCC's and clang's vector extensions, since at -O2 GCC does
 * not vectorize a loop whose trip count it does not know. */
typedef double JacVec4 __attribute__ ((vector_size (32), aligned (8), may_alias));
typedef gint64 JacVec4i __attribute__ ((vector_size (32), aligned (8), may_alias));

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

/* The running product at one lag, resumable: B^(lag) for the RNN, the output rows of the state
 * product for gated cells, kept with a power-of-two exponent per row. */
typedef struct
{
  const JacSequence *sequence;
  gsize      row0, rows;    /* the batch rows this state follows: row0 … row0 + rows − 1 */
  gsize      lag;
  JacTensor *product;       /* RNN: the blocks, R·H × H; gated: R·H × m (m = H, or 2H); R rows */
  JacTensor *blocks;        /* the (output, wrt) blocks, R·H × H: product itself for RNN, GRU */
  int       *exponent;      /* R */
  double    *sum_squares;   /* R, of the stored blocks */
  double    *max_abs;       /* R */
  /* scratch, only in a working state */
  JacTensor *next;
  JacTensor *folded;        /* gated: a row's W_hh with its gates folded in, ranges × A·H × H */
  double    *factor;        /* RNN: ranges × H */
  guint      ranges;        /* rows advanced in this many ranges at once (jac_parallel_for ()) */
  gpointer   coefficients;  /* gated: one StepCoefficients per row */
  gsize      rows_filled;   /* a saved state filled row range by row range: the rows written */
} JacSequenceChainState;

/* A working state at lag 1, for the whole batch, advanced on the threads --threads allows, row
 * range by row range (each GEMM on one BLAS thread). */
gboolean _jac_chain_init               (JacSequenceChainState *state,
                                        const JacSequence  *self,
                                        GError            **error);
/* The same for batch rows @row0 … @row0 + @rows − 1 only: the rows' products are independent
 * (a sample's state never depends on another's), so parts of the batch can go their own ways. */
gboolean _jac_chain_init_rows          (JacSequenceChainState *state,
                                        const JacSequence  *self,
                                        gsize               row0,
                                        gsize               rows,
                                        GError            **error);
/* lag → lag + 1 (< T + 1). */
void     _jac_chain_advance            (JacSequenceChainState *state);
void     _jac_chain_clear              (JacSequenceChainState *state);
/* A copy of @from's product, exponents and statistics, without scratch (for a cache). */
JacSequenceChainState *_jac_chain_save (const JacSequenceChainState *from);
/* Copies @from into @saved, made by _jac_chain_save () for the same sequence. */
void     _jac_chain_save_into          (JacSequenceChainState       *saved,
                                        const JacSequenceChainState *from);
/* An empty saved state for the whole batch at @lag, to be filled by _jac_chain_save_rows ();
 * NULL when there is no memory for it. */
JacSequenceChainState *_jac_chain_saved_new (const JacSequence *self,
                                        gsize               lag);
/* Copies the rows of @from (a state for a part of the batch, at @saved's lag) into @saved. */
void     _jac_chain_save_rows          (JacSequenceChainState       *saved,
                                        const JacSequenceChainState *from);
/* Puts a saved state back into the working @state (same sequence). */
void     _jac_chain_restore            (JacSequenceChainState *state,
                                        const JacSequenceChainState *saved);
void     _jac_chain_saved_free         (JacSequenceChainState *saved);
/* Bytes a saved state takes. */
gsize    _jac_chain_saved_bytes        (const JacSequence  *self);
/* The gated parts (jac-sequence-cell.c). */
gboolean _jac_chain_gated_init         (JacSequenceChainState *state,
                                        GError            **error);
void     _jac_chain_gated_advance      (JacSequenceChainState *state);
/* The blocks and their statistics from state->product, as after an advance (state->blocks is
 * the product itself for the GRU): for a state just restored. */
void     _jac_chain_gated_extract      (JacSequenceChainState *state);
void     _jac_chain_gated_clear        (JacSequenceChainState *state);
/* Calls @rows_func on the state's rows as _jac_chain_init () asked: at once in ranges, or all
 * on this thread. */
void     _jac_chain_advance_rows       (JacSequenceChainState *state,
                                        JacRangeFunc           rows_func);
/* state->sum_squares and max_abs of rows [begin, end) from their H × H blocks in @blocks (the
 * state's rows contiguous; NaN when an entry is). */
void     _jac_chain_rows_stats         (JacSequenceChainState *state,
                                        const double          *blocks,
                                        gsize                  begin,
                                        gsize                  end);

/* Forms B^(1) … B^(@max_lag) one after the other, calling @func for each. */
gboolean _jac_sequence_chain           (const JacSequence  *self,
                                        gsize               max_lag,
                                        JacSequenceLagFunc  func,
                                        gpointer            user_data,
                                        JacSequenceCursor  *seed,
                                        GError            **error);
/* Saves @state in @cursor when its lag is one of the cursor's anchors. @state may hold a part of
 * the batch's rows (_jac_chain_init_rows ()): an anchor is used once every row has been
 * offered. Safe to call from several threads at once. */
void     _jac_sequence_cursor_offer    (JacSequenceCursor  *cursor,
                                        const JacSequenceChainState *state);

/* The gated cells' parts (jac-sequence-cell.c). */
gboolean _jac_sequence_draw_gated      (JacSequence        *self,
                                        const JacSequenceData *data,
                                        GError            **error);
void     _jac_sequence_forward_gated   (JacSequence        *self);
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

/* jac-sequence-program.c: one LSTM or GRU step as a program of the language, and PyTorch's
 * weights as that program's variables. */
#define G_LOG_DOMAIN "jac-sequence"

#include "jac-error.h"
#include "jac-sequence.h"

const char *
jac_cell_program (JacCell cell)
{
  switch (cell)
    {
    case JAC_CELL_LSTM: return JAC_LSTM_PROGRAM;
    case JAC_CELL_GRU: return JAC_GRU_PROGRAM;
    case JAC_CELL_RNN:
    default: return NULL;
    }
}

const char *
jac_cell_program_shapes (JacCell cell)
{
  switch (cell)
    {
    case JAC_CELL_LSTM: return JAC_LSTM_SHAPES;
    case JAC_CELL_GRU: return JAC_GRU_SHAPES;
    case JAC_CELL_RNN:
    default: return NULL;
    }
}

gboolean
jac_cell_from_state_dict (GHashTable  *state_dict,
                          JacCell     *cell,
                          GError     **error)
{
  const JacTensor *w;

  g_return_val_if_fail (state_dict != NULL && cell != NULL, FALSE);

  w = g_hash_table_lookup (state_dict, "weight_hh_l0");
  if (w == NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "key “weight_hh_l0” is missing (an nn.RNN, nn.LSTM or nn.GRU state dict "
                   "always holds it)");
      return FALSE;
    }
  if (w->rank == 2 && w->shape[1] > 0)
    for (guint c = JAC_CELL_RNN; c <= JAC_CELL_GRU; c++)
      if (w->shape[0] == jac_cell_n_gates (c) * w->shape[1])
        {
          *cell = c;
          return TRUE;
        }
  {
    g_autofree char *got = jac_tensor_shape_string (w);

    g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE,
                 "weight_hh_l0 has shape %s: no cell's (G·H, H), G = 1 (RNN), 4 (LSTM) or 3 (GRU)",
                 got);
  }
  return FALSE;
}

static gboolean
check_shape (const char      *key,
             const JacTensor *t,
             guint            rank,
             gsize            rows,
             gsize            cols,
             const char      *want,
             GError         **error)
{
  g_autofree char *got = NULL;

  if (t->rank == rank && t->shape[0] == rows && (rank < 2 || t->shape[1] == cols))
    return TRUE;
  got = jac_tensor_shape_string (t);
  g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "%s has shape %s; it should be %s", key, got,
               want);
  return FALSE;
}

/* Every shape, against G and H from weight_hh. */
static gboolean
check_pytorch_shapes (JacCell          cell,
                      const JacTensor *weight_ih,
                      const JacTensor *weight_hh,
                      const JacTensor *bias_ih,
                      const JacTensor *bias_hh,
                      GError         **error)
{
  guint gates = jac_cell_n_gates (cell);
  gsize h = weight_hh->rank == 2 ? weight_hh->shape[1] : 0;
  g_autofree char *square = g_strdup_printf ("(%u·H, H) for the %u gates of an %s", gates, gates,
                                             cell == JAC_CELL_LSTM ? "LSTM" : "GRU");
  g_autofree char *input = g_strdup_printf ("(%" G_GSIZE_FORMAT ", D): %u·H rows, with H = %"
                                            G_GSIZE_FORMAT " from weight_hh_l0", gates * h,
                                            gates, h);
  g_autofree char *bias = g_strdup_printf ("(%" G_GSIZE_FORMAT ",)", gates * h);

  if (weight_hh->rank == 2 && h == 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_SHAPE, "weight_hh_l0 has no columns: H = 0");
      return FALSE;
    }
  if (!check_shape ("weight_hh_l0", weight_hh, 2, gates * h, h, square, error)
      || !check_shape ("weight_ih_l0", weight_ih, 2, gates * h,
                       weight_ih->rank == 2 ? weight_ih->shape[1] : 0, input, error))
    return FALSE;
  if ((bias_ih == NULL) != (bias_hh == NULL))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "%s is missing (with bias=True PyTorch writes both biases, with bias=False "
                   "neither)", bias_ih != NULL ? "bias_hh_l0" : "bias_ih_l0");
      return FALSE;
    }
  return bias_ih == NULL
         || (check_shape ("bias_ih_l0", bias_ih, 1, gates * h, 0, bias, error)
             && check_shape ("bias_hh_l0", bias_hh, 1, gates * h, 0, bias, error));
}

/* Rows [gate·H, (gate + 1)·H) of @weight, transposed: (columns, H). */
static JacTensor *
gate_block_transposed (const JacTensor *weight,
                       guint            gate,
                       gsize            h)
{
  gsize cols = weight->shape[1];
  JacTensor *block = jac_tensor_new_matrix (cols, h);

  for (gsize j = 0; j < h; j++)
    for (gsize d = 0; d < cols; d++)
      JAC_AT2 (block, d, j) = JAC_AT2 (weight, gate * h + j, d);
  return block;
}

/* The sum of @a's and @b's blocks @gate (either NULL: its part is 0). */
static JacTensor *
gate_bias (const JacTensor *a,
           const JacTensor *b,
           guint            gate,
           gsize            h)
{
  JacTensor *bias = jac_tensor_new_vector (h);

  for (gsize j = 0; j < h; j++)
    bias->data[j] = (a != NULL ? a->data[gate * h + j] : 0) +
                    (b != NULL ? b->data[gate * h + j] : 0);
  return bias;
}

gboolean
jac_cell_program_variables_from_pytorch (JacCell           cell,
                                         const JacTensor  *weight_ih,
                                         const JacTensor  *weight_hh,
                                         const JacTensor  *bias_ih,
                                         const JacTensor  *bias_hh,
                                         GHashTable       *variables,
                                         GError          **error)
{
  const char *letters = cell == JAC_CELL_LSTM ? "ifgo" : "rzn";
  gsize h;

  g_return_val_if_fail (cell == JAC_CELL_LSTM || cell == JAC_CELL_GRU, FALSE);
  g_return_val_if_fail (weight_ih != NULL && weight_hh != NULL && variables != NULL, FALSE);

  if (!check_pytorch_shapes (cell, weight_ih, weight_hh, bias_ih, bias_hh, error))
    return FALSE;
  h = weight_hh->shape[1];
  for (guint gate = 0; letters[gate] != '\0'; gate++)
    {
      char l = letters[gate];
      gboolean apart = cell == JAC_CELL_GRU && l == 'n';

      g_hash_table_replace (variables, g_strdup_printf ("W_i%c", l),
                            gate_block_transposed (weight_ih, gate, h));
      g_hash_table_replace (variables, g_strdup_printf ("W_h%c", l),
                            gate_block_transposed (weight_hh, gate, h));
      if (apart)
        {
          g_hash_table_replace (variables, g_strdup ("b_in"), gate_bias (bias_ih, NULL, gate, h));
          g_hash_table_replace (variables, g_strdup ("b_hn"), gate_bias (NULL, bias_hh, gate, h));
        }
      else
        g_hash_table_replace (variables, g_strdup_printf ("b_%c", l),
                              gate_bias (bias_ih, bias_hh, gate, h));
    }
  return TRUE;
}

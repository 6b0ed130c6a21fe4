/* jac-sequence-cursor.c: ∂h_T/∂h_{T−k} for the lags a slider visits, extending the running product
 * a step at a time instead of forming k products for every lag. */
#define G_LOG_DOMAIN "jac-sequence"

#include <float.h>
#include <math.h>
#include <string.h>

#include "jac-error.h"
#include "jac-sequence-private.h"
#include "jac-structured-private.h"

/* By default a sixteenth of the memory budget (which is half the RAM), at most 1 GiB. */
#define DEFAULT_BUDGET_MAX ((gsize) 1 << 30)

struct _JacSequenceCursor
{
  const JacSequence     *sequence;
  JacSequenceChainState  state;     /* the working product, at state.lag; lag 0: not started */
  gboolean               started;
  GPtrArray             *anchors;   /* JacSequenceChainState at lags spacing, 2 spacing, … (or NULL) */
  gsize                  spacing;
  GPtrArray             *recent;    /* the last lags visited, oldest first */
  GPtrArray             *spare;     /* saved states to write the next ones into (memory reused) */
  guint                  n_recent;  /* at most this many */
  gsize                  steps_taken;
  GMutex                 offer_lock; /* the norms' threads offer their rows at once */
};

JacSequenceCursor *
jac_sequence_cursor_new (const JacSequence *sequence,
                         gsize              budget_bytes)
{
  JacSequenceCursor *cursor;
  gsize slots, n_anchors, steps;

  g_return_val_if_fail (sequence != NULL, NULL);

  cursor = g_new0 (JacSequenceCursor, 1);
  cursor->sequence = sequence;
  steps = sequence->config.steps;
  if (budget_bytes == 0)
    budget_bytes = MIN (jac_get_memory_budget () / 8, DEFAULT_BUDGET_MAX);
  slots = budget_bytes / _jac_chain_saved_bytes (sequence);
  slots = CLAMP (slots, 2, 2 * steps + 2);
  /* Half the room for anchors spread over every lag (going back costs at most a spacing), half
   * for the lags just visited (a slider dragged back and forth costs nothing). */
  n_anchors = MAX (slots / 2, 1);
  cursor->spacing = MAX ((steps + n_anchors - 1) / n_anchors, 1);
  cursor->n_recent = MAX (slots - n_anchors, 1);
  cursor->anchors = g_ptr_array_new_with_free_func ((GDestroyNotify) _jac_chain_saved_free);
  g_ptr_array_set_size (cursor->anchors, steps / cursor->spacing + 1);
  cursor->recent = g_ptr_array_new_with_free_func ((GDestroyNotify) _jac_chain_saved_free);
  cursor->spare = g_ptr_array_new_with_free_func ((GDestroyNotify) _jac_chain_saved_free);
  g_mutex_init (&cursor->offer_lock);
  return cursor;
}

void
jac_sequence_cursor_free (JacSequenceCursor *cursor)
{
  if (cursor == NULL)
    return;
  if (cursor->started)
    _jac_chain_clear (&cursor->state);
  g_ptr_array_unref (cursor->anchors);
  g_ptr_array_unref (cursor->recent);
  g_ptr_array_unref (cursor->spare);
  g_mutex_clear (&cursor->offer_lock);
  g_free (cursor);
}

gsize
jac_sequence_cursor_steps_taken (const JacSequenceCursor *cursor)
{
  g_return_val_if_fail (cursor != NULL, 0);
  return cursor->steps_taken;
}

/* The anchor saved for @lag when every row of it was offered, else NULL. */
static const JacSequenceChainState *
anchor_at (JacSequenceCursor *cursor,
           gsize              a)
{
  const JacSequenceChainState *saved = g_ptr_array_index (cursor->anchors, a);

  return saved != NULL && saved->rows_filled == saved->rows ? saved : NULL;
}

/* Keeps the working state's lag: as an anchor when it is one, else among the recent. */
static void
remember (JacSequenceCursor *cursor)
{
  gsize lag = cursor->state.lag;

  if (lag % cursor->spacing == 0)
    {
      JacSequenceChainState *saved = g_ptr_array_index (cursor->anchors, lag / cursor->spacing);

      if (saved == NULL)
        g_ptr_array_index (cursor->anchors, lag / cursor->spacing) = _jac_chain_save (&cursor->state);
      else if (saved->rows_filled != saved->rows)
        _jac_chain_save_into (saved, &cursor->state);  /* a norms run left it part-filled */
      return;
    }
  for (guint k = 0; k < cursor->recent->len; k++)
    {
      JacSequenceChainState *saved = g_ptr_array_index (cursor->recent, k);

      if (saved->lag == lag)
        {
          /* The newest now: move it to the end. */
          g_ptr_array_add (cursor->recent, g_ptr_array_steal_index (cursor->recent, k));
          return;
        }
    }
  /* The oldest makes room, its memory reused: a copy into pages used before costs a fraction
   * of one into fresh pages, which the kernel first faults in and zeroes. */
  if (cursor->recent->len >= cursor->n_recent)
    g_ptr_array_add (cursor->spare, g_ptr_array_steal_index (cursor->recent, 0));
  if (cursor->spare->len > 0)
    {
      JacSequenceChainState *saved = g_ptr_array_steal_index (cursor->spare,
                                                              cursor->spare->len - 1);

      _jac_chain_save_into (saved, &cursor->state);
      g_ptr_array_add (cursor->recent, saved);
    }
  else
    g_ptr_array_add (cursor->recent, _jac_chain_save (&cursor->state));
}

gboolean
jac_sequence_cursor_reserve (JacSequenceCursor  *cursor,
                             GError            **error)
{
  g_return_val_if_fail (cursor != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!cursor->started)
    {
      if (!_jac_chain_init (&cursor->state, cursor->sequence, error))
        return FALSE;
      cursor->started = TRUE;
      remember (cursor);
      /* The first step writes into `next`: fault it in now. */
      if (cursor->state.next != NULL)
        memset (cursor->state.next->data, 0, cursor->state.next->size * sizeof (double));
    }
  while (cursor->recent->len + cursor->spare->len < cursor->n_recent)
    g_ptr_array_add (cursor->spare, _jac_chain_save (&cursor->state));
  return TRUE;
}

void
_jac_sequence_cursor_offer (JacSequenceCursor           *cursor,
                            const JacSequenceChainState *state)
{
  gsize lag = state->lag, a = lag / cursor->spacing;
  JacSequenceChainState *saved;

  g_return_if_fail (cursor->sequence == state->sequence);

  if (lag % cursor->spacing != 0)
    return;
  g_mutex_lock (&cursor->offer_lock);
  saved = g_ptr_array_index (cursor->anchors, a);
  if (saved == NULL && state->rows == cursor->sequence->config.config.batch)
    g_ptr_array_index (cursor->anchors, a) = _jac_chain_save (state);
  else
    {
      /* A part of the batch: into an anchor for all of it, complete once every part came. */
      if (saved == NULL)
        saved = g_ptr_array_index (cursor->anchors, a) = _jac_chain_saved_new (cursor->sequence, lag);
      if (saved != NULL && saved->rows_filled < saved->rows)
        _jac_chain_save_rows (saved, state);
    }
  g_mutex_unlock (&cursor->offer_lock);
}

/* The saved state with the largest lag not above @lag, or NULL. */
static const JacSequenceChainState *
nearest_below (JacSequenceCursor *cursor,
               gsize              lag)
{
  const JacSequenceChainState *best = NULL;

  for (gsize a = MIN (lag / cursor->spacing, cursor->anchors->len - 1);; a--)
    {
      const JacSequenceChainState *saved = anchor_at (cursor, a);

      if (saved != NULL && saved->lag <= lag)
        {
          best = saved;
          break;
        }
      if (a == 0)
        break;
    }
  for (guint k = 0; k < cursor->recent->len; k++)
    {
      const JacSequenceChainState *saved = g_ptr_array_index (cursor->recent, k);

      if (saved->lag <= lag && (best == NULL || saved->lag > best->lag))
        best = saved;
    }
  return best;
}

JacStructured *
jac_sequence_cursor_jacobian (JacSequenceCursor  *cursor,
                              gsize               lag,
                              GError            **error)
{
  const JacSequence *self;
  g_autoptr(JacStructured) jacobian = NULL;
  gsize n, h, block;

  g_return_val_if_fail (cursor != NULL, NULL);

  self = cursor->sequence;
  if (lag == 0 || lag > self->config.steps)
    return jac_sequence_jacobian (self, lag, error);
  if (!cursor->started)
    {
      if (!_jac_chain_init (&cursor->state, self, error))
        return NULL;
      cursor->started = TRUE;
      remember (cursor);
    }
  if (cursor->state.lag > lag)
    {
      const JacSequenceChainState *saved = nearest_below (cursor, lag);

      if (saved != NULL)
        _jac_chain_restore (&cursor->state, saved);
      else
        {
          _jac_chain_clear (&cursor->state);
          if (!_jac_chain_init (&cursor->state, self, error))
            {
              cursor->started = FALSE;
              return NULL;
            }
        }
    }
  else
    {
      /* A saved state nearer than the working one, ahead of it. */
      const JacSequenceChainState *saved = nearest_below (cursor, lag);

      if (saved != NULL && saved->lag > cursor->state.lag)
        _jac_chain_restore (&cursor->state, saved);
    }
  /* On the way, the anchors passed and the last lags before the target: a slider dragged back
   * one lag at a time then finds each of them saved, one long walk serving many steps. */
  while (cursor->state.lag < lag)
    {
      _jac_chain_advance (&cursor->state);
      cursor->steps_taken++;
      if (cursor->state.lag % cursor->spacing == 0 || cursor->state.lag + cursor->n_recent > lag)
        remember (cursor);
    }
  remember (cursor);

  {
    gsize shape[2] = { self->config.config.batch, self->config.config.hidden };
    int pair[2] = { 0, -1 };

    /* Every entry is written below: the core is not zeroed first. */
    jacobian = _jac_structured_new_uninitialized (2, shape, 2, shape, pair, error);
    if (jacobian == NULL)
      return NULL;
  }
  n = self->config.config.batch, h = self->config.config.hidden, block = h * h;
  for (gsize i = 0; i < n; i++)
    {
      const double *from = cursor->state.blocks->data + i * block;
      double *to = jacobian->core->data + i * block;
      int exponent = cursor->state.exponent[i];

      /* A product with 2^e, normal, rounds as ldexp does (one correctly rounded operation on
       * the same exact value), at a fraction of the cost: 4 M entries at N = 64, H = 256. */
      if (exponent >= DBL_MIN_EXP - 1 && exponent < DBL_MAX_EXP)
        {
          double scale = ldexp (1.0, exponent);

          for (gsize e = 0; e < block; e++)
            to[e] = from[e] * scale;
        }
      else
        for (gsize e = 0; e < block; e++)
          to[e] = ldexp (from[e], exponent);
    }
  return g_steal_pointer (&jacobian);
}

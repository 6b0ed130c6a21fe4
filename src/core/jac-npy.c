/* jac-npy.c: NumPy .npy files, read and written without NumPy, every malformed input an error. */
#define G_LOG_DOMAIN "jac-npy"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "jac-atomic-file.h"
#include "jac-error.h"
#include "jac-npy.h"

#define NPY_MAGIC      "\x93NUMPY"
#define NPY_MAGIC_LEN  6
#define NPY_ALIGN      64
/* NumPy >= 1.24 leaves room in the header for the growth axis to reach this many digits. */
#define NPY_GROWTH_AXIS_MAX_DIGITS 21
/* Longest piece of a header quoted back in an error message. */
#define NPY_EXCERPT_MAX 32
/* Elements converted per fwrite when the file's layout differs from memory: 64 KiB of float64. */
#define NPY_CHUNK_ELEMENTS 8192

typedef struct
{
  JacNpyDtype dtype;
  gboolean    fortran_order;
  guint       rank;
  gsize       shape[JAC_MAX_RANK];
} NpyHeader;

/* A position in the header text; the header is not NUL-terminated, so every read checks @end. */
typedef struct
{
  const char *pos;
  const char *end;
} Cursor;

/* Visits a C-order tensor's elements in Fortran order, keeping their C offset. */
typedef struct
{
  const JacTensor *tensor;
  gsize            index[JAC_MAX_RANK];
  gsize            offset;
} FortranWalk;

static const JacNpyFormat default_format = { JAC_NPY_F8_LE, FALSE, 0 };

/* ------------------------------------------------------------------------------------------ */
/* dtypes and element conversion                                                              */
/* ------------------------------------------------------------------------------------------ */

static const char *
dtype_descr (JacNpyDtype dtype)
{
  static const char *descr[] = { "<f8", ">f8", "<f4", ">f4", "|u1" };

  return descr[dtype];
}

static gsize
dtype_itemsize (JacNpyDtype dtype)
{
  if (dtype == JAC_NPY_U1)
    return 1;
  return (dtype == JAC_NPY_F8_LE || dtype == JAC_NPY_F8_BE) ? 8 : 4;
}

static gboolean
dtype_is_native (JacNpyDtype dtype)
{
  gboolean little = (dtype == JAC_NPY_F8_LE || dtype == JAC_NPY_F4_LE);

  return little == (G_BYTE_ORDER == G_LITTLE_ENDIAN);
}

/* NumPy's own descr for a float64/float32 is always '<' or '>'; '=' (native) is what
 * np.dtype('=f8') means, so it is read as this machine's order. '|' is for one-byte types. */
static gboolean
dtype_from_descr (const char  *descr,
                  JacNpyDtype *dtype)
{
  gboolean little;

  if (strlen (descr) != 3 || descr[1] != 'f' || (descr[2] != '8' && descr[2] != '4'))
    return FALSE;
  if (descr[0] == '<')
    little = TRUE;
  else if (descr[0] == '>')
    little = FALSE;
  else if (descr[0] == '=')
    little = (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  else
    return FALSE;

  if (descr[2] == '8')
    *dtype = little ? JAC_NPY_F8_LE : JAC_NPY_F8_BE;
  else
    *dtype = little ? JAC_NPY_F4_LE : JAC_NPY_F4_BE;
  return TRUE;
}

static void
decode_run (const guint8 *src,
            double       *dst,
            gsize         n,
            JacNpyDtype   dtype)
{
  gboolean swap = !dtype_is_native (dtype);

  if (dtype_itemsize (dtype) == 8)
    {
      memcpy (dst, src, n * sizeof (double));
      if (swap)
        for (gsize i = 0; i < n; i++)
          {
            guint64 bits;

            memcpy (&bits, &dst[i], sizeof bits);
            bits = GUINT64_SWAP_LE_BE (bits);
            memcpy (&dst[i], &bits, sizeof bits);
          }
      return;
    }

  for (gsize i = 0; i < n; i++)
    {
      guint32 bits;
      float value;

      memcpy (&bits, src + 4 * i, sizeof bits);
      if (swap)
        bits = GUINT32_SWAP_LE_BE (bits);
      memcpy (&value, &bits, sizeof value);
      dst[i] = value;
    }
}

/* A conversion out of float's range is undefined behaviour in C; NumPy gives ±inf, and so do we.
 * FLT_MAX + 2^103 is half an ulp above FLT_MAX: from there round-to-nearest reaches infinity. */
static float
narrow_to_float (double value)
{
  const double limit = (double) FLT_MAX + ldexp (1.0, 103);

  if (value >= limit)
    return INFINITY;
  if (value <= -limit)
    return -INFINITY;
  return (float) value;
}

static void
encode_run (const double *src,
            guint8       *dst,
            gsize         n,
            JacNpyDtype   dtype)
{
  gboolean swap = !dtype_is_native (dtype);

  if (dtype_itemsize (dtype) == 8)
    {
      memcpy (dst, src, n * sizeof (double));
      if (swap)
        for (gsize i = 0; i < n; i++)
          {
            guint64 bits;

            memcpy (&bits, dst + 8 * i, sizeof bits);
            bits = GUINT64_SWAP_LE_BE (bits);
            memcpy (dst + 8 * i, &bits, sizeof bits);
          }
      return;
    }
  if (dtype == JAC_NPY_U1)
    {
      for (gsize i = 0; i < n; i++)
        dst[i] = isnan (src[i]) ? 0 : (guint8) CLAMP (round (src[i]), 0.0, 255.0);
      return;
    }

  for (gsize i = 0; i < n; i++)
    {
      float value = narrow_to_float (src[i]);
      guint32 bits;

      memcpy (&bits, &value, sizeof bits);
      if (swap)
        bits = GUINT32_SWAP_LE_BE (bits);
      memcpy (dst + 4 * i, &bits, sizeof bits);
    }
}

static void
fortran_walk_init (FortranWalk     *walk,
                   const JacTensor *tensor)
{
  memset (walk, 0, sizeof *walk);
  walk->tensor = tensor;
}

/* Axis 0 varies fastest in Fortran order; an odometer over the axes keeps the C offset. */
static void
fortran_walk_next (FortranWalk *walk)
{
  const JacTensor *t = walk->tensor;

  for (guint a = 0; a < t->rank; a++)
    {
      walk->offset += t->strides[a];
      if (++walk->index[a] < t->shape[a])
        return;
      walk->offset -= t->strides[a] * t->shape[a];
      walk->index[a] = 0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* header parsing                                                                             */
/* ------------------------------------------------------------------------------------------ */

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Quotes header text back to the user: printable ASCII as is, anything else escaped, without
 * the padding that follows the dictionary. */
static char *
excerpt (const char *text,
         gsize       length)
{
  GString *s = g_string_new (NULL);

  while (length > 0 && is_space (text[length - 1]))
    length--;

  for (gsize i = 0; i < MIN (length, NPY_EXCERPT_MAX); i++)
    {
      guchar c = (guchar) text[i];

      if (c >= 0x20 && c < 0x7f)
        g_string_append_c (s, (char) c);
      else
        g_string_append_printf (s, "\\x%02x", c);
    }
  if (length > NPY_EXCERPT_MAX)
    g_string_append (s, "...");
  return g_string_free (s, FALSE);
}

static void
skip_space (Cursor *c)
{
  while (c->pos < c->end && is_space (*c->pos))
    c->pos++;
}

static gboolean
accept (Cursor *c,
        char    expected)
{
  if (c->pos < c->end && *c->pos == expected)
    {
      c->pos++;
      return TRUE;
    }
  return FALSE;
}

static gboolean
header_error (GError      **error,
              const Cursor *c,
              const char   *expected)
{
  g_autofree char *found = excerpt (c->pos, c->end - c->pos);

  if (*found == '\0')
    g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                 "bad header: expected %s, found the end of the header", expected);
  else
    g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                 "bad header: expected %s, found '%s'", expected, found);
  return FALSE;
}

/* Skips one Python literal (a string, a bracketed group or a bare word) to quote it in errors. */
static gsize
skip_value (Cursor *c)
{
  const char *start = c->pos;
  guint depth = 0;
  char quote = 0;

  for (; c->pos < c->end; c->pos++)
    {
      char ch = *c->pos;

      if (quote != 0)
        {
          if (ch == '\\' && c->pos + 1 < c->end)
            c->pos++;
          else if (ch == quote)
            quote = 0;
        }
      else if (ch == '\'' || ch == '"')
        quote = ch;
      else if (ch == '(' || ch == '[' || ch == '{')
        depth++;
      else if (depth > 0 && (ch == ')' || ch == ']' || ch == '}'))
        depth--;
      else if (depth == 0 && (is_space (ch) || strchr (",:)]}", ch) != NULL))
        break;
    }
  return c->pos - start;
}

/* A Python string literal, in single or double quotes; escapes are kept, not decoded. */
static gboolean
parse_string (Cursor  *c,
              char   **value,
              GError **error)
{
  const char *start;
  char quote;

  if (c->pos == c->end || (*c->pos != '\'' && *c->pos != '"'))
    return header_error (error, c, "a quoted key");

  quote = *c->pos++;
  start = c->pos;
  for (; c->pos < c->end && *c->pos != quote && *c->pos != '\n'; c->pos++)
    if (*c->pos == '\\' && c->pos + 1 < c->end)
      c->pos++;

  if (c->pos == c->end || *c->pos != quote)
    {
      c->pos = start - 1;
      return header_error (error, c, "a string with a closing quote");
    }
  *value = g_strndup (start, c->pos - start);
  c->pos++;
  return TRUE;
}

static gboolean
parse_descr (Cursor     *c,
             NpyHeader  *header,
             GError    **error)
{
  g_autofree char *quoted = NULL;
  const char *start = c->pos;

  if (c->pos < c->end && (*c->pos == '\'' || *c->pos == '"'))
    {
      g_autofree char *descr = NULL;

      if (!parse_string (c, &descr, error))
        return FALSE;
      if (dtype_from_descr (descr, &header->dtype))
        return TRUE;
    }
  else if (skip_value (c) == 0)
    return header_error (error, c, "a dtype for 'descr'");

  quoted = excerpt (start, c->pos - start);
  g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
               "unsupported dtype %s (expected <f8, >f8, <f4 or >f4)", quoted);
  return FALSE;
}

static gboolean
accept_word (Cursor     *c,
             const char *word)
{
  gsize length = strlen (word);

  if ((gsize) (c->end - c->pos) < length || memcmp (c->pos, word, length) != 0)
    return FALSE;
  if (c->pos + length < c->end
      && (g_ascii_isalnum (c->pos[length]) || c->pos[length] == '_'))
    return FALSE;
  c->pos += length;
  return TRUE;
}

static gboolean
parse_bool (Cursor     *c,
            NpyHeader  *header,
            GError    **error)
{
  const char *start = c->pos;
  g_autofree char *found = NULL;

  if (accept_word (c, "True"))
    header->fortran_order = TRUE;
  else if (accept_word (c, "False"))
    header->fortran_order = FALSE;
  else if (skip_value (c) == 0)
    return header_error (error, c, "True or False for 'fortran_order'");
  else
    {
      found = excerpt (start, c->pos - start);
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: 'fortran_order' must be True or False, not '%s'", found);
      return FALSE;
    }
  return TRUE;
}

/* A non-negative Python int; NumPy accepts the 'L' suffix Python 2 wrote on long ints. */
static gboolean
parse_dimension (Cursor  *c,
                 gsize   *dim,
                 GError **error)
{
  const char *start = c->pos;
  gboolean negative = accept (c, '-');
  const char *digits = c->pos;
  gboolean overflow = FALSE;
  g_autofree char *found = NULL;
  gsize value = 0;

  for (; c->pos < c->end && g_ascii_isdigit (*c->pos); c->pos++)
    if (!g_size_checked_mul (&value, value, 10)
        || !g_size_checked_add (&value, value, (gsize) (*c->pos - '0')))
      overflow = TRUE;
  if (c->pos > digits && c->pos < c->end && (*c->pos == 'L' || *c->pos == 'l'))
    c->pos++;

  if (c->pos == digits
      || (c->pos < c->end && (g_ascii_isalnum (*c->pos) || strchr ("._'\"", *c->pos) != NULL)))
    {
      c->pos = start;
      if (skip_value (c) == 0)
        return header_error (error, c, "a dimension in 'shape'");
      found = excerpt (start, c->pos - start);
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: dimension '%s' in 'shape' is not an integer", found);
      return FALSE;
    }

  found = excerpt (start, c->pos - start);
  if (negative && value != 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: negative dimension %s in 'shape'", found);
      return FALSE;
    }
  if (overflow)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: dimension %s in 'shape' is too large", found);
      return FALSE;
    }
  *dim = value;
  return TRUE;
}

/* A tuple of ints: '()', '(3,)', '(2, 3)', '(2, 3,)'. '(3)' is an int in Python, not a shape. */
static gboolean
parse_shape (Cursor     *c,
             NpyHeader  *header,
             GError    **error)
{
  const char *start = c->pos;
  gboolean trailing_comma = FALSE;
  g_autofree char *found = NULL;
  guint rank = 0;

  if (!accept (c, '('))
    {
      if (skip_value (c) == 0)
        return header_error (error, c, "a tuple for 'shape'");
      found = excerpt (start, c->pos - start);
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: 'shape' must be a tuple such as (2, 3), not '%s'", found);
      return FALSE;
    }

  for (skip_space (c); !accept (c, ')'); skip_space (c))
    {
      gsize dim = 0;

      if (!parse_dimension (c, &dim, error))
        return FALSE;
      if (rank < JAC_MAX_RANK)
        header->shape[rank] = dim;
      rank++;
      skip_space (c);
      trailing_comma = accept (c, ',');
      if (!trailing_comma && !(c->pos < c->end && *c->pos == ')'))
        return header_error (error, c, "',' or ')' in 'shape'");
    }

  if (rank == 1 && !trailing_comma)
    {
      found = excerpt (start, c->pos - start);
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: 'shape' must be a tuple such as (3,), not '%s'", found);
      return FALSE;
    }
  if (rank > JAC_MAX_RANK)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "rank %u is not supported: at most %u dimensions", rank, JAC_MAX_RANK);
      return FALSE;
    }
  header->rank = rank;
  return TRUE;
}

static gboolean
parse_entry (Cursor     *c,
             NpyHeader  *header,
             guint      *seen,
             GError    **error)
{
  static const char *keys[] = { "descr", "fortran_order", "shape" };
  g_autofree char *key = NULL;
  const char *start = c->pos;
  guint k;

  if (!parse_string (c, &key, error))
    return FALSE;
  for (k = 0; k < G_N_ELEMENTS (keys); k++)
    if (strcmp (key, keys[k]) == 0)
      break;
  if (k == G_N_ELEMENTS (keys))
    {
      g_autofree char *found = excerpt (start, c->pos - start);

      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: unexpected key %s (expected 'descr', 'fortran_order', 'shape')",
                   found);
      return FALSE;
    }
  if (*seen & (1u << k))
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT,
                   "bad header: key '%s' appears twice", key);
      return FALSE;
    }
  *seen |= 1u << k;

  skip_space (c);
  if (!accept (c, ':'))
    return header_error (error, c, "':' after a key");
  skip_space (c);

  switch (k)
    {
    case 0:
      return parse_descr (c, header, error);
    case 1:
      return parse_bool (c, header, error);
    default:
      return parse_shape (c, header, error);
    }
}

/* The header is a Python dict literal, as NumPy's ast.literal_eval would read it. */
static gboolean
parse_header (const char  *text,
              gsize        length,
              NpyHeader   *header,
              GError     **error)
{
  Cursor c = { text, text + length };
  guint seen = 0;

  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT, "bad header: it contains a NUL byte");
      return FALSE;
    }

  skip_space (&c);
  if (!accept (&c, '{'))
    return header_error (error, &c, "a dictionary '{...}'");

  for (skip_space (&c); !accept (&c, '}'); skip_space (&c))
    {
      if (!parse_entry (&c, header, &seen, error))
        return FALSE;
      skip_space (&c);
      if (!accept (&c, ',') && !(c.pos < c.end && *c.pos == '}'))
        return header_error (error, &c, "',' or '}' after a value");
    }

  skip_space (&c);
  if (c.pos != c.end)
    return header_error (error, &c, "only padding after the dictionary");

  for (guint k = 0; k < 3; k++)
    if (!(seen & (1u << k)))
      {
        static const char *keys[] = { "descr", "fortran_order", "shape" };

        g_set_error (error, JAC_ERROR, JAC_ERROR_FORMAT, "bad header: missing key '%s'", keys[k]);
        return FALSE;
      }
  return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* reading                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static gboolean
format_error (GError    **error,
              const char *format,
              ...) G_GNUC_PRINTF (2, 3);

static gboolean
format_error (GError    **error,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (JAC_ERROR, JAC_ERROR_FORMAT, format, args);
  va_end (args);
  return FALSE;
}

/* Finds the header text: the magic string, a version, and the header's length. */
static gboolean
parse_preamble (const guint8  *bytes,
                gsize          length,
                gsize         *header_start,
                gsize         *header_length,
                GError       **error)
{
  guint major, minor;
  gsize prefix;

  if (length == 0)
    return format_error (error, "truncated preamble: the file is empty");
  if (memcmp (bytes, NPY_MAGIC, MIN (length, NPY_MAGIC_LEN)) != 0)
    {
      if (length >= 4 && memcmp (bytes, "PK\x03\x04", 4) == 0)
        return format_error (error, "bad magic: a zip archive (.npz?), not a .npy file");
      return format_error (error, "bad magic: not a .npy file");
    }
  if (length < NPY_MAGIC_LEN + 2)
    return format_error (error, "truncated preamble: the file has only %" G_GSIZE_FORMAT " bytes",
                         length);

  major = bytes[6];
  minor = bytes[7];
  if (minor != 0 || major < 1 || major > 3)
    return format_error (error, "unsupported .npy version %u.%u (expected 1.0, 2.0 or 3.0)",
                         major, minor);

  prefix = (major == 1) ? 10 : 12;
  if (length < prefix)
    return format_error (error, "truncated preamble: the file has only %" G_GSIZE_FORMAT " bytes",
                         length);
  if (major == 1)
    *header_length = (gsize) bytes[8] | (gsize) bytes[9] << 8;
  else
    *header_length = (gsize) bytes[8] | (gsize) bytes[9] << 8 | (gsize) bytes[10] << 16
                     | (gsize) bytes[11] << 24;
  *header_start = prefix;

  if (*header_length > length - prefix)
    return format_error (error,
                         "truncated header: it should have %" G_GSIZE_FORMAT " bytes, "
                         "the file has %" G_GSIZE_FORMAT,
                         *header_length, length - prefix);
  if (major == 3 && !g_utf8_validate_len ((const char *) bytes + prefix, *header_length, NULL))
    return format_error (error, "bad header: version 3.0 headers must be UTF-8");
  return TRUE;
}

static void
decode_data (JacTensor       *tensor,
             const guint8    *data,
             const NpyHeader *header)
{
  gsize itemsize = dtype_itemsize (header->dtype);
  g_autofree double *chunk = NULL;
  FortranWalk walk;

  if (!header->fortran_order || tensor->rank < 2)
    {
      decode_run (data, tensor->data, tensor->size, header->dtype);
      return;
    }

  chunk = g_new (double, NPY_CHUNK_ELEMENTS);
  fortran_walk_init (&walk, tensor);
  for (gsize done = 0; done < tensor->size;)
    {
      gsize n = MIN (NPY_CHUNK_ELEMENTS, tensor->size - done);

      decode_run (data + done * itemsize, chunk, n, header->dtype);
      for (gsize i = 0; i < n; i++, fortran_walk_next (&walk))
        tensor->data[walk.offset] = chunk[i];
      done += n;
    }
}

/* The data must be exactly what the shape and dtype need: no less, and no more. */
static gboolean
check_data_length (const NpyHeader *header,
                   gsize            data_length,
                   GError         **error)
{
  g_autofree char *shape = jac_shape_string (header->rank, header->shape);
  const char *descr = dtype_descr (header->dtype);
  gsize n_elements, n_bytes;

  if (!jac_tensor_size_for_shape (header->rank, header->shape, &n_elements, &n_bytes))
    return format_error (error, "shape %s is too large: its size overflows", shape);
  n_bytes = n_elements * dtype_itemsize (header->dtype);

  if (data_length < n_bytes)
    return format_error (error,
                         "truncated data: shape %s of %s needs %" G_GSIZE_FORMAT " bytes of data, "
                         "the file has %" G_GSIZE_FORMAT,
                         shape, descr, n_bytes, data_length);
  if (data_length > n_bytes)
    return format_error (error,
                         "%" G_GSIZE_FORMAT " extra bytes after the data "
                         "(shape %s of %s needs %" G_GSIZE_FORMAT ")",
                         data_length - n_bytes, shape, descr, n_bytes);
  return TRUE;
}

JacTensor *
jac_npy_parse (const guint8  *bytes,
               gsize          length,
               GError       **error)
{
  NpyHeader header = { 0 };
  gsize header_start = 0, header_length = 0, data_start;
  JacTensor *tensor;

  g_return_val_if_fail (bytes != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!parse_preamble (bytes, length, &header_start, &header_length, error)
      || !parse_header ((const char *) bytes + header_start, header_length, &header, error))
    return NULL;

  data_start = header_start + header_length;
  if (!check_data_length (&header, length - data_start, error))
    return NULL;

  /* The header's shape is the file's word: past the budget, an error, never an abort. */
  tensor = jac_tensor_try_new (header.rank, header.shape, error);
  if (tensor != NULL)
    decode_data (tensor, bytes + data_start, &header);
  return tensor;
}

/* Reads @fd to the end; returns NULL with @saved_errno set on failure. */
static guint8 *
read_all (int    fd,
          gsize *length,
          int   *saved_errno)
{
  g_autofree guint8 *buffer = NULL;
  gsize capacity = 64 * 1024;
  gsize filled = 0;
  struct stat st;

  /* One byte more than the size, so that the read reaching EOF needs no reallocation. */
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0
      && (guint64) st.st_size < G_MAXSIZE)
    capacity = (gsize) st.st_size + 1;

  buffer = g_try_malloc (capacity);
  for (;;)
    {
      gssize n;

      if (buffer != NULL && filled == capacity)
        {
          /* A stream without end (/dev/zero) stops at the memory budget. */
          if (capacity > jac_get_memory_budget ())
            {
              *saved_errno = EFBIG;
              return NULL;
            }
          if (!g_size_checked_mul (&capacity, capacity, 2))
            g_clear_pointer (&buffer, g_free);
          else
            {
              guint8 *larger = g_try_realloc (buffer, capacity);

              if (larger == NULL)
                g_clear_pointer (&buffer, g_free);
              buffer = larger;
            }
        }
      if (buffer == NULL)
        {
          *saved_errno = ENOMEM;
          return NULL;
        }

      n = read (fd, buffer + filled, capacity - filled);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *saved_errno = errno;
          return NULL;
        }
      if (n == 0)
        break;
      filled += (gsize) n;
    }
  *length = filled;
  return g_steal_pointer (&buffer);
}

/* Own reading rather than g_file_get_contents, whose messages would name the file twice. */
JacTensor *
jac_npy_read (const char  *path,
              GError     **error)
{
  g_autofree guint8 *bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  JacTensor *tensor;
  gsize length = 0;
  int saved_errno = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    saved_errno = errno;
  else
    {
      bytes = read_all (fd, &length, &saved_errno);
      close (fd);
    }
  if (saved_errno != 0)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot read %s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }

  tensor = jac_npy_parse (bytes, length, &local_error);
  if (tensor == NULL)
    g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
  return tensor;
}

/* ------------------------------------------------------------------------------------------ */
/* writing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* The header's length once padded with spaces and a newline to a multiple of 64 bytes, counted
 * with the @prefix (magic, version, length field) before it; always at least one space. */
static gsize
padded_header_length (gsize prefix,
                      gsize dict_length)
{
  gsize header_length = dict_length + 1;

  return header_length + NPY_ALIGN - (prefix + header_length) % NPY_ALIGN;
}

/* Byte for byte what numpy.save (1.24) writes: sorted keys, repr() values, room for growth,
 * spaces and a newline up to a multiple of 64 bytes. Returns the whole preamble. */
static GString *
build_preamble (const JacTensor    *tensor,
                const JacNpyFormat *format,
                GError            **error)
{
  g_autofree char *shape = jac_tensor_shape_string (tensor);
  g_autoptr(GString) dict = g_string_new (NULL);
  GString *preamble;
  guint version = format->major_version;
  gsize header_length, prefix;

  g_string_printf (dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                   dtype_descr (format->dtype), format->fortran_order ? "True" : "False", shape);
  if (tensor->rank > 0)
    {
      gsize growth_dim = tensor->shape[format->fortran_order ? tensor->rank - 1 : 0];
      g_autofree char *digits = g_strdup_printf ("%" G_GSIZE_FORMAT, growth_dim);

      for (gsize i = strlen (digits); i < NPY_GROWTH_AXIS_MAX_DIGITS; i++)
        g_string_append_c (dict, ' ');
    }

  if (version == 0)
    version = padded_header_length (10, dict->len) > G_MAXUINT16 ? 2 : 1;
  prefix = (version == 1) ? 10 : 12;
  header_length = padded_header_length (prefix, dict->len);
  if (version == 1 && header_length > G_MAXUINT16)
    {
      g_set_error (error, JAC_ERROR, JAC_ERROR_INVALID,
                   "a .npy header of %" G_GSIZE_FORMAT " bytes does not fit in version 1.0",
                   header_length);
      return NULL;
    }

  preamble = g_string_sized_new (prefix + header_length);
  g_string_append_len (preamble, NPY_MAGIC, NPY_MAGIC_LEN);
  g_string_append_c (preamble, (char) version);
  g_string_append_c (preamble, 0);
  for (gsize i = 0; i < prefix - 8; i++)
    g_string_append_c (preamble, (char) ((header_length >> (8 * i)) & 0xff));
  g_string_append_len (preamble, dict->str, dict->len);
  while (preamble->len < prefix + header_length - 1)
    g_string_append_c (preamble, ' ');
  g_string_append_c (preamble, '\n');
  return preamble;
}

static gboolean
write_error (GError    **error,
             const char *name,
             int         saved_errno)
{
  g_set_error (error, JAC_ERROR, JAC_ERROR_IO, "cannot write %s: %s", name,
               g_strerror (saved_errno != 0 ? saved_errno : EIO));
  return FALSE;
}

static gboolean
write_bytes (FILE        *stream,
             const void  *bytes,
             gsize        length,
             const char  *name,
             GError     **error)
{
  errno = 0;
  if (length > 0 && fwrite (bytes, 1, length, stream) != length)
    return write_error (error, name, errno);
  return TRUE;
}

/* Converts in chunks: a dense Jacobian can be gigabytes, and a copy of it would double that. */
static gboolean
write_data (FILE               *stream,
            const JacTensor    *tensor,
            const JacNpyFormat *format,
            const char         *name,
            GError            **error)
{
  gsize itemsize = dtype_itemsize (format->dtype);
  gboolean fortran = format->fortran_order && tensor->rank >= 2;
  g_autofree double *gathered = NULL;
  g_autofree guint8 *encoded = NULL;
  FortranWalk walk;

  if (!fortran && itemsize == sizeof (double) && dtype_is_native (format->dtype))
    return write_bytes (stream, tensor->data, tensor->size * sizeof (double), name, error);

  gathered = fortran ? g_new (double, NPY_CHUNK_ELEMENTS) : NULL;
  encoded = g_malloc (NPY_CHUNK_ELEMENTS * itemsize);
  fortran_walk_init (&walk, tensor);
  for (gsize done = 0; done < tensor->size;)
    {
      gsize n = MIN (NPY_CHUNK_ELEMENTS, tensor->size - done);
      const double *src = tensor->data + done;

      if (fortran)
        {
          for (gsize i = 0; i < n; i++, fortran_walk_next (&walk))
            gathered[i] = tensor->data[walk.offset];
          src = gathered;
        }
      encode_run (src, encoded, n, format->dtype);
      if (!write_bytes (stream, encoded, n * itemsize, name, error))
        return FALSE;
      done += n;
    }
  return TRUE;
}

static gboolean
write_npy (FILE               *stream,
           const JacTensor    *tensor,
           const JacNpyFormat *format,
           const char         *name,
           GError            **error)
{
  g_autoptr(GString) preamble = build_preamble (tensor, format, error);

  if (preamble == NULL)
    return FALSE;
  if (!write_bytes (stream, preamble->str, preamble->len, name, error)
      || !write_data (stream, tensor, format, name, error))
    return FALSE;

  /* Buffered bytes can still fail to reach the file; report that here rather than never. */
  errno = 0;
  if (fflush (stream) != 0)
    return write_error (error, name, errno);
  return TRUE;
}

static gboolean
format_is_valid (const JacNpyFormat *format)
{
  return format == NULL || (format->dtype <= JAC_NPY_U1 && format->major_version <= 3);
}

gboolean
jac_npy_write_stream (FILE                *stream,
                      const JacTensor     *tensor,
                      const JacNpyFormat  *format,
                      GError             **error)
{
  g_return_val_if_fail (stream != NULL, FALSE);
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (format_is_valid (format), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return write_npy (stream, tensor, format != NULL ? format : &default_format, "the .npy stream",
                    error);
}

gboolean
jac_npy_write (const char          *path,
               const JacTensor     *tensor,
               const JacNpyFormat  *format,
               GError             **error)
{
  JacAtomicFile *file;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensor != NULL, FALSE);
  g_return_val_if_fail (format_is_valid (format), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  file = jac_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;
  if (!write_npy (jac_atomic_file_get_stream (file), tensor,
                  format != NULL ? format : &default_format, path, error))
    {
      jac_atomic_file_abort (file);
      return FALSE;
    }
  return jac_atomic_file_commit (file, error);
}

gboolean
jac_npy_write_u1_stream (FILE          *stream,
                         guint          rank,
                         const gsize   *shape,
                         const guint8  *bytes,
                         GError       **error)
{
  static const JacNpyFormat format = { JAC_NPY_U1, FALSE, 0 };
  JacTensor header = { 0 };
  g_autoptr(GString) preamble = NULL;
  gsize n = 1;

  g_return_val_if_fail (stream != NULL, FALSE);
  g_return_val_if_fail (rank <= JAC_MAX_RANK, FALSE);
  g_return_val_if_fail (rank == 0 || shape != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The preamble only reads the rank and the shape. */
  header.rank = rank;
  for (guint a = 0; a < rank; a++)
    {
      header.shape[a] = shape[a];
      n *= shape[a];
    }
  g_return_val_if_fail (n == 0 || bytes != NULL, FALSE);
  preamble = build_preamble (&header, &format, error);
  if (preamble == NULL
      || !write_bytes (stream, preamble->str, preamble->len, "the .npy stream", error)
      || !write_bytes (stream, bytes, n, "the .npy stream", error))
    return FALSE;
  errno = 0;
  if (fflush (stream) != 0)
    return write_error (error, "the .npy stream", errno);
  return TRUE;
}

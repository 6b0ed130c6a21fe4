/* jac-npy.h: NumPy .npy files, versions 1.0-3.0, dtypes <f8 >f8 <f4 >f4, C or Fortran order
 * (and |u1 for writing masks). */
#pragma once

#include <stdio.h>

#include "jac-tensor.h"

G_BEGIN_DECLS

typedef enum
{
  JAC_NPY_F8_LE,
  JAC_NPY_F8_BE,
  JAC_NPY_F4_LE,
  JAC_NPY_F4_BE,
  JAC_NPY_U1,     /* written only: 0/1 masks; a value is rounded and clamped to 0..255 */
} JacNpyDtype;

typedef struct
{
  JacNpyDtype dtype;
  gboolean    fortran_order;
  guint       major_version;  /* 1, 2 or 3; 0 picks 1, or 2 when the header needs it */
} JacNpyFormat;

/* Parses a whole file's bytes; every malformed input is a JAC_ERROR_FORMAT naming what is wrong. */
JacTensor *jac_npy_parse        (const guint8        *bytes,
                                 gsize                length,
                                 GError             **error);
/* Reads @path; the error message names the file. */
JacTensor *jac_npy_read         (const char          *path,
                                 GError             **error);
/* Writes to a stream: float64 little-endian, C order, unless @format says otherwise. */
gboolean   jac_npy_write_stream (FILE                *stream,
                                 const JacTensor     *tensor,
                                 const JacNpyFormat  *format,
                                 GError             **error);
/* Writes @path atomically (temporary file, then rename); @format may be NULL. */
gboolean   jac_npy_write        (const char          *path,
                                 const JacTensor     *tensor,
                                 const JacNpyFormat  *format,
                                 GError             **error);

/* Writes @n bytes (shape @rank, @shape, C order) as dtype |u1, as numpy.save writes a uint8
 * array: for masks, one byte an entry rather than eight. */
gboolean   jac_npy_write_u1_stream (FILE             *stream,
                                    guint             rank,
                                    const gsize      *shape,
                                    const guint8     *bytes,
                                    GError          **error);

G_END_DECLS

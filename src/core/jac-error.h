/* jac-error.h: the error domain every layer of Jacscope reports through. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define JAC_ERROR (jac_error_quark ())

typedef enum
{
  JAC_ERROR_INVALID,    /* a value that is out of range or malformed */
  JAC_ERROR_SHAPE,      /* shapes that disagree */
  JAC_ERROR_FORMAT,     /* a file that is not what it claims to be */
  JAC_ERROR_IO,         /* reading or writing failed */
  JAC_ERROR_TOO_LARGE,  /* a size past the memory budget or past what fits in memory */
  JAC_ERROR_USAGE,      /* a command line that cannot be understood */
} JacErrorCode;

GQuark jac_error_quark (void);

G_END_DECLS

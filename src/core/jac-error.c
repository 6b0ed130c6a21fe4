/* jac-error.c: the JAC_ERROR domain. */
#define G_LOG_DOMAIN "jac-error"

#include "jac-error.h"

G_DEFINE_QUARK (jac-error-quark, jac_error)

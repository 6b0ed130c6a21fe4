/* jac-npy.c: in progress. */
#include "jac-npy.h"

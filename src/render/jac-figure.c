/* jac-figure.c: in progress. */
#include "jac-figure.h"

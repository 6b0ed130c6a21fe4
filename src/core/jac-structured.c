/* jac-structured.c: in progress. */
#include "jac-structured.h"

/* jac-graph.c: in progress. */
#include "jac-graph.h"

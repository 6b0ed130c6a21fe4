/* jac-rnn.c: in progress. */
#include "jac-rnn.h"

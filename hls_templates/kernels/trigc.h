// trigc kernel library: every kernel header.
#ifndef TRIGC_H_
#define TRIGC_H_

#include "trigc_common.h"
#include "trigc_conv.h"
#include "trigc_dense.h"
#include "trigc_elementwise.h"
#include "trigc_layout.h"
#include "trigc_lut.h"
#include "trigc_pool.h"

#endif  // TRIGC_H_

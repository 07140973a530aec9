// trigc kernel library: data movement (no arithmetic beyond the res_T assignment).
//
// gather   CONFIG_T: n_in, n_out, index[n_out].      y[i] = x[index[i]]
//          (Transpose, and any other fixed permutation or selection.)
// concat2  CONFIG_T: n_a, n_b, n_out, from_b[n_out] (bool), index[n_out].
//          y[i] = from_b[i] ? b[index[i]] : a[index[i]]
#ifndef TRIGC_LAYOUT_H_
#define TRIGC_LAYOUT_H_

#include "trigc_common.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

template <class data_T, class res_T, class CONFIG_T>
void gather(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
GatherLoop:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        TRIGC_VITIS(HLS UNROLL)
        y[i] = x[CONFIG_T::index[i]];
    }
}

template <class a_T, class b_T, class res_T, class CONFIG_T>
void concat2(const a_T a[CONFIG_T::n_a], const b_T b[CONFIG_T::n_b], res_T y[CONFIG_T::n_out]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
ConcatLoop:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        TRIGC_VITIS(HLS UNROLL)
        if (CONFIG_T::from_b[i]) {
            y[i] = b[CONFIG_T::index[i]];
        } else {
            y[i] = a[CONFIG_T::index[i]];
        }
    }
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_LAYOUT_H_

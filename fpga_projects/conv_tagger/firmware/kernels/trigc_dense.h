// trigc kernel library: dense (fully connected) layer with compile-time zero skipping.
//
// The weight matrix is stored as its non-zero entries only (weights[k] at input
// rows[k], output cols[k]), so a pruned weight costs neither a multiplier nor a
// ROM word. acc[j] starts at bias[j] in accum_t, every non-zero adds
// x[rows[k]] * weights[k] (exact product) into acc[cols[k]], and y[j] = acc[j] is a
// plain fixed-point assignment (res_T rounding, then overflow).
//
// accum_t is chosen wide enough for the final sums. Partial sums may wrap
// (AP_WRAP is two's-complement arithmetic modulo 2^W), so the order in which the
// non-zeros are added does not change the result.
//
// CONFIG_T: n_in, n_out, n_nonzero (>= 1), reuse, n_mult (= ceil(n_nonzero / reuse));
// typedefs accum_t, weight_t, bias_t; static const arrays weights[n_nonzero],
// rows[n_nonzero], cols[n_nonzero], bias[n_out].
#ifndef TRIGC_DENSE_H_
#define TRIGC_DENSE_H_

#include "trigc_common.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

// reuse == 1: every non-zero has its own multiplier (constant weights become
// shift-and-add logic); fully unrolled, for a pipelined caller at II = 1.
template <class data_T, class res_T, class CONFIG_T>
void dense_latency(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    TRIGC_VITIS(HLS INLINE)
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    TRIGC_VITIS(HLS ARRAY_PARTITION variable=acc complete)

    TRIGC_CATAPULT(hls_unroll yes)
DenseInit:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        TRIGC_VITIS(HLS UNROLL)
        acc[j] = table_value<typename CONFIG_T::bias_t, CONFIG_T::n_out, CONFIG_T::bias>(j);
    }

    TRIGC_CATAPULT(hls_unroll yes)
DenseMult:
    for (unsigned k = 0; k < CONFIG_T::n_nonzero; k++) {
        TRIGC_VITIS(HLS UNROLL)
        acc[CONFIG_T::cols[k]] += x[CONFIG_T::rows[k]] *
            table_value<typename CONFIG_T::weight_t, CONFIG_T::n_nonzero, CONFIG_T::weights>(k);
    }

    TRIGC_CATAPULT(hls_unroll yes)
DenseResult:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        TRIGC_VITIS(HLS UNROLL)
        y[j] = acc[j];
    }
}

// reuse > 1: n_mult multipliers, each used `reuse` times. Round r feeds multiplier
// m with non-zero k = r + reuse * m (multiplier m owns the contiguous block
// [reuse*m, reuse*m + reuse) of non-zeros; the last block may be partial). The
// ReuseLoop is pipelined at II = 1, so the kernel accepts a new input every
// `reuse` cycles. Ordering the non-zeros by output index keeps the accumulator
// multiplexers small.
template <class data_T, class res_T, class CONFIG_T>
void dense_reuse(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    TRIGC_VITIS(HLS INLINE off)
    TRIGC_VITIS(HLS ALLOCATION operation instances=mul limit=CONFIG_T::n_mult)
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    TRIGC_VITIS(HLS ARRAY_PARTITION variable=acc complete)

    TRIGC_CATAPULT(hls_unroll yes)
DenseInit:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        TRIGC_VITIS(HLS UNROLL)
        acc[j] = table_value<typename CONFIG_T::bias_t, CONFIG_T::n_out, CONFIG_T::bias>(j);
    }

    TRIGC_CATAPULT(hls_pipeline_init_interval 1)
ReuseLoop:
    for (unsigned r = 0; r < CONFIG_T::reuse; r++) {
        TRIGC_VITIS(HLS PIPELINE II=1)
        TRIGC_CATAPULT(hls_unroll yes)
    MultLoop:
        for (unsigned m = 0; m < CONFIG_T::n_mult; m++) {
            TRIGC_VITIS(HLS UNROLL)
            const unsigned k = r + CONFIG_T::reuse * m;
            if (k < CONFIG_T::n_nonzero) {
                acc[CONFIG_T::cols[k]] += x[CONFIG_T::rows[k]] *
            table_value<typename CONFIG_T::weight_t, CONFIG_T::n_nonzero, CONFIG_T::weights>(k);
            }
        }
    }

    TRIGC_CATAPULT(hls_unroll yes)
DenseResult:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        TRIGC_VITIS(HLS UNROLL)
        y[j] = acc[j];
    }
}

template <class data_T, class res_T, class CONFIG_T>
void dense(const data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out]) {
    TRIGC_VITIS(HLS INLINE)
    if (CONFIG_T::reuse <= 1) {
        dense_latency<data_T, res_T, CONFIG_T>(x, y);
    } else {
        dense_reuse<data_T, res_T, CONFIG_T>(x, y);
    }
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_DENSE_H_

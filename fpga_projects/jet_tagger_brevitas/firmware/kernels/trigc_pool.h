// trigc kernel library: pooling, channels-last, fully unrolled.
//
// maxpool2d / avgpool2d CONFIG_T: in_h, in_w, n_chan, out_h, out_w, pool_h, pool_w,
// stride_h, stride_w, pad_top, pad_left, static const bool count_include_pad;
// typedef accum_t (avgpool2d only).
//   max: the largest in-bounds element of the window (padding is ignored).
//   avg: the exact sum (accum_t) of the in-bounds elements divided by
//        pool_h * pool_w (count_include_pad) or by the number of in-bounds
//        elements, rounded into res_T exactly (divide_exact).
// global_maxpool / global_avgpool CONFIG_T: n_spatial, n_chan; typedef accum_t (avg):
//   y[c] over all n_spatial positions; the average divides by n_spatial.
// global_sumpool CONFIG_T: n_spatial, n_chan; typedef accum_t:
//   y[c] = the exact sum over all n_spatial positions (Deep Sets sum pooling over
//   objects), assigned to res_T: no division, exact for any object count.
// 1-D pooling: in_h = out_h = pool_h = stride_h = 1, pad_top = 0.
#ifndef TRIGC_POOL_H_
#define TRIGC_POOL_H_

#include "trigc_common.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

template <class data_T, class res_T, class CONFIG_T>
void maxpool2d(const data_T x[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
               res_T y[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_chan]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
MaxOutH:
    for (unsigned oh = 0; oh < CONFIG_T::out_h; oh++) {
        TRIGC_VITIS(HLS UNROLL)
        TRIGC_CATAPULT(hls_unroll yes)
    MaxOutW:
        for (unsigned ow = 0; ow < CONFIG_T::out_w; ow++) {
            TRIGC_VITIS(HLS UNROLL)
            TRIGC_CATAPULT(hls_unroll yes)
        MaxChan:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                TRIGC_VITIS(HLS UNROLL)
                data_T best = 0;
                bool any = false;
                TRIGC_CATAPULT(hls_unroll yes)
            MaxKh:
                for (unsigned kh = 0; kh < CONFIG_T::pool_h; kh++) {
                    TRIGC_VITIS(HLS UNROLL)
                    TRIGC_CATAPULT(hls_unroll yes)
                MaxKw:
                    for (unsigned kw = 0; kw < CONFIG_T::pool_w; kw++) {
                        TRIGC_VITIS(HLS UNROLL)
                        const int ih =
                            (int)(oh * CONFIG_T::stride_h + kh) - (int)CONFIG_T::pad_top;
                        const int iw =
                            (int)(ow * CONFIG_T::stride_w + kw) - (int)CONFIG_T::pad_left;
                        if (ih >= 0 && ih < (int)CONFIG_T::in_h && iw >= 0 &&
                            iw < (int)CONFIG_T::in_w) {
                            const data_T v =
                                x[((unsigned)ih * CONFIG_T::in_w + (unsigned)iw) *
                                      CONFIG_T::n_chan + c];
                            if (!any || v > best) best = v;
                            any = true;
                        }
                    }
                }
                y[(oh * CONFIG_T::out_w + ow) * CONFIG_T::n_chan + c] = best;
            }
        }
    }
}

template <class data_T, class res_T, class CONFIG_T>
void avgpool2d(const data_T x[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
               res_T y[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_chan]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::accum_t accum_t;
    const int ACC_W = fixed_info<accum_t>::width;
    const int DEN_W = bits_for<CONFIG_T::pool_h * CONFIG_T::pool_w>::value;
    TRIGC_CATAPULT(hls_unroll yes)
AvgOutH:
    for (unsigned oh = 0; oh < CONFIG_T::out_h; oh++) {
        TRIGC_VITIS(HLS UNROLL)
        TRIGC_CATAPULT(hls_unroll yes)
    AvgOutW:
        for (unsigned ow = 0; ow < CONFIG_T::out_w; ow++) {
            TRIGC_VITIS(HLS UNROLL)
            TRIGC_CATAPULT(hls_unroll yes)
        AvgChan:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                TRIGC_VITIS(HLS UNROLL)
                accum_t sum = 0;
                unsigned count = 0;
                TRIGC_CATAPULT(hls_unroll yes)
            AvgKh:
                for (unsigned kh = 0; kh < CONFIG_T::pool_h; kh++) {
                    TRIGC_VITIS(HLS UNROLL)
                    TRIGC_CATAPULT(hls_unroll yes)
                AvgKw:
                    for (unsigned kw = 0; kw < CONFIG_T::pool_w; kw++) {
                        TRIGC_VITIS(HLS UNROLL)
                        const int ih =
                            (int)(oh * CONFIG_T::stride_h + kh) - (int)CONFIG_T::pad_top;
                        const int iw =
                            (int)(ow * CONFIG_T::stride_w + kw) - (int)CONFIG_T::pad_left;
                        if (ih >= 0 && ih < (int)CONFIG_T::in_h && iw >= 0 &&
                            iw < (int)CONFIG_T::in_w) {
                            sum += x[((unsigned)ih * CONFIG_T::in_w + (unsigned)iw) *
                                         CONFIG_T::n_chan + c];
                            count++;
                        }
                    }
                }
                // count is a compile-time constant per position once unrolled.
                const unsigned divisor =
                    CONFIG_T::count_include_pad ? CONFIG_T::pool_h * CONFIG_T::pool_w : count;
                y[(oh * CONFIG_T::out_w + ow) * CONFIG_T::n_chan + c] =
                    divide_exact<res_T, ACC_W + 1, fixed_info<accum_t>::frac, DEN_W>(
                        raw_int(sum), uint_t<DEN_W>(divisor));
            }
        }
    }
}

template <class data_T, class res_T, class CONFIG_T>
void global_maxpool(const data_T x[CONFIG_T::n_spatial * CONFIG_T::n_chan],
                    res_T y[CONFIG_T::n_chan]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
GMaxChan:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        TRIGC_VITIS(HLS UNROLL)
        data_T best = x[c];
        TRIGC_CATAPULT(hls_unroll yes)
    GMaxSpatial:
        for (unsigned p = 1; p < CONFIG_T::n_spatial; p++) {
            TRIGC_VITIS(HLS UNROLL)
            const data_T v = x[p * CONFIG_T::n_chan + c];
            if (v > best) best = v;
        }
        y[c] = best;
    }
}

template <class data_T, class res_T, class CONFIG_T>
void global_avgpool(const data_T x[CONFIG_T::n_spatial * CONFIG_T::n_chan],
                    res_T y[CONFIG_T::n_chan]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::accum_t accum_t;
    const int ACC_W = fixed_info<accum_t>::width;
    const int DEN_W = bits_for<CONFIG_T::n_spatial>::value;
    TRIGC_CATAPULT(hls_unroll yes)
GAvgChan:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        TRIGC_VITIS(HLS UNROLL)
        accum_t sum = 0;
        TRIGC_CATAPULT(hls_unroll yes)
    GAvgSpatial:
        for (unsigned p = 0; p < CONFIG_T::n_spatial; p++) {
            TRIGC_VITIS(HLS UNROLL)
            sum += x[p * CONFIG_T::n_chan + c];
        }
        y[c] = divide_exact<res_T, ACC_W + 1, fixed_info<accum_t>::frac, DEN_W>(
            raw_int(sum), uint_t<DEN_W>(CONFIG_T::n_spatial));
    }
}

template <class data_T, class res_T, class CONFIG_T>
void global_sumpool(const data_T x[CONFIG_T::n_spatial * CONFIG_T::n_chan],
                    res_T y[CONFIG_T::n_chan]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::accum_t accum_t;
    TRIGC_CATAPULT(hls_unroll yes)
GSumChan:
    for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
        TRIGC_VITIS(HLS UNROLL)
        accum_t sum = 0;
        TRIGC_CATAPULT(hls_unroll yes)
    GSumSpatial:
        for (unsigned p = 0; p < CONFIG_T::n_spatial; p++) {
            TRIGC_VITIS(HLS UNROLL)
            sum += x[p * CONFIG_T::n_chan + c];
        }
        y[c] = sum;
    }
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_POOL_H_

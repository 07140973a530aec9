// trigc kernel library: 2-D (and 1-D) convolution, channels-last.
//
// Every output position gathers its input window (zeros outside the input,
// i.e. zero padding) and runs the dense kernel of CONFIG_T::mult_config on it.
// Grouped and depthwise convolutions are dense configs with block-diagonal
// weights; the dense kernel's zero skipping drops the off-block entries.
//
// CONFIG_T: in_h, in_w, n_chan, out_h, out_w, n_filt, kernel_h, kernel_w,
// stride_h, stride_w, pad_top, pad_left; typedef mult_config (a dense config
// with n_in = kernel_h * kernel_w * n_chan, n_out = n_filt).
// 1-D convolution: in_h = out_h = kernel_h = stride_h = 1, pad_top = 0.
#ifndef TRIGC_CONV_H_
#define TRIGC_CONV_H_

#include "trigc_common.h"
#include "trigc_dense.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

// window[(kh * kernel_w + kw) * n_chan + c] = x[ih][iw][c] with
// ih = oh * stride_h + kh - pad_top, iw = ow * stride_w + kw - pad_left (0 outside).
template <class data_T, class CONFIG_T>
void conv_window(const data_T x[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
                 data_T window[CONFIG_T::kernel_h * CONFIG_T::kernel_w * CONFIG_T::n_chan],
                 unsigned oh, unsigned ow) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
WindowKh:
    for (unsigned kh = 0; kh < CONFIG_T::kernel_h; kh++) {
        TRIGC_VITIS(HLS UNROLL)
        TRIGC_CATAPULT(hls_unroll yes)
    WindowKw:
        for (unsigned kw = 0; kw < CONFIG_T::kernel_w; kw++) {
            TRIGC_VITIS(HLS UNROLL)
            const int ih = (int)(oh * CONFIG_T::stride_h + kh) - (int)CONFIG_T::pad_top;
            const int iw = (int)(ow * CONFIG_T::stride_w + kw) - (int)CONFIG_T::pad_left;
            const bool inside =
                ih >= 0 && ih < (int)CONFIG_T::in_h && iw >= 0 && iw < (int)CONFIG_T::in_w;
            TRIGC_CATAPULT(hls_unroll yes)
        WindowChan:
            for (unsigned c = 0; c < CONFIG_T::n_chan; c++) {
                TRIGC_VITIS(HLS UNROLL)
                const unsigned w_idx = (kh * CONFIG_T::kernel_w + kw) * CONFIG_T::n_chan + c;
                if (inside) {
                    window[w_idx] = x[((unsigned)ih * CONFIG_T::in_w + (unsigned)iw) *
                                          CONFIG_T::n_chan + c];
                } else {
                    window[w_idx] = 0;
                }
            }
        }
    }
}

template <class data_T, class res_T, class CONFIG_T>
void conv2d(const data_T x[CONFIG_T::in_h * CONFIG_T::in_w * CONFIG_T::n_chan],
            res_T y[CONFIG_T::out_h * CONFIG_T::out_w * CONFIG_T::n_filt]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
ConvOutH:
    for (unsigned oh = 0; oh < CONFIG_T::out_h; oh++) {
        TRIGC_VITIS(HLS UNROLL)
        TRIGC_CATAPULT(hls_unroll yes)
    ConvOutW:
        for (unsigned ow = 0; ow < CONFIG_T::out_w; ow++) {
            TRIGC_VITIS(HLS UNROLL)
            data_T window[CONFIG_T::kernel_h * CONFIG_T::kernel_w * CONFIG_T::n_chan];
            TRIGC_VITIS(HLS ARRAY_PARTITION variable=window complete)
            conv_window<data_T, CONFIG_T>(x, window, oh, ow);
            dense<data_T, res_T, typename CONFIG_T::mult_config>(
                window, &y[(oh * CONFIG_T::out_w + ow) * CONFIG_T::n_filt]);
        }
    }
}

// 1-D convolution over (in_w, n_chan): conv2d with in_h = out_h = kernel_h = stride_h = 1.
template <class data_T, class res_T, class CONFIG_T>
void conv1d(const data_T x[CONFIG_T::in_w * CONFIG_T::n_chan],
            res_T y[CONFIG_T::out_w * CONFIG_T::n_filt]) {
    TRIGC_VITIS(HLS INLINE)
    conv2d<data_T, res_T, CONFIG_T>(x, y);
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_CONV_H_

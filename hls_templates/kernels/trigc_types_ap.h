// trigc kernel library: the Xilinx ap_fixed spelling of the number types (Vitis HLS).
// Included by trigc_common.h when TRIGC_AC_TYPES is not defined; see there.
#ifndef TRIGC_TYPES_AP_H_
#define TRIGC_TYPES_AP_H_

#include <ap_fixed.h>
#include <ap_int.h>

#define TRIGC_VITIS(text) TRIGC_PRAGMA(text)
#define TRIGC_CATAPULT(text)

namespace trigc {

// Signed / unsigned W-bit integers and a signed fixed-point type (AP_TRN, AP_WRAP).
template <int W>
using int_t = ap_int<W>;
template <int W>
using uint_t = ap_uint<W>;
template <int W, int I>
using fixed_t = ap_fixed<W, I>;

// fixed_info<T> (trigc_common.h) of an ap_fixed / ap_ufixed / ap_int / ap_uint type,
// also of the ap_fixed_base and ap_int_base that arithmetic expressions return.

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_info<ap_fixed<W, I, Q, O, N> > : fixed_info_base<W, I, true> {};

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_info<ap_ufixed<W, I, Q, O, N> > : fixed_info_base<W, I, false> {};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>
struct fixed_info<ap_fixed_base<W, I, S, Q, O, N> > : fixed_info_base<W, I, S> {};

template <int W>
struct fixed_info<ap_int<W> > : fixed_info_base<W, W, true> {};

template <int W>
struct fixed_info<ap_uint<W> > : fixed_info_base<W, W, false> {};

template <int W, bool S>
struct fixed_info<ap_int_base<W, S> > : fixed_info_base<W, W, S> {};

// The raw integer of x (value * 2^frac) as a signed ap_int one bit wider than x,
// so that ap_ufixed raw values stay non-negative. Works for any width.
template <class T>
ap_int<fixed_info<T>::width + 1> raw_int(const T& x) {
    #pragma HLS INLINE
    const int W = fixed_info<T>::width;
    ap_uint<W> bits = x.range(W - 1, 0);
    ap_int<W + 1> r;
    if (fixed_info<T>::is_signed) {
        ap_int<W> s = bits;  // same width: reinterpret the bit pattern
        r = s;               // sign-extend
    } else {
        r = bits;  // zero-extend
    }
    return r;
}

// Sets the bit pattern of x to the low W bits of raw (two's complement).
template <class T, int W2, bool S2>
void set_raw(T& x, const ap_int_base<W2, S2>& raw) {
    #pragma HLS INLINE
    const int W = fixed_info<T>::width;
    ap_int<W> bits = raw;  // truncate or sign/zero-extend to W bits
    x.range(W - 1, 0) = bits;
}

}  // namespace trigc

#endif  // TRIGC_TYPES_AP_H_

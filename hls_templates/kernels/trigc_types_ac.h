// trigc kernel library: the Algorithmic C ac_fixed spelling of the number types
// (Catapult HLS). Included by trigc_common.h when TRIGC_AC_TYPES is defined.
//
// trigc.fixed.to_ac maps every ap mode to the ac mode of the same name (AP_RND_CONV
// -> AC_RND_CONV, AP_SAT_SYM -> AC_SAT_SYM, ...); AP_WRAP_SM has no ac equivalent and
// is refused before any file is written. tests/csim/test_fixed_vs_acfixed.py proves
// the mapping against the real ac_fixed.h.
#ifndef TRIGC_TYPES_AC_H_
#define TRIGC_TYPES_AC_H_

#include <ac_fixed.h>
#include <ac_int.h>

#define TRIGC_VITIS(text)
#define TRIGC_CATAPULT(text) TRIGC_PRAGMA(text)

namespace trigc {

// Signed / unsigned W-bit integers and a signed fixed-point type (AC_TRN, AC_WRAP).
template <int W>
using int_t = ac_int<W, true>;
template <int W>
using uint_t = ac_int<W, false>;
template <int W, int I>
using fixed_t = ac_fixed<W, I, true>;

// fixed_info<T> (trigc_common.h) of an ac_fixed / ac_int type (ac arithmetic returns
// plain ac_fixed / ac_int types).

template <int W, int I, bool S, ac_q_mode Q, ac_o_mode O>
struct fixed_info<ac_fixed<W, I, S, Q, O> > : fixed_info_base<W, I, S> {};

template <int W, bool S>
struct fixed_info<ac_int<W, S> > : fixed_info_base<W, W, S> {};

// The raw integer of x (value * 2^frac) as a signed ac_int one bit wider than x,
// so that unsigned raw values stay non-negative. Works for any width.
template <class T>
ac_int<fixed_info<T>::width + 1, true> raw_int(const T& x) {
    const int W = fixed_info<T>::width;
    // slc keeps x's signedness: a signed pattern sign-extends, an unsigned one zero-extends
    ac_int<W, fixed_info<T>::is_signed> bits = x.template slc<W>(0);
    ac_int<W + 1, true> r = bits;
    return r;
}

// Sets the bit pattern of x to the low W bits of raw (two's complement).
template <class T, int W2, bool S2>
void set_raw(T& x, const ac_int<W2, S2>& raw) {
    const int W = fixed_info<T>::width;
    ac_int<W, true> bits = raw;  // truncate or sign/zero-extend to W bits
    x.set_slc(0, bits);
}

}  // namespace trigc

#endif  // TRIGC_TYPES_AC_H_

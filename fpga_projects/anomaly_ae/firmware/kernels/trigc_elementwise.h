// trigc kernel library: element-wise operations, fully unrolled.
//
// Every kernel computes its exact result (ap_fixed / ac_fixed arithmetic widens as needed)
// and assigns it to res_T: res_T's rounding, then its overflow.
//
// add / sub / mul  <a_T, b_T, res_T, CONFIG_T>: CONFIG_T::n.
// binary_const     <data_T, res_T, CONFIG_T>: y = x op c or c op x with a constant operand.
//                  CONFIG_T: n; op (0 add, 1 sub, 2 mul); const_first; typedef const_t;
//                  values[n] (raw integers of const_t, already broadcast to n).
// div_const        CONFIG_T: n; typedef const_t; divisor[n] (raw integers of const_t,
//                  non-zero, any sign).
// Constant arrays hold raw integers (value = raw * 2^-frac), so they are constant-
// initialised: no fixed-point constructor runs for them in C simulation.
// cast / relu / sign / abs_value  CONFIG_T: n.
// leaky_relu       CONFIG_T: n; typedef alpha_t; static alpha_t alpha().
// clip             CONFIG_T: n; static const bool has_low, has_high; typedef bound_t;
//                  static bound_t low(), high()  (y = min(max(x, low), high)).
#ifndef TRIGC_ELEMENTWISE_H_
#define TRIGC_ELEMENTWISE_H_

#include "trigc_common.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

template <class a_T, class b_T, class res_T, class CONFIG_T>
void add(const a_T a[CONFIG_T::n], const b_T b[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
AddLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        y[i] = a[i] + b[i];
    }
}

template <class a_T, class b_T, class res_T, class CONFIG_T>
void sub(const a_T a[CONFIG_T::n], const b_T b[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
SubLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        y[i] = a[i] - b[i];
    }
}

template <class a_T, class b_T, class res_T, class CONFIG_T>
void mul(const a_T a[CONFIG_T::n], const b_T b[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
MulLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        y[i] = a[i] * b[i];
    }
}

// y = x op c[i] (or c[i] op x): element-wise arithmetic with a constant operand.
template <class data_T, class res_T, class CONFIG_T>
void binary_const(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::const_t const_t;
    TRIGC_CATAPULT(hls_unroll yes)
ConstLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        const const_t c = from_raw<const_t>(CONFIG_T::values[i]);
        if (CONFIG_T::op == 0) {
            y[i] = x[i] + c;
        } else if (CONFIG_T::op == 1) {
            if (CONFIG_T::const_first) y[i] = c - x[i];
            else y[i] = x[i] - c;
        } else {
            y[i] = x[i] * c;
        }
    }
}

// y = x / divisor[i], exactly rounded: the divisor's sign moves to the numerator and
// divide_exact divides by |divisor| (a constant, so no general divider remains).
template <class data_T, class res_T, class CONFIG_T>
void div_const(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::const_t const_t;
    const int XW = fixed_info<data_T>::width;
    const int CW = fixed_info<const_t>::width;
    // value = (x_raw * sign) * 2^-(frac(x) - frac(c)) / |c_raw|
    const int NUM_FRAC = fixed_info<data_T>::frac - fixed_info<const_t>::frac;
    TRIGC_CATAPULT(hls_unroll yes)
DivLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        const int_t<CW + 1> c = CONFIG_T::divisor[i];  // raw integer of const_t
        const bool c_neg = c < 0;
        uint_t<CW> c_mag;
        int_t<XW + 1> num = raw_int(x[i]);  // raw_int is one bit wider: -num fits
        if (c_neg) {
            c_mag = -c;
            num = -num;
        } else {
            c_mag = c;
        }
        y[i] = divide_exact<res_T, XW + 1, NUM_FRAC, CW>(num, c_mag);
    }
}

template <class data_T, class res_T, class CONFIG_T>
void cast(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
CastLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        y[i] = x[i];
    }
}

template <class data_T, class res_T, class CONFIG_T>
void relu(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
ReluLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        if (x[i] > 0) {
            y[i] = x[i];
        } else {
            y[i] = 0;
        }
    }
}

// y = x for x >= 0, x * alpha (exact product) for x < 0.
template <class data_T, class res_T, class CONFIG_T>
void leaky_relu(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
LeakyLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        if (x[i] < 0) {
            y[i] = x[i] * CONFIG_T::alpha();
        } else {
            y[i] = x[i];
        }
    }
}

// y = min(max(x, low), high) with either bound optional (max first, as the
// emulator does: when low > high the result is high).
template <class data_T, class res_T, class CONFIG_T>
void clip(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
ClipLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        const bool below = CONFIG_T::has_low && x[i] < CONFIG_T::low();
        const bool above = CONFIG_T::has_high &&
                           (below ? CONFIG_T::low() > CONFIG_T::high() : x[i] > CONFIG_T::high());
        if (above) {
            y[i] = CONFIG_T::high();
        } else if (below) {
            y[i] = CONFIG_T::low();
        } else {
            y[i] = x[i];
        }
    }
}

// y = 1 for x >= 0, -1 otherwise (assigned to res_T).
template <class data_T, class res_T, class CONFIG_T>
void sign(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
SignLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        fixed_t<2, 2> s;
        if (x[i] >= 0) {
            s = 1;
        } else {
            s = -1;
        }
        y[i] = s;
    }
}

// y = |x|: the negation of an ap_fixed / ac_fixed is one bit wider, so |min| is exact.
template <class data_T, class res_T, class CONFIG_T>
void abs_value(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
AbsLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        if (x[i] < 0) {
            y[i] = -x[i];
        } else {
            y[i] = x[i];
        }
    }
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_ELEMENTWISE_H_

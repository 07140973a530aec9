// trigc kernel library: common helpers.
//
// Raw-integer access to ap_fixed values, the exactly rounded division used by
// average pooling and constant division, and the C-simulation tracing hook.
// Everything here is synthesizable except the tracing hook, which compiles to
// nothing unless TRIGC_TRACE_ENABLED is defined outside synthesis.
#ifndef TRIGC_COMMON_H_
#define TRIGC_COMMON_H_

#include <ap_fixed.h>
#include <ap_int.h>

namespace trigc {

// ---- compile-time facts about ap types ------------------------------------------

// fixed_info<T>: width, iwidth, frac (fraction bits, W - I) and is_signed of an
// ap_fixed / ap_ufixed / ap_int / ap_uint type (also of the ap_fixed_base and
// ap_int_base that arithmetic expressions return).
template <int W, int I, bool S>
struct fixed_info_base {
    static const int width = W;
    static const int iwidth = I;
    static const int frac = W - I;
    static const bool is_signed = S;
};

template <class T>
struct fixed_info;

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

// bits_for<N>::value: bits of an unsigned integer holding N (at least 1).
template <unsigned long long N>
struct bits_for {
    static const int value = 1 + bits_for<(N >> 1)>::value;
};
template <>
struct bits_for<1ULL> {
    static const int value = 1;
};
template <>
struct bits_for<0ULL> {
    static const int value = 1;
};

// ---- raw integers ---------------------------------------------------------------------

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

// Two's-complement raw integer of an ap_fixed / ap_ufixed (W <= 64), sign-extended
// for signed types (an ap_ufixed<64,...> with its top bit set comes back negative).
template <class T>
long long raw_bits(const T& x) {
    #pragma HLS INLINE
    return (long long)raw_int(x).to_int64();
}

// The value whose raw integer is raw (the low W bits of it; sign-extended to W > 64).
template <class T>
T from_raw(long long raw) {
    #pragma HLS INLINE
    T y;
    set_raw(y, ap_int<64>(raw));
    return y;
}

// Element i of a constant table stored as raw integers of T. In synthesis this is
// from_raw on a constant (folded away); in C simulation each table is converted
// once and cached, so the per-event loops do plain ap_fixed arithmetic.
template <class T, unsigned N, const long long (&TABLE)[N]>
T table_value(unsigned i) {
    #pragma HLS INLINE
#ifndef __SYNTHESIS__
    static T cache[N];
    static bool ready = false;
    if (!ready) {
        for (unsigned j = 0; j < N; j++) cache[j] = from_raw<T>(TABLE[j]);
        ready = true;
    }
    return cache[i];
#else
    return from_raw<T>(TABLE[i]);
#endif
}

// ---- exactly rounded division -----------------------------------------------------------

// The real value num * 2^-NUM_FRAC / den (den > 0) assigned to res_T as if it were
// computed exactly: the floor quotient on res_T's grid is extended by two more
// fraction bits, the first remainder bit (qb = 2*rem >= den) and a sticky bit for
// the rest (2*rem != (qb ? den : 0)), and that ap_fixed with frac(res_T) + 2
// fraction bits is assigned to res_T, so ap_fixed applies res_T's rounding, then
// its overflow. Bit-identical to trigc.fixed.assign_ratio. NUM_FRAC may be negative.
template <class res_T, int NUM_W, int NUM_FRAC, int DEN_W>
res_T divide_exact(ap_int<NUM_W> num, ap_uint<DEN_W> den) {
    #pragma HLS INLINE
    const int F = fixed_info<res_T>::frac;
    // Bring the quotient onto res_T's grid: scale the numerator up, or the denominator.
    const int UP = F >= NUM_FRAC ? F - NUM_FRAC : 0;
    const int DN = F >= NUM_FRAC ? 0 : NUM_FRAC - F;
    const int NW = NUM_W + UP;
    const int DW = DEN_W + DN;

    ap_int<NW> n = num;
    n <<= UP;
    ap_uint<DW> d = den;
    d <<= DN;

    const bool neg = n < 0;
    ap_uint<NW> mag;
    if (neg) {
        mag = -n;  // -(-2^(NW-1)) = 2^(NW-1) still fits NW unsigned bits
    } else {
        mag = n;
    }
    ap_uint<NW> uq = mag / d;
    ap_uint<DW> ur = mag % d;

    // Floor quotient q and remainder r in [0, d).
    ap_int<NW> q;
    ap_uint<DW> r;
    if (!neg) {
        q = uq;
        r = ur;
    } else if (ur == 0) {
        q = -uq;
        r = 0;
    } else {
        q = -uq - 1;
        r = d - ur;
    }

    ap_uint<DW + 1> r2 = r;
    r2 <<= 1;
    const bool qb = r2 >= d;
    const bool sticky = qb ? (r2 != d) : (r != 0);

    ap_int<NW + 2> e = q;
    e <<= 2;
    e[1] = qb;
    e[0] = sticky;

    ap_fixed<NW + 2, NW - F> ext;  // F + 2 fraction bits
    set_raw(ext, e);
    res_T y;
    y = ext;
    return y;
}

}  // namespace trigc

// ---- C-simulation tracing ----------------------------------------------------------------
//
// TRIGC_TRACE(offset, arr, n) copies raw_bits(arr[i]) for i < n to
// trigc::trace_out[offset + i] when trigc::trace_out is non-null and offset is not
// negative (a layer wider than 64 bits is not traced: the glue emits no call for it,
// and a negative offset never writes before the buffer). Active only when
// TRIGC_TRACE_ENABLED is defined and __SYNTHESIS__ is not; trace_out itself is
// defined by the C-simulation bridge that enables tracing.
#ifndef __SYNTHESIS__
namespace trigc {
extern long long* trace_out;
}  // namespace trigc
#endif

#if defined(TRIGC_TRACE_ENABLED) && !defined(__SYNTHESIS__)
#define TRIGC_TRACE(offset, arr, n)                                              \
    do {                                                                         \
        if (::trigc::trace_out && (long long)(offset) >= 0) {                    \
            for (long long trigc_trace_i_ = 0; trigc_trace_i_ < (long long)(n);  \
                 ++trigc_trace_i_) {                                             \
                ::trigc::trace_out[(offset) + trigc_trace_i_] =                  \
                    ::trigc::raw_bits((arr)[trigc_trace_i_]);                    \
            }                                                                    \
        }                                                                        \
    } while (0)
#else
#define TRIGC_TRACE(offset, arr, n) \
    do {                            \
    } while (0)
#endif

#endif  // TRIGC_COMMON_H_

// trigc kernel library: common helpers.
//
// The kernels are written once for both number libraries: Xilinx ap_fixed (Vitis
// HLS, the default) and Algorithmic C ac_fixed (Catapult HLS, when TRIGC_AC_TYPES is
// defined before the first kernel header, as a Catapult project's defines.h does).
// trigc_types_ap.h / trigc_types_ac.h give each library's spelling of the few things
// that differ: the integer and fixed types (int_t, uint_t, fixed_t), fixed_info,
// raw-bit access (raw_int, set_raw) and the tool pragmas (TRIGC_VITIS, TRIGC_CATAPULT).
// Everything else here (raw_bits, from_raw, table_value, divide_exact, the tracing
// hook) is shared. Everything is synthesizable except the tracing hook, which
// compiles to nothing unless TRIGC_TRACE_ENABLED is defined outside synthesis.
#ifndef TRIGC_COMMON_H_
#define TRIGC_COMMON_H_

// One pragma per tool, each expanding to nothing for the other tool:
// TRIGC_VITIS(HLS UNROLL) inside a loop body is `#pragma HLS UNROLL`;
// TRIGC_CATAPULT(hls_unroll yes) before a loop is `#pragma hls_unroll yes`.
#define TRIGC_PRAGMA(text) _Pragma(#text)

namespace trigc {

// fixed_info<T>: width, iwidth, frac (fraction bits, W - I) and is_signed of a
// fixed-point or integer type; each library's header specializes it for its types.
template <int W, int I, bool S>
struct fixed_info_base {
    static const int width = W;
    static const int iwidth = I;
    static const int frac = W - I;
    static const bool is_signed = S;
};

template <class T>
struct fixed_info;

}  // namespace trigc

#ifdef TRIGC_AC_TYPES
#include "trigc_types_ac.h"
#else
#include "trigc_types_ap.h"
#endif

namespace trigc {

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

// Two's-complement raw integer of a fixed-point or integer value (W <= 64), sign-extended
// for signed types (an unsigned 64-bit type with its top bit set comes back negative).
template <class T>
long long raw_bits(const T& x) {
    TRIGC_VITIS(HLS INLINE)
    return (long long)raw_int(x).to_int64();
}

// The value whose raw integer is raw (the low W bits of it; sign-extended to W > 64).
template <class T>
T from_raw(long long raw) {
    TRIGC_VITIS(HLS INLINE)
    T y;
    set_raw(y, int_t<64>(raw));
    return y;
}

// Element i of a constant table stored as raw integers of T. In synthesis this is
// from_raw on a constant (folded away); in C simulation each table is converted
// once and cached, so the per-event loops do plain fixed-point arithmetic.
template <class T, unsigned N, const long long (&TABLE)[N]>
T table_value(unsigned i) {
    TRIGC_VITIS(HLS INLINE)
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
// the rest (2*rem != (qb ? den : 0)), and that fixed value with frac(res_T) + 2
// fraction bits is assigned to res_T, so the library applies res_T's rounding, then
// its overflow. Bit-identical to trigc.fixed.assign_ratio. NUM_FRAC may be negative.
template <class res_T, int NUM_W, int NUM_FRAC, int DEN_W>
res_T divide_exact(int_t<NUM_W> num, uint_t<DEN_W> den) {
    TRIGC_VITIS(HLS INLINE)
    const int F = fixed_info<res_T>::frac;
    // Bring the quotient onto res_T's grid: scale the numerator up, or the denominator.
    const int UP = F >= NUM_FRAC ? F - NUM_FRAC : 0;
    const int DN = F >= NUM_FRAC ? 0 : NUM_FRAC - F;
    const int NW = NUM_W + UP;
    const int DW = DEN_W + DN;

    int_t<NW> n = num;
    n <<= UP;
    uint_t<DW> d = den;
    d <<= DN;

    const bool neg = n < 0;
    uint_t<NW> mag;
    if (neg) {
        mag = -n;  // -(-2^(NW-1)) = 2^(NW-1) still fits NW unsigned bits
    } else {
        mag = n;
    }
    uint_t<NW> uq = mag / d;
    uint_t<DW> ur = mag % d;

    // Floor quotient q and remainder r in [0, d).
    int_t<NW> q;
    uint_t<DW> r;
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

    uint_t<DW + 1> r2 = r;
    r2 <<= 1;
    const bool qb = r2 >= d;
    const bool sticky = qb ? (r2 != d) : (r != 0);

    int_t<NW + 2> e = q;
    e <<= 2;
    e[1] = qb;
    e[0] = sticky;

    fixed_t<NW + 2, NW - F> ext;  // F + 2 fraction bits
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

// trigc kernel library: lookup-table activations and softmax.
//
// A table is indexed by the raw integer of its input, exactly as the emulator
// (trigc.ir.ops.LutAttrs) does:
//   index = (clamp(raw, index_low, index_low + (n_table << shift) - 1) - index_low) >> shift
//
// lut      CONFIG_T: n, n_table, static const long long index_low, shift;
//          table[n_table] (raw integers of res_T).                    y[i] = table[index(raw(x[i]))]
// softmax  CONFIG_T: n_rows, n_cls; typedefs diff_t, exp_t, sum_t, inv_t;
//          exp_index_low, exp_shift, n_exp, exp_table[n_exp] (raw integers of exp_t);
//          inv_index_low, inv_shift, n_inv, inv_table[n_inv] (raw integers of inv_t).
//          Per row: m = max(x); d = x - m (diff_t, exact, frac(diff_t) = frac(data_T));
//          e = exp_table[index(raw(d))]; s = sum e (sum_t, exact, frac(sum_t) = frac(exp_t));
//          inv = inv_table[index(raw(s))]; y = e * inv (exact product assigned to res_T).
// softmax_exact  CONFIG_T: n_rows, n_cls, exp_bits (G), sum_bits, n_chunks,
//          chunk_shift[n_chunks], chunk_size[n_chunks], chunk_offset[n_chunks],
//          n_exp, exp_table[n_exp] (raw integers, G fraction bits); typedef diff_t
//          (unsigned, frac(diff_t) = frac(data_T)). Per row: r = raw(max(x) - x);
//          e = product over chunks j of exp_table[offset_j + c_j], c_j = (r >> shift_j) &
//          (size_j - 1), the last chunk min(r >> shift, size - 1) instead, each product
//          rounded half up to G fraction bits; s = sum e; y = e / s exactly rounded to
//          res_T (divide_exact), as trigc.ops.softmax.softmax_exact.
#ifndef TRIGC_LUT_H_
#define TRIGC_LUT_H_

#include "trigc_common.h"

// Loop labels name loops for Vitis HLS; g++ -Wall would call them unused.
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-label"
#endif

namespace trigc {

// The table index of raw integer `raw`.
template <unsigned N_TABLE, unsigned SHIFT>
unsigned lut_index(long long raw, long long index_low) {
    TRIGC_VITIS(HLS INLINE)
    const long long top = index_low + ((long long)N_TABLE << SHIFT) - 1;
    long long clamped = raw;
    if (clamped < index_low) clamped = index_low;
    if (clamped > top) clamped = top;
    return (unsigned)((clamped - index_low) >> SHIFT);
}

template <class data_T, class res_T, class CONFIG_T>
void lut(const data_T x[CONFIG_T::n], res_T y[CONFIG_T::n]) {
    TRIGC_VITIS(HLS INLINE)
    TRIGC_CATAPULT(hls_unroll yes)
LutLoop:
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        TRIGC_VITIS(HLS UNROLL)
        const unsigned idx =
            lut_index<CONFIG_T::n_table, CONFIG_T::shift>(raw_bits(x[i]), CONFIG_T::index_low);
        y[i] = from_raw<res_T>(CONFIG_T::table[idx]);
    }
}

template <class data_T, class res_T, class CONFIG_T>
void softmax(const data_T x[CONFIG_T::n_rows * CONFIG_T::n_cls],
             res_T y[CONFIG_T::n_rows * CONFIG_T::n_cls]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::diff_t diff_t;
    typedef typename CONFIG_T::exp_t exp_t;
    typedef typename CONFIG_T::sum_t sum_t;
    typedef typename CONFIG_T::inv_t inv_t;
    TRIGC_CATAPULT(hls_unroll yes)
SoftmaxRow:
    for (unsigned row = 0; row < CONFIG_T::n_rows; row++) {
        TRIGC_VITIS(HLS UNROLL)
        const unsigned base = row * CONFIG_T::n_cls;

        data_T m = x[base];
        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxMax:
        for (unsigned i = 1; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            if (x[base + i] > m) m = x[base + i];
        }

        exp_t e[CONFIG_T::n_cls];
        TRIGC_VITIS(HLS ARRAY_PARTITION variable=e complete)
        sum_t s = 0;
        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxExp:
        for (unsigned i = 0; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            diff_t d = x[base + i] - m;
            e[i] = from_raw<exp_t>(CONFIG_T::exp_table[
                lut_index<CONFIG_T::n_exp, CONFIG_T::exp_shift>(raw_bits(d),
                                                                CONFIG_T::exp_index_low)]);
            s += e[i];
        }

        const inv_t inv = from_raw<inv_t>(CONFIG_T::inv_table[
            lut_index<CONFIG_T::n_inv, CONFIG_T::inv_shift>(raw_bits(s),
                                                            CONFIG_T::inv_index_low)]);
        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxNorm:
        for (unsigned i = 0; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            y[base + i] = e[i] * inv;
        }
    }
}

// e = round(exp(-r 2^-frac(data_T)) 2^G) from the chunk tables (softmax_exact).
template <class CONFIG_T>
uint_t<CONFIG_T::exp_bits + 1> exp_chunked(long long r) {
    TRIGC_VITIS(HLS INLINE)
    typedef uint_t<CONFIG_T::exp_bits + 1> exp_t;
    typedef uint_t<2 * CONFIG_T::exp_bits + 2> prod_t;
    exp_t e = 0;
    TRIGC_CATAPULT(hls_unroll yes)
ExpChunk:
    for (unsigned j = 0; j < CONFIG_T::n_chunks; j++) {
        TRIGC_VITIS(HLS UNROLL)
        long long c = r >> CONFIG_T::chunk_shift[j];
        if (j + 1 == CONFIG_T::n_chunks) {
            if (c > (long long)CONFIG_T::chunk_size[j] - 1) c = CONFIG_T::chunk_size[j] - 1;
        } else {
            c &= (long long)CONFIG_T::chunk_size[j] - 1;
        }
        const exp_t t = (unsigned long long)CONFIG_T::exp_table[CONFIG_T::chunk_offset[j] + c];
        if (j == 0) {
            e = t;
        } else {
            prod_t p = e;
            p *= t;
            p += prod_t(1) << (CONFIG_T::exp_bits - 1);
            e = p >> CONFIG_T::exp_bits;
        }
    }
    return e;
}

template <class data_T, class res_T, class CONFIG_T>
void softmax_exact(const data_T x[CONFIG_T::n_rows * CONFIG_T::n_cls],
                   res_T y[CONFIG_T::n_rows * CONFIG_T::n_cls]) {
    TRIGC_VITIS(HLS INLINE)
    typedef typename CONFIG_T::diff_t diff_t;
    typedef uint_t<CONFIG_T::exp_bits + 1> exp_t;
    typedef uint_t<CONFIG_T::sum_bits> sum_t;
    TRIGC_CATAPULT(hls_unroll yes)
SoftmaxExactRow:
    for (unsigned row = 0; row < CONFIG_T::n_rows; row++) {
        TRIGC_VITIS(HLS UNROLL)
        const unsigned base = row * CONFIG_T::n_cls;

        data_T m = x[base];
        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxExactMax:
        for (unsigned i = 1; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            if (x[base + i] > m) m = x[base + i];
        }

        exp_t e[CONFIG_T::n_cls];
        TRIGC_VITIS(HLS ARRAY_PARTITION variable=e complete)
        sum_t s = 0;
        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxExactExp:
        for (unsigned i = 0; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            const diff_t d = m - x[base + i];
            e[i] = exp_chunked<CONFIG_T>(raw_bits(d));
            s += e[i];
        }

        TRIGC_CATAPULT(hls_unroll yes)
    SoftmaxExactDivide:
        for (unsigned i = 0; i < CONFIG_T::n_cls; i++) {
            TRIGC_VITIS(HLS UNROLL)
            y[base + i] = divide_exact<res_T, CONFIG_T::exp_bits + 2, 0, CONFIG_T::sum_bits>(
                int_t<CONFIG_T::exp_bits + 2>(e[i]), s);
        }
    }
}

}  // namespace trigc

#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#pragma GCC diagnostic pop
#endif

#endif  // TRIGC_LUT_H_

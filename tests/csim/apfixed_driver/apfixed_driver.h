// Conversion kernels for tests/csim/test_fixed_vs_apfixed.py.
//
// Every kernel maps one 64-bit payload to the raw W-bit pattern of its result:
//   from_double<T, ...>(bits of a double x)   ->  T y = x;    y.range(W-1, 0)
//   from_fixed<Src, T, ...>(raw source bits)  ->  T y; y = src; y.range(W-1, 0)
// T and Src are spelled by trigc.fixed.to_cpp(); the remaining template
// arguments restate the type the Python side means, and a static_assert checks
// that the spelling denotes exactly that type. The test generates one table of
// kernel pointers per run and links it with driver_main.cpp.
#ifndef TRIGC_APFIXED_DRIVER_H
#define TRIGC_APFIXED_DRIVER_H

#include <ap_fixed.h>

#include <cstdint>
#include <cstring>

typedef uint64_t (*conv_fn)(uint64_t);

template <class T>
struct fx_signed;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fx_signed<ap_fixed<W, I, Q, O, N> > {
  static const bool value = true;
  static const int n_bits = N;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct fx_signed<ap_ufixed<W, I, Q, O, N> > {
  static const bool value = false;
  static const int n_bits = N;
};

template <class T, bool S, int W, int I, ap_q_mode Q, ap_o_mode O>
struct spelled_as {
  static const bool value = fx_signed<T>::value == S && T::width == W && T::iwidth == I &&
                            T::qmode == Q && T::omode == O && fx_signed<T>::n_bits == 0;
};

// The W-bit pattern of y, zero-extended to 64 bits (W <= 64).
template <class T>
inline uint64_t raw_bits(const T& y) {
  ap_uint<T::width> b = y.range(T::width - 1, 0);
  return (uint64_t)b.to_uint64();
}

// C++: T y = (double)x;
template <class T, bool S, int W, int I, ap_q_mode Q, ap_o_mode O>
uint64_t from_double(uint64_t payload) {
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_cpp() spells a different type");
  static_assert(W <= 64, "results are returned in 64 bits");
  double x;
  std::memcpy(&x, &payload, sizeof x);
  T y = x;
  return raw_bits(y);
}

// C++: src.range(W2-1, 0) = raw;  T y;  y = src;
template <class Src, bool S2, int W2, int I2, class T, bool S, int W, int I, ap_q_mode Q,
          ap_o_mode O>
uint64_t from_fixed(uint64_t payload) {
  static_assert(spelled_as<Src, S2, W2, I2, AP_TRN, AP_WRAP>::value,
                "to_cpp() spells a different source type");
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_cpp() spells a different type");
  static_assert(W <= 64 && W2 <= 64, "payloads and results travel in 64 bits");
  Src src;
  src.range(W2 - 1, 0) = ap_uint<W2>((ap_ulong)payload);
  T y;
  y = src;
  return raw_bits(y);
}

#endif  // TRIGC_APFIXED_DRIVER_H

// Kernels for tests/csim/test_fixed_vs_acfixed.py (Algorithmic C ac_fixed.h).
//
// Every kernel reads two 64-bit payload words and writes five result words:
//   from_double<T, ...>:         T y = (double)in[0];                 out[0] = y's W bits
//   from_fixed<Src, ..., T, ...>: Src s = raw in[0]; T y; y = s;      out[0] = y's W bits
//   from_moded_fixed<...>:        the same, for a source type with rounding/overflow modes
//   binary<Op, A, B, T, ...>:     A a = raw in[0]; B b = raw in[1]; R r = a OP b; T y; y = r;
//   negate<A, T, ...>:            A a = raw in[0]; R r = -a; T y; y = r;
// For the arithmetic kernels out[0] = y's bits, out[1..3] = r sign-extended to 192
// bits, out[4] = meta<R>() (R's width, integer bits and signedness).
// Types are spelled by trigc.fixed.to_ac(); the remaining template arguments restate
// the type the Python side means, and a static_assert checks the spelling denotes it.
#ifndef TRIGC_ACFIXED_DRIVER_H
#define TRIGC_ACFIXED_DRIVER_H

#include <ac_fixed.h>

#include <cstdint>
#include <cstring>

typedef void (*conv_fn)(const uint64_t* in, uint64_t* out);

template <class T, bool S, int W, int I, ac_q_mode Q, ac_o_mode O>
struct spelled_as {
  static const bool value = T::sign == S && T::width == W && T::i_width == I &&
                            T::q_mode == Q && T::o_mode == O;
};

// The W-bit pattern of y, zero-extended to 64 bits (W <= 64).
template <class T>
inline uint64_t raw_bits(const T& y) {
  ac_int<T::width, false> b = y.template slc<T::width>(0);
  return (uint64_t)b.to_uint64();
}

// A value of T whose W-bit pattern is the low W bits of payload.
template <class T>
inline T from_raw(uint64_t payload) {
  T x;
  x.set_slc(0, ac_int<T::width, false>((Ulong)payload));
  return x;
}

// r's value sign- (or zero-) extended to 192 bits, in three words.
template <class R>
inline void wide_bits(const R& r, uint64_t* out) {
  ac_int<192, true> ext = r.template slc<R::width>(0);
  for (int i = 0; i < 3; ++i) out[i] = (uint64_t)ext.template slc<64>(64 * i).to_uint64();
}

template <class R>
inline uint64_t meta() {
  return (uint64_t)R::width | ((uint64_t)(R::i_width + 32768) << 16) | ((uint64_t)R::sign << 32);
}

// C++: T y = (double)x;
template <class T, bool S, int W, int I, ac_q_mode Q, ac_o_mode O>
void from_double(const uint64_t* in, uint64_t* out) {
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_ac() spells a different type");
  static_assert(W <= 64, "results are returned in 64 bits");
  double x;
  std::memcpy(&x, &in[0], sizeof x);
  T y = x;
  out[0] = raw_bits(y);
}

// C++: Src src = raw;  T y;  y = src;
template <class Src, bool S2, int W2, int I2, class T, bool S, int W, int I, ac_q_mode Q,
          ac_o_mode O>
void from_fixed(const uint64_t* in, uint64_t* out) {
  static_assert(spelled_as<Src, S2, W2, I2, AC_TRN, AC_WRAP>::value,
                "to_ac() spells a different source type");
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_ac() spells a different type");
  static_assert(W <= 64 && W2 <= 64, "payloads and results travel in 64 bits");
  Src src = from_raw<Src>(in[0]);
  T y;
  y = src;
  out[0] = raw_bits(y);
}

// C++: Src src = raw;  T y;  y = src;  with a source that has its own modes
template <class Src, bool S2, int W2, int I2, ac_q_mode Q2, ac_o_mode O2, class T, bool S, int W,
          int I, ac_q_mode Q, ac_o_mode O>
void from_moded_fixed(const uint64_t* in, uint64_t* out) {
  static_assert(spelled_as<Src, S2, W2, I2, Q2, O2>::value,
                "to_ac() spells a different source type");
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_ac() spells a different type");
  static_assert(W <= 64 && W2 <= 64, "payloads and results travel in 64 bits");
  Src src = from_raw<Src>(in[0]);
  T y;
  y = src;
  out[0] = raw_bits(y);
}

struct op_add {
  template <class A, class B>
  static auto apply(const A& a, const B& b) -> decltype(a + b) { return a + b; }
};
struct op_sub {
  template <class A, class B>
  static auto apply(const A& a, const B& b) -> decltype(a - b) { return a - b; }
};
struct op_mul {
  template <class A, class B>
  static auto apply(const A& a, const B& b) -> decltype(a * b) { return a * b; }
};

template <class R, class T>
inline void arith_result(const R& r, uint64_t* out) {
  static_assert(R::width <= 190, "exact results are returned in 192 bits");
  T y;
  y = r;
  out[0] = raw_bits(y);
  wide_bits(r, out + 1);
  out[4] = meta<R>();
}

// C++: A a = raw0; B b = raw1; auto r = a OP b; T y; y = r;
template <class Op, class A, class B, class T, bool S, int W, int I, ac_q_mode Q, ac_o_mode O>
void binary(const uint64_t* in, uint64_t* out) {
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_ac() spells a different type");
  static_assert(W <= 64 && A::width <= 64 && B::width <= 64, "operands travel in 64 bits");
  A a = from_raw<A>(in[0]);
  B b = from_raw<B>(in[1]);
  arith_result<decltype(Op::apply(a, b)), T>(Op::apply(a, b), out);
}

// C++: A a = raw0; auto r = -a; T y; y = r;
template <class A, class T, bool S, int W, int I, ac_q_mode Q, ac_o_mode O>
void negate(const uint64_t* in, uint64_t* out) {
  static_assert(spelled_as<T, S, W, I, Q, O>::value, "to_ac() spells a different type");
  static_assert(W <= 64 && A::width <= 64, "operands travel in 64 bits");
  A a = from_raw<A>(in[0]);
  arith_result<decltype(-a), T>(-a, out);
}

#endif  // TRIGC_ACFIXED_DRIVER_H

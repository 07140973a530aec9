// trigc kernel library: streaming (io_stream) processes and the C-sim FIFO scheduler.
//
// A streaming design passes every tensor as a FIFO of words, one word per pixel
// (word<T, N>: the N channels of one pixel, channels-last). Each layer is a process
// object whose step() reads at most one word from each input FIFO and writes at most
// one word to each output FIFO; reads() and writes() say, before the step, whether
// it will (they depend only on the process's position in the image, never on data).
// Every process runs `steps` steps per image and then starts the next image.
//
// The same step() serves both worlds:
//  - synthesis (and Vitis csim): the top function is a DATAFLOW region; each process
//    is a loop of `steps` pipelined steps over hls::stream (blocking reads);
//  - trigc's C-sim: trigc::fifo (bounded, records its peak occupancy) and a cycle
//    scheduler in the generated bridge that steps a process only when its inputs hold
//    a word and its outputs have room, one step per `ii` cycles, so FIFO depths,
//    stalls and deadlocks are simulated, not assumed.
//
// The arithmetic is the array kernels' (dense, the element-wise ops, LUTs, softmax,
// gather) applied to one word, and for pooling the same exact max / exact average
// (divide_exact) as trigc_pool.h, so stream and parallel designs are bit-identical.
//
// Processes (CONFIG_T members in each comment):
//  zeropad_process  in_h, in_w, n_chan, pad_top, pad_left, pad_bottom, pad_right
//  window_process   in_h, in_w (the raster stepped over), n_chan, n_out, kernel_h,
//                   kernel_w, stride_h, stride_w, out_h, out_w, pad_top, pad_left,
//                   pad_bottom, pad_right, mode (0 conv, 1 max, 2 avg),
//                   count_include_pad; accum_t (avg); KERNEL::apply(window, y) (conv)
//  reduce_process   n_spatial, n_chan, mode (0 max, 1 avg, 2 sum); accum_t (avg, sum)
//  gather_process   p_in, c_in, p_out, c_out; KERNEL::apply(x[p_in*c_in], y[p_out*c_out])
//  pixel_process    pixels, c_in, c_out; KERNEL::apply(x, y) on one word
//  binary_process   pixels, c_a, c_b, c_out; KERNEL::apply(a, b, y) on one word each
//  append_process   p_a, p_b, n_chan (Concat on the first axis)
//  clone_process    pixels, n_chan
#ifndef TRIGC_STREAM_H_
#define TRIGC_STREAM_H_

#include "trigc_common.h"
#include "trigc_dense.h"

#ifndef __SYNTHESIS__
#include <cstdio>
#include <deque>
#endif

namespace trigc {

// One stream word: the N elements of one pixel.
template <class T, unsigned N>
struct word {
    T data[N];
    T &operator[](unsigned i) { return data[i]; }
    const T &operator[](unsigned i) const { return data[i]; }
};

#ifndef __SYNTHESIS__
// The C-sim FIFO: bounded by `depth` (0: unbounded), with its peak occupancy.
template <class T>
class fifo {
   public:
    fifo() : name(""), depth(0), peak(0) {}
    void setup(const char *n, unsigned long long d) {
        name = n;
        depth = d;
        peak = 0;
        q.clear();
    }
    bool empty() const { return q.empty(); }
    bool full() const { return depth != 0 && q.size() >= depth; }
    unsigned long long size() const { return q.size(); }
    T read() {
        T v = q.front();
        q.pop_front();
        return v;
    }
    void write(const T &v) {
        q.push_back(v);
        if (q.size() > peak) peak = q.size();
    }
    const char *name;
    unsigned long long depth;
    unsigned long long peak;

   private:
    std::deque<T> q;
};
#endif

// ---- the padded raster ------------------------------------------------------------------

// A position (r, c) in the raster of the input framed by the padding; inside() when
// it is an input pixel (a step there reads a word), next() moves on in row-major
// order and wraps to the next image.
template <class CONFIG_T>
struct raster {
    static const unsigned hp = CONFIG_T::pad_top + CONFIG_T::in_h + CONFIG_T::pad_bottom;
    static const unsigned wp = CONFIG_T::pad_left + CONFIG_T::in_w + CONFIG_T::pad_right;
    static const unsigned steps = hp * wp;
    unsigned r, c;
    raster() : r(0), c(0) {}
    bool inside() const {
        return r >= CONFIG_T::pad_top && r < CONFIG_T::pad_top + CONFIG_T::in_h &&
               c >= CONFIG_T::pad_left && c < CONFIG_T::pad_left + CONFIG_T::in_w;
    }
    void next() {
        if (++c == wp) {
            c = 0;
            if (++r == hp) r = 0;
        }
    }
};

// ---- zero padding -----------------------------------------------------------------------

template <class data_T, class CONFIG_T>
struct zeropad_process {
    typedef word<data_T, CONFIG_T::n_chan> in_word;
    typedef word<data_T, CONFIG_T::n_chan> out_word;
    static const unsigned steps = raster<CONFIG_T>::steps;
    raster<CONFIG_T> pos;
    bool reads() const { return pos.inside(); }
    bool writes() const { return true; }
    template <class IN, class OUT>
    void step(IN &in, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        out_word y;
        if (reads()) {
            y = in.read();
        } else {
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                y[k] = 0;
            }
        }
        out.write(y);
        pos.next();
    }
};

// ---- sliding windows: Conv, MaxPool, AvgPool ------------------------------------------

template <class data_T, class res_T, class CONFIG_T, class KERNEL>
struct window_process {
    typedef word<data_T, CONFIG_T::n_chan> in_word;
    typedef word<res_T, CONFIG_T::n_out> out_word;
    static const unsigned wp = raster<CONFIG_T>::wp;
    static const unsigned kh = CONFIG_T::kernel_h;
    static const unsigned kw = CONFIG_T::kernel_w;
    static const unsigned taps = kh * kw;
    static const unsigned steps = raster<CONFIG_T>::steps;
    // the line buffer: the last kernel_h rows of the raster (row r in slot r % kh),
    // with whether each position lies inside the input (pooling ignores the others)
    data_T buf[kh][wp][CONFIG_T::n_chan];
    bool valid[kh][wp];
    raster<CONFIG_T> pos;
    bool reads() const { return pos.inside(); }
    bool writes() const {
        const unsigned r = pos.r, c = pos.c;
        if (r + 1 < kh || c + 1 < kw) return false;
        const unsigned rr = r + 1 - kh, cc = c + 1 - kw;
        return rr % CONFIG_T::stride_h == 0 && cc % CONFIG_T::stride_w == 0 &&
               rr / CONFIG_T::stride_h < CONFIG_T::out_h &&
               cc / CONFIG_T::stride_w < CONFIG_T::out_w;
    }
    template <class IN, class OUT>
    void step(IN &in, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        const bool rd = reads(), wr = writes();
        const unsigned r = pos.r, c = pos.c;
        const unsigned slot = r % kh;
        if (rd) {
            in_word x = in.read();
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                buf[slot][c][k] = x[k];
            }
        } else {
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                buf[slot][c][k] = 0;
            }
        }
        valid[slot][c] = rd;
        if (wr) {
            // window tap (i, j), channel k, tap-major as the dense kernel expects
            data_T win[taps * CONFIG_T::n_chan];
            bool inside[taps];
            TRIGC_VITIS(HLS ARRAY_PARTITION variable=win complete)
            for (unsigned i = 0; i < kh; i++) {
                TRIGC_VITIS(HLS UNROLL)
                const unsigned row = (r + 1 - kh + i) % kh;
                for (unsigned j = 0; j < kw; j++) {
                    TRIGC_VITIS(HLS UNROLL)
                    const unsigned col = c + 1 - kw + j;
                    inside[i * kw + j] = valid[row][col];
                    for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                        TRIGC_VITIS(HLS UNROLL)
                        win[(i * kw + j) * CONFIG_T::n_chan + k] = buf[row][col][k];
                    }
                }
            }
            out_word y;
            KERNEL::apply(win, inside, y.data);
            out.write(y);
        }
        pos.next();
    }
};

// Conv: the dense kernel of MULT_CONFIG over the flattened window (padding, if any,
// was inserted upstream by a zeropad_process, so every tap is inside).
template <class data_T, class res_T, class MULT_CONFIG, unsigned TAPS>
struct conv_window_kernel {
    static void apply(const data_T *win, const bool *inside, res_T *y) {
        TRIGC_VITIS(HLS INLINE)
        (void)inside;
        dense<data_T, res_T, MULT_CONFIG>(win, y);
    }
};

// MaxPool: the largest inside element of the window per channel (padding ignored).
template <class data_T, class res_T, unsigned TAPS, unsigned N_CHAN>
struct max_window_kernel {
    static void apply(const data_T *win, const bool *inside, res_T *y) {
        TRIGC_VITIS(HLS INLINE)
        for (unsigned k = 0; k < N_CHAN; k++) {
            TRIGC_VITIS(HLS UNROLL)
            data_T best = 0;
            bool any = false;
            for (unsigned t = 0; t < TAPS; t++) {
                TRIGC_VITIS(HLS UNROLL)
                const data_T v = win[t * N_CHAN + k];
                if (inside[t] && (!any || v > best)) best = v;
                any = any || inside[t];
            }
            y[k] = best;
        }
    }
};

// AvgPool: the exact sum of the inside elements divided by the window size
// (count_include_pad) or by the inside count, rounded into res_T exactly.
template <class data_T, class res_T, class accum_t, unsigned TAPS, unsigned N_CHAN,
          bool COUNT_INCLUDE_PAD>
struct avg_window_kernel {
    static void apply(const data_T *win, const bool *inside, res_T *y) {
        TRIGC_VITIS(HLS INLINE)
        const int ACC_W = fixed_info<accum_t>::width;
        const int DEN_W = bits_for<TAPS>::value;
        for (unsigned k = 0; k < N_CHAN; k++) {
            TRIGC_VITIS(HLS UNROLL)
            accum_t sum = 0;
            unsigned count = 0;
            for (unsigned t = 0; t < TAPS; t++) {
                TRIGC_VITIS(HLS UNROLL)
                if (inside[t]) {
                    sum += win[t * N_CHAN + k];
                    count++;
                }
            }
            const unsigned divisor = COUNT_INCLUDE_PAD ? TAPS : count;
            y[k] = divide_exact<res_T, ACC_W + 1, fixed_info<accum_t>::frac, DEN_W>(
                raw_int(sum), uint_t<DEN_W>(divisor));
        }
    }
};

// ---- global pooling ------------------------------------------------------------------

template <class data_T, class res_T, class CONFIG_T>
struct reduce_process {
    typedef word<data_T, CONFIG_T::n_chan> in_word;
    typedef word<res_T, CONFIG_T::n_chan> out_word;
    typedef typename CONFIG_T::accum_t accum_t;
    static const unsigned steps = CONFIG_T::n_spatial;
    accum_t sum[CONFIG_T::n_chan];
    data_T best[CONFIG_T::n_chan];
    unsigned p;
    reduce_process() : p(0) {}
    bool reads() const { return true; }
    bool writes() const { return p + 1 == steps; }
    template <class IN, class OUT>
    void step(IN &in, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        in_word x = in.read();
        for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
            TRIGC_VITIS(HLS UNROLL)
            if (p == 0) {
                sum[k] = 0;
                best[k] = x[k];
            } else if (x[k] > best[k]) {
                best[k] = x[k];
            }
            sum[k] += x[k];
        }
        if (writes()) {
            const int ACC_W = fixed_info<accum_t>::width;
            const int DEN_W = bits_for<CONFIG_T::n_spatial>::value;
            out_word y;
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                if (CONFIG_T::mode == 0) {
                    y[k] = best[k];
                } else if (CONFIG_T::mode == 1) {
                    y[k] = divide_exact<res_T, ACC_W + 1, fixed_info<accum_t>::frac, DEN_W>(
                        raw_int(sum[k]), uint_t<DEN_W>(CONFIG_T::n_spatial));
                } else {
                    y[k] = sum[k];
                }
            }
            out.write(y);
        }
        p = p + 1 == steps ? 0 : p + 1;
    }
};

// ---- whole-image reordering: Reshape between word sizes, Transpose, Resize --------------

template <class data_T, class res_T, class CONFIG_T, class KERNEL>
struct gather_process {
    typedef word<data_T, CONFIG_T::c_in> in_word;
    typedef word<res_T, CONFIG_T::c_out> out_word;
    static const unsigned steps = CONFIG_T::p_in + CONFIG_T::p_out - 1;
    data_T x[CONFIG_T::p_in * CONFIG_T::c_in];
    res_T y[CONFIG_T::p_out * CONFIG_T::c_out];
    unsigned s;
    gather_process() : s(0) {}
    bool reads() const { return s < CONFIG_T::p_in; }
    bool writes() const { return s + 1 >= CONFIG_T::p_in; }
    template <class IN, class OUT>
    void step(IN &in, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        if (reads()) {
            in_word w = in.read();
            for (unsigned k = 0; k < CONFIG_T::c_in; k++) {
                TRIGC_VITIS(HLS UNROLL)
                x[s * CONFIG_T::c_in + k] = w[k];
            }
        }
        if (s + 1 == CONFIG_T::p_in) KERNEL::apply(x, y);
        if (writes()) {
            const unsigned p = s + 1 - CONFIG_T::p_in;
            out_word w;
            for (unsigned k = 0; k < CONFIG_T::c_out; k++) {
                TRIGC_VITIS(HLS UNROLL)
                w[k] = y[p * CONFIG_T::c_out + k];
            }
            out.write(w);
        }
        s = s + 1 == steps ? 0 : s + 1;
    }
};

// ---- word-by-word processes -------------------------------------------------------------

template <class data_T, class res_T, class CONFIG_T, class KERNEL>
struct pixel_process {
    typedef word<data_T, CONFIG_T::c_in> in_word;
    typedef word<res_T, CONFIG_T::c_out> out_word;
    static const unsigned steps = CONFIG_T::pixels;
    bool reads() const { return true; }
    bool writes() const { return true; }
    template <class IN, class OUT>
    void step(IN &in, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        in_word x = in.read();
        out_word y;
        KERNEL::apply(x.data, y.data);
        out.write(y);
    }
};

template <class a_T, class b_T, class res_T, class CONFIG_T, class KERNEL>
struct binary_process {
    typedef word<a_T, CONFIG_T::c_a> a_word;
    typedef word<b_T, CONFIG_T::c_b> b_word;
    typedef word<res_T, CONFIG_T::c_out> out_word;
    static const unsigned steps = CONFIG_T::pixels;
    bool reads() const { return true; }
    bool writes() const { return true; }
    template <class INA, class INB, class OUT>
    void step(INA &a, INB &b, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        a_word x = a.read();
        b_word z = b.read();
        out_word y;
        KERNEL::apply(x.data, z.data, y.data);
        out.write(y);
    }
};

// Concat on the first axis: the p_a words of a, then the p_b words of b (each element
// assigned to res_T, as the array kernel concat2 does).
template <class a_T, class b_T, class res_T, class CONFIG_T>
struct append_process {
    typedef word<a_T, CONFIG_T::n_chan> a_word;
    typedef word<b_T, CONFIG_T::n_chan> b_word;
    typedef word<res_T, CONFIG_T::n_chan> out_word;
    static const unsigned steps = CONFIG_T::p_a + CONFIG_T::p_b;
    unsigned s;
    append_process() : s(0) {}
    bool reads_a() const { return s < CONFIG_T::p_a; }
    bool writes() const { return true; }
    template <class INA, class INB, class OUT>
    void step(INA &a, INB &b, OUT &out) {
        TRIGC_VITIS(HLS INLINE)
        out_word y;
        if (reads_a()) {
            a_word x = a.read();
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                y[k] = x[k];
            }
        } else {
            b_word x = b.read();
            for (unsigned k = 0; k < CONFIG_T::n_chan; k++) {
                TRIGC_VITIS(HLS UNROLL)
                y[k] = x[k];
            }
        }
        out.write(y);
        s = s + 1 == steps ? 0 : s + 1;
    }
};

template <class data_T, class CONFIG_T>
struct clone_process {
    typedef word<data_T, CONFIG_T::n_chan> in_word;
    static const unsigned steps = CONFIG_T::pixels;
    bool reads() const { return true; }
    bool writes() const { return true; }
    template <class IN, class OUTA, class OUTB>
    void step(IN &in, OUTA &a, OUTB &b) {
        TRIGC_VITIS(HLS INLINE)
        in_word x = in.read();
        a.write(x);
        b.write(x);
    }
};

#ifndef __SYNTHESIS__
// ---- the C-sim scheduler's step rules -----------------------------------------------------
// A process may start a step at cycle t when t >= its next free cycle, each input it
// reads holds a word and each output it writes has room; it is then busy for II cycles.
template <class P, class IN, class OUT>
bool try_step(P &p, IN &in, OUT &out, unsigned long long t, unsigned long long &next,
              unsigned ii) {
    if (t < next) return false;
    if (p.reads() && in.empty()) return false;
    if (p.writes() && out.full()) return false;
    p.step(in, out);
    next = t + ii;
    return true;
}

template <class P, class INA, class INB, class OUT>
bool try_step2(P &p, INA &a, INB &b, OUT &out, unsigned long long t,
               unsigned long long &next, unsigned ii) {
    if (t < next) return false;
    if (p.reads() && (a.empty() || b.empty())) return false;
    if (p.writes() && out.full()) return false;
    p.step(a, b, out);
    next = t + ii;
    return true;
}

template <class P, class INA, class INB, class OUT>
bool try_append(P &p, INA &a, INB &b, OUT &out, unsigned long long t,
                unsigned long long &next, unsigned ii) {
    if (t < next) return false;
    if (p.reads_a() ? a.empty() : b.empty()) return false;
    if (out.full()) return false;
    p.step(a, b, out);
    next = t + ii;
    return true;
}

template <class P, class IN, class OUTA, class OUTB>
bool try_clone(P &p, IN &in, OUTA &a, OUTB &b, unsigned long long t,
               unsigned long long &next, unsigned ii) {
    if (t < next) return false;
    if (in.empty() || a.full() || b.full()) return false;
    p.step(in, a, b);
    next = t + ii;
    return true;
}

// Why a process cannot step (for the deadlock message): the first input it waits
// on (empty) or output it cannot write (full), or "" when it could.
template <class P, class IN, class OUT>
const char *blocked_on(const P &p, const IN &in, const OUT &out, bool &full) {
    if (p.reads() && in.empty()) {
        full = false;
        return in.name;
    }
    if (p.writes() && out.full()) {
        full = true;
        return out.name;
    }
    return "";
}
#endif

}  // namespace trigc

#endif  // TRIGC_STREAM_H_

// Batch server for tests/csim/test_fixed_vs_acfixed.py.
//
// Protocol (native byte order, on stdin/stdout), repeated until EOF:
//   in:  uint32 n; uint32 kernel_id[n]; uint64 payload[n][IN_WORDS]
//   out: uint64 result[n][OUT_WORDS]
// The kernel table (CONV_PARTS, CONV_PART_SIZES, CONV_N_PARTS) is generated per test run.
#include <cstdint>
#include <cstdio>
#include <vector>

enum { IN_WORDS = 2, OUT_WORDS = 5 };
typedef void (*conv_fn)(const uint64_t* in, uint64_t* out);
extern const conv_fn* const CONV_PARTS[];
extern const uint32_t CONV_PART_SIZES[];
extern const uint32_t CONV_N_PARTS;

static bool read_all(void* dst, size_t size, size_t count) {
  return count == 0 || std::fread(dst, size, count, stdin) == count;
}

int main() {
  std::vector<conv_fn> table;
  for (uint32_t p = 0; p < CONV_N_PARTS; ++p)
    for (uint32_t i = 0; i < CONV_PART_SIZES[p]; ++i) table.push_back(CONV_PARTS[p][i]);

  std::vector<uint32_t> ids;
  std::vector<uint64_t> payload, out;
  uint32_t n;
  while (std::fread(&n, sizeof n, 1, stdin) == 1) {
    ids.resize(n);
    payload.resize((size_t)n * IN_WORDS);
    out.assign((size_t)n * OUT_WORDS, 0);
    if (!read_all(ids.data(), sizeof(uint32_t), n) ||
        !read_all(payload.data(), sizeof(uint64_t), (size_t)n * IN_WORDS)) {
      std::fprintf(stderr, "acfixed_driver: truncated batch\n");
      return 2;
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (ids[i] >= table.size()) {
        std::fprintf(stderr, "acfixed_driver: kernel id %u out of range\n", ids[i]);
        return 3;
      }
      table[ids[i]](&payload[(size_t)i * IN_WORDS], &out[(size_t)i * OUT_WORDS]);
    }
    if (n && std::fwrite(out.data(), sizeof(uint64_t), out.size(), stdout) != out.size()) return 4;
    std::fflush(stdout);
  }
  return 0;
}

// Batch server for tests/csim/test_fixed_vs_apfixed.py.
//
// Protocol (native byte order, on stdin/stdout), repeated until EOF:
//   in:  uint32 n; uint32 kernel_id[n]; uint64 payload[n]
//   out: uint64 result[n]          (raw W-bit pattern of each conversion)
// The kernel table (CONV_TABLE, CONV_TABLE_SIZE) is generated per test run.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

typedef uint64_t (*conv_fn)(uint64_t);
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
    payload.resize(n);
    out.resize(n);
    if (!read_all(ids.data(), sizeof(uint32_t), n) ||
        !read_all(payload.data(), sizeof(uint64_t), n)) {
      std::fprintf(stderr, "apfixed_driver: truncated batch\n");
      return 2;
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (ids[i] >= table.size()) {
        std::fprintf(stderr, "apfixed_driver: kernel id %u out of range\n", ids[i]);
        return 3;
      }
      out[i] = table[ids[i]](payload[i]);
    }
    if (n && std::fwrite(out.data(), sizeof(uint64_t), n, stdout) != n) return 4;
    std::fflush(stdout);
  }
  return 0;
}

// The dense-mask prepass (sparse modes 0, 1 and 5, which read atten_mask elements): the planner cannot see
// the mask's contents, so every listed tile is PARTIAL. At run time the mask is scanned on the host and the
// tile lists refined: a tile whose every element is masked is dropped, and a tile with no masked element
// whose rule class is FULL becomes FULL. A user's dense causal mask in mode 0 then costs what mode 2 costs.
//
// Dropping a masked tile is exact only for rows that keep some visible, unmasked score elsewhere: their
// max exceeds -FLT_MAX, so exp(-FLT_MAX - max) is exactly 0. A row whose every computed score is masked
// counts those scores (softmax_sum = their number) unless invalid-line mode is on, so an S1 tile holding
// such a row keeps all its tiles.
#include <cstring>
#include <map>
#include <tuple>

#include "host/ops/flash_attention_score_problem.hpp"
#include "host/schedule/tile_plan.hpp"

namespace cannon {
namespace {

struct MaskView {
  const uint8_t* base;  // element (batch 0, head 0, row 0, col 0)
  MaskStrides st;
};

// Whether row i of batch b keeps a computed, unmasked score (so masked tiles can be dropped around it).
bool row_keeps_a_score(const MaskView& m, int64_t slice, const schedule::BandRule& rule, int64_t i, int64_t s2) {
  const uint8_t* row = m.base + slice + i * m.st.row;
  const int64_t band_lo = std::max<int64_t>(0, i - std::min(rule.pre, s2 + i));
  const int64_t band_hi = std::min<int64_t>(s2, i + std::min(rule.next, s2) + 1);
  for (int64_t j = 0; j < std::min(rule.prefix, s2); ++j) {
    if (!row[j]) return true;
  }
  for (int64_t j = band_lo; j < band_hi; ++j) {
    if (!row[j]) return true;
  }
  return false;
}

// Scans bytes [p, p + n) for a set (non-zero) and a clear (zero) byte, eight at a time: a word has a zero
// byte iff (w - 0x01..01) & ~w & 0x80..80 is non-zero.
void scan_bytes(const uint8_t* p, int64_t n, bool& any_set, bool& any_clear) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  int64_t j = 0;
  for (; j + 8 <= n && !(any_set && any_clear); j += 8) {
    uint64_t w;
    std::memcpy(&w, p + j, sizeof w);
    any_set = any_set || w != 0;
    any_clear = any_clear || ((w - kOnes) & ~w & kHighs) != 0;
  }
  for (; j < n; ++j) (p[j] ? any_set : any_clear) = true;
}

// 1: every element masked, 0: none masked, -1: mixed.
int tile_mask_state(const MaskView& m, int64_t slice, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  bool any_set = false, any_clear = false;
  for (int64_t i = r0; i < r1 && !(any_set && any_clear); ++i) {
    scan_bytes(m.base + slice + i * m.st.row + c0, c1 - c0, any_set, any_clear);
  }
  return any_set && any_clear ? -1 : any_set ? 1 : 0;
}

}  // namespace

RefinedWork refine_work_with_mask(const FaProblem& p, int block_m, int block_n, const std::vector<int32_t>& work,
                                  const std::vector<int32_t>& tiles, const uint8_t* mask, const MaskStrides& st) {
  const MaskView m{mask, st};
  RefinedWork out;
  out.work = work;
  // Heads (or batches) that share a mask slice share the refined list of an S1 tile.
  std::map<std::tuple<int32_t, int64_t, int32_t>, std::pair<int32_t, int32_t>> done;
  for (std::size_t e = 0; e < work.size(); e += kWorkStride) {
    const int32_t b = work[e], n1 = work[e + 1], row0 = work[e + 2], begin = work[e + 3], count = work[e + 4];
    const int64_t slice = b * st.batch + n1 * st.head;
    auto key = std::make_tuple(b, slice, row0);
    auto it = done.find(key);
    if (it == done.end()) {
      const schedule::BandRule& rule = p.masks.rules[b];
      const int64_t s1 = p.seqs.q_len[b], s2 = p.seqs.kv_len[b];
      const int64_t r1 = std::min<int64_t>(row0 + block_m, s1);
      bool can_drop = true;
      for (int64_t i = row0; i < r1 && can_drop && !p.masks.invalid_line; ++i) {
        can_drop = row_keeps_a_score(m, slice, rule, i, s2);
      }
      const int32_t first = static_cast<int32_t>(out.tiles.size());
      for (int32_t t = begin; t < begin + count; ++t) {
        const int64_t c0 = schedule::tile_col0(tiles[t]);
        const int64_t c1 = std::min<int64_t>(c0 + block_n, s2);
        const int state = tile_mask_state(m, slice, row0, r1, c0, c1);
        if (state == 1 && can_drop) {
          ++out.dropped;
          continue;
        }
        const bool full = state == 0 && schedule::classify_tile(rule, row0, r1, c0, c1) == schedule::TileClass::kFull;
        out.full += full ? 1 : 0;
        out.tiles.push_back(full ? tiles[t] & ~1 : tiles[t]);
      }
      it = done.emplace(key, std::make_pair(first, static_cast<int32_t>(out.tiles.size()) - first)).first;
    }
    out.work[e + 3] = it->second.first;
    out.work[e + 4] = it->second.second;
  }
  return out;
}

}  // namespace cannon

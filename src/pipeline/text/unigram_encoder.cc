#include <algorithm>

#include "pipeline/text/sentencepiece_encoders.h"
#include "pipeline/text/utf8.h"

namespace nalar::pipeline {

SentencePieces encode_unigram(const SentencePieceVocab& vocab, std::string_view normalized) {
  SentencePieces out;
  if (normalized.empty()) return out;
  // Best path ending at each byte offset. The arithmetic types follow SentencePiece's
  // optimised encoder exactly (float path scores, piece candidates summed in double) so that
  // ties resolve identically.
  struct Best {
    int id = -1;
    float score = 0;
    int starts_at = -1;
  };
  constexpr float kUnkPenalty = 10.0f;
  const float unk_score = vocab.min_score() - kUnkPenalty;
  const size_t size = normalized.size();
  std::vector<Best> best(size + 1);
  size_t start = 0;
  while (start < size) {
    const float till_here = best[start].score;
    const size_t char_len =
        std::min(std::max<size_t>(1, utf8_sequence_length(normalized.substr(start))), size - start);
    bool has_single_char = false;
    vocab.for_each_prefix(normalized.substr(start), [&](int id, size_t length) {
      const Piece& p = vocab.piece(id);
      if (p.type == PieceType::kUnused) return;
      // User-defined symbols get a bonus so they are always taken whole.
      const double score = p.type == PieceType::kUserDefined
                               ? static_cast<double>(length * vocab.max_score()) - 0.1
                               : static_cast<double>(p.score);
      const double candidate = score + till_here;
      Best& target = best[start + length];
      if (target.starts_at == -1 || candidate > target.score) {
        target.score = static_cast<float>(candidate);
        target.starts_at = static_cast<int>(start);
        target.id = id;
      }
      if (length == char_len) has_single_char = true;
    });
    if (!has_single_char) {
      Best& target = best[start + char_len];
      const float candidate = unk_score + till_here;
      if (target.starts_at == -1 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<int>(start);
        target.id = vocab.unk_id();
      }
    }
    start += char_len;
  }
  for (size_t end = size; end > 0;) {
    const Best& b = best[end];
    const auto begin = static_cast<size_t>(b.starts_at);
    out.emplace_back(normalized.substr(begin, end - begin), b.id);
    end = begin;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace nalar::pipeline

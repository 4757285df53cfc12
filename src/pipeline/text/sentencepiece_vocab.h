// The pieces of a SentencePiece model: ids, types and scores, the lookups the encoders need
// (piece -> id, the pieces prefixing a string, shortest first) and the user-defined symbols.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nalar/status.h"

namespace nalar::pipeline {

enum class PieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Piece {
  std::string text;
  float score = 0;
  PieceType type = PieceType::kNormal;
};

class SentencePieceVocab {
 public:
  // Validates as SentencePiece does: no empty or duplicate pieces, exactly one unknown piece,
  // byte pieces only (and all 256 of them) with byte fallback.
  static Result<SentencePieceVocab> build(std::vector<Piece> pieces, bool byte_fallback);

  int size() const { return static_cast<int>(pieces_.size()); }
  const Piece& piece(int id) const { return pieces_[id]; }
  int unk_id() const { return unk_id_; }
  // Scores over the normal pieces (0 when there are none), for the unigram's unknown penalty.
  float min_score() const { return min_score_; }
  float max_score() const { return max_score_; }

  // Control, unknown and byte pieces first, then the others; unknown text maps to unk_id().
  int piece_to_id(std::string_view text) const;
  // The id of a normal, user-defined or unused piece, -1 when there is none.
  int find_regular(std::string_view text) const;

  // Calls f(id, byte_length) for every normal, user-defined or unused piece that is a prefix of
  // `text`, shortest first.
  template <class F>
  void for_each_prefix(std::string_view text, F&& f) const {
    uint32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      auto it = edges_.find(edge_key(node, static_cast<unsigned char>(text[i])));
      if (it == edges_.end()) return;
      node = it->second;
      if (node_id_[node] >= 0) f(node_id_[node], i + 1);
    }
  }

  // Byte length of the longest user-defined piece prefixing `text`, 0 when none does.
  size_t user_defined_prefix(std::string_view text) const;
  bool has_user_defined() const { return !user_defined_.empty(); }

 private:
  static uint64_t edge_key(uint32_t node, unsigned char byte) {
    return (uint64_t{node} << 8) | byte;
  }

  std::vector<Piece> pieces_;
  std::unordered_map<std::string, int> regular_, reserved_;
  std::unordered_map<uint64_t, uint32_t> edges_;  // byte trie over the regular pieces
  std::vector<int32_t> node_id_;                  // piece id ending at a trie node, or -1
  std::vector<std::string> user_defined_;
  int unk_id_ = -1;
  float min_score_ = 0, max_score_ = 0;
};

}  // namespace nalar::pipeline

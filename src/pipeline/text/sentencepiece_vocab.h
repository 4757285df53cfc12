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
      node = child(node, static_cast<unsigned char>(text[i]));
      if (node == kNoNode) return;
      if (nodes_[node].id >= 0) f(nodes_[node].id, i + 1);
    }
  }

  // Byte length of the longest user-defined piece prefixing `text`, 0 when none does.
  size_t user_defined_prefix(std::string_view text) const;
  bool has_user_defined() const { return has_user_defined_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, int, Hash, std::equal_to<>>;

  // A byte trie over the regular pieces, children stored contiguously and sorted by byte.
  struct TrieNode {
    uint32_t first_edge = 0, edge_count = 0;
    int32_t id = -1;  // the piece ending here, or -1
  };
  struct TrieEdge {
    unsigned char byte;
    uint32_t node;
  };
  static constexpr uint32_t kNoNode = 0xFFFFFFFF;
  uint32_t child(uint32_t node, unsigned char byte) const;
  void build_trie();

  std::vector<Piece> pieces_;
  PieceMap regular_, reserved_;
  std::vector<TrieNode> nodes_;
  std::vector<TrieEdge> edges_;
  uint32_t root_child_[256];  // the root's children by byte: every piece starts there
  bool has_user_defined_ = false;
  int unk_id_ = -1;
  float min_score_ = 0, max_score_ = 0;
};

}  // namespace nalar::pipeline

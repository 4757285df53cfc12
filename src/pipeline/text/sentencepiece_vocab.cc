#include "pipeline/text/sentencepiece_vocab.h"

#include <algorithm>
#include <cfloat>

namespace nalar::pipeline {
namespace {

// "<0x4F>" -> 0x4F; -1 when the text is not a byte piece.
int byte_piece_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int v = 0;
  for (char c : text.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

}  // namespace

Result<SentencePieceVocab> SentencePieceVocab::build(std::vector<Piece> pieces,
                                                     bool byte_fallback) {
  SentencePieceVocab v;
  if (pieces.empty()) return invalid_argument("SentencePiece model has no pieces");
  std::vector<bool> bytes(256, false);
  float min_score = FLT_MAX, max_score = FLT_MIN;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    const int id = static_cast<int>(i);
    const std::string where = "SentencePiece piece " + std::to_string(id);
    if (p.text.empty()) return invalid_argument(where + " is empty");
    const bool regular = p.type == PieceType::kNormal || p.type == PieceType::kUserDefined ||
                         p.type == PieceType::kUnused;
    auto& map = regular ? v.regular_ : v.reserved_;
    if (!map.emplace(p.text, id).second) {
      return invalid_argument(where + " '" + p.text + "' is defined twice");
    }
    if (p.type == PieceType::kUnknown) {
      if (v.unk_id_ >= 0) return invalid_argument(where + ": a second unknown piece");
      v.unk_id_ = id;
    }
    if (p.type == PieceType::kByte) {
      if (!byte_fallback) {
        return invalid_argument(where + " is a byte piece but byte_fallback is off");
      }
      const int b = byte_piece_value(p.text);
      if (b < 0) return invalid_argument(where + " '" + p.text + "' is not a byte piece <0xHH>");
      bytes[b] = true;
    }
    if (p.type == PieceType::kUserDefined) v.has_user_defined_ = true;
    if (p.type == PieceType::kNormal) {
      min_score = std::min(min_score, p.score);
      max_score = std::max(max_score, p.score);
    }
  }
  if (v.unk_id_ < 0) return invalid_argument("SentencePiece model has no unknown piece");
  if (byte_fallback && std::find(bytes.begin(), bytes.end(), false) != bytes.end()) {
    return invalid_argument("SentencePiece model has byte_fallback but not all 256 byte pieces");
  }
  // SentencePiece's own initial values and their "none found" reset.
  v.min_score_ = min_score == FLT_MAX ? 0.0f : min_score;
  v.max_score_ = max_score == FLT_MIN ? 0.0f : max_score;
  v.pieces_ = std::move(pieces);
  v.build_trie();
  return v;
}

void SentencePieceVocab::build_trie() {
  // Inserting in byte order only ever appends a child larger than its siblings, on the path
  // of the previous insertion, so children lists come out sorted.
  std::vector<std::pair<std::string_view, int>> sorted;
  sorted.reserve(regular_.size());
  for (const auto& [text, id] : regular_) sorted.emplace_back(text, id);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<TrieEdge>> children(1);
  std::vector<int32_t> ids(1, -1);
  for (const auto& [text, id] : sorted) {
    uint32_t node = 0;
    for (char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (!children[node].empty() && children[node].back().byte == c) {
        node = children[node].back().node;
        continue;
      }
      const auto added = static_cast<uint32_t>(children.size());
      children[node].push_back({c, added});
      children.emplace_back();
      ids.push_back(-1);
      node = added;
    }
    ids[node] = id;
  }
  nodes_.resize(children.size());
  for (size_t n = 0; n < children.size(); ++n) {
    nodes_[n].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[n].edge_count = static_cast<uint32_t>(children[n].size());
    nodes_[n].id = ids[n];
    edges_.insert(edges_.end(), children[n].begin(), children[n].end());
  }
  std::fill(std::begin(root_child_), std::end(root_child_), kNoNode);
  for (const TrieEdge& e : children[0]) root_child_[e.byte] = e.node;
}

uint32_t SentencePieceVocab::child(uint32_t node, unsigned char byte) const {
  if (node == 0) return root_child_[byte];
  const TrieNode& n = nodes_[node];
  const TrieEdge* begin = edges_.data() + n.first_edge;
  const TrieEdge* end = begin + n.edge_count;
  if (n.edge_count <= 8) {
    for (const TrieEdge* e = begin; e != end; ++e) {
      if (e->byte == byte) return e->node;
    }
    return kNoNode;
  }
  const TrieEdge* it = std::lower_bound(
      begin, end, byte, [](const TrieEdge& e, unsigned char b) { return e.byte < b; });
  return it != end && it->byte == byte ? it->node : kNoNode;
}

int SentencePieceVocab::find_regular(std::string_view text) const {
  auto it = regular_.find(text);
  return it == regular_.end() ? -1 : it->second;
}

int SentencePieceVocab::piece_to_id(std::string_view text) const {
  if (auto it = reserved_.find(text); it != reserved_.end()) return it->second;
  if (auto it = regular_.find(text); it != regular_.end()) return it->second;
  return unk_id_;
}

size_t SentencePieceVocab::user_defined_prefix(std::string_view text) const {
  if (!has_user_defined_) return 0;
  size_t longest = 0;
  for_each_prefix(text, [&](int id, size_t length) {
    if (pieces_[id].type == PieceType::kUserDefined) longest = length;
  });
  return longest;
}

}  // namespace nalar::pipeline

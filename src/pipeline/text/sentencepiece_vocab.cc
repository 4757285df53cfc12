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
  v.node_id_.push_back(-1);  // the root
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
    if (p.type == PieceType::kUserDefined) v.user_defined_.push_back(p.text);
    if (p.type == PieceType::kNormal) {
      min_score = std::min(min_score, p.score);
      max_score = std::max(max_score, p.score);
    }
    if (regular) {
      uint32_t node = 0;
      for (char c : p.text) {
        auto [it, added] = v.edges_.emplace(edge_key(node, static_cast<unsigned char>(c)),
                                            static_cast<uint32_t>(v.node_id_.size()));
        if (added) v.node_id_.push_back(-1);
        node = it->second;
      }
      v.node_id_[node] = id;
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
  return v;
}

int SentencePieceVocab::find_regular(std::string_view text) const {
  auto it = regular_.find(std::string(text));
  return it == regular_.end() ? -1 : it->second;
}

int SentencePieceVocab::piece_to_id(std::string_view text) const {
  const std::string key(text);
  if (auto it = reserved_.find(key); it != reserved_.end()) return it->second;
  if (auto it = regular_.find(key); it != regular_.end()) return it->second;
  return unk_id_;
}

size_t SentencePieceVocab::user_defined_prefix(std::string_view text) const {
  size_t best = 0;
  for (const std::string& s : user_defined_) {
    if (s.size() > best && text.substr(0, s.size()) == s) best = s.size();
  }
  return best;
}

}  // namespace nalar::pipeline

#include <algorithm>
#include <functional>
#include <queue>
#include <string>
#include <unordered_map>

#include "pipeline/text/sentencepiece_encoders.h"
#include "pipeline/text/utf8.h"

namespace nalar::pipeline {
namespace {

struct Symbol {
  int prev, next;
  bool frozen;  // a user-defined symbol: never merged
  std::string_view text;
};

struct Candidate {
  int left, right;
  float score;
  size_t size;  // byte size of the merged piece; a mismatch later means the entry is stale
};

// Highest score first; on equal scores the leftmost pair.
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

size_t char_length(std::string_view text) {
  return std::min(std::max<size_t>(1, utf8_sequence_length(text)), text.size());
}

}  // namespace

SentencePieces encode_bpe(const SentencePieceVocab& vocab, std::string_view normalized) {
  SentencePieces out;
  std::vector<Symbol> symbols;
  for (size_t pos = 0; pos < normalized.size();) {
    const std::string_view rest = normalized.substr(pos);
    const size_t user = vocab.user_defined_prefix(rest);
    const size_t n = user > 0 ? user : char_length(rest);
    const int index = static_cast<int>(symbols.size());
    symbols.push_back(
        {index - 1, pos + n < normalized.size() ? index + 1 : -1, user > 0, rest.substr(0, n)});
    pos += n;
  }
  if (symbols.empty()) return out;

  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> agenda;
  // Merges that produced an unused piece, undone at the end (an unused piece is never output).
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> unmerge;
  const auto consider = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen) return;
    const std::string_view merged(symbols[left].text.data(),
                                  symbols[left].text.size() + symbols[right].text.size());
    const int id = vocab.find_regular(merged);
    if (id < 0) return;
    agenda.push({left, right, vocab.piece(id).score, merged.size()});
    if (vocab.piece(id).type == PieceType::kUnused) {
      unmerge[merged] = {symbols[left].text, symbols[right].text};
    }
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    consider(static_cast<int>(i) - 1, static_cast<int>(i));

  while (!agenda.empty()) {
    const Candidate top = agenda.top();
    agenda.pop();
    Symbol& left = symbols[top.left];
    Symbol& right = symbols[top.right];
    if (left.text.empty() || right.text.empty() ||
        left.text.size() + right.text.size() != top.size) {
      continue;
    }
    left.text = std::string_view(left.text.data(), top.size);
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    right.text = {};
    consider(left.prev, top.left);
    consider(top.left, left.next);
  }

  std::function<void(std::string_view)> emit = [&](std::string_view piece) {
    const int id = vocab.piece_to_id(piece);
    if (vocab.piece(id).type == PieceType::kUnused) {
      if (auto it = unmerge.find(piece); it != unmerge.end()) {
        emit(it->second.first);
        emit(it->second.second);
        return;
      }
    }
    out.emplace_back(piece, id);
  };
  for (int i = 0; i != -1; i = symbols[i].next) emit(symbols[i].text);
  return out;
}

}  // namespace nalar::pipeline

// BERT's tokenizer: the basic tokenizer, then greedy longest-match-first WordPiece over a
// vocab.txt (one token per line, id = line number; "##" marks a word continuation), with
// [CLS] A [SEP] (B [SEP]) around the segments. Special token strings written in the text
// ("fill the [MASK]") become their ids rather than being split, as Hugging Face's
// BertTokenizer does.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pipeline/text/encoding_assembly.h"
#include "pipeline/text/tokenizer.h"

namespace nalar::pipeline {

class WordPieceTokenizer final : public Tokenizer {
 public:
  // `vocab_text` is vocab.txt's content; `name` names it in errors.
  static Result<std::unique_ptr<WordPieceTokenizer>> from_vocab(std::string_view vocab_text,
                                                                const TextConfig& config,
                                                                const std::string& name);

  Result<Encoding> encode(std::string_view text, std::string_view pair = {}) const override;
  int64_t pad_id() const override { return pad_id_; }

  // Ids of one text without special tokens or truncation.
  Result<std::vector<int64_t>> encode_ids(std::string_view text) const;

 private:
  // Words longer than this (in code points) become [UNK], as in BERT.
  static constexpr size_t kMaxWordChars = 100;

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  int64_t find(std::string_view token) const;
  // Scratch buffers of one encode call, so words do not allocate.
  struct Scratch {
    std::string utf8, candidate;
    std::vector<size_t> offsets;
  };
  void wordpiece(std::u32string_view word, Scratch* scratch, std::vector<int64_t>* ids) const;
  void encode_plain(std::string_view text, std::vector<int64_t>* ids) const;

  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> vocab_;
  std::vector<std::pair<std::string, int64_t>> specials_in_text_;
  bool lowercase_ = true;
  int64_t unk_id_ = 0, pad_id_ = 0;
  SpecialTokenLayout layout_;
  LengthPolicy policy_;
};

}  // namespace nalar::pipeline

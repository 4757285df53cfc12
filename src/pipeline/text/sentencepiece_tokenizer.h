// A SentencePiece .model (serialized ModelProto) read by our own code: normaliser, then the
// model's segmentation (unigram, BPE, word or char), byte fallback for unknown text, then
// <s> ... </s> when add_special_tokens is on and the model defines them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/text/encoding_assembly.h"
#include "pipeline/text/sentencepiece_normalizer.h"
#include "pipeline/text/sentencepiece_vocab.h"
#include "pipeline/text/tokenizer.h"

namespace nalar::pipeline {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `bytes` is the .model file's content; `name` names it in errors.
  static Result<std::unique_ptr<SentencePieceTokenizer>> from_bytes(std::string_view bytes,
                                                                    const TextConfig& config,
                                                                    const std::string& name);

  Result<Encoding> encode(std::string_view text, std::string_view pair = {}) const override;
  // The model's <pad> when it has one, otherwise 0 (padding is masked out anyway).
  int64_t pad_id() const override { return pad_id_; }

  // Ids of one text without special tokens or truncation (what spm's encode returns).
  Result<std::vector<int64_t>> encode_ids(std::string_view text) const;

 private:
  enum class ModelType { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };
  SentencePieceTokenizer(SentencePieceVocab vocab, SentencePieceNormalizerOptions options,
                         PrecompiledCharsmap charsmap);

  std::unique_ptr<SentencePieceVocab> vocab_;  // stable address: the normaliser points to it
  SentencePieceNormalizer normalizer_;
  ModelType type_ = ModelType::kUnigram;
  bool byte_fallback_ = false;
  bool whitespace_as_suffix_ = false;
  int byte_ids_[256] = {};
  SpecialTokenLayout layout_;
  LengthPolicy policy_;
  int64_t pad_id_ = 0;
};

}  // namespace nalar::pipeline

// SentencePiece's normaliser: the precompiled rules, then whitespace handling (drop leading,
// trailing and repeated spaces, add the dummy prefix, escape ' ' as U+2581), with
// user-defined symbols passed through untouched.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/text/precompiled_charsmap.h"
#include "pipeline/text/sentencepiece_vocab.h"

namespace nalar::pipeline {

struct SentencePieceNormalizerOptions {
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
  bool treat_whitespace_as_suffix = false;  // TrainerSpec's: the space goes after words
};

class SentencePieceNormalizer {
 public:
  SentencePieceNormalizer(PrecompiledCharsmap charsmap, SentencePieceNormalizerOptions options,
                          const SentencePieceVocab* vocab)
      : charsmap_(std::move(charsmap)), options_(options), vocab_(vocab) {}

  // `text` must be valid UTF-8.
  std::string normalize(std::string_view text) const;

 private:
  struct Step {
    std::string_view out;
    size_t consumed;
  };
  Step normalize_prefix(std::string_view text) const;

  PrecompiledCharsmap charsmap_;
  SentencePieceNormalizerOptions options_;
  const SentencePieceVocab* vocab_;  // for the user-defined symbols; not owned
};

}  // namespace nalar::pipeline

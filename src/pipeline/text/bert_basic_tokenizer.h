// BERT's basic tokenizer (google-research/bert tokenization.py, BasicTokenizer): clean the
// text (drop NUL, U+FFFD and control characters, map whitespace to ' '), put spaces around CJK
// ideographs, split on whitespace, optionally lowercase and strip accents (NFD, drop Mn), then
// split off every punctuation character.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace nalar::pipeline {

// Calls `word` with each word of `text` (code points) in order; the view is valid only during
// the call.
void bert_basic_tokenize(std::u32string_view text, bool lowercase,
                         const std::function<void(std::u32string_view)>& word);

}  // namespace nalar::pipeline

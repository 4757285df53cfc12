// BERT's basic tokenizer (google-research/bert tokenization.py, BasicTokenizer): clean the
// text (drop NUL, U+FFFD and control characters, map whitespace to ' '), put spaces around CJK
// ideographs, split on whitespace, optionally lowercase and strip accents (NFD, drop Mn), then
// split off every punctuation character.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nalar::pipeline {

// Words of `text` (code points) before WordPiece.
std::vector<std::u32string> bert_basic_tokenize(std::u32string_view text, bool lowercase);

}  // namespace nalar::pipeline

#include "pipeline/text/wordpiece_tokenizer.h"

#include "pipeline/text/bert_basic_tokenizer.h"
#include "pipeline/text/utf8.h"

namespace nalar::pipeline {

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::from_vocab(
    std::string_view vocab_text, const TextConfig& config, const std::string& name) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument("WordPiece vocabulary '" + name + "': " + why);
  };
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  int64_t id = 0;
  size_t line_start = 0;
  while (line_start < vocab_text.size()) {
    size_t end = vocab_text.find('\n', line_start);
    if (end == std::string_view::npos) end = vocab_text.size();
    std::string_view token = vocab_text.substr(line_start, end - line_start);
    if (!token.empty() && token.back() == '\r') token.remove_suffix(1);
    if (Status s = validate_utf8(token); !s.is_ok()) {
      return bad("line " + std::to_string(id + 1) + ": " + s.message());
    }
    // A repeated token keeps its last line's id, as BERT's dict-based loader does.
    t->vocab_.insert_or_assign(std::string(token), id);
    ++id;
    line_start = end + 1;
  }
  if (t->vocab_.empty()) return bad("the vocabulary is empty (expected one token per line)");

  const auto special = [&](std::string_view token, bool required) -> Result<int64_t> {
    const int64_t found = t->find(token);
    if (found < 0 && required) {
      return bad("special token " + std::string(token) + " is not in the vocabulary");
    }
    return found;
  };
  NALAR_ASSIGN_OR_RETURN(t->unk_id_, special("[UNK]", true));
  NALAR_ASSIGN_OR_RETURN(const int64_t pad, special("[PAD]", config.padding != Padding::kNone));
  t->pad_id_ = pad >= 0 ? pad : 0;
  if (config.add_special_tokens) {
    NALAR_ASSIGN_OR_RETURN(const int64_t cls, special("[CLS]", true));
    NALAR_ASSIGN_OR_RETURN(const int64_t sep, special("[SEP]", true));
    t->layout_.begin = {cls};
    t->layout_.after_first = t->layout_.after_second = {sep};
  }
  if (config.max_length <= 0) {
    return bad("max_length must be positive, got " + std::to_string(config.max_length));
  }
  t->policy_ = {config.max_length, config.truncation};
  t->lowercase_ = config.lowercase;
  for (const char* s : {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"}) {
    if (const int64_t sid = t->find(s); sid >= 0) t->specials_in_text_.emplace_back(s, sid);
  }
  return t;
}

int64_t WordPieceTokenizer::find(std::string_view token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

void WordPieceTokenizer::wordpiece(std::u32string_view word, Scratch* scratch,
                                   std::vector<int64_t>* ids) const {
  if (word.size() > kMaxWordChars) {
    ids->push_back(unk_id_);
    return;
  }
  // Byte offset of each character in the word's UTF-8, so candidates are substrings.
  std::string& utf8 = scratch->utf8;
  std::vector<size_t>& offsets = scratch->offsets;
  utf8.clear();
  offsets.clear();
  for (char32_t c : word) {
    offsets.push_back(utf8.size());
    append_utf8(c, &utf8);
  }
  offsets.push_back(utf8.size());

  const size_t before = ids->size();
  std::string& candidate = scratch->candidate;
  size_t start = 0;
  while (start < word.size()) {
    int64_t match = -1;
    size_t end = word.size();
    for (; end > start; --end) {
      const std::string_view sub(utf8.data() + offsets[start], offsets[end] - offsets[start]);
      if (start == 0) {
        match = find(sub);
      } else {
        candidate.assign("##");
        candidate.append(sub);
        match = find(candidate);
      }
      if (match >= 0) break;
    }
    if (match < 0) {  // no piece fits here: the whole word is unknown
      ids->resize(before);
      ids->push_back(unk_id_);
      return;
    }
    ids->push_back(match);
    start = end;
  }
}

void WordPieceTokenizer::encode_plain(std::string_view text, std::vector<int64_t>* ids) const {
  if (text.empty()) return;
  // Validated by the caller, so decoding cannot fail.
  const Result<std::u32string> cps = decode_utf8(text);
  Scratch scratch;
  bert_basic_tokenize(cps.value(), lowercase_,
                      [&](std::u32string_view word) { wordpiece(word, &scratch, ids); });
}

Result<std::vector<int64_t>> WordPieceTokenizer::encode_ids(std::string_view text) const {
  NALAR_RETURN_IF_ERROR(validate_utf8(text));
  std::vector<int64_t> ids;
  // Split at special token strings; '[' is ASCII, so the pieces stay valid UTF-8.
  size_t segment = 0;
  for (size_t i = text.find('['); i != std::string_view::npos; i = text.find('[', i)) {
    bool matched = false;
    for (const auto& [s, sid] : specials_in_text_) {
      if (text.substr(i, s.size()) == s) {
        encode_plain(text.substr(segment, i - segment), &ids);
        ids.push_back(sid);
        i += s.size();
        segment = i;
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  encode_plain(text.substr(segment), &ids);
  return ids;
}

Result<Encoding> WordPieceTokenizer::encode(std::string_view text, std::string_view pair) const {
  NALAR_ASSIGN_OR_RETURN(std::vector<int64_t> first, encode_ids(text));
  std::optional<std::vector<int64_t>> second;
  if (!pair.empty()) {
    NALAR_ASSIGN_OR_RETURN(second, encode_ids(pair));
  }
  return assemble_encoding(std::move(first), std::move(second), layout_, policy_);
}

}  // namespace nalar::pipeline

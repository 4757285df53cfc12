// Pieces of the text tokenisers that the Python comparison (text_tokenize) does not reach
// directly: UTF-8 validation, truncation arithmetic, the charsmap parser, Unicode helpers.
#include <gtest/gtest.h>

#include "pipeline/text/encoding_assembly.h"
#include "pipeline/text/precompiled_charsmap.h"
#include "pipeline/text/unicode_data.h"
#include "pipeline/text/utf8.h"
#include "pipeline/text/wordpiece_tokenizer.h"

using namespace nalar;
using namespace nalar::pipeline;

TEST(TextUtf8, RejectsEveryKindOfInvalidSequence) {
  EXPECT_TRUE(validate_utf8("plain \xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80").is_ok());
  for (const char* bad : {"\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "ab\xe4\xb8"}) {
    Status s = validate_utf8(bad);
    EXPECT_FALSE(s.is_ok()) << bad;
    EXPECT_NE(s.message().find("UTF-8"), std::string::npos);
  }
  auto cps = decode_utf8("a\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_TRUE(cps.is_ok());
  EXPECT_EQ(*cps, (std::u32string{U'a', 0xE9, 0x1F600}));
  EXPECT_EQ(encode_utf8(*cps), "a\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_NE(decode_utf8("ok\xff").status().message().find("byte offset 2"), std::string::npos);
}

TEST(TextAssembly, TruncatesTheLongerSegmentFirst) {
  SpecialTokenLayout layout{{101}, {102}, {102}};
  auto e = assemble_encoding({1, 2, 3, 4, 5, 6}, std::vector<int64_t>{7, 8}, layout, {8, true});
  ASSERT_TRUE(e.is_ok());
  // Budget 5: the first segment gives up tokens until it is no longer longer, then turns.
  EXPECT_EQ(e->ids, (std::vector<int64_t>{101, 1, 2, 3, 102, 7, 8, 102}));
  EXPECT_EQ(e->type_ids, (std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e->attention_mask, std::vector<int64_t>(8, 1));

  auto tie = assemble_encoding({1, 2, 3}, std::vector<int64_t>{7, 8, 9}, layout, {7, true});
  ASSERT_TRUE(tie.is_ok());
  EXPECT_EQ(tie->ids, (std::vector<int64_t>{101, 1, 2, 102, 7, 8, 102}));

  auto off = assemble_encoding({1, 2, 3}, std::nullopt, layout, {4, false});
  ASSERT_FALSE(off.is_ok());
  EXPECT_NE(off.status().message().find("5 tokens"), std::string::npos);
  EXPECT_NE(off.status().message().find("max_length 4"), std::string::npos);

  auto exact = assemble_encoding({1, 2}, std::nullopt, layout, {4, false});
  ASSERT_TRUE(exact.is_ok());
  EXPECT_EQ(exact->ids.size(), 4u);

  EXPECT_FALSE(assemble_encoding({}, std::vector<int64_t>{1}, layout, {2, true}).is_ok());
}

TEST(TextCharsmap, ParsesOrRefusesBlobs) {
  auto empty = PrecompiledCharsmap::parse("");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->longest_prefix("abc").consumed, 0u);
  EXPECT_FALSE(PrecompiledCharsmap::parse("\x01\x02").is_ok());
  EXPECT_FALSE(PrecompiledCharsmap::parse(std::string("\xff\x00\x00\x00xxxx", 8)).is_ok());
  EXPECT_FALSE(PrecompiledCharsmap::parse(std::string("\x03\x00\x00\x00xxxxxx", 10)).is_ok());
  // A one-unit trie (the root only) matches nothing.
  auto root = PrecompiledCharsmap::parse(std::string("\x04\x00\x00\x00\x00\x00\x00\x00", 8));
  ASSERT_TRUE(root.is_ok());
  EXPECT_EQ(root->longest_prefix("abc").consumed, 0u);
}

TEST(TextUnicode, LowercaseDecomposeAndCategories) {
  using unicode::CategoryClass;
  EXPECT_EQ(unicode::to_lower(U"\u039F\u0394\u039F\u03A3"), U"\u03BF\u03B4\u03BF\u03C2");
  EXPECT_EQ(unicode::to_lower(U"\u03A3"), U"\u03C3");  // alone: not final
  EXPECT_EQ(unicode::to_lower(U"\u0130"), U"i\u0307");
  EXPECT_EQ(unicode::to_lower(U"\u00C9\u0416"), U"\u00E9\u0436");
  EXPECT_EQ(unicode::nfd(U"\u00E9"), U"e\u0301");
  EXPECT_EQ(unicode::nfd(U"\uD55C"), U"\u1112\u1161\u11AB");
  EXPECT_EQ(unicode::nfd(U"a\u0301\u0316"), U"a\u0316\u0301");  // canonical order
  EXPECT_EQ(unicode::category_class(U'\u0301'), CategoryClass::kNonspacingMark);
  EXPECT_EQ(unicode::category_class(U'\u00A0'), CategoryClass::kSpaceSeparator);
  EXPECT_EQ(unicode::category_class(U'\u2028'), CategoryClass::kLineSeparator);
  EXPECT_EQ(unicode::category_class(U'\u300C'), CategoryClass::kPunctuation);
  EXPECT_EQ(unicode::category_class(U'\u200B'), CategoryClass::kControl);
  EXPECT_EQ(unicode::category_class(0x10FFFF), CategoryClass::kControl);  // unassigned
  EXPECT_EQ(unicode::category_class(U'a'), CategoryClass::kOther);
}

TEST(TextWordPiece, LoadErrorsNameWhatIsMissing) {
  TextConfig config;
  auto no_unk = WordPieceTokenizer::from_vocab("[PAD]\n[CLS]\n[SEP]\n", config, "v.txt");
  ASSERT_FALSE(no_unk.is_ok());
  EXPECT_NE(no_unk.status().message().find("[UNK]"), std::string::npos);
  EXPECT_FALSE(WordPieceTokenizer::from_vocab("", config, "v.txt").is_ok());
  auto bad_line = WordPieceTokenizer::from_vocab("[UNK]\n\xff\n", config, "v.txt");
  ASSERT_FALSE(bad_line.is_ok());
  EXPECT_NE(bad_line.status().message().find("line 2"), std::string::npos);

  config.vocab_file = "does-not-exist.txt";
  auto missing = Tokenizer::load(config, "/nonexistent-dir");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  // CRLF vocabularies load; a token repeated keeps its last id.
  config.add_special_tokens = false;
  config.padding = Padding::kNone;
  auto crlf = WordPieceTokenizer::from_vocab("[UNK]\r\nhi\r\nthere\r\nhi\r\n", config, "v.txt");
  ASSERT_TRUE(crlf.is_ok()) << crlf.status().message();
  auto e = (*crlf)->encode("hi there zz");
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->ids, (std::vector<int64_t>{3, 2, 0}));
}

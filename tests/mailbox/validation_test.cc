// The pure validation helpers the server shares with the state machine.
#include "gtest/gtest.h"
#include "node/mailbox/flags.h"
#include "node/mailbox/names.h"
#include "node/mailbox/uid_set.h"

namespace qbox::mailbox {
namespace {

TEST(MailboxNameTest, AcceptsHierarchicalUtf8Names) {
  EXPECT_TRUE(ValidateMailboxName("INBOX", "name").ok());
  EXPECT_TRUE(ValidateMailboxName("Archive/2019", "name").ok());
  EXPECT_TRUE(ValidateMailboxName("Entw\xc3\xbcrfe", "name").ok());  // "Entwürfe"
}

TEST(MailboxNameTest, RejectsBadNamesNamingTheField) {
  const std::string too_long(kMaxMailboxNameBytes + 1, 'a');
  for (const std::string& bad :
       {std::string(""), too_long, std::string("/lead"), std::string("trail/"), std::string("a//b"),
        std::string("bad\xff"), std::string("over\xc0\xaflong"), std::string("ctl\x01"),
        std::string("wild*"), std::string("wild%")}) {
    absl::Status s = ValidateMailboxName(bad, "target_mailbox");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message().substr(0, 15), "target_mailbox:") << s;
  }
}

TEST(MailboxNameTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x93\xa7"));   // U+1F4E7
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(MailboxNameTest, InboxIsCaseInsensitiveAndParentsAreFound) {
  EXPECT_EQ(CanonicalMailboxName("inbox"), "INBOX");
  EXPECT_EQ(CanonicalMailboxName("Inbox/sub"), "Inbox/sub");
  EXPECT_EQ(ParentMailboxName("a/b/c"), "a/b");
  EXPECT_EQ(ParentMailboxName("a"), "");
}

std::vector<UidRange> ResolveOrDie(const std::string& text, uint32_t largest) {
  auto set = UidSet::Parse(text, "uid_set");
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? set->Resolve(largest) : std::vector<UidRange>{};
}

TEST(UidSetTest, ParsesAndMergesRanges) {
  EXPECT_EQ(ResolveOrDie("1:5,7,9:*", 12), (std::vector<UidRange>{{1, 5}, {7, 7}, {9, 12}}));
  EXPECT_EQ(ResolveOrDie("5:1,3,6", 10), (std::vector<UidRange>{{1, 6}}));
  EXPECT_EQ(ResolveOrDie("*", 7), (std::vector<UidRange>{{7, 7}}));
  // "20:*" with largest UID 7 means 7:20 (RFC 9051).
  EXPECT_EQ(ResolveOrDie("20:*", 7), (std::vector<UidRange>{{7, 20}}));
  EXPECT_TRUE(ResolveOrDie("*", 0).empty());
  EXPECT_EQ(ResolveOrDie("4294967295", 1), (std::vector<UidRange>{{4294967295u, 4294967295u}}));
}

TEST(UidSetTest, RejectsBadSyntaxNamingTheFieldAndOffset) {
  for (const char* bad : {"", "0", "1:", ":3", "1,,2", "a", "1:2:3", "4294967296", "01", "1 ,2"}) {
    auto set = UidSet::Parse(bad, "uid_set");
    ASSERT_FALSE(set.ok()) << bad;
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(set.status().message().substr(0, 8), "uid_set:") << set.status();
  }
  auto set = UidSet::Parse("1:5,x", "uid_set");
  EXPECT_NE(set.status().message().find("offset 4"), absl::string_view::npos) << set.status();
}

TEST(FlagsTest, ParsesSystemFlagsCaseInsensitively) {
  StringList flags;
  flags.Add("\\seen");
  flags.Add("\\DELETED");
  auto bits = ParseSystemFlags(flags, "flags");
  ASSERT_TRUE(bits.ok()) << bits.status();
  EXPECT_EQ(*bits, kFlagSeen | kFlagDeleted);
  EXPECT_EQ(SystemFlagNames(*bits), (std::vector<std::string>{"\\Seen", "\\Deleted"}));
}

TEST(FlagsTest, RejectsUnknownFlagsAndBadKeywordsByIndex) {
  StringList flags;
  flags.Add("\\Seen");
  flags.Add("\\Recent");
  auto bits = ParseSystemFlags(flags, "flags");
  EXPECT_EQ(bits.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bits.status().message().substr(0, 9), "flags[1]:") << bits.status();

  StringList keywords;
  keywords.Add("$Forwarded");
  keywords.Add("has space");
  auto normal = NormalizeKeywords(keywords, "keywords");
  EXPECT_EQ(normal.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(normal.status().message().substr(0, 12), "keywords[1]:") << normal.status();

  for (const char* bad : {"", "\\Seen", "a(b", "x]", "tab\t"}) {
    EXPECT_FALSE(ValidateKeyword(bad, "keywords[0]").ok()) << bad;
  }
}

TEST(FlagsTest, KeywordsAreSortedAndUnique) {
  StringList keywords;
  keywords.Add("b");
  keywords.Add("$a");
  keywords.Add("b");
  auto normal = NormalizeKeywords(keywords, "keywords");
  ASSERT_TRUE(normal.ok());
  EXPECT_EQ(*normal, (std::vector<std::string>{"$a", "b"}));
}

}  // namespace
}  // namespace qbox::mailbox

#include "node/guard/audit_chain.h"

#include <openssl/sha.h>

#include <string>

#include "gtest/gtest.h"

namespace qbox::guard {
namespace {

v1::AuditRecord Record(const std::string& actor, const std::string& kind, const std::string& detail,
                       uint64_t log_index) {
  v1::AuditRecord record;
  record.set_log_index(log_index);
  record.set_actor(actor);
  record.set_kind(kind);
  record.set_command(
      "\x0a\x03"
      "abc");
  record.set_detail(detail);
  return record;
}

std::string BigEndian(uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

// The hash spelled out from charter.proto's comment, independently of the
// code under test.
std::string SpecHash(const v1::AuditRecord& r) {
  std::string input = std::string("qbox.v1.AuditRecord") + '\0' + r.prev_hash() +
                      BigEndian(r.seq()) + BigEndian(r.log_index()) + BigEndian(r.actor().size()) +
                      r.actor() + BigEndian(r.kind().size()) + r.kind() +
                      BigEndian(r.command().size()) + r.command() + BigEndian(r.detail().size()) +
                      r.detail();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

TEST(AuditChainTest, SealsAChainAsTheProtoDefinesIt) {
  v1::AuditRecord first = Record("site-a/admin/alice", "charter.genesis", "cluster created", 1);
  SealAuditRecord(nullptr, &first);
  EXPECT_EQ(first.seq(), 1u);
  EXPECT_EQ(first.prev_hash(), std::string(32, '\0'));
  EXPECT_EQ(first.hash().size(), 32u);
  EXPECT_EQ(first.hash(), SpecHash(first));
  EXPECT_EQ(AuditRecordHash(first), first.hash());

  v1::AuditRecord second =
      Record("site-b/admin/bob", "proposal.approve", "approved by site-b (2 of 2)", 7);
  SealAuditRecord(&first, &second);
  EXPECT_EQ(second.seq(), 2u);
  EXPECT_EQ(second.prev_hash(), first.hash());
  EXPECT_EQ(second.hash(), SpecHash(second));
  EXPECT_NE(second.hash(), first.hash());
}

TEST(AuditChainTest, AnyChangeToARecordChangesItsHash) {
  v1::AuditRecord sealed = Record("site-a/admin/alice", "admin.create_account", "created", 3);
  SealAuditRecord(nullptr, &sealed);

  auto tampered = [&](auto change) {
    v1::AuditRecord copy = sealed;
    change(&copy);
    return AuditRecordHash(copy) != sealed.hash();
  };
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_detail("refused: nothing"); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_actor("site-c/admin/eve"); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_kind("admin.delete_account"); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_command("other"); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_seq(2); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { r->set_log_index(4); }));
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) { (*r->mutable_prev_hash())[31] = 1; }));
  // Moving bytes between neighbouring fields is a change too.
  EXPECT_TRUE(tampered([](v1::AuditRecord* r) {
    r->set_actor("site-a/admin/alicea");
    r->set_kind("dmin.create_account");
  }));
  // The stored hash itself is not an input.
  EXPECT_FALSE(tampered([](v1::AuditRecord* r) { r->set_hash("whatever"); }));
}

TEST(AuditChainTest, RewritingAnEarlierRecordBreaksTheLinkToTheNext) {
  v1::AuditRecord first = Record("site-a/admin/alice", "proposal.submit", "submitted", 5);
  SealAuditRecord(nullptr, &first);
  v1::AuditRecord second = Record("site-c/admin/carol", "proposal.veto", "vetoed", 6);
  SealAuditRecord(&first, &second);

  // An attacker rewrites the first record and re-seals it consistently.
  v1::AuditRecord forged = first;
  forged.set_detail("approved");
  forged.set_hash(AuditRecordHash(forged));
  EXPECT_EQ(AuditRecordHash(forged), forged.hash());
  // The next record still points at the original.
  EXPECT_NE(second.prev_hash(), forged.hash());
  EXPECT_EQ(AuditRecordHash(second), second.hash());
}

}  // namespace
}  // namespace qbox::guard

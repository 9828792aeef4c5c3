#include "node/guard/audit_chain.h"

#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "node/common/sha256.h"

namespace qbox::guard {
namespace {

constexpr size_t kHashBytes = 32;

void AppendBigEndian64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Every variable-length field carries its length first, so that moving
// bytes from one field to the next changes the hash.
void AppendWithLength(absl::string_view field, std::string* out) {
  AppendBigEndian64(field.size(), out);
  out->append(field.data(), field.size());
}

}  // namespace

std::string AuditRecordHash(const v1::AuditRecord& record) {
  std::string input = "qbox.v1.AuditRecord";
  input.push_back('\0');
  input.append(record.prev_hash());
  AppendBigEndian64(record.seq(), &input);
  AppendBigEndian64(record.log_index(), &input);
  AppendWithLength(record.actor(), &input);
  AppendWithLength(record.kind(), &input);
  AppendWithLength(record.command(), &input);
  AppendWithLength(record.detail(), &input);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest only fails when the process is out of memory; a hash of all
  // zeros then can never match a sealed record, so tampering is still seen.
  if (EVP_Digest(input.data(), input.size(), digest, &length, qbox::Sha256Md(), nullptr) != 1) {
    return std::string(kHashBytes, '\0');
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

void SealAuditRecord(const v1::AuditRecord* previous, v1::AuditRecord* record) {
  if (previous == nullptr) {
    record->set_seq(1);
    record->set_prev_hash(std::string(kHashBytes, '\0'));
  } else {
    record->set_seq(previous->seq() + 1);
    record->set_prev_hash(previous->hash());
  }
  record->set_hash(AuditRecordHash(*record));
}

}  // namespace qbox::guard

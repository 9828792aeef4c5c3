// The audit log's hash chain (DESIGN.md G5; AuditRecord in charter.proto).
#ifndef QBOX_NODE_GUARD_AUDIT_CHAIN_H_
#define QBOX_NODE_GUARD_AUDIT_CHAIN_H_

#include <string>

#include "qbox/v1/charter.pb.h"

namespace qbox::guard {

// The record's hash as charter.proto defines it, from every field but
// `hash` (32 raw bytes).
std::string AuditRecordHash(const v1::AuditRecord& record);

// Fills prev_hash (32 zero bytes if `previous` is null) and hash, and sets
// seq to previous->seq + 1 (or 1).
void SealAuditRecord(const v1::AuditRecord* previous, v1::AuditRecord* record);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_AUDIT_CHAIN_H_

// Offline verification of the audit log (DESIGN.md G5), for `qboxctl audit
// verify`: the hash chain is recomputed record by record and every signed
// statement inside a record is verified again, so an operator does not have
// to trust the node that sent the log. Pure: works on records in memory,
// which is also how tests feed it a tampered log.
#ifndef QBOX_CTL_AUDIT_VERIFIER_H_
#define QBOX_CTL_AUDIT_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qbox/v1/charter.pb.h"

namespace qbox::ctl {

struct AuditBreak {
  uint64_t seq = 0;
  uint64_t log_index = 0;
  std::string reason;
};

struct AuditVerification {
  uint64_t records = 0;              // records checked (all of them unless broken)
  uint64_t signatures = 0;           // signatures that verified
  uint64_t refused = 0;              // records the nodes refused ("refused..." detail)
  std::string head_hex;              // hash of the last record checked, lowercase hex
  std::optional<AuditBreak> broken;  // the first problem, if any
};

// Verifies `records` (the whole log, from seq 1, in order):
//  - chain: seq 1, 2, 3, ... without gaps; prev_hash of seq 1 is 32 zero
//    bytes and of every later record the previous record's hash; each hash
//    is guard::AuditRecordHash of its record; log indexes never decrease;
//  - contents: "charter.genesis" carries a serialized Charter,
//    "membership.*" a serialized CharterNode (or nothing), every other
//    non-empty command a serialized MailboxCommand;
//  - signatures: each proposal, endorsement and node statement inside a
//    command verifies (guard::VerifyStatement at the statement's own signed
//    time, admin or node role as the statement requires) with some CA the
//    charter ever had: the genesis record's charter, the CAs that executed
//    add-site / replace-site-ca proposals in `executed_proposals` brought
//    in, and `current_charter`.
// A record whose detail starts with "refused" was refused by the nodes: a
// signature or contents failing there is expected and only counted. The
// first failure anywhere else ends the check with `broken` set.
AuditVerification VerifyAuditLog(const std::vector<v1::AuditRecord>& records,
                                 const std::vector<v1::ProposalRecord>& executed_proposals,
                                 const v1::Charter& current_charter);

// "OK: N records, S signatures verified, R refused attempts, head <hex>" or
// "BROKEN at seq N (log index I): <reason>".
std::string DescribeVerification(const AuditVerification& verification);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_AUDIT_VERIFIER_H_

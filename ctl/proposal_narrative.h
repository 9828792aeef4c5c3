// How qboxctl tells an operator where a proposal stands (G2): who signed,
// which sites approved, what must still happen ("needs 1 more site of
// site-b, site-c; then waits 72h"), and the same as stable JSON (field
// names documented in ctl/README.md).
#ifndef QBOX_CTL_PROPOSAL_NARRATIVE_H_
#define QBOX_CTL_PROPOSAL_NARRATIVE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "qbox/v1/charter.pb.h"

namespace qbox::ctl {

// "72h", "2s", "1h30m".
std::string FormatMs(int64_t ms);

// What must happen next, one line: for PENDING the sites still able to
// approve and the delay after; for APPROVED how far the delay is (by the
// answering node's clock: `now_ms` minus local_approved_ms) and which sites'
// nodes said it passed; for a closed proposal its outcome.
std::string NextStep(const v1::ProposalRecord& record, const v1::Charter& charter, int64_t now_ms);

// Every field of the record an operator needs, with the action described.
nlohmann::json ProposalJson(const v1::ProposalRecord& record, const v1::Charter& charter,
                            int64_t now_ms);

// Short form after propose/approve/veto: id, state, approvals, next step.
void PrintProposalSummary(std::ostream& out, const v1::ProposalRecord& record,
                          const v1::Charter& charter, int64_t now_ms);

// Long form for `proposals show`.
void PrintProposalDetail(std::ostream& out, const v1::ProposalRecord& record,
                         const v1::Charter& charter, int64_t now_ms);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_PROPOSAL_NARRATIVE_H_

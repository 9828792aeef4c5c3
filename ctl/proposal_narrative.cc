#include "ctl/proposal_narrative.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "node/guard/charter.h"
#include "node/guard/proposal_rules.h"

namespace qbox::ctl {
namespace {

std::string FormatTimeMs(int64_t ms) {
  if (ms <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Sites of the charter that have not approved yet, in charter order.
std::vector<std::string> SitesStillToApprove(const v1::ProposalRecord& record,
                                             const v1::Charter& charter) {
  std::vector<std::string> out;
  for (const v1::CharterSite& site : charter.sites()) {
    if (!Contains(record.approved_sites(), site.name())) out.push_back(site.name());
  }
  return out;
}

nlohmann::json SignerJson(const v1::ProposalSigner& signer) {
  return {{"site", signer.site()},
          {"name", signer.name()},
          {"signed_at_ms", signer.signed_at_ms()},
          {"log_index", signer.log_index()},
          {"comment", signer.comment()}};
}

std::string SignerLine(const v1::ProposalSigner& signer) {
  std::string line =
      absl::StrCat(signer.name(), " (", signer.site(), ") at ", FormatTimeMs(signer.signed_at_ms()),
                   ", log index ", signer.log_index());
  if (!signer.comment().empty()) absl::StrAppend(&line, ": \"", signer.comment(), "\"");
  return line;
}

}  // namespace

std::string FormatMs(int64_t ms) { return absl::FormatDuration(absl::Milliseconds(ms)); }

std::string NextStep(const v1::ProposalRecord& record, const v1::Charter& charter, int64_t now_ms) {
  switch (record.state()) {
    case v1::PROPOSAL_STATE_PENDING: {
      int missing = static_cast<int>(record.required_sites()) - record.approved_sites_size();
      if (missing < 1) missing = 1;
      std::string next =
          absl::StrCat("needs ", missing, " more site", missing == 1 ? "" : "s", " of ",
                       absl::StrJoin(SitesStillToApprove(record, charter), ", "), "; then waits ",
                       FormatMs(charter.delay_ms()));
      if (record.local_submitted_ms() > 0 && record.ttl_ms() > 0) {
        absl::StrAppend(&next, "; expires unless approved by about ",
                        FormatTimeMs(record.local_submitted_ms() + record.ttl_ms()));
      }
      return next;
    }
    case v1::PROPOSAL_STATE_APPROVED: {
      std::string next = absl::StrCat("approved; waits ", FormatMs(record.delay_ms()));
      if (record.local_approved_ms() > 0) {
        int64_t elapsed = std::max<int64_t>(0, now_ms - record.local_approved_ms());
        absl::StrAppend(&next, " (", FormatMs(std::min(elapsed, record.delay_ms())), " of ",
                        FormatMs(record.delay_ms()), " passed by the answering node's clock)");
      }
      absl::StrAppend(&next, "; ", record.delay_elapsed_sites_size(), " of ",
                      record.required_sites(), " sites' nodes say the delay passed");
      if (record.delay_elapsed_sites_size() > 0) {
        absl::StrAppend(&next, " (", absl::StrJoin(record.delay_elapsed_sites(), ", "), ")");
      }
      absl::StrAppend(&next, "; any site may still veto");
      return next;
    }
    default:
      return record.outcome().empty()
                 ? absl::StrCat("closed: ", guard::ProposalStateName(record.state()))
                 : record.outcome();
  }
}

nlohmann::json ProposalJson(const v1::ProposalRecord& record, const v1::Charter& charter,
                            int64_t now_ms) {
  nlohmann::json approvals = nlohmann::json::array();
  for (const auto& s : record.approvals()) approvals.push_back(SignerJson(s));
  nlohmann::json vetoes = nlohmann::json::array();
  for (const auto& s : record.vetoes()) vetoes.push_back(SignerJson(s));
  auto list = [](const google::protobuf::RepeatedPtrField<std::string>& l) {
    return nlohmann::json(std::vector<std::string>(l.begin(), l.end()));
  };
  return {{"id", record.proposal_id()},
          {"state", std::string(guard::ProposalStateName(record.state()))},
          {"action", guard::DescribeAction(charter, record.body().action())},
          {"reason", record.body().reason()},
          {"created_at_ms", record.body().created_at_ms()},
          {"proposer", SignerJson(record.proposer())},
          {"approvals", std::move(approvals)},
          {"vetoes", std::move(vetoes)},
          {"approved_sites", list(record.approved_sites())},
          {"required_sites", record.required_sites()},
          {"delay_ms", record.delay_ms()},
          {"ttl_ms", record.ttl_ms()},
          {"submitted_index", record.submitted_index()},
          {"approved_index", record.approved_index()},
          {"closed_index", record.closed_index()},
          {"delay_elapsed_sites", list(record.delay_elapsed_sites())},
          {"expired_sites", list(record.expired_sites())},
          {"local_submitted_ms", record.local_submitted_ms()},
          {"local_approved_ms", record.local_approved_ms()},
          {"outcome", record.outcome()},
          {"next", NextStep(record, charter, now_ms)}};
}

void PrintProposalSummary(std::ostream& out, const v1::ProposalRecord& record,
                          const v1::Charter& charter, int64_t now_ms) {
  out << "proposal " << record.proposal_id() << ": "
      << guard::DescribeAction(charter, record.body().action()) << "\n";
  out << "state: " << guard::ProposalStateName(record.state()) << "\n";
  out << "approved by: " << record.approved_sites_size() << " of " << record.required_sites()
      << " sites";
  if (record.approved_sites_size() > 0) {
    out << " (" << absl::StrJoin(record.approved_sites(), ", ") << ")";
  }
  out << "\n";
  if (record.vetoes_size() > 0) {
    std::vector<std::string> by;
    for (const auto& v : record.vetoes()) by.push_back(v.name());
    out << "vetoed by: " << absl::StrJoin(by, ", ") << "\n";
  }
  out << "next: " << NextStep(record, charter, now_ms) << "\n";
}

void PrintProposalDetail(std::ostream& out, const v1::ProposalRecord& record,
                         const v1::Charter& charter, int64_t now_ms) {
  PrintProposalSummary(out, record, charter, now_ms);
  out << "reason: " << record.body().reason() << "\n";
  out << "proposed by: " << SignerLine(record.proposer()) << "\n";
  for (const auto& a : record.approvals()) out << "approval: " << SignerLine(a) << "\n";
  for (const auto& v : record.vetoes()) out << "veto: " << SignerLine(v) << "\n";
  out << "rules: M = " << record.required_sites() << " sites, T = " << FormatMs(record.delay_ms())
      << ", lifetime " << FormatMs(record.ttl_ms()) << "\n";
  out << "log: submitted at index " << record.submitted_index();
  if (record.approved_index() > 0) out << ", approved at " << record.approved_index();
  if (record.closed_index() > 0) out << ", closed at " << record.closed_index();
  out << "\n";
  out << "answering node's clock: submission applied " << FormatTimeMs(record.local_submitted_ms())
      << ", approval applied " << FormatTimeMs(record.local_approved_ms()) << "\n";
  if (record.delay_elapsed_sites_size() > 0) {
    out << "delay passed for: " << absl::StrJoin(record.delay_elapsed_sites(), ", ") << "\n";
  }
  if (record.expired_sites_size() > 0) {
    out << "lifetime passed for: " << absl::StrJoin(record.expired_sites(), ", ") << "\n";
  }
  if (!record.outcome().empty()) out << "outcome: " << record.outcome() << "\n";
}

}  // namespace qbox::ctl

// The charter (charter.proto): validation, the site-majority rule, and the
// changes executed proposals make to it (DESIGN.md G2, G6). Pure functions:
// the mailbox state machine calls them while applying entries, so they
// depend only on their arguments.
#ifndef QBOX_NODE_GUARD_CHARTER_H_
#define QBOX_NODE_GUARD_CHARTER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/guard/site_trust_store.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::guard {

// Defaults for a charter that does not say otherwise.
inline constexpr uint32_t kDefaultRequiredSites = 2;
inline constexpr int64_t kDefaultDelayMs = 72LL * 3600 * 1000;             // T = 72 h
inline constexpr int64_t kDefaultRetentionMs = 30LL * 24 * 3600 * 1000;    // R = 30 days
inline constexpr int64_t kDefaultProposalTtlMs = 7LL * 24 * 3600 * 1000;   // 7 days
inline constexpr uint64_t kDefaultCheckpointEvery = 10000;

// OK, or INVALID_ARGUMENT naming the field ("charter.sites[1].ca_cert_pem:
// ..."): empty cluster; no sites; a site name breaking identity_names.h,
// duplicated, or whose CA certificate does not parse, is not a CA, or is
// shared with another site; a node with id 0, a duplicated id or
// (site, name), an unknown site, an empty address; required_sites outside
// 1..number of sites; delay_ms < 0; retention_ms, proposal_ttl_ms or
// checkpoint_every not positive; version 0; and any violation of
// CheckNoSiteMajority.
absl::Status ValidateCharter(const v1::Charter& charter);

// OK if no site holds more than half of the charter's voters that are not
// removed; FAILED_PRECONDITION naming the site and the counts otherwise.
// Run on every membership change (G7: a single site must never be able to
// commit or elect alone).
absl::Status CheckNoSiteMajority(const v1::Charter& charter);
// The same over counted voters: `voters_by_site` counts the `voters` of a
// configuration by site (FAILED_PRECONDITION naming the site otherwise).
absl::Status CheckNoSiteMajority(const std::map<std::string, int>& voters_by_site, int voters);

// The trust store of the charter's sites (site_trust_store.h).
absl::StatusOr<SiteTrustStore> TrustStoreOf(const v1::Charter& charter);

// The node with `id`, or nullptr.
const v1::CharterNode* FindCharterNode(const v1::Charter& charter, uint64_t id);
const v1::CharterNode* FindCharterNode(const v1::Charter& charter, absl::string_view site,
                                       absl::string_view name);

// Checks `action` on its own: INVALID_ARGUMENT "action: unknown kind" if no
// action is set (or one this build does not know), or naming the field
// ("action.set_required_sites.required_sites: 5 is more than the 3 sites").
// For charter-changing actions it also checks that the charter after the
// change would be valid (ValidateCharter), so a proposal that could never
// run is refused at submission. Account actions are checked for syntax
// only: whether the account exists is the state machine's business.
absl::Status ValidateAction(const v1::Charter& charter, const v1::ProposedAction& action);

// True for the actions that change the charter (everything except
// purge_vault and delete_account).
bool ChangesCharter(const v1::ProposedAction& action);

// The charter after executing a charter-changing `action`: fields set,
// sites added or removed (removing a site marks its nodes removed), CA
// replaced; version + 1. The result is validated; FAILED_PRECONDITION with
// the reason if the change no longer fits (e.g. removing a node would leave
// a site with a majority).
absl::StatusOr<v1::Charter> ApplyCharterAction(const v1::Charter& charter,
                                               const v1::ProposedAction& action);

// One line per action for narrative output: "purge the vault of account
// alice", "set M (required sites) from 2 to 1", ...
std::string DescribeAction(const v1::Charter& charter, const v1::ProposedAction& action);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_CHARTER_H_

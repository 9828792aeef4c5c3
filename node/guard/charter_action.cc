// ValidateAction, ChangesCharter, ApplyCharterAction and DescribeAction
// (charter.h): what each proposed action does to the charter.
#include "node/guard/charter_action.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/identity_names.h"

namespace qbox::guard {
namespace {

using Case = v1::ProposedAction::ActionCase;

// Same limit as the mailbox layer's account names (node/mailbox/names.h);
// the guard cannot depend on that library, and whether the account exists
// is decided by the state machine when the action runs.
constexpr size_t kMaxAccountNameBytes = 255;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::string_view KindName(const v1::ProposedAction& action) {
  switch (action.action_case()) {
    case Case::kPurgeVault:
      return "purge_vault";
    case Case::kDeleteAccount:
      return "delete_account";
    case Case::kSetRetention:
      return "set_retention";
    case Case::kSetDelay:
      return "set_delay";
    case Case::kSetRequiredSites:
      return "set_required_sites";
    case Case::kSetProposalTtl:
      return "set_proposal_ttl";
    case Case::kRemoveNode:
      return "remove_node";
    case Case::kRemoveSite:
      return "remove_site";
    case Case::kAddSite:
      return "add_site";
    case Case::kReplaceSiteCa:
      return "replace_site_ca";
    case Case::ACTION_NOT_SET:
      break;
  }
  return "unknown";
}

absl::Status CheckAccountName(absl::string_view account, absl::string_view field) {
  if (account.empty()) return Invalid(field, "account name must not be empty");
  if (account.size() > kMaxAccountNameBytes) {
    return Invalid(field, absl::StrCat("account name is ", account.size(), " bytes; the limit is ",
                                       kMaxAccountNameBytes));
  }
  for (char c : account) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return Invalid(field, "account name has a control character");
    if (c == '/') return Invalid(field, "account name must not contain '/'");
  }
  return absl::OkStatus();
}

v1::CharterSite* FindSite(v1::Charter* charter, absl::string_view name) {
  for (v1::CharterSite& site : *charter->mutable_sites()) {
    if (site.name() == name) return &site;
  }
  return nullptr;
}

int LiveVoters(const v1::Charter& charter) {
  int voters = 0;
  for (const v1::CharterNode& node : charter.nodes()) voters += node.voter() && !node.removed();
  return voters;
}

std::string HumanDuration(int64_t ms) {
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  if (ms > 0 && ms % kDayMs == 0) return absl::StrCat(ms / kDayMs, "d");
  return absl::FormatDuration(absl::Milliseconds(ms));
}

// The charter after `action`, with every problem reported as
// INVALID_ARGUMENT naming the action's field. Not yet validated as a whole.
absl::StatusOr<v1::Charter> ChangedCharter(const v1::Charter& charter,
                                           const v1::ProposedAction& action) {
  v1::Charter next = charter;
  const int voters_before = LiveVoters(charter);
  switch (action.action_case()) {
    case Case::kSetRetention: {
      const int64_t ms = action.set_retention().retention_ms();
      if (ms <= 0) {
        return Invalid("action.set_retention.retention_ms",
                       absl::StrCat("must be positive, got ", ms));
      }
      next.set_retention_ms(ms);
      break;
    }
    case Case::kSetDelay: {
      const int64_t ms = action.set_delay().delay_ms();
      if (ms < 0) {
        return Invalid("action.set_delay.delay_ms", absl::StrCat("must not be negative, got ", ms));
      }
      next.set_delay_ms(ms);
      break;
    }
    case Case::kSetRequiredSites: {
      const uint32_t m = action.set_required_sites().required_sites();
      const auto sites = static_cast<uint32_t>(charter.sites_size());
      if (m < 1) return Invalid("action.set_required_sites.required_sites", "must be at least 1");
      if (m > sites) {
        return Invalid("action.set_required_sites.required_sites",
                       absl::StrCat(m, " is more than the ", sites, " sites"));
      }
      next.set_required_sites(m);
      break;
    }
    case Case::kSetProposalTtl: {
      const int64_t ms = action.set_proposal_ttl().proposal_ttl_ms();
      if (ms <= 0) {
        return Invalid("action.set_proposal_ttl.proposal_ttl_ms",
                       absl::StrCat("must be positive, got ", ms));
      }
      next.set_proposal_ttl_ms(ms);
      break;
    }
    case Case::kRemoveNode: {
      const v1::RemoveNodeAction& remove = action.remove_node();
      RETURN_IF_ERROR(ValidateSiteName(remove.site(), "action.remove_node.site"));
      RETURN_IF_ERROR(ValidateEntityName(remove.node(), "action.remove_node.node"));
      v1::CharterNode* target = nullptr;
      for (v1::CharterNode& node : *next.mutable_nodes()) {
        if (node.site() == remove.site() && node.name() == remove.node() && !node.removed()) {
          target = &node;
        }
      }
      if (target == nullptr) {
        return Invalid("action.remove_node", absl::StrCat("no node ", remove.site(), "/",
                                                          remove.node(), " in the charter"));
      }
      target->set_removed(true);
      break;
    }
    case Case::kRemoveSite: {
      const std::string& name = action.remove_site().site();
      RETURN_IF_ERROR(ValidateSiteName(name, "action.remove_site.site"));
      if (FindSite(&next, name) == nullptr) {
        return Invalid("action.remove_site.site", absl::StrCat("'", name, "' is not a site"));
      }
      if (next.sites_size() == 1) {
        return Invalid("action.remove_site.site", absl::StrCat("'", name, "' is the only site"));
      }
      auto* sites = next.mutable_sites();
      for (int i = 0; i < sites->size(); ++i) {
        if (sites->Get(i).name() == name) {
          sites->erase(sites->begin() + i);
          break;
        }
      }
      // Marked rather than deleted: a removed node's id is never reused.
      for (v1::CharterNode& node : *next.mutable_nodes()) {
        if (node.site() == name) node.set_removed(true);
      }
      break;
    }
    case Case::kAddSite: {
      const v1::AddSiteAction& add = action.add_site();
      RETURN_IF_ERROR(ValidateSiteName(add.site(), "action.add_site.site"));
      if (FindSite(&next, add.site()) != nullptr) {
        return Invalid("action.add_site.site",
                       absl::StrCat("'", add.site(), "' is already a site"));
      }
      RETURN_IF_ERROR(
          CheckSiteCaCertificate(add.ca_cert_pem(), add.site(), "action.add_site.ca_cert_pem")
              .status());
      v1::CharterSite* site = next.add_sites();
      site->set_name(add.site());
      site->set_ca_cert_pem(add.ca_cert_pem());
      break;
    }
    case Case::kReplaceSiteCa: {
      const v1::ReplaceSiteCaAction& replace = action.replace_site_ca();
      RETURN_IF_ERROR(ValidateSiteName(replace.site(), "action.replace_site_ca.site"));
      v1::CharterSite* site = FindSite(&next, replace.site());
      if (site == nullptr) {
        return Invalid("action.replace_site_ca.site",
                       absl::StrCat("'", replace.site(), "' is not a site"));
      }
      ASSIGN_OR_RETURN(std::string new_key,
                       CheckSiteCaCertificate(replace.ca_cert_pem(), replace.site(),
                                              "action.replace_site_ca.ca_cert_pem"));
      absl::StatusOr<std::string> old_key =
          CheckSiteCaCertificate(site->ca_cert_pem(), site->name(), "current CA");
      if (old_key.ok() && *old_key == new_key) {
        return Invalid("action.replace_site_ca.ca_cert_pem", "is already the site's CA");
      }
      site->set_ca_cert_pem(replace.ca_cert_pem());
      break;
    }
    case Case::kPurgeVault:
    case Case::kDeleteAccount:
      return Invalid("action", absl::StrCat(KindName(action), " does not change the charter"));
    case Case::ACTION_NOT_SET:
      return Invalid("action", "unknown kind");
  }
  // A charter without voters is a cluster that can never commit again.
  if (voters_before > 0 && LiveVoters(next) == 0) {
    return Invalid(absl::StrCat("action.", KindName(action)), "would leave no voting node");
  }
  next.set_version(charter.version() + 1);
  absl::Status whole = ValidateCharter(next);
  if (!whole.ok()) {
    return Invalid(absl::StrCat("action.", KindName(action)),
                   absl::StrCat("would leave an invalid charter: ", whole.message()));
  }
  return next;
}

}  // namespace

bool ChangesCharter(const v1::ProposedAction& action) {
  switch (action.action_case()) {
    case Case::kPurgeVault:
    case Case::kDeleteAccount:
    case Case::ACTION_NOT_SET:
      return false;
    default:
      return true;
  }
}

absl::Status ValidateAction(const v1::Charter& charter, const v1::ProposedAction& action) {
  switch (action.action_case()) {
    case Case::ACTION_NOT_SET:
      return Invalid("action", "unknown kind");
    case Case::kPurgeVault:
      return CheckAccountName(action.purge_vault().account(), "action.purge_vault.account");
    case Case::kDeleteAccount:
      return CheckAccountName(action.delete_account().account(), "action.delete_account.account");
    default:
      return ChangedCharter(charter, action).status();
  }
}

absl::StatusOr<v1::Charter> ApplyCharterAction(const v1::Charter& charter,
                                               const v1::ProposedAction& action) {
  if (!ChangesCharter(action)) {
    return ChangedCharter(charter, action).status();  // names why: unknown or account action
  }
  absl::StatusOr<v1::Charter> next = ChangedCharter(charter, action);
  // Checked at submission already; failing now means the charter changed
  // since, which is a matter of state, not of the proposal's syntax.
  if (!next.ok()) return absl::FailedPreconditionError(next.status().message());
  return next;
}

std::string DescribeAction(const v1::Charter& charter, const v1::ProposedAction& action) {
  switch (action.action_case()) {
    case Case::kPurgeVault:
      return absl::StrCat("purge the vault of account ", action.purge_vault().account());
    case Case::kDeleteAccount:
      return absl::StrCat("delete account ", action.delete_account().account(),
                          " with its mail and vault for good");
    case Case::kSetRetention:
      return absl::StrCat("set R (retention) from ", HumanDuration(charter.retention_ms()), " to ",
                          HumanDuration(action.set_retention().retention_ms()));
    case Case::kSetDelay:
      return absl::StrCat("set T (delay) from ", HumanDuration(charter.delay_ms()), " to ",
                          HumanDuration(action.set_delay().delay_ms()));
    case Case::kSetRequiredSites:
      return absl::StrCat("set M (required sites) from ", charter.required_sites(), " to ",
                          action.set_required_sites().required_sites());
    case Case::kSetProposalTtl:
      return absl::StrCat("set the proposal lifetime from ",
                          HumanDuration(charter.proposal_ttl_ms()), " to ",
                          HumanDuration(action.set_proposal_ttl().proposal_ttl_ms()));
    case Case::kRemoveNode: {
      const v1::RemoveNodeAction& remove = action.remove_node();
      const v1::CharterNode* node = FindCharterNode(charter, remove.site(), remove.node());
      return absl::StrCat("remove node ", remove.site(), "/", remove.node(),
                          node != nullptr ? absl::StrCat(" (id ", node->id(), ")") : "");
    }
    case Case::kRemoveSite: {
      int nodes = 0;
      for (const v1::CharterNode& node : charter.nodes()) {
        nodes += node.site() == action.remove_site().site() && !node.removed();
      }
      return absl::StrCat("remove site ", action.remove_site().site(), " and its ", nodes,
                          nodes == 1 ? " node" : " nodes");
    }
    case Case::kAddSite:
      return absl::StrCat("add site ", action.add_site().site());
    case Case::kReplaceSiteCa:
      return absl::StrCat("replace the CA of site ", action.replace_site_ca().site());
    case Case::ACTION_NOT_SET:
      break;
  }
  return "an action of unknown kind";
}

}  // namespace qbox::guard

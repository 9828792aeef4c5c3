// The flags of `qboxctl propose KIND ...` turned into the ProposedAction of
// charter.proto, checked locally so that a mistyped command is refused by
// flag before anything is signed or sent.
#ifndef QBOX_CTL_PROPOSAL_ACTION_FLAGS_H_
#define QBOX_CTL_PROPOSAL_ACTION_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::ctl {

// As given on the command line; an empty string means "not given".
struct ProposeActionFlags {
  std::string kind;       // purge-vault, delete-account, set-retention, ...
  std::string account;    // --account
  std::string retention;  // --retention 720h
  std::string delay;      // --delay 72h
  std::string sites;      // --sites 2
  std::string ttl;        // --ttl 168h
  std::string node;       // --node site-b/n2
  std::string site;       // --site site-c
  std::string ca_cert;    // --ca-cert FILE
};

// The proposal kinds in the order `qboxctl propose --help` lists them.
const std::vector<std::string>& ProposalKinds();

// The action `flags` describe. INVALID_ARGUMENT whose message starts with
// what is at fault: "KIND: unknown proposal kind 'x' (one of ...)"; a
// missing flag ("--account: needed by purge-vault"); a flag the kind does
// not use ("--delay: not used by purge-vault"); a bad value ("--ttl: 'abc'
// is not a duration like 168h or 30m", "--sites: must be a whole number
// of at least 1"); an unreadable --ca-cert file (NOT_FOUND /
// PERMISSION_DENIED naming "--ca-cert" and the path) or one that is not
// exactly a site CA certificate. Reads nothing but --ca-cert.
absl::StatusOr<v1::ProposedAction> BuildProposedAction(const ProposeActionFlags& flags);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_PROPOSAL_ACTION_FLAGS_H_

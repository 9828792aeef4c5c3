#include "node/server/raft_proto_convert.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace qbox::server {
namespace {

std::string HashBytes(const raft::ChainHash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

absl::Status ParseHash(const std::string& bytes, const char* field, raft::ChainHash* out) {
  if (bytes.empty()) {
    *out = raft::ChainHash{};
    return absl::OkStatus();
  }
  if (bytes.size() != out->size()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be 32 bytes, got ", bytes.size()));
  }
  std::memcpy(out->data(), bytes.data(), out->size());
  return absl::OkStatus();
}

void ConfToProto(const raft::ConfState& in, v1::ConfState* out) {
  for (raft::NodeId id : in.voters) out->add_voters(id);
  for (raft::NodeId id : in.learners) out->add_learners(id);
}

}  // namespace

void ToProto(const raft::Message& in, v1::RaftMessage* out) {
  out->set_type(static_cast<v1::RaftMessageType>(in.type));
  out->set_from(in.from);
  out->set_to(in.to);
  out->set_term(in.term);
  out->set_index(in.index);
  out->set_log_term(in.log_term);
  if (in.type == raft::MessageType::kAppend) out->set_prev_chain(HashBytes(in.prev_chain));
  for (const raft::Entry& e : in.entries) {
    v1::Entry* pe = out->add_entries();
    pe->set_term(e.term);
    pe->set_index(e.index);
    pe->set_type(static_cast<v1::EntryType>(e.type));
    pe->set_data(e.data);
    pe->set_chain(HashBytes(e.chain));
  }
  out->set_commit(in.commit);
  out->set_reject(in.reject);
  out->set_reject_hint(in.reject_hint);
  out->set_hint_term(in.hint_term);
  out->set_recovering(in.recovering);
  if (in.type == raft::MessageType::kSnapshotChunk) {
    v1::SnapshotMeta* s = out->mutable_snapshot();
    s->set_index(in.snapshot.index);
    s->set_term(in.snapshot.term);
    s->set_chain(HashBytes(in.snapshot.chain));
    ConfToProto(in.snapshot.conf, s->mutable_conf());
    s->set_data_size(in.snapshot.data_size);
    s->set_data_digest(HashBytes(in.snapshot.data_digest));
    out->set_chunk_data(in.chunk_data);
    out->set_chunk_last(in.chunk_last);
  }
  out->set_chunk_offset(in.chunk_offset);
  out->set_context(in.context);
  out->set_transferee(in.transferee);
}

absl::StatusOr<raft::Message> FromProto(const v1::RaftMessage& in) {
  raft::Message m;
  if (in.type() < 0 || in.type() > static_cast<int>(raft::MessageType::kReadIndexResp)) {
    return absl::InvalidArgumentError(absl::StrCat("type ", in.type(), " is unknown"));
  }
  m.type = static_cast<raft::MessageType>(in.type());
  m.from = in.from();
  m.to = in.to();
  m.term = in.term();
  m.index = in.index();
  m.log_term = in.log_term();
  if (absl::Status s = ParseHash(in.prev_chain(), "prev_chain", &m.prev_chain); !s.ok()) return s;
  m.entries.reserve(in.entries_size());
  for (int i = 0; i < in.entries_size(); ++i) {
    const v1::Entry& pe = in.entries(i);
    raft::Entry e;
    e.term = pe.term();
    e.index = pe.index();
    if (pe.type() < 0 || pe.type() > static_cast<int>(raft::EntryType::kNoop)) {
      return absl::InvalidArgumentError(absl::StrCat("entries[", i, "].type is unknown"));
    }
    e.type = static_cast<raft::EntryType>(pe.type());
    e.data = pe.data();
    if (pe.chain().size() != e.chain.size()) {
      return absl::InvalidArgumentError(absl::StrCat("entries[", i, "].chain must be 32 bytes"));
    }
    std::memcpy(e.chain.data(), pe.chain().data(), e.chain.size());
    m.entries.push_back(std::move(e));
  }
  m.commit = in.commit();
  m.reject = in.reject();
  m.reject_hint = in.reject_hint();
  m.hint_term = in.hint_term();
  m.recovering = in.recovering();
  if (in.has_snapshot()) {
    const v1::SnapshotMeta& s = in.snapshot();
    m.snapshot.index = s.index();
    m.snapshot.term = s.term();
    if (absl::Status st = ParseHash(s.chain(), "snapshot.chain", &m.snapshot.chain); !st.ok()) {
      return st;
    }
    m.snapshot.conf.voters.assign(s.conf().voters().begin(), s.conf().voters().end());
    m.snapshot.conf.learners.assign(s.conf().learners().begin(), s.conf().learners().end());
    if (s.data_size() > kMaxSnapshotDataBytes) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot.data_size: ", s.data_size(),
                                                     " bytes is more than the ",
                                                     kMaxSnapshotDataBytes, " a node accepts"));
    }
    m.snapshot.data_size = s.data_size();
    if (absl::Status st =
            ParseHash(s.data_digest(), "snapshot.data_digest", &m.snapshot.data_digest);
        !st.ok()) {
      return st;
    }
  }
  m.chunk_offset = in.chunk_offset();
  m.chunk_data = in.chunk_data();
  m.chunk_last = in.chunk_last();
  m.context = in.context();
  m.transferee = in.transferee();
  return m;
}

}  // namespace qbox::server

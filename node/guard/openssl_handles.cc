#include "node/guard/openssl_handles.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace qbox::guard {

absl::Status OpenSslError(absl::StatusCode code, absl::string_view context) {
  // The most recent error is the most specific one; earlier entries are the
  // outer layers that reported it.
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return absl::Status(code, context);
  char buf[256];
  ERR_error_string_n(last, buf, sizeof(buf));
  return absl::Status(code, absl::StrCat(context, ": ", buf));
}

}  // namespace qbox::guard

// File: workers/realtime/page.h
//
// The live page served at GET / by the realtime worker: page.html (one
// self-contained file, no CDN, no build step), compiled into the binary.
#ifndef HERALD_WORKERS_REALTIME_PAGE_H_
#define HERALD_WORKERS_REALTIME_PAGE_H_

#include "absl/strings/string_view.h"

namespace herald {
namespace workers {

absl::string_view LivePage();

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_PAGE_H_

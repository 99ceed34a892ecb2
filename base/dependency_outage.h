// File: base/dependency_outage.h
//
// An error either belongs to the work that met it (this event names a user
// who does not exist, this template is unknown) or to a dependency the work
// needs (the database cannot be reached, the SMTP server refuses
// connections, the disk is full). Code that retries work must tell the two
// apart: retrying the work later helps with the first only so often, while
// the second is nobody's fault but the dependency's and ends when it comes
// back. A consumer, for one, counts the first against the record's attempts
// (and dead-letters it when they run out) but waits out the second without
// using any of them.
//
// DependencyOutage() marks a status as the second kind; the code and message
// stay as they are. The database layer marks its connection and disk
// failures so; a handler marks what its own dependencies report.
//
// Example:
//
//   absl::Status s = smtp.Connect();
//   if (!s.ok()) return herald::DependencyOutage(s);  // wait, don't count
//   ...
//   if (herald::IsDependencyOutage(status)) { /* pause and retry later */ }
#ifndef HERALD_BASE_DEPENDENCY_OUTAGE_H_
#define HERALD_BASE_DEPENDENCY_OUTAGE_H_

#include "absl/status/status.h"

namespace herald {

// DependencyOutage()
//
// `status` marked as caused by an unavailable dependency. OK stays OK.
absl::Status DependencyOutage(absl::Status status);

// IsDependencyOutage()
//
// True when DependencyOutage() marked `status`.
bool IsDependencyOutage(const absl::Status& status);

}  // namespace herald

#endif  // HERALD_BASE_DEPENDENCY_OUTAGE_H_

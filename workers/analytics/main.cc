// The analytics worker: `bazel run //workers:analytics`, or
// `bazel run //workers:analytics -- --report` to print the aggregates.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "base/flags.h"
#include "base/process.h"
#include "database/database.h"
#include "database/flags.h"
#include "database/settings.h"
#include "workers/analytics/analytics.h"

ABSL_FLAG(bool, report, false, "print the aggregates and exit");

namespace {

int Report(int argc, char** argv) {
  herald::db::DatabaseSettings database;
  herald::Usage usage;
  usage.synopsis = "analytics --report [--db=URL] [--config=FILE]";
  usage.description = "Prints the analytics worker's daily aggregates.\n";
  usage.keys = herald::db::DatabaseKeys(database);
  herald::InitProcess(argc, argv, usage);
  absl::Status loaded = herald::settings::Load(
      herald::db::DatabaseKeys(database),
      herald::SourcesFromFlags({{"db", "sqlite:analytics-worker.db"}},
                               {herald::db::DatabaseFlags()}));
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", std::string(loaded.message()).c_str());
    return 2;
  }
  auto db = herald::db::Database::Open(database.url);
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }
  auto report = herald::workers::AnalyticsReport(**db);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  std::fputs(report->c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--report") return Report(argc, argv);
  }
  return herald::workers::WorkerMain(argc, argv,
                                     herald::workers::AnalyticsWorkerSpec());
}

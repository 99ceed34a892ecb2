#include "tools/settings_reference.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "base/log_format.h"
#include "base/settings.h"
#include "gateway/settings.h"
#include "messaging/config.h"
#include "workers/analytics/analytics.h"
#include "workers/crm/crm.h"
#include "workers/email/email_settings.h"
#include "workers/email/email_worker.h"
#include "workers/realtime/realtime_settings.h"
#include "workers/runtime/worker_settings.h"

namespace herald {
namespace tools {

std::vector<SettingRow> AllSettings() {
  // Default-constructed: what the keys read are the defaults.
  Config messaging;
  gateway::GatewaySettings gateway;
  workers::WorkerSettings worker;
  workers::EmailSettings email;
  workers::RealtimeSettings realtime;
  LogSettings log;
  std::vector<settings::Key> keys = MessagingKeys(messaging);
  for (auto& key : LogKeys(log)) keys.push_back(key);
  for (auto& key : gateway::GatewayKeys(gateway)) keys.push_back(key);
  for (auto& key : workers::WorkerKeys(worker)) keys.push_back(key);
  for (auto& key : workers::EmailKeys(email)) keys.push_back(key);
  for (auto& key : workers::RealtimeKeys(realtime)) keys.push_back(key);
  std::vector<SettingRow> rows;
  // `db` is both the gateway's and workers': one row. `admin_port` is too,
  // with other defaults: a row each.
  std::set<std::string> seen;
  for (const settings::Key& key : keys) {
    if (!seen.insert(absl::StrCat(key.name, "\n", key.get(), "\n", key.help))
             .second) {
      continue;
    }
    rows.push_back({key.prefix ? absl::StrCat(key.name, "<name>") : key.name,
                    key.get(), key.help});
    if (key.name == "admin_port" &&
        key.get() == absl::StrCat(workers::WorkerSettings().admin_port)) {
      // What each worker binary starts with (WorkerMain): its own port.
      for (const workers::WorkerSpec& spec :
           {workers::EmailWorkerSpec(email), workers::AnalyticsWorkerSpec(),
            workers::CrmWorkerSpec()}) {
        rows.push_back({"admin_port", absl::StrCat(*spec.admin_port),
                        absl::StrCat(spec.name, " (the binary)")});
      }
    }
  }
  return rows;
}

std::string SettingsTable() {
  std::string out = "| key | default | meaning |\n|---|---|---|\n";
  for (const SettingRow& row : AllSettings()) {
    absl::StrAppend(
        &out, "| `", row.key, "` | ",
        row.default_value.empty() ? ""
                                  : absl::StrCat("`", row.default_value, "`"),
        " | ", absl::StrReplaceAll(row.help, {{"|", "\\|"}}), " |\n");
  }
  return out;
}

}  // namespace tools
}  // namespace herald

// The CRM worker: `bazel run //workers:crm`.
#include "workers/crm/crm.h"

int main(int argc, char** argv) {
  return herald::workers::WorkerMain(argc, argv,
                                     herald::workers::CrmWorkerSpec());
}

"""Herald's folder graph: which top-level folder may depend on which.

The one place the layers are written down. Read by:
  - bazel/herald.bzl: every herald_* macro refuses, when the BUILD file is
    loaded, a dep on a folder its own folder may not use;
  - tools/layering/check_layers.py (run by .ci/run): the same rule for every
    #include and BUILD dep, plus cycles, and the graph in README.md's Layout.

Keep this file plain data (a dict of lists of strings): the checker reads it
as a Python literal.
"""

# Folder -> the folders its code may include and depend on directly (its own
# folder always). Lower layers first; a folder lists only folders above it
# in this list, so the graph has no cycle.
LAYERS = {
    "base": [],
    "contracts": [],
    "database": ["base"],
    "metrics": ["base"],
    "web": ["base"],
    "messaging": ["base", "contracts", "database", "metrics"],
    "devbroker": ["base", "contracts", "messaging", "web"],
    "gateway": ["base", "contracts", "database", "devbroker", "messaging", "metrics", "web"],
    "workers": ["base", "contracts", "database", "messaging", "metrics", "web"],
    "e2e": ["base", "contracts", "database", "devbroker", "gateway", "messaging", "metrics", "web", "workers"],
    "tools": ["base", "contracts", "database", "devbroker", "gateway", "messaging", "metrics", "web", "workers"],
}

# System library (//third_party:<name>) -> the folders that may use it
# directly, by BUILD dep and by #include. A library missing here may be used
# by every folder (Abseil, glog, Protobuf, GoogleTest). Each is wrapped by one
# layer, which keeps it out of its public headers; tools/ may reach past the
# wrapper (benchmarks measure raw librdkafka as their baseline).
THIRD_PARTY = {
    "rdkafka": ["messaging", "tools"],
    "sqlite3": ["database"],
    "libpq": ["database"],
    "boost": ["web"],
    "boost_json": ["web"],
    "curl": ["workers"],
    "yaml_cpp": ["base"],
    "jemalloc": ["gateway"],
    "benchmark": ["tools"],
    "crypto": ["base"],
}

# #include prefixes (angle brackets) that belong to a library above.
THIRD_PARTY_INCLUDES = {
    "librdkafka/": "rdkafka",
    "sqlite3.h": "sqlite3",
    "postgresql/": "libpq",
    "libpq-fe.h": "libpq",
    "boost/": "boost",
    "curl/": "curl",
    "yaml-cpp/": "yaml_cpp",
    "jemalloc/": "jemalloc",
    "benchmark/": "benchmark",
    "openssl/": "crypto",
}

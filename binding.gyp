{
  # CPU addon. Each ISA's sources form their own static library because gyp flags are per target;
  # the core never gets ISA flags, and native/cpu/dispatch.cpp picks variants at run time.
  # Source lists come from scripts/native-sources.mjs (one source of truth with CMakeLists.txt).
  "variables": {
    "lq_cflags": ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "lq_sanitize%": "0"
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O2", "-O0"],
    "cflags_cc": ["-std=c++17", "<@(lq_cflags)"],
    "cflags": ["<@(lq_cflags)"],
    "include_dirs": ["native"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
    "conditions": [
      ["lq_sanitize=='1'", {
        "cflags_cc+": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g"],
        "ldflags+": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "lq_avx2",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node scripts/native-sources.mjs avx2)"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2"]
        }]
      ]
    },
    {
      "target_name": "lq_avx512",
      "type": "static_library",
      "conditions": [
        ["target_arch=='x64'", {
          "sources": ["<!@(node scripts/native-sources.mjs avx512)"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c", "-mbmi2",
                        "-Wno-maybe-uninitialized"]
        }]
      ]
    },
    {
      "target_name": "lq_neon",
      "type": "static_library",
      "conditions": [
        ["target_arch=='arm64'", {
          "sources": ["<!@(node scripts/native-sources.mjs neon)"]
        }]
      ]
    },
    {
      "target_name": "layerquant",
      "sources": ["<!@(node scripts/native-sources.mjs core)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lpthread"],
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["lq_avx2", "lq_avx512"] }],
        ["target_arch=='arm64'", { "dependencies": ["lq_neon"] }]
      ]
    }
  ]
}

# CPU-only build for machines without CMake (node-gyp). Sources and per-ISA flags come from
# native/sources.json, the same list CMakeLists.txt reads.
{
  "variables": {
    "srcs": "require('./native/sources.json')"
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno"],
    "cflags_cc!": ["-fno-exceptions"],
    "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "SIMSAGE_X86=1"]
  },
  "targets": [
    {
      "target_name": "simsage_avx2",
      "type": "static_library",
      "sources": ["<!@(node -p \"<(srcs).avx2.join(' ')\")"],
      "cflags_cc": ["<!@(node -p \"<(srcs).flags.avx2.join(' ')\")"]
    },
    {
      "target_name": "simsage_avx512",
      "type": "static_library",
      "sources": ["<!@(node -p \"<(srcs).avx512.join(' ')\")"],
      "cflags_cc": ["<!@(node -p \"<(srcs).flags.avx512.join(' ')\")"]
    },
    {
      "target_name": "simsage",
      "dependencies": ["simsage_avx2", "simsage_avx512"],
      "sources": [
        "<!@(node -p \"<(srcs).core.join(' ')\")",
        "<!@(node -p \"<(srcs).cuda_stub.join(' ')\")",
        "<!@(node -p \"<(srcs).addon.join(' ')\")"
      ]
    }
  ]
}

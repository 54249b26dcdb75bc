# CMake generated Testfile for 
# Source directory: /tmp/w11/bench
# Build directory: /tmp/w11/b/bench
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[mcn.bench.crypto_smoke]=] "/tmp/w11/b/bench/bench_crypto" "--quick" "--json")
set_tests_properties([=[mcn.bench.crypto_smoke]=] PROPERTIES  TIMEOUT "300" _BACKTRACE_TRIPLES "/tmp/w11/bench/CMakeLists.txt;22;add_test;/tmp/w11/bench/CMakeLists.txt;0;")

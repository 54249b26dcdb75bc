# Helpers shared by every folder: warnings, sanitizers, tests, benchmarks.

# mcn_warnings(target): strict warnings on one target (never global flags).
function(mcn_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wformat=2
    -Wstrict-prototypes -Wmissing-prototypes -Wvla)
  if (MCN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if (NOT MCN_SANITIZER STREQUAL "none")
    target_compile_options(${target} PRIVATE -fsanitize=${MCN_SANITIZER}
      -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${MCN_SANITIZER})
  endif()
endfunction()

# mcn_test(<dir> <name> [LIBS ...] [TIMEOUT s]): tests/<dir>/<name>.c -> ctest mcn.<dir>.<name>
function(mcn_test dir name)
  cmake_parse_arguments(T "" "TIMEOUT" "LIBS" ${ARGN})
  if (NOT T_TIMEOUT)
    set(T_TIMEOUT 1200)
  endif()
  set(exe test_${dir}_${name})
  add_executable(${exe} ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/${name}.c)
  target_include_directories(${exe} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${exe} PRIVATE ${T_LIBS})
  target_compile_definitions(${exe} PRIVATE
    MCN_TEST_DATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/data")
  mcn_warnings(${exe})
  add_test(NAME mcn.${dir}.${name} COMMAND ${exe})
  set_tests_properties(mcn.${dir}.${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
endfunction()

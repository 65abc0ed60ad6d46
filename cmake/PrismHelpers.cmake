# Warnings for Prism's own code (never for third-party headers).
add_library(prism_warnings INTERFACE)
add_library(prism::warnings ALIAS prism_warnings)
target_compile_options(prism_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare>)

# CPU code generation shared by every Prism target.
add_library(prism_cpu_arch INTERFACE)
add_library(prism::cpu_arch ALIAS prism_cpu_arch)
if(PRISM_X86_64_V3 AND CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_compile_options(prism_cpu_arch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=x86-64-v3>)
endif()

# prism_add_test(NAME name LABEL unit|cli|render|gpu SOURCES ... LIBS ...)
# One executable per test file group, discovered into ctest with its label.
function(prism_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  # The code generation of the engine, so inline kernels (distance.hpp) are
  # tested as the engine runs them, not as their portable fallbacks.
  target_link_libraries(${T_NAME} PRIVATE GTest::gtest_main prism::warnings prism::cpu_arch ${T_LIBS})
  target_compile_definitions(${T_NAME} PRIVATE
    PRISM_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
    PRISM_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()

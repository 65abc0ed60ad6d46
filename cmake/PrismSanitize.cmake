# Sanitizers and fuzzing instrumentation for every C++ target (CUDA sources
# are left alone: nvcc does not take these flags).
#   PRISM_SANITIZE=address,undefined   ASan + UBSan; UB aborts (no recovery),
#                                      so a test that hits it fails.
#   PRISM_FUZZ=ON                      clang only: libFuzzer coverage everywhere,
#                                      ASan + UBSan unless PRISM_SANITIZE says otherwise.
# These are the one place where flags apply to all targets: instrumentation
# that misses a library misses its bugs.
if(PRISM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PRISM_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "-DCMAKE_C_COMPILER=clang (scripts/fuzz does)")
  endif()
  if(PRISM_SANITIZE STREQUAL "")
    set(PRISM_SANITIZE "address,undefined")
  endif()
  add_compile_options($<$<COMPILE_LANGUAGE:CXX,C>:-fsanitize=fuzzer-no-link>)
endif()
if(NOT PRISM_SANITIZE STREQUAL "")
  set(_prism_san -fsanitize=${PRISM_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX,C>:${_prism_san}>")
  add_link_options("$<$<LINK_LANGUAGE:CXX,C>:-fsanitize=${PRISM_SANITIZE}>")
  # Tests print the sanitizer's report and fail; leaks in system libraries are
  # suppressed in tests/sanitize/lsan.supp (see scripts/test --sanitize).
endif()

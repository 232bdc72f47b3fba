# tests/fuzz — the .llir parser against hostile input.
#   fuzz_mutate: bounded, deterministic mutations of the golden files (ctest label fuzz).
#   fuzz_llir:   a libFuzzer target, built only with -DLLMC_FUZZ=ON and clang; not a ctest:
#     build-fz/tests/fuzz_llir -max_total_time=60 CORPUS tests/golden tests/ir
llmc_test(fuzz_mutate fuzz ${CMAKE_CURRENT_LIST_DIR}/test_mutate.c ARGS ${CMAKE_SOURCE_DIR})

if(LLMC_FUZZ)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    # The ir/ sources are compiled into the target so they carry coverage
    # instrumentation; llmc_ir itself stays as configured.
    file(GLOB FUZZ_IR_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/ir/*.c)
    add_executable(fuzz_llir ${CMAKE_CURRENT_LIST_DIR}/fuzz_llir.c ${FUZZ_IR_SOURCES})
    target_include_directories(fuzz_llir PRIVATE ${CMAKE_SOURCE_DIR}/ir)
    target_compile_options(fuzz_llir PRIVATE -g -fsanitize=fuzzer,address,undefined
                           -fno-sanitize-recover=undefined)
    target_link_options(fuzz_llir PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_llir PRIVATE m)
  else()
    message(WARNING "LLMC_FUZZ=ON needs clang (CC=clang); fuzz_llir is not built")
  endif()
endif()

# tests/frontend — the .llm lexer and parser.
#   parse_golden: golden files tests/frontend/parse/*.llm (expected AST dumps and
#                 in-place expected errors) and cases built in code (label golden).
#   parse_mutate: bounded, deterministic mutations of those files and models/*.llm
#                 (label fuzz).
#   fuzz_llm:     a libFuzzer target, built only with -DLLMC_FUZZ=ON and clang; not a ctest:
#     build-fzfe/tests/fuzz_llm -max_total_time=60 -dict=tests/frontend/llm.dict CORPUS \
#       tests/frontend/parse models
llmc_test(parse_golden golden ${CMAKE_CURRENT_LIST_DIR}/test_parse_golden.c
          ARGS ${CMAKE_SOURCE_DIR} LIBS llmc_frontend)
llmc_test(parse_mutate fuzz ${CMAKE_CURRENT_LIST_DIR}/test_parse_mutate.c
          ARGS ${CMAKE_SOURCE_DIR} LIBS llmc_frontend)

if(LLMC_FUZZ)
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    # The parser's and ir's sources are compiled into the target so they carry coverage
    # instrumentation (the lowering is not fuzzed here).
    file(GLOB FUZZ_FE_IR_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/ir/*.c)
    add_executable(fuzz_llm ${CMAKE_CURRENT_LIST_DIR}/fuzz_llm.c ${CMAKE_SOURCE_DIR}/frontend/lex.c
                   ${CMAKE_SOURCE_DIR}/frontend/parse.c ${CMAKE_SOURCE_DIR}/frontend/ast_print.c
                   ${FUZZ_FE_IR_SOURCES})
    target_include_directories(fuzz_llm PRIVATE ${CMAKE_SOURCE_DIR}/frontend ${CMAKE_SOURCE_DIR}/ir)
    target_compile_options(fuzz_llm PRIVATE -g -fsanitize=fuzzer,address,undefined
                           -fno-sanitize-recover=undefined)
    target_link_options(fuzz_llm PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_llm PRIVATE m)
  else()
    message(WARNING "LLMC_FUZZ=ON needs clang (CC=clang); fuzz_llm is not built")
  endif()
endif()

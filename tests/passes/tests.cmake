# Compiler passes (fold, cse, dce, algebra, simplify): golden files in the mlir-opt style
# (tests/passes/*.llir, see test_passes_golden.c for the convention), unit tests on the
# example graphs and on random builder graphs, and `llmir opt` through its command line.
llmc_test(passes_golden golden ${CMAKE_CURRENT_LIST_DIR}/test_passes_golden.c ARGS ${CMAKE_SOURCE_DIR}
          LIBS llmc_compiler)
llmc_test(passes_unit unit ${CMAKE_CURRENT_LIST_DIR}/test_passes.c ARGS ${CMAKE_SOURCE_DIR} LIBS llmc_compiler)
add_test(NAME passes_llmir_opt COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmir_opt.sh $<TARGET_FILE:llmir>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(passes_llmir_opt PROPERTIES LABELS unit TIMEOUT 300)

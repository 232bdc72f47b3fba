# tests/extern/ — extern functions end to end (docs/llm.md "Extern functions"): a small
# shared library the tests build (act.c: swish and its backward, their f64 variants, a
# two-argument mul), called from tests/extern/gpt2-swish-tiny.llm. The library is found
# the way llmrun finds one: on LD_LIBRARY_PATH, which each test sets to its directory.
#   test_extern_lower  (unit) declarations, calls, diagnostics, the nodes, .llir round trip
#   test_extern_grad   (grad) the model's gradient through swish_grad vs finite differences
#   test_extern_exec   (jit)  the executor's libffi calls vs the interpreter; error cases
add_library(llmc_test_act SHARED ${CMAKE_CURRENT_LIST_DIR}/act.c)
set_target_properties(llmc_test_act PROPERTIES OUTPUT_NAME llmc_test_act
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/extern)
target_link_libraries(llmc_test_act PRIVATE m)
llmc_test(test_extern_lower unit ${CMAKE_CURRENT_LIST_DIR}/test_extern.c ARGS lower
          LIBS llmc_runtime llmc_compiler llmc_frontend)
add_dependencies(test_extern_lower llmc_test_act)
add_test(NAME test_extern_grad COMMAND test_extern_lower grad WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_test(NAME test_extern_exec COMMAND test_extern_lower exec WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_extern_grad PROPERTIES LABELS grad TIMEOUT 300)
set_tests_properties(test_extern_exec PROPERTIES LABELS jit TIMEOUT 300)
foreach(t test_extern_lower test_extern_grad test_extern_exec)
  set_tests_properties(${t} PROPERTIES ENVIRONMENT
                       "LD_LIBRARY_PATH=${CMAKE_BINARY_DIR}/tests/extern;LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache")
endforeach()
# Through the tools: llmc without the library, llmrun with and without it (e2e).
add_test(NAME test_extern_run
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_extern_run.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                 $<TARGET_FILE:llmdata> ${CMAKE_BINARY_DIR}/tests/extern
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_extern_run PROPERTIES LABELS e2e TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)

# tests/data/ — token shards (runtime/shards.c: round trips, every bad input with its
# message, a bounded mutation loop), the data loader (runtime/data.c: split, windows,
# the deterministic shuffled order, errors) and the llmdata tool's command line.
llmc_test(test_shards unit ${CMAKE_CURRENT_LIST_DIR}/test_shards.c)
llmc_test(test_data unit ${CMAKE_CURRENT_LIST_DIR}/test_data.c)
add_test(NAME test_llmdata COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmdata.sh $<TARGET_FILE:llmdata>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmdata PROPERTIES LABELS unit TIMEOUT 300)

# tests/weights/ — weights interchange end to end on gpt2-tiny (-D vocab=256, the corpus
# and bundle of tests/run/lib.sh): `llmrun export`, `--init` / `llmrun import`, the
# round trip bit for bit, first-step loss equal to the checkpoint's, and each bad file.
add_test(NAME test_weights
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_weights.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                 $<TARGET_FILE:llmdata>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_weights PROPERTIES LABELS e2e TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)

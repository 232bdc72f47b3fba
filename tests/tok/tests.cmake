# tests/tok/ — the BPE tokenizer (runtime/bpe.c: pre-tokenizer, round trips, training
# determinism, a golden encoding, the *.tok reader's errors and a bounded mutation loop,
# GPT-2 import) and the llmtok tool's command line.
llmc_test(test_bpe unit ${CMAKE_CURRENT_LIST_DIR}/test_bpe.c)
add_test(NAME test_llmtok COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_llmtok.sh $<TARGET_FILE:llmtok>
         $<TARGET_FILE:llmdata> WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_llmtok PROPERTIES LABELS unit TIMEOUT 300)

# tests/run/ — llmc then llmrun end to end on gpt2-tiny (-D vocab=256, byte-level shards
# of a small corpus each test writes): the compile report, training, metrics.jsonl,
# checkpoints (e2e); bit-exact resume, across .llm and .llmc, other thread counts,
# SIGKILL and SIGINT (resume); every bad input and fault of issue 6 — bundles,
# checkpoints, shards, disk full, nan, memory, -D on a bundle, usage (faults); every
# tiny model trained 200 steps in fp32 and in bf16, validation losses within 1% (bf16).
# The kernel cache is shared in the build tree, so only the first compile is slow.
foreach(t e2e resume faults profile bf16)
  add_test(NAME test_run_${t}
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_run_${t}.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                   $<TARGET_FILE:llmdata>
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_run_${t} PROPERTIES LABELS e2e TIMEOUT 300
                       ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
endforeach()
# The README demo's pipeline, shortened (llmtok, llmc, llmrun, llmrun generate).
add_test(NAME test_demo_short
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_demo_short.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                 $<TARGET_FILE:llmtok>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_demo_short PROPERTIES LABELS e2e TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)

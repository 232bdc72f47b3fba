# tests/gen/ — sampling (llmrun generate, tools/llmrun_generate.c) and the inference
# graphs it runs (frontend/lower_infer.c):
#   test_gen_sample (unit)   temperature / top-k / top-p / greedy and the seeded RNG on
#                            fixed logits;
#   test_gen_logits_MODEL (e2e)  @logits' cross-entropy equals @forward's loss, and the
#                            KV-cache pair (@prefill + @decode) gives the full pass's
#                            logits at every position, per tiny model, through the executor;
#   test_gen_e2e (e2e)       llmc -o, llmrun training a tiny model to memorize a text,
#                            then llmrun generate: greedy reproduces the text (cached and
#                            not), seeds reproduce and differ, every error case.
llmc_test(test_gen_sample unit ${CMAKE_CURRENT_LIST_DIR}/test_gen_sample.c ${CMAKE_SOURCE_DIR}/tools/llmrun_generate.c ${CMAKE_SOURCE_DIR}/tools/llmrun_args.c
          LIBS llmc_compiler llmc_frontend)
target_include_directories(test_gen_sample PRIVATE ${CMAKE_SOURCE_DIR}/tools)
llmc_test(test_gen_logits e2e ${CMAKE_CURRENT_LIST_DIR}/test_gen_logits.c ARGS gpt2-tiny
          LIBS llmc_compiler llmc_frontend)
set_tests_properties(test_gen_logits PROPERTIES ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
foreach(model llama-tiny mqa-tiny transformer-tiny parallel-tiny moe-tiny moe-alt-tiny)
  add_test(NAME test_gen_logits_${model} COMMAND test_gen_logits ${model} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_gen_logits_${model} PROPERTIES LABELS e2e TIMEOUT 300
                       ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)
endforeach()
add_test(NAME test_gen_e2e
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_gen_e2e.sh $<TARGET_FILE:llmrun> $<TARGET_FILE:llmc>
                 $<TARGET_FILE:llmdata>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_gen_e2e PROPERTIES LABELS e2e TIMEOUT 300
                     ENVIRONMENT LLMC_CACHE_DIR=${CMAKE_BINARY_DIR}/kernel-cache)

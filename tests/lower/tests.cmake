# tests/lower/ — the frontend's lowering: composites against naive loops (f64
# interpreter) and whole programs through fe_parse + fe_lower.
llmc_test(test_composites unit ${CMAKE_CURRENT_LIST_DIR}/test_composites.c LIBS llmc_frontend)
llmc_test(test_lower unit ${CMAKE_CURRENT_LIST_DIR}/test_lower.c LIBS llmc_frontend)
# precision = bf16: casts in front of every dense matmul and nowhere else, in @forward,
# the inference graphs and the training step (f32 gradients, an f32 update, fp32's
# useful FLOPs), for every tiny model.
llmc_test(test_lower_bf16 unit ${CMAKE_CURRENT_LIST_DIR}/test_lower_bf16.c LIBS llmc_compiler llmc_frontend)
# `llmc -D precision=bf16 --emit=forward|train|logits|fused`: the casts as printed.
add_test(NAME test_emit_bf16 COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_emit_bf16.sh $<TARGET_FILE:llmc>
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_emit_bf16 PROPERTIES LABELS unit TIMEOUT 300)

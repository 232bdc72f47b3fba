# tests/step/ — the training step (compiler/train_step.c, accumulate.c, step_interp.c, flops.c):
# the update graph against hand-computed AdamW / SGD / schedules / clipping, the tree
# order of gradient accumulation bit for bit, every tiny model overfitting one batch, and
# the step's useful FLOPs (fused attention credited as the composite's matmuls).
# Heavy label `grad`: run in the optimized build.
llmc_test(test_optim grad ${CMAKE_CURRENT_LIST_DIR}/test_optim.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_accumulate grad ${CMAKE_CURRENT_LIST_DIR}/test_accumulate.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_overfit grad ${CMAKE_CURRENT_LIST_DIR}/test_overfit.c LIBS llmc_compiler llmc_frontend)
llmc_test(test_step_flops unit ${CMAKE_CURRENT_LIST_DIR}/test_step_flops.c LIBS llmc_compiler llmc_frontend)

# tests/grad/ — autodiff: every op's gradient rule against finite differences (f64
# interpreter), the driver's contracts, and whole-model gradient checks of every tiny
# model with and without rematerialization. Heavy: run in an optimized build.
llmc_test(test_grad_ops grad ${CMAKE_CURRENT_LIST_DIR}/test_grad_ops.c LIBS llmc_compiler)
llmc_test(test_grad_models grad ${CMAKE_CURRENT_LIST_DIR}/test_grad_models.c LIBS llmc_compiler llmc_frontend)
# Mixed precision (precision = bf16): gradients through casts, bf16 x bf16 -> f32 matmuls
# and bf16 elementwise ops equal the straight-through formulas bit for bit.
llmc_test(test_grad_bf16 grad ${CMAKE_CURRENT_LIST_DIR}/test_grad_bf16.c LIBS llmc_compiler)

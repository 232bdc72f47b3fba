# tests/grad/ — autodiff: every op's gradient rule against finite differences (f64
# interpreter), the driver's contracts, and whole-model gradient checks of every tiny
# model with and without rematerialization. Heavy: run in an optimized build.
llmc_test(test_grad_ops grad ${CMAKE_CURRENT_LIST_DIR}/test_grad_ops.c LIBS llmc_compiler)
llmc_test(test_grad_models grad ${CMAKE_CURRENT_LIST_DIR}/test_grad_models.c LIBS llmc_compiler llmc_frontend)

/* tests/deps/test_deps.c — the project's three chosen dependencies link and work:
 * LLVM 19 (C API, shared libLLVM), libffi and OpenMPI. Nothing uses them yet; this test
 * exists so an install problem shows up on day one, not in the issue that needs them.
 */
#include "test.h"

#include <ffi.h>
#include <llvm-c/Core.h>
#include <mpi.h>

static int add3(int a, int b, int c) { return a + b + c; }

static void test_llvm(void) {
    unsigned major = 0, minor = 0, patch = 0;
    LLVMGetVersion(&major, &minor, &patch);
    CHECK_EQ_INT(major, 19);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("deps", ctx);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMTypeRef fn_type = LLVMFunctionType(i32, (LLVMTypeRef[]){i32, i32}, 2, 0);
    LLVMValueRef fn = LLVMAddFunction(mod, "add", fn_type);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    LLVMBuildRet(b, LLVMBuildAdd(b, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), "sum"));
    char *ir = LLVMPrintModuleToString(mod);
    CHECK(strstr(ir, "add i32") != NULL);
    LLVMDisposeMessage(ir);
    LLVMDisposeBuilder(b);
    LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
}

static void test_ffi(void) {
    ffi_cif cif;
    ffi_type *args[3] = {&ffi_type_sint, &ffi_type_sint, &ffi_type_sint};
    CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &ffi_type_sint, args) == FFI_OK);
    int a = 1, b = 20, c = 300;
    void *values[3] = {&a, &b, &c};
    ffi_arg result = 0;
    ffi_call(&cif, FFI_FN(add3), &result, values);
    CHECK_EQ_INT((int)result, 321);
}

static void test_mpi(int *argc, char ***argv) {
    CHECK(MPI_Init(argc, argv) == MPI_SUCCESS);
    int size = 0, rank = -1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    CHECK_EQ_INT(size, 1);
    CHECK_EQ_INT(rank, 0);
    double x = 2.5, y = 0;
    MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    CHECK(y == 2.5);
    MPI_Finalize();
}

int main(int argc, char **argv) {
    test_llvm();
    test_ffi();
    test_mpi(&argc, &argv);
    TEST_MAIN();
}

# tests/ckpt/ — checkpoints (runtime/ckpt.c): round trips, retention, every bad input,
# a bounded manifest mutation loop, and disk-full / SIGKILL faults in forked children.
# Fast (well under 5 s), so it runs with the other unit tests under ASan+UBSan too.
llmc_test(test_ckpt unit ${CMAKE_CURRENT_LIST_DIR}/test_ckpt.c)
# Checkpoints saved in pieces (rt_ckpt_save_pieces) over one rank: byte-identical to
# rt_ckpt_save, gaps and overlaps refused with nothing changed. Fast; runs under ASan too.
llmc_test(test_ckpt_pieces unit ${CMAKE_CURRENT_LIST_DIR}/test_ckpt_pieces.c)
# The same program on three ranks of mpirun, each writing a third of every tensor (label
# mpi: run optimized; OpenMPI's own allocations trip LeakSanitizer in the ASan build).
add_test(NAME test_ckpt_pieces_mpi
         COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np 3 $<TARGET_FILE:test_ckpt_pieces> --world
         WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
set_tests_properties(test_ckpt_pieces_mpi PROPERTIES LABELS mpi TIMEOUT 120 ENVIRONMENT "OMPI_MCA_pml=ob1;OMPI_MCA_btl=self,vader,tcp")

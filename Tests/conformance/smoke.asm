%include "include/harness64.inc"
TEST smoke_add
    mov eax, 1
    add eax, 2
    CHECK rax, 3
    CHECKF ALLF, PF
ENDTEST
KTEST smoke_kernel
    mov rax, cr0
    CHECK32 eax, 0x80010033
ENDTEST
TEST smoke_fault
    xor ecx, ecx
    EXPECT_FAULT .r
    div ecx
.r: CHECKV 0
ENDTEST
%include "include/end64.inc"

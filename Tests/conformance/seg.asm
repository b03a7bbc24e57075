; Segmentation in long mode (SDM Vol. 3A ch. 3, §5.2-5.4; Vol. 2 LAR, LSL, VERR, VERW, SWAPGS):
; FS/GS bases from their MSRs, SWAPGS, LAR/LSL/VERR/VERW on GDT descriptors, far transfers
; into compatibility mode and back, and the limit checks compatibility mode still makes.
%include "include/harness64.inc"

KTEST fs_base_msr_addressing
    mov qword [SCRATCH + 0x2000], 0x4444
    mov ecx, 0xC0000100                         ; IA32_FS_BASE
    mov eax, SCRATCH + 0x2000
    xor edx, edx
    wrmsr
    mov rax, [fs:0]
    xor eax, eax
    wrmsr
    CHECK rax, 0
ENDTEST
KTEST gs_base_msr_addressing
    mov qword [SCRATCH + 0x2008], 0x5555
    mov ecx, 0xC0000101
    mov eax, SCRATCH + 0x2000
    xor edx, edx
    wrmsr
    mov rbx, [gs:8]
    xor eax, eax
    wrmsr
    CHECK rbx, 0x5555
ENDTEST
KTEST swapgs_exchanges
    mov ecx, 0xC0000101                         ; GS base
    mov eax, 0x1000
    xor edx, edx
    wrmsr
    mov ecx, 0xC0000102                         ; kernel GS base
    mov eax, 0x2000
    wrmsr
    swapgs
    mov ecx, 0xC0000101
    rdmsr
    mov ebx, eax
    mov ecx, 0xC0000102
    rdmsr
    swapgs
    CHECK rbx, 0x2000
    CHECK rax, 0x1000
    xor eax, eax
    xor edx, edx
    mov ecx, 0xC0000101
    wrmsr
ENDTEST
KTEST mov_fs_selector_keeps_64bit_base_semantics
    mov ax, KDATA
    mov fs, ax                                  ; loads base 0 from the descriptor
    mov qword [SCRATCH + 0x10], 0x66
    mov rax, [fs:SCRATCH + 0x10]
    CHECK rax, 0x66
ENDTEST
KTEST lsl_data_segment, REQ_CPL0EMU
    mov ax, KDATA
    lsl ebx, ax
    CHECKF ZF, ZF
    CHECK rbx, 0xFFFFFFFF
ENDTEST
KTEST lsl_16bit_code_segment, REQ_CPL0EMU
    mov ax, KCODE16
    lsl ebx, ax
    CHECK rbx, 0xFFFF
ENDTEST
KTEST lar_user_code, REQ_CPL0EMU
    mov ax, UCODE
    lar ebx, ax
    CHECKF ZF, ZF
    and ebx, 0x00F0FF00                         ; G D/B L AVL, P DPL S type
    CHECK rbx, 0x00A0FA00 | 0x00800000
ENDTEST
KTEST lar_null_selector_clears_zf, REQ_CPL0EMU
    xor eax, eax
    mov ebx, 0x77
    lar ebx, ax
    CHECKF ZF, 0
    CHECK rbx, 0x77
ENDTEST
KTEST verr_verw, REQ_CPL0EMU
    mov ax, KDATA
    verw ax
    CHECKF ZF, ZF
    mov ax, KCODE
    verw ax
    CHECKF ZF, 0
    verr ax
    CHECKF ZF, ZF
ENDTEST
KTEST far_jump_to_compat_and_back
    ; JMP FAR to 32-bit code (compatibility mode), which adds and comes back with RETF.
    sub rsp, 8                                  ; the return frame of a 32-bit RETF
    lea rax, [.back]
    mov [rsp], eax
    mov dword [rsp + 4], KCODE
    mov ebx, 5
    push KCODE32
    lea rax, [.compat]
    push rax
    retfq
bits 32
.compat:
    add ebx, ebx
    retf                                        ; 32-bit RETF pops EIP then CS
bits 64
.back:
    CHECK rbx, 10
ENDTEST
KTEST compat_mode_limit_gp
    ; A DS with a 4 KiB limit: compatibility mode checks it (64-bit mode would not).
    mov rax, 0x0040920000000FFF                 ; data, base 0, limit 0xFFF bytes, D/B
    mov [gdt + TEST_SEL], rax
    sub rsp, 8                                  ; the return frame of a 32-bit RETF
    lea rax, [.back]
    mov [rsp], eax
    mov dword [rsp + 4], KCODE
    push KCODE32
    lea rax, [.compat]
    push rax
    retfq
bits 32
.compat:
    mov ax, TEST_SEL
    mov es, ax                                  ; ES, as the harness's own data is in DS
    mov eax, [es:0xFFC]                         ; inside
    EXPECT_FAULT .r
    mov eax, [es:0xFFD]                         ; straddles the limit
.r: mov ax, KDATA
    mov es, ax
    retf
bits 64
.back:
    CHECK qword [fault_vector], 13
    CHECKERR 0
ENDTEST
KTEST compat_mode_expand_down_stack
    ; An expand-down SS: offsets above the limit are valid, at or below it fault with #SS.
    mov rax, 0x00CF96000000FFFF                 ; expand-down, writable, limit 0xFFFFF pages -> 0xFFFFFFFF
    mov dword [gdt + TEST_SEL + 8], 0x00000FFF  ; limit 0xFFF (byte granular)
    mov dword [gdt + TEST_SEL + 12], 0x00409600 ; expand-down data, present, D/B, G = 0
    sub rsp, 8                                  ; the return frame of a 32-bit RETF
    lea rax, [.back]
    mov [rsp], eax
    mov dword [rsp + 4], KCODE
    push KCODE32
    lea rax, [.compat]
    push rax
    retfq
bits 32
.compat:
    mov bx, ss
    mov ecx, esp
    mov ax, TEST_SEL + 8
    mov ss, ax
    mov esp, 0x2000
    push eax                                    ; 0x1FFC: above the limit, fine
    mov esp, 0x1002
    EXPECT_FAULT .r
    push eax                                    ; 0xFFE: below, #SS
.r: mov ss, bx
    mov esp, ecx
    retf
bits 64
.back:
    CHECK qword [fault_vector], 12
ENDTEST
; RESTORE_TR: the harness's TSS back in TR, whatever a test loaded (keeps RAX).
%macro RESTORE_TR 0
    push rax
    and byte [gdt + TSS_SEL + 5], ~2
    mov ax, TSS_SEL
    ltr ax
    pop rax
%endmacro
KTEST lgdt_noncanonical_base_gp
    ; A 64-bit descriptor-table base must be canonical: #GP(0), GDTR unchanged.
    mov word [SCRATCH], 0xFF
    mov rax, 0x0000800000000000
    mov [SCRATCH + 2], rax
    EXPECT_FAULT .r
    lgdt [SCRATCH]
.r: CHECKV 13
    CHECKERR 0
    sgdt [SCRATCH + 0x10]
    lea rbx, [gdt]
    CHECK qword [SCRATCH + 0x12], rbx
ENDTEST
KTEST lidt_noncanonical_base_gp
    mov word [SCRATCH], 0xFF
    mov rax, 0xFFFF7FFFFFFFF000
    mov [SCRATCH + 2], rax
    EXPECT_FAULT .r
    lidt [SCRATCH]
.r: CHECKV 13
    CHECKERR 0
    sidt [SCRATCH + 0x10]
    lea rbx, [idt]
    CHECK qword [SCRATCH + 0x12], rbx
ENDTEST
KTEST lidt_canonical_high_base_loads
    ; The top half of the address space is canonical: loaded as given.
    sidt [SCRATCH + 0x20]
    mov word [SCRATCH], 0xFF
    mov rax, 0xFFFF800000001000
    mov [SCRATCH + 2], rax
    lidt [SCRATCH]
    sidt [SCRATCH + 0x10]
    lidt [SCRATCH + 0x20]
    CHECK qword [SCRATCH + 0x12], 0xFFFF800000001000
ENDTEST
KTEST ltr_noncanonical_base_gp
    ; An available 64-bit TSS whose 16-byte descriptor has a non-canonical base: #GP(selector).
    mov rax, 0x0000890000000067
    mov [gdt + TEST_SEL], rax
    mov qword [gdt + TEST_SEL + 8], 0x00008000  ; base 63:32 = 0x8000: bit 47 set, 63:48 clear
    mov ax, TEST_SEL
    EXPECT_FAULT .r
    ltr ax
.r: xor eax, eax
    str ax
    mov bl, [gdt + TEST_SEL + 5]
    RESTORE_TR
    CHECKV 13
    CHECKERR TEST_SEL
    CHECK rax, TSS_SEL
    and ebx, 0xFF
    CHECK rbx, 0x89                             ; not marked busy
ENDTEST
KTEST lldt_noncanonical_base_gp
    mov rax, 0x0000820000000FFF                 ; LDT, present, limit 0xFFF
    mov [gdt + TEST_SEL], rax
    mov eax, 0xFFFF0000                         ; base 63:32 = 0xFFFF0000: 63:48 set, 47 clear
    mov [gdt + TEST_SEL + 8], rax
    mov ax, TEST_SEL
    EXPECT_FAULT .r
    lldt ax
.r: CHECKV 13
    CHECKERR TEST_SEL
    xor eax, eax
    sldt ax
    CHECK rax, 0
ENDTEST
KTEST lldt_canonical_loads
    mov rax, 0x0000820000000FFF
    mov [gdt + TEST_SEL], rax
    mov eax, 0xFFFFFFFF                         ; base 0xFFFFFFFF00000000: canonical
    mov [gdt + TEST_SEL + 8], rax
    mov ax, TEST_SEL
    lldt ax
    xor ebx, ebx
    sldt bx
    xor eax, eax
    lldt ax
    CHECK rbx, TEST_SEL
ENDTEST
KTEST invlpg_noncanonical_is_nop
    ; INVLPG of a non-canonical address is a NOP, not a fault (SDM Vol. 2A "INVLPG").
    mov rax, 0x0000800000000000
    invlpg [rax]
    mov rax, 0x8000000000001000
    invlpg [rax]
    mov rbx, 0x1234
    CHECK rbx, 0x1234
ENDTEST
KTEST invlpg_compat_beyond_limit_no_fault
    ; No limit check either: INVLPG past a 4 KiB DS limit in compatibility mode.
    mov rax, 0x0040920000000FFF
    mov [gdt + TEST_SEL], rax
    sub rsp, 8
    lea rax, [.back]
    mov [rsp], eax
    mov dword [rsp + 4], KCODE
    push KCODE32
    lea rax, [.compat]
    push rax
    retfq
bits 32
.compat:
    mov ax, TEST_SEL
    mov es, ax
    invlpg [es:0x5000]
    mov ax, KDATA
    mov es, ax
    mov ebx, 0x77
    retf
bits 64
.back:
    CHECK rbx, 0x77
ENDTEST
%include "include/end64.inc"

; Segmentation in legacy protected mode (SDM Vol. 3A §3.4.5, §5.3-5.6; Vol. 2 POP, PUSH,
; ENTER, LEAVE, CALL, RET, INT n, IRET): every implicit stack access on a 16-bit stack
; (SS.B = 0) moves SP only and keeps ESP[31:16]; the type checks of data accesses (a write
; needs a writable data segment, a read anything but execute-only code), null selectors and
; the expand-down upper bound of a 16-bit segment. Legacy protected mode (harness32.inc).
%include "include/harness32.inc"

STACK16   equ TEST_SEL              ; data, base SCRATCH, limit 0xFFFF, B = 0
RO_DATA   equ TEST_SEL + 8          ; read-only data, flat
XO_CODE   equ TEST_SEL + 16         ; execute-only 32-bit code, flat
EXPDOWN16 equ TEST_SEL + 24         ; expand-down data, base SCRATCH, limit 0xFFF, B = 0
SAVE_ESP  equ 0x380000              ; the harness's ESP while a test runs on STACK16
HANDLER_ESP equ 0x380010            ; ESP as an interrupt handler saw it

; ON_STACK16 esp: SS = STACK16 with ESP = esp (the harness's ESP saved).
%macro ON_STACK16 1
    mov dword [gdt + STACK16], 0x0000FFFF
    mov dword [gdt + STACK16 + 4], 0x00009230
    mov [SAVE_ESP], esp
    mov ax, STACK16
    mov ss, ax
    mov esp, %1
%endmacro
; OFF_STACK16: EBX = the ESP left on STACK16; back on the harness's stack.
%macro OFF_STACK16 0
    mov ebx, esp
    mov ax, KDATA
    mov ss, ax
    mov esp, [SAVE_ESP]
%endmacro
; DESC selector, low dword, high dword
%macro DESC 3
    mov dword [gdt + (%1)], %2
    mov dword [gdt + (%1) + 4], %3
%endmacro

; ---- POP Sreg and PUSH on a 16-bit stack ------------------------------------------------
%macro POP_SREG_TEST 3
TEST %1
    mov dword [SCRATCH + 0xFFFC], %3
    ON_STACK16 0x0002FFFC
    %2                              ; o32 (32-bit code): SP += 4, wrapping within 64 KiB
    OFF_STACK16
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    CHECK ebx, 0x00020000
ENDTEST
%endmacro
POP_SREG_TEST pop_ds_o32_stack16, pop ds, KDATA
POP_SREG_TEST pop_es_o32_stack16, pop es, KDATA
POP_SREG_TEST pop_fs_o32_stack16, pop fs, KDATA
POP_SREG_TEST pop_gs_o32_stack16, pop gs, KDATA
POP_SREG_TEST pop_ss_o32_stack16, pop ss, STACK16
; POP SS loading a 32-bit stack segment: the increment still has the width of the stack the
; selector came from (StackAddrSize is fixed when the instruction starts).
POP_SREG_TEST pop_ss_o32_to_big_stack_uses_old_width, pop ss, KDATA
CODE16    equ TEST_SEL + 32         ; 16-bit code, base LOAD_ADDRESS, limit 0xFFFF
; POP Sreg with an operand-size prefix in 16-bit code (as real-mode-era code writes it).
%macro POP_SREG16_TEST 3
TEST %1
    DESC CODE16, 0x0000FFFF, 0x00009A10
    mov dword [SCRATCH + 0xFFFC], %3
    ON_STACK16 0x0002FFFC
    jmp CODE16:(.c16 - LOAD_ADDRESS)
bits 16
.c16:
    o32 %2
    mov [dword HANDLER_ESP], esp
    jmp dword KCODE:.back
bits 32
.back:
    OFF_STACK16
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    CHECK dword [HANDLER_ESP], 0x00020000
ENDTEST
%endmacro
POP_SREG16_TEST pop_ds_o32_code16_stack16, pop ds, KDATA
POP_SREG16_TEST pop_es_o32_code16_stack16, pop es, KDATA
POP_SREG16_TEST pop_ss_o32_code16_stack16, pop ss, STACK16
POP_SREG16_TEST pop_fs_o32_code16_stack16, pop fs, KDATA
TEST pop_ds_o16_stack16
    mov word [SCRATCH + 0xFFFE], KDATA
    ON_STACK16 0x0005FFFE
    o16 pop ds
    OFF_STACK16
    CHECK ebx, 0x00050000
ENDTEST
TEST push_ds_o32_stack16
    ON_STACK16 0x00020000
    push ds
    OFF_STACK16
    CHECK ebx, 0x0002FFFC
    CHECK16 word [SCRATCH + 0xFFFC], KDATA
ENDTEST
TEST push_pop_r32_stack16
    ON_STACK16 0x00070000
    mov ecx, 0x11223344
    push ecx
    mov edx, esp
    pop esi
    OFF_STACK16
    CHECK edx, 0x0007FFFC
    CHECK ebx, 0x00070000
    CHECK esi, 0x11223344
ENDTEST
TEST pushfd_popfd_stack16
    ON_STACK16 0x00020000
    pushfd
    mov edx, esp
    popfd
    OFF_STACK16
    CHECK edx, 0x0002FFFC
    CHECK ebx, 0x00020000
ENDTEST
TEST pushad_popad_stack16
    ON_STACK16 0x00020000
    pushad
    mov [HANDLER_ESP], esp
    mov ecx, [ss:0xFFEC]            ; the ESP image PUSHAD stored (after EAX, ECX, EDX, EBX)
    mov [HANDLER_ESP + 4], ecx
    popad
    OFF_STACK16
    CHECK dword [HANDLER_ESP], 0x0002FFE0
    CHECK dword [HANDLER_ESP + 4], 0x00020000
    CHECK ebx, 0x00020000
ENDTEST
TEST call_ret_stack16
    ON_STACK16 0x00020000
    call .f
    jmp .done
.f: mov edx, esp
    ret
.done:
    OFF_STACK16
    CHECK edx, 0x0002FFFC
    CHECK ebx, 0x00020000
ENDTEST
TEST ret_imm_stack16
    ON_STACK16 0x00020008
    call .f
    jmp .done
.f: ret 8
.done:
    OFF_STACK16
    CHECK ebx, 0x00020010
ENDTEST
TEST retf_stack16
    ON_STACK16 0x00020000
    push cs
    push .back
    retf
.back:
    OFF_STACK16
    CHECK ebx, 0x00020000
ENDTEST
TEST int_iretd_stack16
    mov eax, 0x41
    mov edx, .handler
    mov cl, 0x8E
    call set_gate
    ON_STACK16 0x00020000
    int 0x41
    OFF_STACK16
    mov eax, 0x41
    mov edx, isr_stubs + 0x41 * 16
    mov cl, 0x8E
    call set_gate
    CHECK dword [HANDLER_ESP], 0x0002FFF4
    CHECK ebx, 0x00020000
    jmp .end
.handler:
    mov [HANDLER_ESP], esp
    iretd
.end:
ENDTEST
TEST enter_o32_stack16
    ; EBP gets all of ESP, not SP zero-extended (SDM Vol. 2A ENTER: EBP := FrameTemp).
    ON_STACK16 0x00020010
    mov ebp, 0x12345678
    enter 8, 0
    mov edx, ebp
    mov ecx, esp
    leave
    mov esi, ebp
    OFF_STACK16
    CHECK edx, 0x0002000C
    CHECK ecx, 0x00020004
    CHECK ebx, 0x00020010
    CHECK esi, 0x12345678
    CHECK dword [SCRATCH + 0xC], 0x12345678
ENDTEST
TEST enter_o32_level1_stack16
    ON_STACK16 0x00020010
    mov ebp, 0x12345678
    enter 4, 1                      ; pushes EBP, then the frame pointer (all of ESP)
    mov edx, ebp
    mov ecx, esp
    OFF_STACK16
    CHECK edx, 0x0002000C
    CHECK dword [SCRATCH + 0x8], 0x0002000C
    CHECK ecx, 0x00020004
ENDTEST
TEST enter_o16_stack16
    ON_STACK16 0x00020010
    mov ebp, 0xAAAA5678
    o16 enter 8, 0
    mov edx, ebp
    mov ecx, esp
    OFF_STACK16
    CHECK edx, 0xAAAA000E           ; BP := FrameTemp[15:0]
    CHECK ecx, 0x00020006
ENDTEST

; ---- type checks of data accesses -------------------------------------------------------
TEST write_read_only_data_gp
    DESC RO_DATA, 0x0000FFFF, 0x00CF9000        ; data, read-only, flat
    mov dword [SCRATCH + 0x100], 0x55
    mov ax, RO_DATA
    mov es, ax
    mov ecx, [es:SCRATCH + 0x100]               ; reads are fine
    EXPECT_FAULT .r
    mov dword [es:SCRATCH + 0x100], 0x66
.r: mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECKERR 0
    CHECK ecx, 0x55
    CHECK dword [SCRATCH + 0x100], 0x55
ENDTEST
TEST rmw_read_only_data_gp
    DESC RO_DATA, 0x0000FFFF, 0x00CF9000
    mov dword [SCRATCH + 0x100], 0x55
    mov ax, RO_DATA
    mov es, ax
    EXPECT_FAULT .r
    add [es:SCRATCH + 0x100], eax
.r: mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECKERR 0
    CHECK dword [SCRATCH + 0x100], 0x55
ENDTEST
TEST stos_read_only_es_gp
    DESC RO_DATA, 0x0000FFFF, 0x00CF9000
    mov ax, RO_DATA
    mov es, ax
    mov edi, SCRATCH + 0x200
    EXPECT_FAULT .r
    stosd
.r: mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECK edi, SCRATCH + 0x200
ENDTEST
TEST write_through_code_segment_gp
    mov eax, [cs:SCRATCH + 0x100]               ; readable code: reads are fine
    EXPECT_FAULT .r
    mov [cs:SCRATCH + 0x100], eax
.r: CHECKV 13
    CHECKERR 0
ENDTEST
TEST code_segment_in_ds_read_ok_write_gp
    mov dword [SCRATCH + 0x104], 0x99
    mov ax, KCODE                               ; readable code may be loaded into DS
    mov es, ax
    mov ecx, [es:SCRATCH + 0x104]
    EXPECT_FAULT .r
    mov [es:SCRATCH + 0x104], eax
.r: mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECK ecx, 0x99
ENDTEST
TEST execute_only_code_not_loadable_into_ds
    DESC XO_CODE, 0x0000FFFF, 0x00CF9800        ; code, execute-only, flat
    mov ax, XO_CODE
    EXPECT_FAULT .r
    mov es, ax
.r: CHECKV 13
    CHECKERR XO_CODE
ENDTEST
TEST read_through_execute_only_cs_gp
    DESC XO_CODE, 0x0000FFFF, 0x00CF9800
    call XO_CODE:.xo                            ; runs from the execute-only segment
    CHECK dword [fault_vector], 13
    CHECK dword [fault_error], 0
    jmp .end
.xo:
    EXPECT_FAULT .r
    mov eax, [cs:SCRATCH]
.r: retf
.end:
    mov dword [resume_target], 0
ENDTEST
TEST null_ds_access_gp
    xor eax, eax
    mov es, ax                                  ; loading a null selector is fine
    EXPECT_FAULT .r
    mov eax, [es:SCRATCH]
.r: mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECKERR 0
ENDTEST
TEST read_only_data_not_loadable_into_ss
    DESC RO_DATA, 0x0000FFFF, 0x00CF9000
    mov ax, RO_DATA
    EXPECT_FAULT .r
    mov ss, ax
.r: CHECKV 13
    CHECKERR RO_DATA
ENDTEST
TEST expand_down_16bit_upper_bound
    ; Expand-down with B = 0: offsets limit+1 ... 0xFFFF are valid.
    DESC EXPDOWN16, 0x0000_0FFF, 0x00009630     ; base SCRATCH, limit 0xFFF, expand-down, writable
    mov ax, EXPDOWN16
    mov es, ax
    mov dword [es:0xFFFC], 0x1234
    mov ecx, [es:0x1000]
    EXPECT_FAULT .r
    mov eax, [es:0xFFFE]                        ; runs past 0xFFFF
.r: CHECKV 13
    EXPECT_FAULT .r2
    mov eax, [es:0x0FFF]                        ; at the limit: below the valid range
.r2:mov ax, KDATA
    mov es, ax
    CHECKV 13
    CHECK dword [SCRATCH + 0xFFFC], 0x1234
ENDTEST
%include "include/end32.inc"

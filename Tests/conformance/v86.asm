; Virtual-8086 mode (SDM Vol. 3A ch. 20): entry through IRETD with VM set, real-mode style
; addressing, IOPL-sensitive instructions (#GP(0) below IOPL 3), INT n to a DPL 3 gate with
; the segment registers pushed and cleared. Legacy protected mode (harness32.inc).
%include "include/harness32.inc"

V86_CS equ 0x0700                   ; code copied to linear 0x7000
V86_DS equ 0x1000                   ; data at linear 0x10000
VM equ 0x20000
IOPL3 equ 0x3000

; V86 code_start, code_end, eflags: copies the code to 0x7000 and IRETDs into it.
%macro V86 3
    mov esi, %1
    mov edi, 0x7000
    mov ecx, %2 - %1
    rep movsb
    push dword 0                    ; GS
    push dword 0                    ; FS
    push dword V86_DS               ; DS
    push dword 0                    ; ES
    push dword 0x2000               ; SS
    push dword 0xFFF0               ; ESP
    push dword %3 | 2
    push dword V86_CS
    push dword 0
    iretd
%endmacro

TEST v86_addressing_and_int, REQ_V86
    mov word [0x10010], 0x41
    EXPECT_FAULT .r
    V86 .code, .code_end, VM | IOPL3
.r: CHECKV 0x30
    CHECK16 word [0x10012], 0x42
    mov eax, [fault_rflags]
    and eax, VM
    CHECK eax, VM
    CHECK dword [fault_cs], V86_CS
    jmp .out
bits 16
.code:
    mov ax, [0x10]
    inc ax
    mov [0x12], ax
    int 0x30
.code_end:
bits 32
.out:
ENDTEST
TEST v86_cli_iopl0_gp, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM
.r: CHECKV 13
    CHECKERR 0
    jmp .out
bits 16
.code:
    cli
.code_end:
bits 32
.out:
ENDTEST
TEST v86_cli_iopl3_allowed, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM | IOPL3
.r: CHECKV 0x30
    mov eax, [fault_rflags]
    and eax, IFLAG
    CHECK eax, 0
    jmp .out
bits 16
.code:
    sti
    cli
    int 0x30
.code_end:
bits 32
.out:
ENDTEST
TEST v86_int_iopl0_gp, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM
.r: CHECKV 13
    CHECKERR 0
    jmp .out
bits 16
.code:
    int 0x30
.code_end:
bits 32
.out:
ENDTEST
TEST v86_pushf_iopl0_gp, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM
.r: CHECKV 13
    jmp .out
bits 16
.code:
    pushf
.code_end:
bits 32
.out:
ENDTEST
TEST v86_hlt_gp, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM | IOPL3
.r: CHECKV 13                       ; HLT is privileged: CPL 3 in v86 mode
    jmp .out
bits 16
.code:
    hlt
.code_end:
bits 32
.out:
ENDTEST
TEST v86_segment_arithmetic, REQ_V86
    EXPECT_FAULT .r
    V86 .code, .code_end, VM | IOPL3
.r: CHECK16 word [0x20010], 0x3333
    jmp .out
bits 16
.code:
    mov ax, 0x2000
    mov es, ax
    mov word [es:0x10], 0x3333
    int 0x30
.code_end:
bits 32
.out:
ENDTEST
%include "include/end32.inc"

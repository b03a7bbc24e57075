; String instructions (SDM Vol. 2A/2B MOVS, STOS, LODS, CMPS, SCAS and the REP prefixes,
; Vol. 1 §7.3.9): each size, both directions, REP with a zero count, REPE/REPNE ending on
; the count or on the condition, and the address-size prefix (67) selecting ECX/ESI/EDI.
%include "include/harness64.inc"

SRC equ SCRATCH + 0x1000
DST equ SCRATCH + 0x2000

; fill: 16 bytes 0x00, 0x11, ... at SRC; 16 bytes 0xEE at DST.
%macro FILL 0
    mov rax, 0x7766554433221100
    mov [SRC], rax
    mov rax, 0xFFEEDDCCBBAA9988
    mov [SRC + 8], rax
    mov rax, 0xEEEEEEEEEEEEEEEE
    mov [DST], rax
    mov [DST + 8], rax
    mov [DST - 8], rax
    xor eax, eax
%endmacro

TEST movsb_forward
    FILL
    mov rsi, SRC
    mov rdi, DST
    movsb
    CHECK rsi, SRC + 1
    CHECK rdi, DST + 1
    CHECK qword [DST], 0xEEEEEEEEEEEEEE00
ENDTEST
TEST movsw_backward
    FILL
    std
    mov rsi, SRC + 2
    mov rdi, DST + 2
    movsw
    cld
    CHECK rsi, SRC
    CHECK rdi, DST
    CHECK qword [DST], 0xEEEEEEEE3322EEEE
ENDTEST
TEST movsd_forward
    FILL
    mov rsi, SRC
    mov rdi, DST
    movsd
    CHECK rsi, SRC + 4
    CHECK qword [DST], 0xEEEEEEEE33221100
ENDTEST
TEST movsq_backward
    FILL
    std
    mov rsi, SRC + 8
    mov rdi, DST + 8
    movsq
    cld
    CHECK rdi, DST
    CHECK qword [DST + 8], 0xFFEEDDCCBBAA9988
ENDTEST
TEST rep_movsb_count
    FILL
    mov rsi, SRC
    mov rdi, DST
    mov ecx, 5
    rep movsb
    CHECK rcx, 0
    CHECK rsi, SRC + 5
    CHECK qword [DST], 0xEEEEEE4433221100
ENDTEST
TEST rep_movsq_backward
    FILL
    std
    mov rsi, SRC + 8
    mov rdi, DST + 8
    mov ecx, 2
    rep movsq
    cld
    CHECK rdi, DST - 8
    CHECK qword [DST], 0x7766554433221100
    CHECK qword [DST + 8], 0xFFEEDDCCBBAA9988
ENDTEST
TEST rep_movsb_zero_count
    FILL
    mov rsi, SRC
    mov rdi, DST
    xor ecx, ecx
    rep movsb
    CHECK rsi, SRC
    CHECK qword [DST], 0xEEEEEEEEEEEEEEEE
ENDTEST
TEST rep_movsd_addr32
    FILL
    mov rsi, 0xFFFFFFFF00000000 | SRC
    mov rdi, 0xFFFFFFFF00000000 | DST
    mov rcx, 0xFFFFFFFF00000002     ; a 32-bit address size uses ECX = 2
    a32 rep movsd
    CHECK rcx, 0                    ; and writes ECX, zero-extending
    CHECK rsi, SRC + 8
    CHECK rdi, DST + 8
    CHECK qword [DST], 0x7766554433221100
ENDTEST
TEST stosb_forward
    FILL
    mov rdi, DST
    mov al, 0x5A
    stosb
    CHECK rdi, DST + 1
    CHECK8 byte [DST], 0x5A
ENDTEST
TEST rep_stosw
    FILL
    mov rdi, DST
    mov eax, 0x1234
    mov ecx, 3
    rep stosw
    CHECK qword [DST], 0xEEEE123412341234
ENDTEST
TEST rep_stosq_backward
    FILL
    std
    mov rdi, DST + 8
    mov rax, -1
    mov ecx, 2
    rep stosq
    cld
    CHECK rdi, DST - 8
    CHECK qword [DST], -1
ENDTEST
TEST stosd_backward
    FILL
    std
    mov rdi, DST + 4
    mov eax, 0x01020304
    stosd
    cld
    CHECK rdi, DST
    CHECK qword [DST], 0x01020304EEEEEEEE
ENDTEST
TEST lodsb_forward
    FILL
    mov rsi, SRC + 3
    mov rax, -1
    lodsb
    CHECK rax, 0xFFFFFFFFFFFFFF33
    CHECK rsi, SRC + 4
ENDTEST
TEST lodsd_zero_extends
    FILL
    mov rsi, SRC + 4
    mov rax, -1
    lodsd
    CHECK rax, 0x77665544
ENDTEST
TEST lodsq_backward
    FILL
    std
    mov rsi, SRC + 8
    lodsq
    cld
    CHECK rax, 0xFFEEDDCCBBAA9988
    CHECK rsi, SRC
ENDTEST
TEST rep_lodsw_last
    FILL
    mov rsi, SRC
    mov ecx, 3
    rep lodsw
    CHECK rax, 0x5544
ENDTEST
TEST cmpsb_equal
    FILL
    mov byte [DST], 0x00
    mov rsi, SRC
    mov rdi, DST
    cmpsb
    CHECKF ALLF, ZF | PF
ENDTEST
TEST cmpsd_less
    FILL
    mov rsi, SRC
    mov rdi, DST
    cmpsd                           ; 0x33221100 - 0xEEEEEEEE
    CHECKF CF | ZF | SF | OF, CF
ENDTEST
TEST repe_cmpsb_mismatch
    FILL
    mov rax, 0x7766FF4433221100
    mov [DST], rax
    mov rsi, SRC
    mov rdi, DST
    mov ecx, 8
    repe cmpsb
    CHECK rcx, 2
    CHECK rsi, SRC + 6
    CHECKF ZF | CF, CF
ENDTEST
TEST repe_cmpsq_all_equal
    FILL
    mov rax, [SRC]
    mov [DST], rax
    mov rax, [SRC + 8]
    mov [DST + 8], rax
    mov rsi, SRC
    mov rdi, DST
    mov ecx, 2
    repe cmpsq
    CHECK rcx, 0
    CHECKF ZF, ZF
ENDTEST
TEST repne_cmpsw_finds_equal
    FILL
    mov word [DST + 4], 0x5544
    mov rsi, SRC
    mov rdi, DST
    mov ecx, 8
    repne cmpsw
    CHECK rcx, 5
    CHECK rdi, DST + 6
    CHECKF ZF, ZF
ENDTEST
TEST repe_cmpsb_zero_count_keeps_flags
    FILL
    push qword CF | SF
    popfq
    mov rsi, SRC
    mov rdi, DST
    mov ecx, 0
    repe cmpsb
    CHECKF ALLF, CF | SF
    CHECK rsi, SRC
ENDTEST
TEST scasb_found
    FILL
    mov rdi, SRC
    mov al, 0x00
    scasb
    CHECKF ZF, ZF
    CHECK rdi, SRC + 1
ENDTEST
TEST repne_scasb_finds
    FILL
    mov rdi, SRC
    mov al, 0x55
    mov ecx, 16
    repne scasb
    CHECK rcx, 10
    CHECK rdi, SRC + 6
    CHECKF ZF, ZF
ENDTEST
TEST repne_scasb_not_found
    FILL
    mov rdi, SRC
    mov al, 0x12
    mov ecx, 16
    repne scasb
    CHECK rcx, 0
    CHECKF ZF, 0
ENDTEST
TEST repe_scasd_backward
    FILL
    mov dword [DST + 8], 0
    std
    mov rdi, DST + 12
    mov eax, 0xEEEEEEEE
    mov ecx, 4
    repe scasd
    cld
    CHECK rcx, 2
    CHECK rdi, DST + 4
    CHECKF ZF, 0
ENDTEST
TEST repne_scasq_found_first
    FILL
    mov rdi, SRC
    mov rax, 0x7766554433221100
    mov ecx, 4
    repne scasq
    CHECK rcx, 3
    CHECKF ZF, ZF
ENDTEST
TEST rep_stosb_addr32_wraps_edi
    FILL
    mov rdi, 0x1_0000_0000 | DST
    mov al, 0x42
    mov ecx, 1
    a32 rep stosb
    CHECK rdi, DST + 1              ; the 32-bit EDI is written, zero-extended
    CHECK8 byte [DST], 0x42
ENDTEST
TEST movs_segment_override_source
    FILL
    mov rsi, SRC
    mov rdi, DST
    fs movsb                        ; FS base 0 in 64-bit mode here
    CHECK8 byte [DST], 0x00
    CHECK rsi, SRC + 1
ENDTEST
%include "include/end64.inc"

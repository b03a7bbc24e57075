; Debug-register breakpoints and the resume flag in 32-bit protected mode (SDM Vol. 3B §17.2,
; §17.3.1): data breakpoints on writes and on reads or writes with LEN 1/2/4/8 (the address
; bits below LEN ignored), a disabled slot, a REP string stopped after the iteration that
; hit, a data breakpoint and single-step reported by one #DB, I/O breakpoints (CR4.DE), DR5
; under CR4.DE, RF = 1 in fault frames and RF = 0 in trap frames, and an instruction
; breakpoint on a faulting instruction that RF keeps from firing twice.
; Every #DB is reported as "count, DR6 & 0x400F, EIP (ok when it is the expected one), RF".
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

STACK_TOP   equ 0x1F0000
DATA        equ 0x180000            ; watched bytes; no code or stack on this page
RF          equ 1 << 16
TF          equ 1 << 8
CR4_DE      equ 1 << 3

; DR7 value of one slot: DR7_SLOT slot, rw, len (SDM Vol. 3B Figure 17-1).
%define DR7_SLOT(s, rw, len) ((1 << ((s) * 2)) | ((rw) << (16 + (s) * 4)) | ((len) << (18 + (s) * 4)))
%define DR7_OFF(s, rw, len) (((rw) << (16 + (s) * 4)) | ((len) << (18 + (s) * 4)))

; EXPECT label: the #DB about to come should return to label.
%macro EXPECT 1
    mov dword [expect_eip], %1
%endmacro

; DR7 value: loads DR7.
%macro SET_DR7 1
    mov eax, %1
    mov dr7, eax
%endmacro

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    PRINTLN "debug registers guest"
    mov eax, 1
    mov edx, db_handler
    mov cl, 0x8E
    call set_gate32
    mov eax, 3
    mov edx, bp_handler
    call set_gate32
    mov eax, 6
    mov edx, ud_handler
    call set_gate32
    mov eax, 13
    mov edx, gp_handler
    call set_gate32

    ; 1. Write breakpoint, LEN 2, DR0 = DATA + 3 -> watches DATA + 2 .. DATA + 3.
    mov dword [DATA], 0x11111111    ; the page is mapped before the breakpoint is set
    mov eax, DATA + 3
    mov dr0, eax
    mov eax, DATA + 5
    mov dr1, eax
    SET_DR7 DR7_SLOT(0, 1, 1) | DR7_OFF(1, 1, 0)
    mov word [DATA], 0x2222         ; outside
    mov byte [DATA + 5], 0x33       ; slot 1 is not enabled
    mov ax, [DATA + 2]              ; a read
    EXPECT .w1
    mov byte [DATA + 3], 0x44       ; hit
.w1:
    PRINT "write, LEN 2:"
    call report
    PRINT "memory after the write: "
    mov eax, [DATA]
    call puthex32
    call crlf32

    ; 2. Read/write LEN 4 (DR1 = DATA + 0x16 -> DATA + 0x14 .. 0x17) and write LEN 8
    ;    (DR2 = DATA + 0x25 -> DATA + 0x20 .. 0x27).
    mov eax, DATA + 0x16
    mov dr1, eax
    mov eax, DATA + 0x25
    mov dr2, eax
    SET_DR7 DR7_SLOT(1, 3, 3) | DR7_SLOT(2, 1, 2)
    mov al, [DATA + 0x18]           ; just past slot 1
    mov al, [DATA + 0x13]           ; just before it
    EXPECT .r1
    mov eax, [DATA + 0x11]          ; DATA + 0x11 .. 0x14: one byte in slot 1
.r1:
    PRINT "read, LEN 4, one byte overlapping:"
    call report
    mov al, [DATA + 0x27]           ; slot 2 watches writes only
    mov [DATA + 0x28], al           ; just past slot 2
    EXPECT .r2
    mov [DATA + 0x20], al
.r2:
    PRINT "write, LEN 8, first byte:"
    call report

    ; 3. REP STOSB over 16 bytes through a watched byte (DR0 = DATA + 0x45, LEN 1).
    mov eax, DATA + 0x45
    mov dr0, eax
    SET_DR7 DR7_SLOT(0, 1, 0)
    mov edi, DATA + 0x40
    mov ecx, 16
    mov al, 0xAB
    cld
    EXPECT .rep
.rep:
    rep stosb
    PRINT "rep stosb:"
    call report
    PRINT "  at the #DB: ecx="
    mov eax, [db_ecx]
    call puthex32
    PRINT " edi-DATA="
    mov eax, [db_edi]
    sub eax, DATA
    call puthex32
    PRINT "; after: ecx="
    mov eax, ecx
    call puthex32
    PRINT " last byte="
    movzx eax, byte [DATA + 0x4F]
    call puthex32
    call crlf32

    ; 4. TF and a data breakpoint on one instruction: one #DB, DR6.BS and DR6.B0.
    mov eax, DATA + 0x60
    mov dr0, eax
    SET_DR7 DR7_SLOT(0, 1, 0)
    pushfd
    or dword [esp], TF
    EXPECT .ss
    popfd
    mov byte [DATA + 0x60], 1       ; TF set when it starts, and it hits slot 0
.ss:
    PRINT "single step + write:"
    call report

    ; 5. I/O breakpoint on port 0x80: ignored without CR4.DE, a trap with it.
    mov eax, 0x80
    mov dr3, eax
    SET_DR7 DR7_SLOT(3, 2, 0)
    out 0x80, al
    PRINT "out 0x80 without CR4.DE:"
    call report
    mov eax, cr4
    or eax, CR4_DE
    mov cr4, eax
    mov dx, 0x7F
    EXPECT .io
    in ax, dx                       ; ports 0x7F-0x80
.io:
    PRINT "in ax, 0x7f with CR4.DE:"
    call report
    mov dword [ud_count], 0
    mov dword [ud_skip], 3
    mov eax, dr5                    ; #UD under CR4.DE (3 bytes)
    PRINT "mov eax, dr5 with CR4.DE: #UD count="
    mov eax, [ud_count]
    call puthex32
    call crlf32
    mov eax, cr4
    and eax, ~CR4_DE
    mov cr4, eax
    SET_DR7 0

    ; 6. RF in the frames: #UD and #GP are faults (RF = 1), INT3 is a trap (RF = 0).
    mov dword [ud_skip], 2
    ud2
    PRINT "#UD frame rf="
    mov eax, [fault_eflags]
    shr eax, 16
    and eax, 1
    call puthex32
    call crlf32
    int3
    PRINT "#BP frame rf="
    mov eax, [fault_eflags]
    shr eax, 16
    and eax, 1
    call puthex32
    call crlf32

    ; 7. An instruction breakpoint on an instruction that faults: the #DB handler sets RF in
    ;    its frame; the #GP frame has RF = 1, so returning to the instruction raises no #DB.
    mov byte [db_set_rf], 1
    mov eax, .target
    mov dr0, eax
    SET_DR7 DR7_SLOT(0, 0, 0)
    mov ax, 0x7F8                   ; beyond the GDT limit
    EXPECT .target
.target:
    mov es, ax                      ; #DB (fault), then #GP; the handler makes AX valid
    mov byte [db_set_rf], 0
    SET_DR7 0
    PRINT "instruction breakpoint on a faulting mov es:"
    call report
    PRINT "#GP count="
    mov eax, [gp_count]
    call puthex32
    PRINT " #GP frame rf="
    mov eax, [fault_eflags]
    shr eax, 16
    and eax, 1
    call puthex32
    PRINT " es="
    mov ax, es
    movzx eax, ax
    call puthex32
    call crlf32
    EXIT 0x19

; report: prints " count=N dr6=X eip ok|=X rf=N" for the #DBs since the last report.
report:
    PRINT " count="
    mov eax, [db_count]
    call puthex32
    PRINT " dr6="
    mov eax, [db_dr6]
    call puthex32
    mov eax, [db_eip]
    cmp eax, [expect_eip]
    jne .eip
    PRINT " eip ok"
    jmp .rf
.eip:
    PRINT " eip="
    call puthex32
.rf:
    PRINT " rf="
    mov eax, [db_eflags]
    shr eax, 16
    and eax, 1
    call puthex32
    call crlf32
    mov dword [db_count], 0
    mov dword [db_dr6], 0
    mov dword [db_eip], 0
    mov dword [db_eflags], 0
    ret

db_handler:
    push eax
    inc dword [db_count]
    mov eax, dr6
    and eax, 0x400F
    mov [db_dr6], eax
    mov eax, [esp + 4]
    mov [db_eip], eax
    mov eax, [esp + 12]
    mov [db_eflags], eax
    mov [db_ecx], ecx
    mov [db_edi], edi
    xor eax, eax
    mov dr6, eax
    and dword [esp + 12], ~TF       ; single-step once
    cmp byte [db_set_rf], 0
    je .done
    or dword [esp + 12], RF
.done:
    pop eax
    iretd

ud_handler:
    push eax
    inc dword [ud_count]
    mov eax, [esp + 12]
    mov [fault_eflags], eax
    mov eax, [ud_skip]
    add [esp + 4], eax              ; past the instruction
    pop eax
    iretd

bp_handler:
    push eax
    mov eax, [esp + 12]
    mov [fault_eflags], eax
    pop eax
    iretd

gp_handler:
    add esp, 4                      ; error code
    push eax
    inc dword [gp_count]
    mov eax, [esp + 12]
    mov [fault_eflags], eax
    pop eax
    mov ax, KDATA
    iretd

db_count:   dd 0
db_dr6:     dd 0
db_eip:     dd 0
db_eflags:  dd 0
db_ecx:     dd 0
db_edi:     dd 0
db_set_rf:  db 0
align 4
expect_eip: dd 0
ud_count:   dd 0
ud_skip:    dd 2
gp_count:   dd 0
fault_eflags: dd 0

%include "include/serial32.inc"
%include "include/sys32.inc"
image_end:

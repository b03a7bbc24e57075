; Hardware task switching with 16-bit (80286) TSSs (SDM Vol. 3A §7.6, Figure 7-11: the 44-byte
; TSS with SP0/SS0..SS2, IP, FLAGS, AX..DI, ES, CS, SS, DS and LDT). A multiboot kernel with a
; 32-bit main task and four 16-bit tasks:
;   - main CALLs task A through its TSS descriptor; A sees the registers of its TSS, NT = 1 and
;     its back link; A sets distinctive registers and flags and CALLs task B; B reads what the
;     switch saved in A's (16-bit) TSS and returns with IRET; A finds its registers restored
;     and returns to main with IRET;
;   - INT 0x41 reaches task C through a task gate; C returns with IRET;
;   - main JMPs to task D, which JMPs back (no nesting: NT = 0, no back link);
;   - #GP through a task gate runs task F, which gets the error code as a word on its stack
;     and moves main's saved EIP past the faulting instruction;
;   - task E runs at CPL 3; INT 0x42 through a 16-bit interrupt gate takes the CPL 0 stack
;     from SS0:SP0 of its 16-bit TSS and pushes a 16-bit frame;
;   - main checks that all six TSS descriptors are available (type 1) again and NT = 0.
; The 16-bit tasks run in a copy of the "low" section at LOW_BASE, reached through 16-bit
; segments based there. Exits through the debug-exit port with 0x16.
%include "include/platform.inc"
bits 32
org 0x100000

LOW_BASE     equ 0x40000

SEL_CODE32   equ 0x08
SEL_DATA32   equ 0x10
SEL_TSS_MAIN equ 0x18          ; 32-bit TSS
SEL_TSS_A    equ 0x20          ; 16-bit TSSs
SEL_TSS_B    equ 0x28
SEL_TSS_C    equ 0x30
SEL_TSS_D    equ 0x38
SEL_CODE16   equ 0x40          ; 16-bit code, base LOW_BASE, limit 64 KiB
SEL_DATA16   equ 0x48          ; 16-bit data, base LOW_BASE, limit 64 KiB
SEL_TSS_F    equ 0x50          ; 16-bit TSS of the #GP handler task
SEL_CODE16_U equ 0x58 | 3      ; 16-bit code, DPL 3, base LOW_BASE
SEL_DATA16_U equ 0x60 | 3      ; 16-bit data, DPL 3, base LOW_BASE
SEL_TSS_E    equ 0x68          ; 16-bit TSS of a task running at CPL 3
BAD_SELECTOR equ 0x7F8         ; beyond the GDT limit

TSS16_LIMIT  equ 0x2B          ; 44 bytes
TSS32_LIMIT  equ 0x67
FLAG_CF      equ 1 << 0
FLAG_DF      equ 1 << 10
FLAG_NT      equ 1 << 14

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, 0, entry

; PRINT32 "text": prints a literal string from 32-bit code.
%macro PRINT32 1
    jmp %%after
%%text: db %1, 13, 10, 0
%%after:
    mov esi, %%text
    call puts32
%endmacro

; tss_descriptor base, access: a system descriptor for a TSS at linear address base.
%macro tss_descriptor 3                 ; base, limit, access byte
    dw %2
    dw (%1) & 0xFFFF
    db ((%1) >> 16) & 0xFF
    db %3
    db 0x00
    db ((%1) >> 24) & 0xFF
%endmacro

entry:
    cli
    lgdt [gdt_desc]
    jmp SEL_CODE32:.reload
.reload:
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov esp, stack_main
    ; The 16-bit tasks' code, data and TSSs go to LOW_BASE.
    mov esi, section.low.start
    mov edi, LOW_BASE
    mov ecx, low_end
    cld
    rep movsb
    mov ebx, SEL_TSS_A
    mov eax, LOW_BASE + tss_a
    call set_tss_base
    mov ebx, SEL_TSS_B
    mov eax, LOW_BASE + tss_b
    call set_tss_base
    mov ebx, SEL_TSS_C
    mov eax, LOW_BASE + tss_c
    call set_tss_base
    mov ebx, SEL_TSS_D
    mov eax, LOW_BASE + tss_d
    call set_tss_base
    mov ebx, SEL_TSS_F
    mov eax, LOW_BASE + tss_f
    call set_tss_base
    mov ebx, SEL_TSS_E
    mov eax, LOW_BASE + tss_e
    call set_tss_base
    mov eax, int42_handler
    mov [idt + 0x42 * 8], ax
    lidt [idt_desc]
    mov ax, SEL_TSS_MAIN
    ltr ax

    PRINT32 "main: CALL to 16-bit task A"
    call SEL_TSS_A:0
    PRINT32 "main: back from task A"

    PRINT32 "main: INT 0x41 to 16-bit task C through a task gate"
    int 0x41
    PRINT32 "main: back from task C"

    PRINT32 "main: JMP to 16-bit task D"
    jmp SEL_TSS_D:0
    PRINT32 "main: back from task D"

    ; An exception through a task gate: #GP (vector 13) switches to task F, which finds the
    ; error code on its stack (a word: F's TSS is 16-bit) and moves main's saved EIP past
    ; the faulting instruction.
    PRINT32 "main: #GP through a task gate to 16-bit task F"
    mov ax, BAD_SELECTOR
    mov es, ax                          ; 2 bytes: 8E C0
    PRINT32 "main: resumed after the faulting instruction"
    mov ax, SEL_DATA32
    mov es, ax

    ; A 16-bit task at CPL 3: INT 0x42 through a 16-bit interrupt gate switches to the
    ; CPL 0 stack named by SS0:SP0 of its 16-bit TSS and pushes a 16-bit frame.
    PRINT32 "main: CALL to 16-bit task E (CPL 3)"
    call SEL_TSS_E:0
    PRINT32 "main: back from task E"

    ; Every task was left by IRET or JMP: all four descriptors are type 1 (available 16-bit).
    mov esi, msg_types
    call puts32
    mov ebx, SEL_TSS_A
.types:
    mov al, [gdt + ebx + 5]
    and al, 0x0F
    add al, '0'
    call putc32
    mov al, ' '
    call putc32
    add ebx, 8
    cmp ebx, SEL_TSS_D
    jbe .types
    mov al, [gdt + SEL_TSS_F + 5]
    and al, 0x0F
    add al, '0'
    call putc32
    mov al, ' '
    call putc32
    mov al, [gdt + SEL_TSS_E + 5]
    and al, 0x0F
    add al, '0'
    call putc32
    mov al, ' '
    call putc32
    mov esi, msg_nt
    call puts32
    pushfd
    pop eax
    shr eax, 14
    and al, 1
    add al, '0'
    call putc32
    mov al, 13
    call putc32
    mov al, 10
    call putc32
    str ax
    cmp ax, SEL_TSS_MAIN
    jne .bad
    mov al, 0x16
    call debug_exit32
.bad:
    mov al, 0x7F
    call debug_exit32

; set_tss_base: EBX = selector, EAX = linear base of its descriptor.
set_tss_base:
    mov [gdt + ebx + 2], ax
    shr eax, 16
    mov [gdt + ebx + 4], al
    mov [gdt + ebx + 7], ah
    ret

%include "include/serial32.inc"

msg_types:  db "main: TSS types A B C D F E: ", 0
msg_nt:     db "NT=", 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF                       ; 0x08 code32
    dq 0x00CF92000000FFFF                       ; 0x10 data32
    tss_descriptor tss_main - $$ + 0x100000, TSS32_LIMIT, 0x89 ; 0x18 32-bit available TSS
    tss_descriptor 0, TSS16_LIMIT, 0x81 ; 0x20 16-bit available TSS (base set by set_tss_base)
    tss_descriptor 0, TSS16_LIMIT, 0x81 ; 0x28
    tss_descriptor 0, TSS16_LIMIT, 0x81 ; 0x30
    tss_descriptor 0, TSS16_LIMIT, 0x81 ; 0x38
    dq 0x00009A040000FFFF                       ; 0x40 code16, base 0x40000
    dq 0x000092040000FFFF                       ; 0x48 data16, base 0x40000
    tss_descriptor 0, TSS16_LIMIT, 0x81         ; 0x50 16-bit available TSS
    dq 0x0000FA040000FFFF                       ; 0x58 code16 DPL 3, base 0x40000
    dq 0x0000F2040000FFFF                       ; 0x60 data16 DPL 3, base 0x40000
    tss_descriptor 0, TSS16_LIMIT, 0x81         ; 0x68 16-bit available TSS
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

align 8
idt:
    times 13 dq 0
    ; 13 (#GP): task gate to TSS F.
    dw 0
    dw SEL_TSS_F
    db 0
    db 0x85
    dw 0
    times 0x41 - 14 dq 0
    ; 0x41: task gate (type 5), DPL 0, present, selector of TSS C.
    dw 0
    dw SEL_TSS_C
    db 0
    db 0x85
    dw 0
    ; 0x42: 16-bit interrupt gate (type 6), DPL 3, to int42_handler in code16 (offset set
    ; at run time).
    dw 0
    dw SEL_CODE16
    db 0
    db 0xE6
    dw 0
idt_desc:
    dw idt_desc - idt - 1
    dd idt

align 16
tss_main:
    times TSS32_LIMIT + 1 db 0

align 16
    times 1024 db 0
stack_main:

; ---------------------------------------------------------------------------------------------
; The 16-bit tasks, assembled for offset 0 of the 16-bit segments (base LOW_BASE).
section low vstart=0 follows=.text align=16
bits 16

; PRINT16 "text": prints a literal string and CR LF (CS-relative, as puts16 reads it).
%macro PRINT16 1
    jmp %%after
%%text: db %1, 13, 10, 0
%%after:
    push si
    mov si, %%text
    call puts16
    pop si
%endmacro

; PUT16 "text": the same without CR LF.
%macro PUT16 1
    jmp %%after
%%text: db %1, 0
%%after:
    push si
    mov si, %%text
    call puts16
    pop si
%endmacro

; HEX16 "label", word operand: prints label and the word as 4 hex digits.
%macro HEX16 2
    PUT16 %1
    mov ax, %2
    call puthex16_16
%endmacro

task_a:
    ; Everything here came from TSS A.
    mov [a_ax], ax
    PUT16 "task A: running, AX from its TSS: "
    mov ax, [a_ax]
    call puthex16_16
    call crlf16
    pushf
    pop ax
    test ax, FLAG_NT
    jz .no_nt
    cmp word [tss_a], SEL_TSS_MAIN      ; back link written by the CALL
    jne .no_nt
    PRINT16 "task A: NT set, back link is main"
.no_nt:
    ; A distinctive state for the CALL to save in TSS A.
    mov [a_sp], sp
    pushf
    pop ax
    and ax, FLAG_NT
    or ax, FLAG_CF | FLAG_DF | 2
    push ax
    popf
    mov ax, 0x1234
    mov cx, 0x2345
    mov dx, 0x3456
    mov bx, 0x4567
    mov bp, 0x5678
    mov si, 0x6789
    mov di, 0x789A
    call SEL_TSS_B:0
a_resume:
    ; Back through B's IRET: registers and flags from TSS A.
    pushf
    pop word [a_flags]
    cld
    cmp ax, 0x1234
    jne .lost
    cmp cx, 0x2345
    jne .lost
    cmp dx, 0x3456
    jne .lost
    cmp bx, 0x4567
    jne .lost
    cmp bp, 0x5678
    jne .lost
    cmp si, 0x6789
    jne .lost
    cmp di, 0x789A
    jne .lost
    cmp sp, [a_sp]
    jne .lost
    HEX16 "task A: after IRET from B: FLAGS=", [a_flags]
    PRINT16 ", registers restored"
    iret                                ; NT = 1: back to main
.lost:
    PRINT16 "task A: registers lost"
    mov al, 0x7E
    out DEBUG_EXIT, al

task_b:
    cmp word [tss_b], SEL_TSS_A
    jne .link
    PRINT16 "task B: back link is task A"
.link:
    ; What the CALL saved in A's TSS (offsets of Figure 7-11).
    mov ax, [tss_a + 0x0E]
    cmp ax, a_resume
    jne .ip_bad
    PUT16 "task B: A's TSS: IP ok"
    jmp .ip_done
.ip_bad:
    HEX16 "task B: A's TSS: IP=", [tss_a + 0x0E]
.ip_done:
    HEX16 ", FLAGS=", [tss_a + 0x10]
    HEX16 ", AX=", [tss_a + 0x12]
    HEX16 " CX=", [tss_a + 0x14]
    HEX16 " DX=", [tss_a + 0x16]
    HEX16 " BX=", [tss_a + 0x18]
    mov ax, [tss_a + 0x1A]
    cmp ax, [a_sp]
    jne .sp_bad
    PUT16 " SP ok"
    jmp .sp_done
.sp_bad:
    HEX16 " SP=", [tss_a + 0x1A]
.sp_done:
    HEX16 " BP=", [tss_a + 0x1C]
    HEX16 " SI=", [tss_a + 0x1E]
    HEX16 " DI=", [tss_a + 0x20]
    call crlf16
    HEX16 "task B: A's TSS: ES=", [tss_a + 0x22]
    HEX16 " CS=", [tss_a + 0x24]
    HEX16 " SS=", [tss_a + 0x26]
    HEX16 " DS=", [tss_a + 0x28]
    HEX16 " LDT=", [tss_a + 0x2A]
    call crlf16
    iret                                ; NT = 1: back to A
    jmp task_b

task_c:
    pushf
    pop ax
    test ax, FLAG_NT
    jz .plain
    cmp word [tss_c], SEL_TSS_MAIN
    jne .plain
    PRINT16 "task C: running, NT set, back link is main"
.plain:
    iret
    jmp task_c

task_d:
    pushf
    pop ax
    test ax, FLAG_NT
    jnz .nested
    PRINT16 "task D: running, NT clear, JMP back to main"
.nested:
    jmp SEL_TSS_MAIN:0

task_f:
    pop ax                              ; the error code: one word on a 16-bit task's stack
    mov [f_error], ax
    mov [f_sp], sp
    HEX16 "task F: #GP error code ", [f_error]
    mov ax, [f_sp]
    cmp ax, stack_f
    jne .sp
    PUT16 ", SP back at the top"
.sp:
    cmp word [tss_f], SEL_TSS_MAIN
    jne .link
    PUT16 ", back link is main"
.link:
    call crlf16
    ; main's saved EIP is the faulting instruction: step over it (2 bytes).
    push es
    mov ax, SEL_DATA32
    mov es, ax
    add dword [es:dword tss_main + 0x20], 2
    pop es
    iret
    jmp task_f

task_e:
    mov ax, cs
    and ax, 3
    add al, '0'
    mov [e_cpl], al
    mov si, e_msg
    call puts16
    int 0x42
    PRINT16 "task E: back at CPL 3 after IRET"
    iret                                ; NT = 1: back to main (no privilege check)
    jmp task_e

; INT 0x42 from task E: CPL 0 on SS0:SP0 of TSS E. Frame: IP, CS, FLAGS, SP, SS (words).
int42_handler:
    mov [e_sp0], sp
    mov bp, sp
    HEX16 "int 0x42 at CPL 0: SS=", ss
    mov ax, [e_sp0]
    cmp ax, stack_e0 - 10
    jne .sp
    PUT16 " SP=SP0-10"
.sp:
    HEX16 ", frame CS=", [bp + 2]
    HEX16 " FLAGS=", [bp + 4]
    HEX16 " SS=", [bp + 8]
    mov ax, [bp + 6]
    cmp ax, stack_e
    jne .usp
    PUT16 " SP ok"
.usp:
    call crlf16
    iret

; puthex16_16: AX as four hex digits.
puthex16_16:
    xchg al, ah
    call puthex8_16
    xchg al, ah
    jmp puthex8_16

crlf16:
    push ax
    mov al, 13
    call putc16
    mov al, 10
    call putc16
    pop ax
    ret

%include "include/serial16.inc"

a_ax:    dw 0
a_sp:    dw 0
a_flags: dw 0
f_error: dw 0
f_sp:    dw 0
e_sp0:   dw 0
e_msg:   db "task E: running at CPL "
e_cpl:   db "?", 13, 10, 0

; tss16 ip, sp, ax, name: a 16-bit TSS (SDM Vol. 3A Figure 7-11) with CS = code16, the other
; segments = data16, FLAGS = 2 (IF = 0), no LDT.
%macro tss16 4
align 16
%4:
    dw 0                                ; back link
    dw 0, 0, 0, 0, 0, 0                 ; SP0 SS0 SP1 SS1 SP2 SS2
    dw %1                               ; IP
    dw 0x0002                           ; FLAGS
    dw %3, 0, 0, 0, %2, 0, 0, 0         ; AX CX DX BX SP BP SI DI
    dw SEL_DATA16, SEL_CODE16, SEL_DATA16, SEL_DATA16 ; ES CS SS DS
    dw 0                                ; LDT
%endmacro
    tss16 task_a, stack_a, 0xA0A0, tss_a
    tss16 task_b, stack_b, 0, tss_b
    tss16 task_c, stack_c, 0, tss_c
    tss16 task_d, stack_d, 0, tss_d
    tss16 task_f, stack_f, 0, tss_f
; Task E runs at CPL 3 with IOPL 3 (port I/O allowed: a 16-bit TSS has no I/O bitmap).
align 16
tss_e:
    dw 0                                ; back link
    dw stack_e0, SEL_DATA16, 0, 0, 0, 0 ; SP0 SS0 SP1 SS1 SP2 SS2
    dw task_e                           ; IP
    dw 0x3002                           ; FLAGS: IOPL 3
    dw 0, 0, 0, 0, stack_e, 0, 0, 0     ; AX CX DX BX SP BP SI DI
    dw SEL_DATA16_U, SEL_CODE16_U, SEL_DATA16_U, SEL_DATA16_U ; ES CS SS DS
    dw 0                                ; LDT

align 16
    times 512 db 0
stack_a:
    times 512 db 0
stack_b:
    times 512 db 0
stack_c:
    times 512 db 0
stack_d:
    times 512 db 0
stack_f:
    times 512 db 0
stack_e:
    times 512 db 0
stack_e0:
low_end:


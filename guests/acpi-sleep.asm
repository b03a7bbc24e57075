; A multiboot kernel that asks for the ACPI sleep states the machine does not offer, with
; QEMU's SLP_TYP values (\_S3 = 1, \_S4 = 2), the way an OS does: SLP_TYP with SLP_EN in
; PM1a_CNT, then wait for PM1_STS.WAK_STS (ACPI spec 6.4 ch. 16 "Waking and Sleeping").
; S3 must end at once with WAK_STS set; S4 must power the machine off (status 0). The wait
; is bounded so that a machine that never wakes the guest is reported (status 0x7F << 1 | 1)
; instead of hanging the test.
%include "include/platform.inc"
bits 32
org 0x100000

PM1A_STS        equ 0x600
WAK_STS         equ 1 << 15
SLP_TYP_SHIFT   equ 10
SLP_TYP_S3      equ 1
SLP_TYP_S4      equ 2
WAIT_LOOPS      equ 2000000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT | MB_FLAG_MEMINFO
    dd -(MB_MAGIC + MB_FLAG_AOUT + MB_FLAG_MEMINFO)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    mov esp, stack_top
    mov dx, PM1A_STS
    in ax, dx
    test ax, WAK_STS
    jnz fail_early
    mov esi, s3_msg
    call puts32
    mov dx, PM1A_CNT
    mov ax, PM1_SLP_EN | (SLP_TYP_S3 << SLP_TYP_SHIFT)
    out dx, ax
    mov ecx, WAIT_LOOPS
    mov dx, PM1A_STS
.wait:
    in ax, dx
    test ax, WAK_STS
    jnz .woke
    dec ecx
    jnz .wait
    mov esi, stuck_msg
    call puts32
    mov al, 0x7F
    call debug_exit32
.woke:
    mov ax, WAK_STS             ; write 1 to clear
    out dx, ax
    in ax, dx
    test ax, WAK_STS
    jnz fail_early
    mov esi, woke_msg
    call puts32
    mov esi, s4_msg
    call puts32
    mov dx, PM1A_CNT
    mov ax, PM1_SLP_EN | (SLP_TYP_S4 << SLP_TYP_SHIFT)
    out dx, ax
    mov esi, alive_msg          ; only if S4 did not power off
    call puts32
    mov al, 0x7E
    call debug_exit32
fail_early:
    mov al, 0x7D
    call debug_exit32

%include "include/serial32.inc"

s3_msg:    db "S3 requested", 13, 10, 0
woke_msg:  db "woke at once (WAK_STS)", 13, 10, 0
stuck_msg: db "no wake", 13, 10, 0
s4_msg:    db "S4 requested", 13, 10, 0
alive_msg: db "still running after S4", 13, 10, 0

align 16
    times 4096 db 0
stack_top:

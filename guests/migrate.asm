; A multiboot kernel that keeps computing and printing: 24 steps of an xorshift hash over
; 4,000 iterations each, one line per step. Its output is the same however the vCPU is moved
; between engines while it runs (`swiftpc run --migrate-every`). Exits with 0x11.
%include "include/platform.inc"
bits 32
org 0x100000

STEPS       equ 24
ITERATIONS  equ 4000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, stack_top, entry

entry:
    cli
    mov esp, stack_top
    mov ebx, 0x2545F491                 ; hash state
    xor edi, edi                        ; step
.step:
    mov ecx, ITERATIONS
.mix:
    mov eax, ebx
    shl eax, 13
    xor ebx, eax
    mov eax, ebx
    shr eax, 17
    xor ebx, eax
    mov eax, ebx
    shl eax, 5
    xor ebx, eax
    add ebx, ecx
    push ebx
    pop edx
    adc ebx, edx
    dec ecx
    jnz .mix
    mov esi, msg_step
    call puts32
    mov eax, edi
    call putdec32
    mov esi, msg_hash
    call puts32
    mov eax, ebx
    call puthex32
    mov esi, crlf
    call puts32
    inc edi
    cmp edi, STEPS
    jb .step
    mov al, 0x11
    call debug_exit32

%include "include/serial32.inc"

msg_step: db "step ", 0
msg_hash: db " hash ", 0
crlf: db 13, 10, 0

align 16
    times 1024 db 0
stack_top:

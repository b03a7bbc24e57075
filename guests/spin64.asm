; A multiboot kernel that goes to long mode and spins forever in a tight loop of
; arithmetic and a near branch: code the interpreter's block translator runs. The
; stop-latency test sends SIGTERM while it spins.
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

STACK_TOP   equ 0x1F0000

entry:
    cli
    mov esp, STACK_TOP
    call sys32_init
    jmp long_mode_enter

bits 64
entry64:
    PRINTLN "spin"
    xor eax, eax
.spin:
    add rax, 3
    xor rax, 1
    jmp .spin

%include "include/serial32.inc"
%include "include/sys32.inc"
%include "include/sys64.inc"
image_end:

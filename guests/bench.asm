; swiftpc's built-in CPU workloads (`swiftpc bench`): a multiboot kernel that enters long
; mode and runs the integer workload named on its command line ("alu", "memory", "sieve",
; "calls"), then leaves through the debug-exit port with status 0. The bench command times
; the run and divides the instructions retired by the time.
%include "include/platform.inc"
bits 32
org 0x100000

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x100000, 0, bss_end, entry32

entry32:
    cli
    mov esp, stack_top
    mov esi, [ebx + 16]                 ; multiboot command line: "<path> <workload>"
    call skip_argv0
    mov ebp, esi
    mov edi, pml4
    mov eax, pdpt + 3
    mov [edi], eax
    mov eax, pd + 3
    mov [pdpt], eax
    xor ecx, ecx
.map:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83
    mov [pd + ecx * 8], eax
    inc ecx
    cmp ecx, 512
    jne .map
    mov eax, cr4
    or eax, 1 << 5
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, 0xC0000080
    rdmsr
    or eax, 1 << 8
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | 1
    mov cr0, eax
    lgdt [gdt_desc]
    jmp 0x08:entry64

%include "include/cmdline32.inc"

bits 64
entry64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, stack_top
    mov eax, [rbp]                      ; first 4 bytes of the command line pick the workload
    cmp eax, 'alu'
    je alu
    cmp eax, 'memo'
    je memory
    cmp eax, 'siev'
    je sieve
    cmp eax, 'call'
    je calls
    mov al, 0x7F
    out DEBUG_EXIT, al

done:
    xor eax, eax
    out DEBUG_EXIT, al
    hlt

; Register arithmetic, shifts, multiplies and a counted loop.
alu:
    mov ecx, 20000000
    mov eax, 1
    mov ebx, 0x12345678
    xor edx, edx
.loop:
    add eax, ebx
    xor ebx, eax
    rol ebx, 5
    lea edx, [rdx + rax * 2 + 7]
    imul eax, eax, 33
    sub edx, ecx
    shr edx, 1
    dec ecx
    jnz .loop
    jmp done

; Loads, stores and a checksum over a 256 KiB buffer, 40 passes.
memory:
    mov r8d, 40
.pass:
    mov rsi, buffer
    mov ecx, 65536
    xor eax, eax
.fill:
    mov [rsi], eax
    add eax, ecx
    add rsi, 4
    dec ecx
    jnz .fill
    mov rsi, buffer
    mov ecx, 65536
    xor edx, edx
.sum:
    add edx, [rsi]
    ror edx, 3
    add rsi, 4
    dec ecx
    jnz .sum
    dec r8d
    jnz .pass
    jmp done

; Sieve of Eratosthenes up to 2^20, 8 times (byte stores, nested loops, compares).
sieve:
    mov r8d, 8
.again:
    mov rdi, buffer
    mov ecx, 1 << 20
    mov al, 1
    rep stosb
    mov ebx, 2
.outer:
    mov eax, ebx
    imul eax, ebx
    cmp eax, 1 << 20
    jae .next_pass
    cmp byte [buffer + rbx], 0
    je .skip
.inner:
    mov byte [buffer + rax], 0
    add eax, ebx
    cmp eax, 1 << 20
    jb .inner
.skip:
    inc ebx
    jmp .outer
.next_pass:
    dec r8d
    jnz .again
    jmp done

; Recursive Fibonacci: calls, returns, pushes and pops.
calls:
    mov edi, 27
    call fib
    jmp done
fib:
    cmp edi, 2
    jb .leaf
    push rdi
    dec edi
    call fib
    pop rdi
    push rax
    sub edi, 2
    call fib
    pop rdx
    add eax, edx
    ret
.leaf:
    mov eax, edi
    ret

align 8
gdt:
    dq 0
    dq 0x00AF9A000000FFFF
    dq 0x00CF92000000FFFF
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

align 4096
file_end:
pml4:      equ file_end
pdpt:      equ file_end + 0x1000
pd:        equ file_end + 0x2000
stack_top: equ file_end + 0x8000
buffer:    equ file_end + 0x10000
bss_end:   equ buffer + (1 << 20)

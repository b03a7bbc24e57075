; A multiboot kernel that asks fw_cfg for a DMA read of 0xFFFFFFFF bytes of the signature
; item into RAM at 2 MiB (QEMU docs/specs/fw_cfg.rst, "DMA interface"). The device copies
; "QEMU", writes zeros up to the end of RAM and reports the error bit (the transfer left
; RAM). Prints the control word, then exits with 1 (status 3) when "QEMU" arrived and the
; error bit is set, 2 (status 5) otherwise. Assembled with REPEAT_FOREVER (fwcfg-dma-loop.asm)
; it issues the same transfer again and again, for the stop-latency test.
%include "include/platform.inc"
bits 32
org 0x100000
%include "include/sysmacros.inc"
%include "include/multiboot.inc"

FW_CFG_DMA_HIGH equ 0x514
FW_CFG_DMA_LOW  equ 0x518
DMA_CTL_ERROR   equ 0x01
DMA_CTL_READ    equ 0x02
DMA_CTL_SELECT  equ 0x08
KEY_SIGNATURE   equ 0x0000
TARGET          equ 0x200000

entry:
    cli
    mov esp, stack_top
    PRINTLN "fw_cfg dma"
.again:
    mov dword [TARGET], 0xAAAAAAAA
    ; The FWCfgDmaAccess fields are big-endian.
    mov eax, KEY_SIGNATURE << 16 | DMA_CTL_SELECT | DMA_CTL_READ
    bswap eax
    mov [access.control], eax
    mov dword [access.length], 0xFFFFFFFF
    mov dword [access.address], 0
    mov eax, TARGET
    bswap eax
    mov [access.address + 4], eax
    xor eax, eax
    mov dx, FW_CFG_DMA_HIGH
    out dx, eax
    mov eax, access
    bswap eax
    mov dx, FW_CFG_DMA_LOW
    out dx, eax                     ; starts the transfer
.wait:
    mov eax, [access.control]
    bswap eax
    test eax, ~DMA_CTL_ERROR
    jnz .wait
%ifdef REPEAT_FOREVER
    jmp .again
%endif
    PRINT "control "
    call puthex32
    call crlf
    cmp eax, DMA_CTL_ERROR
    jne .bad
    cmp dword [TARGET], 'QEMU'
    jne .bad
    cmp dword [TARGET + 4], 0
    jne .bad
    EXIT 1
.bad:
    EXIT 2

crlf:
    push eax
    mov al, 13
    call putc32
    mov al, 10
    call putc32
    pop eax
    ret

%include "include/serial32.inc"
    align 16
access:
.control: dd 0
.length:  dd 0
.address: dq 0
    times 256 db 0
stack_top:
image_end:

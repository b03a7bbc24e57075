; DMA into code that has run (issue 14's contract test for device writes): a function at
; CODE_PAGE is called CALLS times per round (often enough for the interpreter to decode it and
; the block translator to translate its loop), then the next round reads a new body over it
; from the primary master disk by IDE bus-master DMA, and every call must return the new
; body's value. The disk's first VARIANTS sectors hold the bodies (the system test writes
; them); round r loads sector r % VARIANTS, so consecutive rounds always change the code.
; Under `--migrate-every` the rounds are spread over both engines: a DMA done while one runs
; must reach the code the other decoded before.
;
; A body (64-bit): xor eax, eax / mov ecx, 4 / .l: add eax, K / dec ecx / jnz .l / ret,
; returning 4 * K; K for sector s is in `variant_k`.
;
; The PIIX3 IDE is found as a BIOS leaves it for a directly booted kernel: BAR4 (the
; bus-master registers) assigned, I/O and bus mastering enabled, legacy ports decoded.
;
; With the command line argument `cpu-copy` the bodies are read once into a buffer and each
; round copies its body over the function with REP MOVSB instead: the same test for code the
; CPU rewrites (under `--migrate-every`, rewritten by one engine behind the other's back).
; Exits with 0x21 (status 67) when every call returned its round's value, 0x22 (status 69)
; when some did not, 0x23 (status 71) when a transfer failed (0x7F: an unexpected exception).
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"

STACK_TOP       equ 0x1F0000
CODE_PAGE       equ 0x180000        ; the function the DMA replaces (a page of its own)
PRD_TABLE       equ 0x181000
BODY_BUFFER     equ 0x182000        ; cpu-copy: the bodies, one sector each
MBI_FLAGS       equ 0
MBI_CMDLINE     equ 16
MBI_HAS_CMDLINE equ 1 << 2
ROUNDS          equ 300
CALLS           equ 64
VARIANTS        equ 3
SECTOR_BYTES    equ 512

PCI_ADDR        equ 0xCF8
PCI_DATA        equ 0xCFC
CFG_IDE_BAR4    equ 0x80000920      ; 00:01.1, offset 0x20 (BMIBA)
BAR_IO_MASK     equ 0xFFF0
ATA_BASE        equ 0x1F0
ATA_COUNT       equ ATA_BASE + 2
ATA_LBA0        equ ATA_BASE + 3
ATA_LBA1        equ ATA_BASE + 4
ATA_LBA2        equ ATA_BASE + 5
ATA_DEVICE      equ ATA_BASE + 6
ATA_STATUS      equ ATA_BASE + 7    ; read: status (clears INTRQ); write: command
ATA_DEVICE_LBA  equ 0xE0            ; LBA addressing, master
ATA_READ_DMA    equ 0xC8
ATA_BSY         equ 0x80
ATA_DRQ         equ 0x08
ATA_ERR         equ 0x01
BM_COMMAND      equ 0               ; offsets in the primary channel's bus-master block
BM_STATUS       equ 2
BM_PRD          equ 4
BM_START        equ 0x01
BM_TO_MEMORY    equ 0x08
BM_ACTIVE       equ 0x01
BM_ERROR        equ 0x02
BM_INTERRUPT    equ 0x04
PRD_EOT         equ 0x80000000
POLL_LIMIT      equ 100000

EXIT_OK         equ 0x21
EXIT_STALE      equ 0x22
EXIT_DMA        equ 0x23

entry:
    cli
    mov esp, STACK_TOP
    cmp eax, MB_BOOT_MAGIC
    jne .no_cmdline
    test dword [ebx + MBI_FLAGS], MBI_HAS_CMDLINE
    jz .no_cmdline
    mov esi, [ebx + MBI_CMDLINE]
    call skip_argv0
    cmp dword [esi], 'cpu-'
    jne .no_cmdline
    cmp dword [esi + 4], 'copy'
    jne .no_cmdline
    mov byte [copy_mode], 1
.no_cmdline:
    call sys32_init
    jmp long_mode_enter

bits 64
entry64:
    mov eax, CFG_IDE_BAR4
    mov dx, PCI_ADDR
    out dx, eax
    mov dx, PCI_DATA
    in eax, dx
    and eax, BAR_IO_MASK
    mov [bm_base], ax
    mov dword [PRD_TABLE + 4], PRD_EOT | SECTOR_BYTES
    cmp byte [copy_mode], 0
    je .rounds
    xor ebx, ebx
.load_bodies:
    mov eax, ebx
    shl eax, 9
    add eax, BODY_BUFFER
    mov [PRD_TABLE], eax
    call dma_read_sector
    inc ebx
    cmp ebx, VARIANTS
    jb .load_bodies
.rounds:
    mov dword [PRD_TABLE], CODE_PAGE

    xor r12d, r12d                  ; round
    xor r13d, r13d                  ; calls that returned another body's value
.round:
    mov eax, r12d
    xor edx, edx
    mov ecx, VARIANTS
    div ecx                         ; EDX = the round's sector
    mov r14d, edx
    mov ebx, edx
    cmp byte [copy_mode], 0
    jne .copy
    call dma_read_sector
    jmp .loaded
.copy:
    mov esi, ebx
    shl esi, 9
    add esi, BODY_BUFFER
    mov edi, CODE_PAGE
    mov ecx, SECTOR_BYTES
    rep movsb
.loaded:
    mov r15d, [variant_k + r14 * 4]
    shl r15d, 2                     ; the body returns 4 * K
    mov ebp, CALLS
.call:
    mov eax, CODE_PAGE
    call rax
    cmp eax, r15d
    je .same
    inc r13d
.same:
    dec ebp
    jnz .call
    inc r12d
    cmp r12d, ROUNDS
    jb .round

    PRINT "rounds "
    mov eax, ROUNDS
    call putdec64
    PRINT ", calls per round "
    mov eax, CALLS
    call putdec64
    PRINT ", stale results "
    mov eax, r13d
    call putdec64
    call crlf32
    test r13d, r13d
    jnz .stale
    EXIT EXIT_OK
.stale:
    EXIT EXIT_STALE

; dma_read_sector: EBX = LBA; reads that sector by READ DMA where PRD_TABLE points.
dma_read_sector:
    call ata_wait_idle
    mov dx, ATA_DEVICE
    mov al, ATA_DEVICE_LBA
    out dx, al
    call ata_wait_idle
    mov dx, ATA_COUNT
    mov al, 1
    out dx, al
    mov dx, ATA_LBA0
    mov al, bl
    out dx, al
    mov dx, ATA_LBA1
    mov al, bh
    out dx, al
    mov dx, ATA_LBA2
    xor al, al
    out dx, al
    ; The bus master: stopped, status cleared, the table at PRD_TABLE.
    mov dx, [bm_base]
    add dx, BM_COMMAND
    mov al, BM_TO_MEMORY
    out dx, al
    mov dx, [bm_base]
    add dx, BM_STATUS
    mov al, BM_INTERRUPT | BM_ERROR
    out dx, al
    mov dx, [bm_base]
    add dx, BM_PRD
    mov eax, PRD_TABLE
    out dx, eax
    mov dx, ATA_STATUS
    mov al, ATA_READ_DMA
    out dx, al
    mov dx, [bm_base]
    add dx, BM_COMMAND
    mov al, BM_TO_MEMORY | BM_START
    out dx, al
    ; Until the drive interrupts or the engine goes idle (bounded: a broken device must not
    ; hang the guest).
    mov ecx, POLL_LIMIT
    mov dx, [bm_base]
    add dx, BM_STATUS
.poll:
    in al, dx
    test al, BM_INTERRUPT
    jnz .done
    test al, BM_ACTIVE
    jz .done
    dec ecx
    jnz .poll
    jmp .failed
.done:
    test al, BM_ERROR
    jnz .failed
    mov dx, [bm_base]
    add dx, BM_COMMAND
    mov al, BM_TO_MEMORY
    out dx, al
    mov dx, [bm_base]
    add dx, BM_STATUS
    mov al, BM_INTERRUPT
    out dx, al
    mov dx, ATA_STATUS
    in al, dx
    test al, ATA_BSY | ATA_DRQ | ATA_ERR
    jnz .failed
    ret
.failed:
    PRINT "DMA read of sector "
    mov eax, ebx
    call putdec64
    PRINTLN " failed"
    EXIT EXIT_DMA

; putdec64: EAX as unsigned decimal (serial32.inc's putdec32 uses INC, a REX prefix here).
putdec64:
    push rax
    push rbx
    push rcx
    push rdx
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push rdx
    inc ecx
    test eax, eax
    jnz .divide
.print:
    pop rax
    add al, '0'
    call putc32
    loop .print
    pop rdx
    pop rcx
    pop rbx
    pop rax
    ret

ata_wait_idle:
    push rcx
    push rax
    push rdx
    mov ecx, POLL_LIMIT
    mov dx, ATA_STATUS
.poll:
    in al, dx
    test al, ATA_BSY
    jz .idle
    dec ecx
    jnz .poll
.idle:
    pop rdx
    pop rax
    pop rcx
    ret

align 4
bm_base:    dw 0, 0
copy_mode:  db 0, 0, 0, 0
; K of the body in each sector (the system test writes the same values).
variant_k:  dd 0x11111111, 0x02040608, 0x10203040

bits 32
%include "include/serial32.inc"
%include "include/cmdline32.inc"
%include "include/sys32.inc"
%include "include/sys64.inc"
image_end:

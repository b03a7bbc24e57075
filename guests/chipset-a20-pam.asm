; The pc board's chipset controls over memory, as a guest sees them (issue 14's contract
; tests): the A20 gate through port 0x92 and through the i8042 output port, and the i440FX
; PAM write enables of the BIOS shadow at 0xF0000 and of one 16-KiB segment at 0xE4000.
; One line per check on COM1, then the debug-exit port with a code whose bits say what
; behaved as on a PC:
;   bit 0  port 0x92 bit 1 clear (and the i8042 gate closed): a read at 1 MiB + x sees x
;   bit 1  i8042 output port bit 1 clear (command 0xD1; port 0x92 gate closed): the same
;   bit 2  PAM0 0xF0000-0xFFFFF: write enable clear drops a CPU write, set lets it land
;   bit 3  PAM5 high nibble 0xE4000-0xE7FFF: the same, while 0xE0000 (low nibble) stays writable
;   bit 4  something no PC does: an open gate wraps, or a write-enabled byte ignores writes
;   bit 6  always set, so that a status of 1 (exit code 0) cannot pass for a result
; Everything the guest owns lies at 0x200000 (address bit 20 clear): closing the gate does
; not move it. The multiboot loader's shadow RAM comes read-write (PAM 0x30/0x33), as a BIOS
; leaves it; the guest puts back what it changed.
%include "include/platform.inc"
bits 32
org 0x200000

KBC_DATA        equ 0x60
KBC_STATUS      equ 0x64        ; read: status; write: command
KBC_IBF         equ 0x02        ; input buffer full: the controller has not taken the last byte
KBC_WRITE_OUT   equ 0xD1        ; next data byte goes to the output port
KBC_OUT_CLOSED  equ 0xCD        ; lines high, reset line inactive (bit 0), A20 (bit 1) clear
KBC_OUT_OPEN    equ 0xCF        ; the same with A20 set
PORT92          equ 0x92
PORT92_A20      equ 0x02
PCI_ADDR        equ 0xCF8
PCI_DATA        equ 0xCFC
CFG_PAM0_DWORD  equ 0x80000058  ; 00:00.0 offsets 0x58-0x5B: PAM0 is byte 1 (0xCFD)
CFG_PAM5_DWORD  equ 0x8000005C  ; offsets 0x5C-0x5F: PAM5 is byte 2 (0xCFE)
PAM_RE_LOW      equ 0x01        ; low nibble: read enable
PAM_WE_LOW      equ 0x02        ; low nibble: write enable
PAM_RE_HIGH     equ 0x10
PAM_WE_HIGH     equ 0x20

LOW_PROBE       equ 0x000600    ; x (in the first MiB, clear of the IVT and the BDA's fields)
HIGH_PROBE      equ 0x100600    ; 1 MiB + x
BIOS_PROBE      equ 0xF0010
SEG_PROBE       equ 0xE4010     ; in PAM5's high segment
NEIGHBOUR_PROBE equ 0xE0010     ; in PAM5's low segment

RESULT_PORT92   equ 1 << 0
RESULT_I8042    equ 1 << 1
RESULT_PAM_BIOS equ 1 << 2
RESULT_PAM_SEG  equ 1 << 3
RESULT_ODD      equ 1 << 4
RESULT_BASE     equ 1 << 6

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x200000, 0, stack_top, entry

entry:
    cli
    cld
    mov esp, stack_top
    mov dword [result], RESULT_BASE
    mov dword [LOW_PROBE], 0x4C4F5730   ; "0WOL"
    mov dword [HIGH_PROBE], 0x48494748  ; "HGIH"

    ; --- A20 through port 0x92, the keyboard controller's gate closed.
    mov al, KBC_OUT_CLOSED
    call kbc_write_output
    in al, PORT92
    and al, ~PORT92_A20 & 0xFE          ; never the fast-reset bit
    out PORT92, al
    mov esi, msg_port92
    mov ebx, RESULT_PORT92
    call check_wrap
    in al, PORT92
    or al, PORT92_A20
    and al, 0xFE
    out PORT92, al
    call check_open
    ; --- A20 through the i8042 output port, port 0x92's gate closed.
    in al, PORT92
    and al, ~PORT92_A20 & 0xFE
    out PORT92, al
    mov al, KBC_OUT_OPEN
    call kbc_write_output
    call check_open
    mov al, KBC_OUT_CLOSED
    call kbc_write_output
    mov esi, msg_i8042
    mov ebx, RESULT_I8042
    call check_wrap
    mov al, KBC_OUT_OPEN
    call kbc_write_output
    call check_open

    ; --- PAM0: the 64-KiB BIOS area at 0xF0000.
    mov esi, msg_pam_bios
    mov edi, BIOS_PROBE
    mov ecx, CFG_PAM0_DWORD
    mov dx, PCI_DATA + 1
    mov bl, PAM_RE_HIGH | PAM_WE_HIGH   ; shadow RAM, read-write
    mov bh, PAM_RE_HIGH                 ; shadow RAM, write-protected
    mov ebp, RESULT_PAM_BIOS
    call check_pam
    ; --- PAM5's high nibble: 0xE4000-0xE7FFF; the low nibble's 0xE0000 stays writable.
    mov esi, msg_pam_seg
    mov edi, SEG_PROBE
    mov ecx, CFG_PAM5_DWORD
    mov dx, PCI_DATA + 2
    mov bl, PAM_RE_HIGH | PAM_WE_HIGH | PAM_RE_LOW | PAM_WE_LOW
    mov bh, PAM_RE_HIGH | PAM_RE_LOW | PAM_WE_LOW
    mov ebp, RESULT_PAM_SEG
    call check_pam

    mov esi, msg_result
    call puts32
    mov eax, [result]
    call puthex32
    mov esi, crlf
    call puts32
    mov al, [result]
    call debug_exit32

; kbc_write_output: AL = new output port value (command 0xD1, then the data byte).
kbc_write_output:
    push eax
    call kbc_wait
    mov al, KBC_WRITE_OUT
    out KBC_STATUS, al
    call kbc_wait
    pop eax
    out KBC_DATA, al
    call kbc_wait
    ret

kbc_wait:
    push eax
    push ecx
    mov ecx, 100000
.poll:
    in al, KBC_STATUS
    test al, KBC_IBF
    jz .done
    loop .poll
.done:
    pop ecx
    pop eax
    ret

; check_wrap: both gates closed. ESI = label, EBX = result bit. Reads 1 MiB + x: a PC returns
; the bytes at x.
check_wrap:
    call puts32
    mov eax, [HIGH_PROBE]
    cmp eax, [LOW_PROBE]
    je .wraps
    mov esi, msg_no_wrap
    call puts32
    ret
.wraps:
    or [result], ebx
    mov esi, msg_wraps
    call puts32
    ret

; check_open: a gate is open, so 1 MiB + x is its own memory.
check_open:
    cmp dword [HIGH_PROBE], 0x48494748
    je .ok
    or dword [result], RESULT_ODD
    mov esi, msg_open_wraps
    call puts32
.ok:
    ret

; check_pam: ESI = label, EDI = probe address, ECX = configuration dword address, DX = the
; data port of the PAM byte, BL = its read-write value, BH = its write-protected value,
; EBP = result bit. The byte at EDI must keep its value while protected and take a write
; when not; the PAM byte and the probe are put back.
check_pam:
    call puts32
    mov eax, ecx
    push edx
    mov dx, PCI_ADDR
    out dx, eax
    pop edx
    in al, dx
    mov [saved_pam], al
    mov al, [edi]
    mov [saved_byte], al
    ; Protected: the write goes nowhere and a read sees the old byte.
    mov al, bh
    out dx, al
    mov al, [saved_byte]
    not al
    mov [edi], al
    mov al, [edi]
    cmp al, [saved_byte]
    jne .landed
    cmp bh, PAM_RE_HIGH | PAM_RE_LOW | PAM_WE_LOW
    jne .enabled
    ; PAM5's low segment stays writable beside the protected one (16-KiB granularity).
    mov al, [NEIGHBOUR_PROBE]
    not al
    mov [NEIGHBOUR_PROBE], al
    cmp [NEIGHBOUR_PROBE], al
    jne .neighbour_dropped
    not al
    mov [NEIGHBOUR_PROBE], al
.enabled:
    ; Write-enabled: the write lands.
    mov al, bl
    out dx, al
    mov al, [saved_byte]
    not al
    mov [edi], al
    cmp [edi], al
    jne .ignored
    or [result], ebp
    mov esi, msg_dropped
    call puts32
    jmp .restore
.landed:
    mov esi, msg_landed
    call puts32
    jmp .restore
.neighbour_dropped:
    or dword [result], RESULT_ODD
    mov esi, msg_neighbour
    call puts32
    jmp .restore
.ignored:
    or dword [result], RESULT_ODD
    mov esi, msg_ignored
    call puts32
.restore:
    mov al, PAM_RE_HIGH | PAM_WE_HIGH | PAM_RE_LOW | PAM_WE_LOW
    out dx, al
    mov al, [saved_byte]
    mov [edi], al
    mov al, [saved_pam]
    out dx, al
    ret

%include "include/serial32.inc"

msg_port92:     db "A20 via port 0x92: ", 0
msg_i8042:      db "A20 via the i8042 output port: ", 0
msg_wraps:      db "gate closed wraps at 1 MiB", 13, 10, 0
msg_no_wrap:    db "gate closed does not wrap (A20 not modelled)", 13, 10, 0
msg_open_wraps: db "gate open wraps at 1 MiB!", 13, 10, 0
msg_pam_bios:   db "PAM 0xF0000: ", 0
msg_pam_seg:    db "PAM 0xE4000: ", 0
msg_dropped:    db "write dropped while protected, lands when enabled", 13, 10, 0
msg_landed:     db "write landed while protected", 13, 10, 0
msg_ignored:    db "write ignored while enabled!", 13, 10, 0
msg_neighbour:  db "write to the unprotected 0xE0000 segment dropped!", 13, 10, 0
msg_result:     db "result ", 0
crlf:           db 13, 10, 0

align 4
result:     dd 0
saved_pam:  db 0
saved_byte: db 0

align 16
    times 1024 db 0
stack_top:

; A hostile guest: a seeded PRNG drives random port I/O, MMIO, PCI configuration writes
; (BARs moved anywhere), IDE bus-master DMA with PRD tables pointing anywhere, and fw_cfg DMA
; with hostile lengths, then reports on the debug console (port 0xE9) and leaves through the
; debug-exit port with 0x31 (`swiftpc run` status 99). scripts/fuzz-devices.sh runs it.
;
; Command line (multiboot, --append): fuzz.seed=N fuzz.ops=N [fuzz.fwcfgmax=N] [fuzz.kvm=1]
;   [fuzz.xen=1]
;   fwcfgmax caps the length of fw_cfg DMA reads (0 or absent: no cap, lengths up to 4 GiB);
;   kvm=1 keeps INIT/SIPI/SMI out of the APIC writes (a real vCPU would leave the guest);
;   xen=1 (with `swiftpc run --xen`) makes a quarter of the operations Xen hypercalls and
;   writes into the Xen pages (include/fuzz-xen.inc).
;
; The guest must survive its own chaos, so everything it owns lives in GUARD (0x200000-
; 0x2FFFFF, address bit 20 clear so that A20 games do not alias it): code, data, stack, IDT,
; the PRD tables and the buffers. No write it makes or asks a device to make lands there,
; and it never writes what would legitimately end the run (debug exit 0xF4-0xF7, PM1
; SLP_EN wherever PMBA moved it, the port 0x92 and 0xCF9 resets, the i8042 reset pulses).
; Any exception outside an interrupt window is a finding: it is reported and the guest exits
; with 0x7E (status 253).
%include "include/platform.inc"
bits 32
org 0x200000

GUARD_START     equ 0x200000
GUARD_END       equ 0x300000
GUARD_SIZE      equ GUARD_END - GUARD_START
PRD_AREA        equ 0x240000        ; 128 KiB of PRD entries, every one of them safe
PRD_ENTRIES     equ 0x20000 / 8
PIO_BUF         equ 0x260000        ; 64 KiB for string I/O and PIO data
FWCFG_AREA      equ 0x270000        ; fw_cfg DMA descriptors
PACKET_BUF      equ 0x271000        ; ATAPI command packets
STACK_TOP       equ 0x2F0000
IDT_BASE        equ 0x2F0000        ; 256 gates

DEBUGCON        equ 0xE9
DONE_CODE       equ 0x31            ; status (0x31 << 1) | 1 = 99
FAULT_CODE      equ 0x7E            ; status 253
LAPIC_BASE      equ 0xFEE00000
LAPIC_EOI       equ LAPIC_BASE + 0xB0
IOAPIC_BASE     equ 0xFEC00000
PCI_ADDR        equ 0xCF8
PCI_DATA        equ 0xCFC
; Configuration addresses (enable bit set) of the functions the guest tracks.
CFG_IDE         equ 0x80000900      ; 00:01.1 PIIX3 IDE
CFG_PM          equ 0x80000B00      ; 00:01.3 PIIX4 PM
CFG_VGA         equ 0x80001000      ; 00:02.0 stdvga
DISK_SECTORS    equ 4096            ; the runner's 2 MiB scratch disk
CD_BLOCKS       equ 512             ; and its 1 MiB CD image

MBI_FLAGS       equ 0
MBI_MEM_UPPER   equ 8
MBI_CMDLINE     equ 16

mb_header:
    dd MB_MAGIC
    dd MB_FLAG_AOUT
    dd -(MB_MAGIC + MB_FLAG_AOUT)
    dd mb_header, 0x200000, 0, 0, entry

; ---------------------------------------------------------------------------------------
; Start-up
; ---------------------------------------------------------------------------------------
entry:
    cli
    cld
    mov esp, STACK_TOP
    lgdt [gdt_desc]
    jmp 0x08:.reload
.reload:
    mov cx, 0x10
    mov ds, cx
    mov es, cx
    mov ss, cx
    mov fs, cx
    mov gs, cx
    cmp eax, MB_BOOT_MAGIC
    jne .no_info
    ; RAM end from mem_upper (KiB above 1 MiB).
    test dword [ebx + MBI_FLAGS], 1
    jz .no_mem
    mov eax, [ebx + MBI_MEM_UPPER]
    shl eax, 10
    add eax, 0x100000
    mov [ram_end], eax
.no_mem:
    test dword [ebx + MBI_FLAGS], 1 << 2
    jz .no_info
    mov eax, [ebx + MBI_CMDLINE]
    mov [cmdline], eax
.no_info:
    ; The command line lives outside GUARD: read it before anything can overwrite it.
    mov esi, key_seed
    call get_param
    jc .seeded
    mov [seed], eax
.seeded:
    mov esi, key_ops
    call get_param
    jc .ops_set
    mov [op_count], eax
.ops_set:
    mov esi, key_cap
    call get_param
    jc .cap_set
    mov [fwcfg_cap], eax
.cap_set:
    mov esi, key_kvm
    call get_param
    jc .kvm_set
    mov [kvm_mode], eax
.kvm_set:
    mov esi, key_xen
    call get_param
    jc .xen_set
    mov [xen_mode], eax
.xen_set:
    ; Seed the xorshift state (never zero).
    mov eax, [seed]
    imul eax, eax, 0x9E3779B1
    xor eax, 0x6A09E667
    jnz .nonzero
    inc eax
.nonzero:
    mov [rng], eax
    mov ecx, 16
.warm:
    call rand
    loop .warm

    ; SSE on, for 8-byte MMIO accesses (CR0.EM clear, CR0.MP and CR4.OSFXSR set).
    mov eax, cr0
    and eax, ~(1 << 2)
    or eax, 1 << 1
    mov cr0, eax
    mov eax, cr4
    or eax, (1 << 9) | (1 << 10)
    mov cr4, eax

    call build_idt
    lidt [idt_desc]
    cmp dword [xen_mode], 0
    je .no_xen
    call xen_init
.no_xen:
    call init_pic
    call init_prd_area
    call fill_pio_buffer
    call refresh_state

    mov esi, msg_start
    call dputs
    mov eax, [seed]
    call dputdec
    mov esi, msg_ops
    call dputs
    mov eax, [op_count]
    call dputdec
    mov al, 10
    call dputc

; ---------------------------------------------------------------------------------------
; Main loop: one random operation per iteration
; ---------------------------------------------------------------------------------------
main_loop:
    mov eax, [op_index]
    cmp eax, [op_count]
    jae finish
    inc dword [op_index]
    cmp dword [xen_mode], 0
    je .devices
    call rand
    test al, 3
    jnz .devices
    call op_xen
    jmp main_loop
.devices:
    call rand
    and eax, 0xFF
    cmp eax, 60
    jb .port
    cmp eax, 72
    jb .vga
    cmp eax, 112
    jb .mmio
    cmp eax, 142
    jb .pci
    cmp eax, 186
    jb .ide
    cmp eax, 216
    jb .fwcfg
    cmp eax, 236
    jb .string
    cmp eax, 248
    jb .window
    call op_repair
    jmp main_loop
.port:
    call op_port
    inc dword [cnt_port]
    jmp main_loop
.vga:
    call op_vga
    inc dword [cnt_port]
    jmp main_loop
.mmio:
    call op_mmio
    inc dword [cnt_mmio]
    jmp main_loop
.pci:
    call op_pci
    inc dword [cnt_pci]
    jmp main_loop
.ide:
    call op_ide
    inc dword [cnt_ide]
    jmp main_loop
.fwcfg:
    call op_fwcfg
    inc dword [cnt_fwcfg]
    jmp main_loop
.string:
    call op_string_io
    inc dword [cnt_port]
    jmp main_loop
.window:
    call op_window
    jmp main_loop

finish:
    mov esi, msg_done
    call dputs
    mov eax, [seed]
    call dputdec
    mov esi, msg_ops
    call dputs
    mov eax, [op_index]
    call dputdec
    mov esi, msg_port
    call dputs
    mov eax, [cnt_port]
    call dputdec
    mov esi, msg_mmio
    call dputs
    mov eax, [cnt_mmio]
    call dputdec
    mov esi, msg_pci
    call dputs
    mov eax, [cnt_pci]
    call dputdec
    mov esi, msg_ide
    call dputs
    mov eax, [cnt_ide]
    call dputdec
    mov esi, msg_fwcfg
    call dputs
    mov eax, [cnt_fwcfg]
    call dputdec
    mov esi, msg_irq
    call dputs
    mov eax, [cnt_irq]
    call dputdec
    mov esi, msg_nmi
    call dputs
    mov eax, [cnt_nmi]
    call dputdec
    mov esi, msg_filtered
    call dputs
    mov eax, [cnt_filtered]
    call dputdec
    mov esi, msg_xen
    call dputs
    mov eax, [cnt_xen]
    call dputdec
    mov al, 10
    call dputc
    mov al, DONE_CODE
    out DEBUG_EXIT, al
.hang:
    cli
    hlt
    jmp .hang

; ---------------------------------------------------------------------------------------
; Operations
; ---------------------------------------------------------------------------------------

; One port access: a known device range (or a random port), size 1/2/4, read or write.
op_port:
    pushad
    call pick_port
    mov edx, eax
    call rand
    mov ecx, 1
    test al, 2
    jz .sized
    mov ecx, 2
    test al, 4
    jz .sized
    mov ecx, 4
.sized:
    test al, 0x18
    jz .read                ; a quarter of the accesses read
    call rand_value
    call port_write
    popad
    ret
.read:
    call port_read
    popad
    ret

; A random port: 60% from the device table (plus where PMBA and BAR4 put their blocks),
; 40% anywhere in the 64 KiB space.
pick_port:
    push ecx
    push edx
    call rand
    cmp al, 102
    jb .anywhere
    mov ecx, PORT_TABLE_ENTRIES + 2
    call rand_below
    cmp eax, PORT_TABLE_ENTRIES
    jb .table
    je .pm
    mov edx, [bm_base]
    mov ecx, 16
    jmp .offset
.pm:
    mov edx, [pm_cnt]
    sub edx, 4
    mov ecx, 64
    jmp .offset
.table:
    movzx edx, word [port_table + eax * 4]
    movzx ecx, word [port_table + eax * 4 + 2]
.offset:
    call rand_below
    add eax, edx
    and eax, 0xFFFF
    pop edx
    pop ecx
    ret
.anywhere:
    call rand
    shr eax, 8
    and eax, 0xFFFF
    pop edx
    pop ecx
    ret

; The VGA's indexed registers and the Bochs VBE (DISPI) registers with plausible and absurd
; values: modes the renderer (--vga-dump at the end of the run) must survive.
op_vga:
    pushad
    call rand
    mov ebx, eax
    test bl, 1
    jz .indexed
    ; DISPI: index 0-10 (random one time in 8), value from the table or random.
    mov ecx, 11
    call rand_below
    test bl, 0x0E
    jnz .dispi_index
    call rand
.dispi_index:
    mov edx, 0x1CE
    mov ecx, 2
    call port_write
    call rand
    and eax, 0x0F
    movzx eax, word [vbe_values + eax * 2]
    test bl, 0x30
    jnz .dispi_value
    call rand
.dispi_value:
    inc edx
    call port_write
    popad
    ret
.indexed:
    ; Sequencer, graphics controller, CRTC (colour or mono), attribute controller, DAC.
    mov eax, ebx
    shr eax, 1
    and eax, 7
    movzx edx, word [vga_index_ports + eax * 2]
    mov ecx, 1
    cmp edx, 0x3C0
    jne .pair
    ; Attribute controller: reset the flip-flop, then index and data through 0x3C0.
    push edx
    mov edx, 0x3DA
    call port_read
    pop edx
.pair:
    call rand
    and eax, 0x3F
    call port_write
    cmp edx, 0x3C0
    je .data
    inc edx
.data:
    call rand
    call port_write
    popad
    ret

; A random value for a write: mostly random, sometimes all ones, zero or a small number.
rand_value:
    call rand
    test eax, 0x700
    jnz .done
    test eax, 0x800
    jz .small
    mov eax, 0xFFFFFFFF
    ret
.small:
    and eax, 0x0F
.done:
    ret

; String I/O: rep ins from any device port, rep outs only where no element can do harm.
op_string_io:
    pushad
    call pick_port
    mov edx, eax
    call rand
    mov ebx, eax
    mov ebp, 1              ; element size
    test bl, 1
    jz .sized
    mov ebp, 2
    test bl, 2
    jz .sized
    mov ebp, 4
.sized:
    call rand
    and eax, 0x3FF
    inc eax                 ; 1..1024 elements, at most 4 KiB
    mov ecx, eax
    test bl, 0x0C
    jz .outs
    mov edi, PIO_BUF
    cmp ebp, 1
    je .insb
    cmp ebp, 2
    je .insw
    rep insd
    popad
    ret
.insb:
    rep insb
    popad
    ret
.insw:
    rep insw
    popad
    ret
.outs:
    ; Only ports where the filter would change nothing take a string of writes.
    push ecx
    mov ecx, ebp
    call port_is_sensitive
    pop ecx
    jc .single
    mov esi, PIO_BUF
    cmp ebp, 1
    je .outsb
    cmp ebp, 2
    je .outsw
    rep outsd
    popad
    ret
.outsb:
    rep outsb
    popad
    ret
.outsw:
    rep outsw
    popad
    ret
.single:
    inc dword [cnt_filtered]
    popad
    ret

; MMIO: the VGA window, the VGA BARs, the local APIC and IOAPIC pages, or anywhere; sizes
; 1/2/4/8 or a rep string of up to 1 KiB.
op_mmio:
    pushad
    call rand
    mov ebx, eax
    and eax, 0x0F
    cmp eax, 4
    jb .vga_window
    cmp eax, 7
    jb .lfb
    cmp eax, 8
    jb .vga_mmio
    cmp eax, 11
    jb .lapic
    cmp eax, 13
    jb .ioapic
    call rand
    mov edi, eax
    jmp .chosen
.vga_window:
    call rand
    and eax, 0x1FFFF
    lea edi, [eax + 0xA0000]
    jmp .chosen
.lfb:
    call rand
    and eax, 0xFFFFFF
    mov edi, [vga_lfb]
    add edi, eax
    jmp .chosen
.vga_mmio:
    call rand
    and eax, 0xFFF
    mov edi, [vga_mmio]
    add edi, eax
    jmp .chosen
.lapic:
    call rand
    and eax, 0xFFF
    test bl, 0x30
    jz .lapic_any
    and eax, 0xFF0
    test bl, 0x40
    jnz .lapic_any
    ; The timer registers (LVT timer, initial count, divide) and the ICR.
    shr eax, 4
    and eax, 3
    mov eax, [lapic_timer_regs + eax * 4]
.lapic_any:
    lea edi, [eax + LAPIC_BASE]
    jmp .chosen
.ioapic:
    call rand
    and eax, 0x1F
    test bl, 0x30
    jz .ioapic_any
    and eax, 0x10           ; IOREGSEL or IOWIN
.ioapic_any:
    lea edi, [eax + IOAPIC_BASE]
    test bl, 0x40
    jnz .chosen
    ; Select a register first: ID, version, arbitration, or a redirection half.
    call rand
    and eax, 0x3F
    mov [IOAPIC_BASE], eax
.chosen:
    ; EDI = address. An access crossing 4 GiB is past the flat segment's limit (#GP, SDM
    ; Vol. 3A §5.3): keep the longest one (a 1 KiB string) below it.
    cmp edi, 0xFFFFFBF0
    jbe .in_limit
    sub edi, 0x400
.in_limit:
    ; Pick the access.
    shr ebx, 8
    mov eax, ebx
    and eax, 7
    cmp eax, 5
    jae .string
    ; KVM's instruction emulator cannot complete SSE accesses to MMIO (an internal error
    ; ends the run): 8-byte accesses are interpreter-only.
    cmp eax, 4
    jne .size_ok
    cmp byte [kvm_mode], 0
    je .size_ok
    mov eax, 2
.size_ok:
    test bl, 0x18
    jz .read
    ; A write of size 1/2/4/8.
    mov ecx, 1
    cmp eax, 1
    jb .write_sized
    mov ecx, 2
    je .write_sized
    mov ecx, 4
    cmp eax, 3
    jbe .write_sized
    mov ecx, 8
.write_sized:
    call is_unsafe_range
    jc .filtered
    call rand_value
    call apic_mask_value
    cmp ecx, 1
    je .w1
    cmp ecx, 2
    je .w2
    cmp ecx, 4
    je .w4
    movd xmm0, eax
    call rand
    movd xmm1, eax
    punpckldq xmm0, xmm1
    movq [edi], xmm0
    popad
    ret
.w1:
    mov [edi], al
    popad
    ret
.w2:
    mov [edi], ax
    popad
    ret
.w4:
    mov [edi], eax
    popad
    ret
.read:
    cmp eax, 1
    jb .r1
    je .r2
    cmp eax, 3
    jbe .r4
    movq xmm0, [edi]
    popad
    ret
.r1:
    mov al, [edi]
    popad
    ret
.r2:
    mov ax, [edi]
    popad
    ret
.r4:
    mov eax, [edi]
    popad
    ret
.string:
    ; rep movsd/stosd/lodsd of 1..256 dwords between the target and the PIO buffer.
    call rand
    and eax, 0xFF
    inc eax
    mov ecx, eax
    cmp byte [kvm_mode], 0
    je .string_go
    ; Under KVM every string MMIO element is an exit: keep them short.
    and ecx, 0x0F
    inc ecx
.string_go:
    test bl, 0x08
    jz .string_read
    ; Writes: the range must stay out of GUARD; the APIC pages only take single accesses.
    push ecx
    shl ecx, 2
    call is_unsafe_range
    pop ecx
    jc .filtered
    mov eax, edi
    call .apic_area
    je .filtered
    lea eax, [edi + ecx * 4 - 1]
    call .apic_area
    je .filtered
    test bl, 0x10
    jz .stos
    mov esi, PIO_BUF
    rep movsd
    popad
    ret
.stos:
    call rand_value
    rep stosd
    popad
    ret
.string_read:
    mov esi, edi
    test bl, 0x10
    jz .lods
    mov edi, PIO_BUF
    rep movsd
    popad
    ret
.lods:
    rep lodsd
    popad
    ret
.filtered:
    inc dword [cnt_filtered]
    popad
    ret
; ZF set when EAX lies in the IOAPIC's or the local APIC's 2 MiB.
.apic_area:
    and eax, 0xFFE00000
    cmp eax, 0xFEE00000
    je .apic_done
    cmp eax, 0xFEC00000
.apic_done:
    ret

; With fuzz.kvm=1, APIC writes lose delivery modes that take the vCPU away (INIT, SIPI,
; SMI): bits 10:9 of the low dword of the ICR, the LVTs and the IOAPIC redirection entries.
; EDI = address, EAX = value.
apic_mask_value:
    cmp byte [kvm_mode], 0
    je .done
    push edx
    mov edx, edi
    and edx, 0xFFFFF000
    cmp edx, LAPIC_BASE
    je .mask
    cmp edx, IOAPIC_BASE
    jne .out
.mask:
    mov edx, edi
    and edx, 3
    jz .dword
    cmp edx, 1
    jne .out
    and eax, ~0x06          ; a write starting at byte 1
    jmp .out
.dword:
    and eax, ~0x0600
.out:
    pop edx
.done:
    ret

; PCI configuration: bus 0 mostly, devices 0-2 mostly, BARs and the command register mostly;
; values aimed at moving BARs anywhere (sizing, over RAM, over the APICs, over legacy ports).
op_pci:
    pushad
    call rand
    mov ebx, eax
    ; Function: 00:00.0, 00:01.0/1/3, 00:02.0, or random device/function.
    and eax, 7
    mov esi, [pci_functions + eax * 4]
    test bl, 0x08
    jnz .fn_chosen
    call rand
    and eax, 0xFF           ; device 0-31, function 0-7
    shl eax, 8
    or eax, 0x80000000
    mov esi, eax
    test bl, 0x30
    jnz .fn_chosen
    call rand
    and eax, 0x00FF0000     ; another bus
    or esi, eax
.fn_chosen:
    ; Register.
    call rand
    mov ecx, eax
    and eax, 3
    cmp eax, 0
    je .reg_bar
    cmp eax, 1
    je .reg_random
    test cl, 4
    jz .reg_command
    call rand
    and eax, 0xBF
    lea ecx, [eax + 0x40]   ; device-specific registers 0x40-0xFF
    jmp .reg_chosen
.reg_command:
    mov ecx, 0x04
    jmp .reg_chosen
.reg_bar:
    shr ecx, 8
    and ecx, 7
    mov ecx, [bar_offsets + ecx * 4]
    jmp .reg_chosen
.reg_random:
    shr ecx, 8
    and ecx, 0xFF
.reg_chosen:
    ; Size, aligned as software would (misaligned sometimes).
    call rand
    mov edx, eax
    mov edi, 4
    test dl, 3
    jnz .size_chosen
    mov edi, 2
    test dl, 4
    jz .size_chosen
    mov edi, 1
.size_chosen:
    test dl, 0xE0
    jz .aligned             ; misaligned one time in 8
    mov eax, edi
    dec eax
    not eax
    and ecx, eax
.aligned:
    ; CONFIG_ADDRESS.
    mov eax, ecx
    and eax, 0xFC
    or eax, esi
    mov [pci_last_address], eax
    push edx
    mov dx, PCI_ADDR
    out dx, eax
    pop edx
    ; Read it, sometimes only read.
    push ecx
    mov eax, ecx
    and eax, 3
    lea edx, [PCI_DATA + eax]
    mov ecx, edi
    call port_read
    pop ecx
    call rand
    test al, 0x60
    jz .done
    ; The value: for a BAR, an address chosen to move it somewhere interesting.
    mov eax, ecx
    and eax, 0xFC
    cmp eax, 0x10
    jb .plain_value
    cmp eax, 0x24
    jbe .bar_value
    cmp eax, 0x30
    jne .plain_value
.bar_value:
    call bar_value
    jmp .write
.plain_value:
    call rand_value
    ; The command register keeps I/O and memory decode on three times in four.
    cmp ecx, 4
    jne .write
    test ah, 0x30
    jz .write
    or eax, 0x07
.write:
    mov ebx, eax
    mov eax, ecx
    and eax, 3
    lea edx, [PCI_DATA + eax]
    mov ecx, edi
    mov eax, ebx
    call pci_write_current
.done:
    popad
    ret

; Writes EAX (ECX bytes) to configuration data port EDX with CONFIG_ADDRESS set from
; pci_last_address, through the filter (which refreshes the tracked state afterwards).
pci_write_current:
    push eax
    push edx
    mov eax, [pci_last_address]
    mov dx, PCI_ADDR
    out dx, eax
    pop edx
    pop eax
    call port_write
    ret

; A BAR value: sizing (all ones), zero, an address in RAM, below 1 MiB, over the VGA window,
; the APIC pages, the top of 4 GiB, a legacy port range (for I/O BARs), or random.
bar_value:
    call rand
    push eax
    and eax, 0x0F
    mov eax, [bar_values + eax * 4]
    pop edx
    cmp eax, 1
    je .random
    cmp eax, 2
    je .ram
    ret
.random:
    mov eax, edx
    ret
.ram:
    mov eax, edx
    and eax, 0x0FFFF000
    ret

; IDE: ATA DMA, ATAPI packets, PIO commands, resets, bus-master register games.
op_ide:
    pushad
    call rand
    mov ebx, eax
    ; Channel: EBP = command block base, channel index in [ide_channel].
    and eax, 1
    mov [ide_channel], eax
    mov ebp, 0x1F0
    test eax, eax
    jz .channel
    mov ebp, 0x170
.channel:
    test bl, 0x06
    jnz .no_repair
    call repair_ide
.no_repair:
    shr ebx, 3
    mov eax, ebx
    and eax, 0x0F
    cmp eax, 6
    jb .ata_dma
    cmp eax, 9
    jb .atapi
    cmp eax, 12
    jb .pio
    cmp eax, 13
    jb .srst
    call ide_bm_games
    popad
    ret
.ata_dma:
    call ide_ata_dma
    popad
    ret
.atapi:
    call ide_atapi
    popad
    ret
.pio:
    call ide_pio
    popad
    ret
.srst:
    lea edx, [ebp + 0x206]  ; device control (0x3F6 / 0x376)
    mov ecx, 1
    call rand
    and eax, 0x02
    or eax, 0x04
    call port_write
    call rand
    and eax, 0x02
    call port_write
    popad
    ret

; The bus-master block of the current channel: EDX = its base, or CF when not decoded.
bm_port:
    mov edx, [bm_base]
    test edx, edx
    jz .none
    mov eax, [ide_channel]
    lea edx, [edx + eax * 8]
    clc
    ret
.none:
    stc
    ret

; Drive select, sector count and LBA for an ATA command (LBA28 or LBA48 order).
ide_set_taskfile:
    pushad
    call rand
    mov ebx, eax
    ; LBA: in range, at the end, past the end, or anywhere.
    call rand
    mov esi, eax
    test bl, 0x30
    jz .lba_done
    test bl, 0x10
    jz .lba_end
    and esi, DISK_SECTORS - 1
    jmp .lba_done
.lba_end:
    and esi, 0x0F
    neg esi
    add esi, DISK_SECTORS
.lba_done:
    ; Count: 1-8 mostly, 0 (256 or 65536), or random.
    call rand
    mov edi, eax
    and edi, 7
    inc edi
    test al, 0x60
    jnz .count_done
    mov edi, 0
    test al, 0x80
    jz .count_done
    call rand
    mov edi, eax
    and edi, 0xFFFF
.count_done:
    ; Drive/head: LBA mode, master or slave, LBA bits 27:24 (random byte sometimes).
    mov eax, esi
    shr eax, 24
    and eax, 0x0F
    or eax, 0xE0
    test bl, 0x40
    jz .master
    or eax, 0x10
.master:
    test ebx, 0x30000000
    jnz .devsel
    call rand
.devsel:
    lea edx, [ebp + 6]
    mov ecx, 1
    call port_write
    ; High-order bytes first (they matter to LBA48 commands only).
    lea edx, [ebp + 2]
    mov eax, edi
    shr eax, 8
    call port_write
    inc edx
    mov eax, esi
    shr eax, 24
    call port_write
    inc edx
    call rand
    and eax, 0x0F
    test bl, 0x04
    jz .hob5
    mov eax, 0
.hob5:
    call port_write
    inc edx
    call port_write
    lea edx, [ebp + 2]
    mov eax, edi
    call port_write
    inc edx
    mov eax, esi
    call port_write
    inc edx
    shr eax, 8
    call port_write
    inc edx
    shr eax, 8
    call port_write
    popad
    ret

; ATA READ/WRITE DMA (28 or 48-bit, or a random command) with a random PRD table.
ide_ata_dma:
    pushad
    call ide_set_taskfile
    call build_prd_table    ; EAX = table address
    mov esi, eax
    call bm_port
    jc .no_bm
    mov ecx, 1
    xor eax, eax
    call port_write         ; stop the engine
    lea edx, [edx + 4]
    mov ecx, 4
    mov eax, esi
    call port_write         ; PRD table pointer
    sub edx, 4
.no_bm:
    ; Command.
    call rand
    mov ebx, eax
    and eax, 7
    movzx edi, byte [ata_dma_commands + eax]
    test bl, 0x08
    jnz .cmd_chosen
    mov edi, ebx
    shr edi, 8
    and edi, 0xFF
.cmd_chosen:
    ; Direction: to memory for reads, right nine times in ten.
    mov esi, 0x08
    mov eax, edi
    cmp al, 0xCA
    je .to_disk
    cmp al, 0x35
    jne .dir_chosen
.to_disk:
    xor esi, esi
.dir_chosen:
    test bl, 0x70
    jnz .dir_ok
    xor esi, 0x08
.dir_ok:
    test bl, 0x80
    jz .command_first
    call .start_engine
    call .issue
    jmp .after
.command_first:
    call .issue
    call .start_engine
.after:
    call ide_poll
    call ide_finish
    popad
    ret
.issue:
    push edx
    lea edx, [ebp + 7]
    mov ecx, 1
    mov eax, edi
    call port_write
    pop edx
    ret
.start_engine:
    call bm_port
    jc .ret
    mov ecx, 1
    mov eax, esi
    or eax, 1
    call port_write
.ret:
    ret

; Stops the engine, clears its interrupt and error bits, reads the status register.
ide_finish:
    pushad
    call bm_port
    jc .status
    mov ecx, 1
    call port_read
    lea edx, [edx + 2]
    call port_read
    sub edx, 2
    xor eax, eax
    call port_write
    add edx, 2
    mov eax, 0x06
    call port_write
.status:
    lea edx, [ebp + 7]
    mov ecx, 1
    call port_read
    popad
    ret

; Reads the alternate status a bounded number of times until BSY clears.
ide_poll:
    pushad
    lea edx, [ebp + 0x206]
    mov ebx, 16
.loop:
    in al, dx
    test al, 0x80
    jz .done
    dec ebx
    jnz .loop
.done:
    popad
    ret

; An ATAPI PACKET command (DMA or PIO) with a packet of a known or random opcode.
ide_atapi:
    pushad
    call rand
    mov ebx, eax
    lea edx, [ebp + 6]
    mov ecx, 1
    mov eax, 0xA0
    test bl, 1
    jz .dev
    mov eax, 0xB0
.dev:
    call port_write
    ; Features: DMA (bit 0) or PIO, or random.
    lea edx, [ebp + 1]
    mov eax, ebx
    shr eax, 1
    and eax, 1
    test bl, 0x0C
    jnz .features
    call rand
.features:
    mov esi, eax            ; bit 0: DMA
    call port_write
    ; Byte count limit: 0, 1, odd, all ones, one sector, or random.
    lea edx, [ebp + 4]
    call rand
    push eax
    and eax, 7
    movzx eax, word [byte_count_limits + eax * 2]
    pop ecx
    test ecx, 0x100
    jnz .limit
    mov eax, ecx
    shr eax, 16
.limit:
    mov ecx, 1
    call port_write
    inc edx
    shr eax, 8
    call port_write
    ; PRD table for DMA.
    call build_prd_table
    mov edi, eax
    call bm_port
    jc .no_bm
    xor eax, eax
    call port_write
    add edx, 4
    mov ecx, 4
    mov eax, edi
    call port_write
.no_bm:
    call build_packet
    lea edx, [ebp + 7]
    mov ecx, 1
    mov eax, 0xA0
    test bl, 0x30
    jnz .packet_cmd
    call rand               ; sometimes another command
.packet_cmd:
    call port_write
    ; Wait (bounded) for DRQ, then send the 12-byte packet.
    lea edx, [ebp + 0x206]
    mov ecx, 16
.drq:
    in al, dx
    test al, 0x08
    jnz .send
    loop .drq
.send:
    mov edx, ebp
    mov esi, PACKET_BUF
    mov ecx, 6
    test bl, 0x40
    jnz .full_packet
    call rand
    and eax, 7
    mov ecx, eax            ; a short packet sometimes
.full_packet:
    rep outsw
    ; DMA: start the engine towards memory; PIO: read what the drive offers.
    call bm_port
    jc .pio_data
    mov ecx, 1
    mov eax, 0x09
    call port_write
    call ide_poll
.pio_data:
    mov edx, ebp
    call rand
    and eax, 0x7FF
    mov ecx, eax
    mov edi, PIO_BUF
    rep insw
    call ide_finish
    popad
    ret

; An ATAPI packet in PACKET_BUF: READ(10)/(12) with LBAs in and out of range, the commands
; a driver sends, or a random opcode; the other bytes random.
build_packet:
    pushad
    mov edi, PACKET_BUF
    mov ecx, 4
.fill:
    call rand
    stosd
    loop .fill
    call rand
    mov ebx, eax
    and eax, 0x0F
    movzx eax, byte [atapi_opcodes + eax]
    mov [PACKET_BUF], al
    cmp al, 0x28
    je .lba
    cmp al, 0xA8
    jne .done
.lba:
    ; Big-endian LBA at bytes 2-5: inside the image, at its end, or random.
    test bl, 0x30
    jz .done
    call rand
    and eax, CD_BLOCKS - 1
    test bl, 0x40
    jz .lba_in
    mov eax, CD_BLOCKS - 2
.lba_in:
    bswap eax
    mov [PACKET_BUF + 2], eax
    ; Transfer length: small (READ(10) bytes 7-8, READ(12) bytes 6-9), huge one time in 8.
    call rand
    test eax, 0x7000
    jz .huge
    and eax, 0x0F
    mov dword [PACKET_BUF + 6], 0
    cmp byte [PACKET_BUF], 0x28
    je .len10
    mov [PACKET_BUF + 9], al
    jmp .done
.len10:
    mov [PACKET_BUF + 8], al
    jmp .done
.huge:
    mov dword [PACKET_BUF + 6], 0xFFFFFFFF
.done:
    popad
    ret

; A PIO command (reads, writes, identify, features, multiple, verify, max address, random),
; then a random amount of data in or out of the data port.
ide_pio:
    pushad
    call ide_set_taskfile
    call rand
    mov ebx, eax
    and eax, 0x0F
    movzx eax, byte [ata_pio_commands + eax]
    test bl, 0x10
    jnz .cmd
    mov eax, ebx
    shr eax, 8
.cmd:
    lea edx, [ebp + 7]
    mov ecx, 1
    call port_write
    call ide_poll
    call rand
    and eax, 0x3FF
    mov ecx, eax
    mov edx, ebp
    test bl, 0x20
    jz .out
    mov edi, PIO_BUF
    rep insw
    jmp .done
.out:
    mov esi, PIO_BUF
    rep outsw
.done:
    lea edx, [ebp + 7]
    mov ecx, 1
    call port_read
    popad
    ret

; Random writes to the bus-master block (command, status, the PRD pointer bytes); the filter
; keeps the PRD pointers safe.
ide_bm_games:
    pushad
    call bm_port
    jc .done
    call rand
    mov ebx, eax
    and eax, 0x0F
    mov edx, [bm_base]
    add edx, eax            ; either channel's block
    mov ecx, 1
    test bl, 0x10
    jz .sized
    mov ecx, 4
.sized:
    call rand_value
    test bl, 0x20
    jz .read
    call port_write
    jmp .done
.read:
    call port_read
.done:
    popad
    ret

; fw_cfg: DMA with hostile descriptors and lengths, or the traditional selector/data ports.
op_fwcfg:
    pushad
    call rand
    mov ebx, eax
    test bl, 0x03
    jz .traditional
    ; A descriptor at a random place in FWCFG_AREA (aligned or not).
    call rand
    and eax, 0xFF0
    test bl, 0x04
    jnz .aligned
    push eax
    call rand
    and eax, 7
    pop ecx
    add eax, ecx
.aligned:
    lea edi, [eax + FWCFG_AREA]
    ; Control: select (a real key or random) and read/skip/write bits.
    call rand
    mov esi, eax
    and eax, 0x0F
    movzx eax, word [fwcfg_keys + eax * 2]
    test esi, 0x100
    jnz .key
    mov eax, esi
    shr eax, 16
.key:
    shl eax, 16
    mov ecx, esi
    and ecx, 0x1F           ; error/read/skip/select/write
    test esi, 0x600
    jz .control
    and ecx, ~0x15
    or ecx, 0x0A            ; mostly select + read
.control:
    or eax, ecx
    mov [fwcfg_control], eax
    bswap eax
    mov [edi], eax
    ; Length.
    call fwcfg_length
    mov [fwcfg_len], eax
    bswap eax
    mov [edi + 4], eax
    ; Target (64-bit big-endian), kept off GUARD.
    call fwcfg_target       ; EDX:EAX
    bswap eax
    bswap edx
    mov [edi + 8], edx
    mov [edi + 12], eax
    ; Where the device is told the descriptor is: here, or sometimes anywhere off GUARD
    ; (it writes the control word back there) or above 4 GiB.
    xor esi, esi
    test bl, 0x70
    jnz .address
    ; Elsewhere: in RAM above GUARD (a copy of the descriptor goes there), or past the end
    ; of RAM, where reading it fails.
    call rand
    test bl, 0x08
    jz .past_ram
    mov ecx, [ram_end]
    sub ecx, GUARD_END + 16
    mul ecx
    lea eax, [edx + GUARD_END]
    push edi
    mov edi, eax
    mov ecx, 16
    call is_unsafe_range    ; the copy is a CPU write: mind A20 aliasing
    jnc .copy_ok
    or edi, 0x01000000
.copy_ok:
    mov eax, edi
    pop edi
    mov ecx, [edi]
    mov [eax], ecx
    mov ecx, [edi + 4]
    mov [eax + 4], ecx
    mov ecx, [edi + 8]
    mov [eax + 8], ecx
    mov ecx, [edi + 12]
    mov [eax + 12], ecx
    mov edi, eax
    jmp .address
.past_ram:
    and eax, 0x0FFFFFFF
    add eax, [ram_end]
    mov edi, eax
    test bl, 0x01
    jz .address
    call rand
    mov esi, eax            ; above 4 GiB

    test bl, 0x08
    jz .address
    call rand
    mov esi, eax            ; above 4 GiB
.address:
    test bl, 0x80
    jnz .low_only
    mov eax, esi
    bswap eax
    mov edx, 0x514
    mov ecx, 4
    call port_write
.low_only:
    mov eax, edi
    bswap eax
    mov edx, 0x518
    mov ecx, 4
    mov byte [fwcfg_own], 1
    call port_write
    mov byte [fwcfg_own], 0
    popad
    ret
.traditional:
    mov edx, 0x510
    mov ecx, 2
    call rand
    mov esi, eax
    and eax, 0x0F
    movzx eax, word [fwcfg_keys + eax * 2]
    test esi, 0x100
    jnz .sel
    mov eax, esi
    shr eax, 16
.sel:
    call port_write
    mov edx, 0x511
    call rand
    and eax, 0x7FF
    mov ecx, eax
    mov edi, PIO_BUF
    rep insb
    popad
    ret

; A DMA length: small, page-sized, large, or hostile (up to 0xFFFFFFFF). fuzz.fwcfgmax
; caps the length of reads.
fwcfg_length:
    call rand
    push eax
    and eax, 7
    cmp eax, 3
    jb .small
    cmp eax, 4
    jb .medium
    je .large
    cmp eax, 6
    je .hostile
    pop eax                 ; random 32-bit
    jmp .cap
.small:
    pop eax
    and eax, 0xFF
    jmp .cap
.medium:
    pop eax
    and eax, 0xFFFF
    jmp .cap
.large:
    pop eax
    and eax, 0xFFFFF
    jmp .cap
.hostile:
    pop eax
    shr eax, 8
    and eax, 3
    mov eax, [hostile_lengths + eax * 4]
.cap:
    mov ecx, [fwcfg_cap]
    test ecx, ecx
    jz .done
    test dword [fwcfg_control], 0x02
    jz .done
    cmp eax, ecx
    jbe .done
    mov eax, ecx
.done:
    ret

; A DMA target EDX:EAX for [fwcfg_len] bytes: RAM, low memory, the VGA window, random,
; above 4 GiB, or at the very top of the 64-bit space. Never overlapping GUARD, even if a
; device wraps the address.
fwcfg_target:
    push ebx
    push ecx
    call rand
    mov ebx, eax
    call rand
    xor edx, edx
    test bl, 0x07
    jz .high
    test bl, 0x06
    jz .low_done            ; random 32-bit
    test bl, 0x18
    jz .below_1m
    push edx
    mul dword [ram_end]     ; somewhere in RAM
    mov eax, edx
    pop edx
    jmp .low_done
.below_1m:
    and eax, 0xFFFFF
    jmp .low_done
.high:
    mov edx, 0xFFFFFFFF
    test bl, 0x08
    jz .low_done
    mov edx, ebx            ; random high half
    shr edx, 8
.low_done:
    ; Safety: with EDX = 0 the range [EAX, EAX + len) may not overlap GUARD; with EDX =
    ; 0xFFFFFFFF a carry out of EAX + len wraps to 0 and may not reach GUARD either.
    mov ecx, [fwcfg_len]
    cmp edx, 0
    je .check_low
    cmp edx, 0xFFFFFFFF
    jne .safe
    add ecx, eax
    jnc .safe
    cmp ecx, GUARD_START
    jbe .safe
    jmp .unsafe
.check_low:
    cmp eax, GUARD_END
    jae .safe
    add ecx, eax
    jc .unsafe
    cmp ecx, GUARD_START
    jbe .safe
.unsafe:
    xor edx, edx
    call rand
    and eax, 0xFFFF8
    add eax, GUARD_END
.safe:
    pop ecx
    pop ebx
    ret

; An interrupt window: a few instructions with IF set; the handler acknowledges whatever
; arrives and closes the window after 64 interrupts (a line that never drops).
op_window:
    mov dword [window_irqs], 0
    mov byte [in_window], 1
    sti
    times 8 nop
    ; A port read exits to the VMM with IF set, where a paravirtual KVM (kvm_pvm) injects
    ; what is pending; it cannot fault, so the window still holds only interrupts.
    in al, 0x61
    times 8 nop
    cli
    mov byte [in_window], 0
    ret

; Puts the PIC, the IDE function and the VGA back in a usable state now and then, so that
; the rest of the run keeps reaching them.
op_repair:
    call init_pic
    call repair_ide
    pushad
    mov eax, CFG_VGA | 0x04
    call pci_read32
    or eax, 0x03
    mov ecx, eax
    mov eax, CFG_VGA | 0x04
    call pci_write32
    popad
    call refresh_state
    ret

repair_ide:
    pushad
    mov eax, CFG_IDE | 0x40
    mov ecx, 0x80008000     ; IDETIM decode enable, both channels
    call pci_write32
    mov eax, CFG_IDE | 0x20
    call pci_read32
    and eax, 0xFFFFFFF0
    cmp eax, 0xFFF0
    ja .fix_bar
    test eax, eax
    jnz .bar_ok
.fix_bar:
    mov eax, CFG_IDE | 0x20
    mov ecx, 0xC001
    call pci_write32
.bar_ok:
    mov eax, CFG_IDE | 0x04
    mov ecx, 0x05           ; I/O space, bus master
    call pci_write32
    popad
    call refresh_state
    ret

; ---------------------------------------------------------------------------------------
; The port filter: everything the guest writes to a port goes through here.
; ---------------------------------------------------------------------------------------

; port_write: EDX = port, ECX = size (1/2/4), EAX = value. Drops writes to the debug-exit
; and debug-console ports, clears the bits that reset or power off, keeps the bus-master PRD
; pointers safe and follows PMBA/BAR4 moves.
port_write:
    pushad
    and edx, 0xFFFF
    lea edi, [edx + ecx]
    cmp edx, DEBUG_EXIT + 4
    jae .not_exit
    cmp edi, DEBUG_EXIT
    ja .drop
.not_exit:
    cmp edx, DEBUGCON
    ja .not_console
    cmp edi, DEBUGCON
    ja .drop
.not_console:
    ; Port 0x92 bit 0: fast reset.
    mov ebx, 0x92
    call byte_index
    jnc .cf9
    btr eax, esi
.cf9:
    ; 0xCF9 bits 1 and 2: system and CPU reset (not claimed today; kept safe for later).
    mov ebx, 0xCF9
    call byte_index
    jnc .kbc_cmd
    inc esi
    btr eax, esi
    inc esi
    btr eax, esi
.kbc_cmd:
    ; i8042 commands 0xF0-0xFF with bit 0 clear pulse the reset line; 0xD1 makes the next
    ; data byte the output port, whose bit 0 clear resets.
    mov ebx, 0x64
    call byte_index
    jnc .kbc_data
    push ecx
    mov ecx, esi
    mov ebx, eax
    shr ebx, cl
    pop ecx
    and ebx, 0xFF
    cmp ebx, 0xF0
    jb .not_pulse
    bts eax, esi
.not_pulse:
    cmp ebx, 0xD1
    jne .not_d1
    mov byte [kbc_d1], 1
    jmp .kbc_data
.not_d1:
    cmp edx, 0x64
    jne .kbc_data
    mov byte [kbc_d1], 0
.kbc_data:
    mov ebx, 0x60
    call byte_index
    jnc .fwcfg
    cmp byte [kbc_d1], 0
    je .kbc_data_plain
    bts eax, esi
.kbc_data_plain:
    cmp edx, 0x60
    jne .fwcfg
    mov byte [kbc_d1], 0
.fwcfg:
    ; fw_cfg DMA trigger (a dword at 0x518) from a random write: the descriptor would be
    ; whatever RAM holds there, with any target. Point it past the end of RAM instead.
    cmp edx, 0x518
    jne .pm
    cmp ecx, 4
    jne .pm
    cmp byte [fwcfg_own], 0
    jne .pm
    mov ebx, eax
    bswap ebx
    cmp ebx, [ram_end]
    jae .pm
    cmp ebx, 0xA0000
    jb .fwcfg_away
    cmp ebx, 0xC0000
    jb .pm
.fwcfg_away:
    and ebx, 0xFFFFF0
    add ebx, [ram_end]
    bswap ebx
    mov eax, ebx
.pm:
    ; PM1a control high byte bit 5 (SLP_EN), wherever PMBA put the block.
    mov ebx, [pm_cnt]
    inc ebx
    call byte_index
    jnc .write
    add esi, 5
    btr eax, esi
.write:
    cmp ecx, 1
    je .out1
    cmp ecx, 2
    je .out2
    out dx, eax
    jmp .written
.out1:
    out dx, al
    jmp .written
.out2:
    out dx, ax
.written:
    ; Configuration data written: BARs, PMBA or decode bits may have moved.
    cmp edx, PCI_DATA + 3
    ja .not_config
    cmp edi, PCI_ADDR
    jbe .not_config
    call refresh_state
.not_config:
    ; The bus-master PRD pointers (BAR4 + 4..7 and + 12..15).
    mov ebx, [bm_base]
    test ebx, ebx
    jz .done
    lea esi, [ebx + 16]
    cmp edx, esi
    jae .done
    add ebx, 4
    cmp edi, ebx
    jbe .done
    call sanitize_prd_pointers
.done:
    popad
    ret
.drop:
    inc dword [cnt_filtered]
    popad
    ret

; CF set when a write of ECX bytes at port EDX would be changed or dropped by port_write
; (or could move the tracked state): such ports take no string of writes.
port_is_sensitive:
    pushad
    and edx, 0xFFFF
    lea edi, [edx + ecx]
    ; Fixed ranges [start, end).
    mov esi, sensitive_ports
.fixed:
    movzx eax, word [esi]
    movzx ebx, word [esi + 2]
    test ebx, ebx
    jz .moving
    add esi, 4
    cmp edx, ebx
    jae .fixed
    cmp edi, eax
    jbe .fixed
    jmp .yes
.moving:
    mov eax, [pm_cnt]
    lea ebx, [eax + 2]
    cmp edx, ebx
    jae .bm
    cmp edi, eax
    ja .yes
.bm:
    mov eax, [bm_base]
    test eax, eax
    jz .no
    lea ebx, [eax + 16]
    cmp edx, ebx
    jae .no
    cmp edi, eax
    ja .yes
.no:
    popad
    clc
    ret
.yes:
    popad
    stc
    ret

; CF set and ESI = 8 * (EBX - EDX) when port EBX is one of the ECX bytes written at EDX.
byte_index:
    mov esi, ebx
    sub esi, edx
    cmp esi, ecx
    jae .no
    shl esi, 3
    stc
    ret
.no:
    clc
    ret

; port_read: EDX = port, ECX = size; returns EAX.
port_read:
    cmp ecx, 1
    je .in1
    cmp ecx, 2
    je .in2
    in eax, dx
    ret
.in1:
    xor eax, eax
    in al, dx
    ret
.in2:
    xor eax, eax
    in ax, dx
    ret

; Re-reads where PMBA, BAR4 and the VGA BARs are now, and makes the PRD pointers safe.
refresh_state:
    pushad
    mov dx, PCI_ADDR
    in eax, dx
    mov [saved_config_address], eax
    ; PIIX4 PM: PMBA bits 15:6 while PMREGMISC.PMIOSE is set.
    mov dword [pm_cnt], 0xFFFF0000
    mov eax, CFG_PM | 0x80
    call pci_read32
    test al, 1
    jz .pm_done
    mov eax, CFG_PM | 0x40
    call pci_read32
    and eax, 0xFFC0
    jz .pm_done
    add eax, 4
    mov [pm_cnt], eax
.pm_done:
    ; IDE bus master: BAR4 while I/O decode is on and the BAR is inside the port space.
    mov dword [bm_base], 0
    mov eax, CFG_IDE | 0x04
    call pci_read32
    test al, 1
    jz .bm_done
    mov eax, CFG_IDE | 0x20
    call pci_read32
    and eax, 0xFFFFFFF0
    cmp eax, 0xFFFF
    ja .bm_done
    mov [bm_base], eax
.bm_done:
    mov eax, CFG_VGA | 0x10
    call pci_read32
    and eax, 0xFFFFFFF0
    mov [vga_lfb], eax
    mov eax, CFG_VGA | 0x18
    call pci_read32
    and eax, 0xFFFFFFF0
    mov [vga_mmio], eax
    ; CONFIG_ADDRESS as the fuzzer left it.
    mov eax, [saved_config_address]
    mov dx, PCI_ADDR
    out dx, eax
    call sanitize_prd_pointers
    popad
    ret

; A PRD pointer is safe when every descriptor the engine can read from it (up to 64 KiB)
; describes memory off GUARD: inside PRD_AREA's first 64 KiB on an entry boundary, or where
; the first read fails (the VGA hole, above RAM).
sanitize_prd_pointers:
    cmp byte [in_sanitize], 0
    jne .ret
    pushad
    mov byte [in_sanitize], 1
    mov edx, [bm_base]
    test edx, edx
    jz .done
    add edx, 4
    call .one
    add edx, 8
    call .one
.done:
    mov byte [in_sanitize], 0
    popad
.ret:
    ret
.one:
    mov ecx, 4
    call port_read
    mov ebx, eax
    sub ebx, PRD_AREA
    cmp ebx, 0x10000
    jae .not_area
    test al, 7
    jz .safe
    jmp .fix
.not_area:
    cmp eax, 0xA0000
    jb .fix
    cmp eax, 0xC0000
    jb .safe
    cmp eax, [ram_end]
    jae .safe
.fix:
    call rand
    and eax, 0xFFF8
    add eax, PRD_AREA
    call port_write
.safe:
    ret

; ---------------------------------------------------------------------------------------
; PRD tables
; ---------------------------------------------------------------------------------------

; Every entry of PRD_AREA describes memory off GUARD, whatever pointer reaches it.
init_prd_area:
    pushad
    mov edi, PRD_AREA
    mov ecx, PRD_ENTRIES
.loop:
    call write_prd_entry
    add edi, 8
    loop .loop
    popad
    ret

; A PRD entry at EDI: a random base off GUARD, a random count, end-of-table one time in 8.
write_prd_entry:
    pushad
    call rand
    mov ebx, eax
    and eax, 0xFFFE         ; count (0 = 64 KiB)
    test ebx, 0x30000
    jnz .count
    and eax, 0x0E00
    add eax, 0x200
.count:
    mov ecx, eax
    test ecx, ecx
    jnz .len
    mov ecx, 0x10000
.len:
    call dma_base           ; EAX = base for ECX bytes
    mov [edi], eax
    mov eax, ebx
    and eax, 0xFFFE
    test ebx, 0x30000
    jnz .count2
    and eax, 0x0E00
    add eax, 0x200
.count2:
    test ebx, 0x1C0000
    jnz .not_last
    or eax, 0x80000000
.not_last:
    test ebx, 0x200000
    jz .store
    or eax, 0x7FFF0000      ; reserved bits set
    and eax, 0xFFFF0000 | 0xFFFE
.store:
    mov [edi + 4], eax
    popad
    ret

; A DMA region base for ECX bytes: random, RAM, low memory, near the end of RAM, the VGA
; window, the top of 4 GiB. Moved up by 16 MiB when it would touch GUARD.
dma_base:
    push ebx
    push edi
    call rand
    mov ebx, eax
    call rand
    and ebx, 7
    cmp ebx, 2
    jb .chosen
    cmp ebx, 4
    jb .ram
    je .low
    cmp ebx, 5
    je .ram_end
    cmp ebx, 6
    je .vga
    or eax, 0xFFFF0000
    jmp .chosen
.ram:
    push ecx
    push edx
    mov ecx, [ram_end]
    mul ecx
    mov eax, edx
    pop edx
    pop ecx
    jmp .chosen
.low:
    and eax, 0xFFFFF
    jmp .chosen
.ram_end:
    and eax, 0x1FFFF
    neg eax
    add eax, [ram_end]
    jmp .chosen
.vga:
    and eax, 0x1FFFF
    add eax, 0xA0000
.chosen:
    and eax, ~1
    mov edi, eax
    call is_unsafe_range
    jnc .done
    or eax, 0x01000000
.done:
    pop edi
    pop ebx
    ret

; Writes 1-4 entries (sometimes up to 64) at a random entry of PRD_AREA's first 64 KiB;
; returns the table's address in EAX (the entries after it are safe too).
build_prd_table:
    push ecx
    push edi
    call rand
    and eax, 0xFFF8
    lea edi, [eax + PRD_AREA]
    call rand
    mov ecx, eax
    and ecx, 3
    inc ecx
    test eax, 0x700
    jnz .fill
    and eax, 0x3F0000
    shr eax, 16
    lea ecx, [eax + 1]
.fill:
    push edi
.entry:
    call write_prd_entry
    add edi, 8
    loop .entry
    ; End of table on the last entry, unless the table should run on.
    call rand
    test al, 0x1C
    jz .open
    or dword [edi - 4], 0x80000000
.open:
    pop eax
    pop edi
    pop ecx
    ret

; CF set when [EDI, EDI + ECX) (modulo 4 GiB) touches GUARD, as it is or with address
; bit 20 masked (the CPU's accesses while the A20 gate is closed).
is_unsafe_range:
    push edi
    call .check
    jc .out
    and edi, ~0x100000
    call .check
.out:
    pop edi
    ret
.check:
    push eax
    mov eax, edi
    sub eax, GUARD_START
    cmp eax, GUARD_SIZE
    jb .unsafe
    mov eax, GUARD_START
    sub eax, edi
    cmp eax, ecx
    jb .unsafe
    pop eax
    clc
    ret
.unsafe:
    pop eax
    stc
    ret

; ---------------------------------------------------------------------------------------
; Helpers
; ---------------------------------------------------------------------------------------

; xorshift32 (Marsaglia): EAX = next value.
rand:
    push edx
    mov eax, [rng]
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    mov [rng], eax
    pop edx
    ret

; EAX = random number below ECX.
rand_below:
    push edx
    call rand
    mul ecx
    mov eax, edx
    pop edx
    ret

; EAX = configuration dword at address EAX.
pci_read32:
    push edx
    mov dx, PCI_ADDR
    out dx, eax
    mov dx, PCI_DATA
    in eax, dx
    pop edx
    ret

; Writes ECX to configuration address EAX (the guest's own fixed-function registers only).
pci_write32:
    push edx
    push eax
    mov dx, PCI_ADDR
    out dx, eax
    mov dx, PCI_DATA
    mov eax, ecx
    out dx, eax
    pop eax
    pop edx
    ret

; The 8259 pair as a BIOS leaves it: vectors 0x20 and 0x28, cascade on IRQ2, all unmasked.
init_pic:
    push eax
    mov al, 0x11
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, 0x20
    out PIC1_DATA, al
    mov al, 0x28
    out PIC2_DATA, al
    mov al, 4
    out PIC1_DATA, al
    mov al, 2
    out PIC2_DATA, al
    mov al, 1
    out PIC1_DATA, al
    out PIC2_DATA, al
    xor al, al
    out PIC1_DATA, al
    out PIC2_DATA, al
    pop eax
    ret

fill_pio_buffer:
    pushad
    mov edi, PIO_BUF
    mov ecx, 0x4000
.loop:
    call rand
    stosd
    loop .loop
    popad
    ret

; get_param: ESI = "key=" (NUL-terminated); EAX = its decimal value, CF when absent.
get_param:
    push ecx
    push edx
    push esi
    push edi
    mov edi, [cmdline]
    test edi, edi
    jz .absent
.scan:
    cmp byte [edi], 0
    je .absent
    push esi
    push edi
.cmp:
    mov al, [esi]
    test al, al
    jz .match
    cmp al, [edi]
    jne .nomatch
    inc esi
    inc edi
    jmp .cmp
.nomatch:
    pop edi
    pop esi
    inc edi
    jmp .scan
.match:
    add esp, 8
    xor eax, eax
.digit:
    movzx ecx, byte [edi]
    sub ecx, '0'
    cmp ecx, 9
    ja .done
    imul eax, eax, 10
    add eax, ecx
    inc edi
    jmp .digit
.done:
    pop edi
    pop esi
    pop edx
    pop ecx
    clc
    ret
.absent:
    pop edi
    pop esi
    pop edx
    pop ecx
    stc
    ret

; Debug console output (port 0xE9 reaches the serial backend whatever the UART's state).
dputc:
    out DEBUGCON, al
    ret

dputs:
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .done
    out DEBUGCON, al
    jmp .next
.done:
    pop esi
    pop eax
    ret

dputdec:
    pushad
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.print:
    pop eax
    add al, '0'
    out DEBUGCON, al
    loop .print
    popad
    ret

dputhex:
    pushad
    mov ecx, 8
.digit:
    rol eax, 4
    push eax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    out DEBUGCON, al
    pop eax
    loop .digit
    popad
    ret

; ---------------------------------------------------------------------------------------
; Interrupts and exceptions
; ---------------------------------------------------------------------------------------

build_idt:
    pushad
    mov edi, IDT_BASE
    mov ebx, isr_stubs
    mov ecx, 256
.gate:
    mov eax, ebx
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8E00      ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    add ebx, ISR_STUB_SIZE
    loop .gate
    popad
    ret

; Common handler. Inside a window (only NOPs run there) any vector is an interrupt: count
; it and acknowledge it at both 8259s and the local APIC. Outside, only an NMI is expected;
; anything else is an exception the guest did not cause on purpose: report and leave.
isr_common:
    pushad
    mov ebp, esp
    mov eax, [ebp + 32]             ; vector
    cmp eax, 2
    je .nmi
    cmp byte [in_window], 0
    je .fault
    inc dword [cnt_irq]
    mov al, 0x20
    out PIC2_CMD, al
    out PIC1_CMD, al
    mov dword [LAPIC_EOI], 0
    inc dword [window_irqs]
    cmp dword [window_irqs], 64
    jb .ret
    and dword [ebp + 32 + 4 + 8], ~0x200    ; saved EFLAGS: close the window
    jmp .ret
.nmi:
    inc dword [cnt_nmi]
.ret:
    cmp byte [kvm_mode], 0
    jne .ret_kvm
    popad
    add esp, 4
    iret
.ret_kvm:
    ; kvm_pvm cannot emulate this IRET (an internal error ends the run): return by hand.
    ; An interrupt taken between POPFD and RETF returns to the RETF at the same depth.
    popad
    add esp, 4
    push dword [esp + 8]
    popfd
    retf 4
.fault:
    mov esi, msg_fault
    call dputs
    mov eax, [ebp + 32]
    call dputhex
    mov esi, msg_word
    call dputs
    mov eax, [ebp + 36]
    call dputhex
    mov esi, msg_word
    call dputs
    mov eax, [ebp + 40]
    call dputhex
    mov esi, msg_at_op
    call dputs
    mov eax, [op_index]
    call dputdec
    mov esi, msg_seed
    call dputs
    mov eax, [seed]
    call dputdec
    mov al, 10
    call dputc
    mov al, FAULT_CODE
    out DEBUG_EXIT, al
.hang:
    cli
    hlt
    jmp .hang

ISR_STUB_SIZE equ 16
align 16
isr_stubs:
%assign vector 0
%rep 256
    push dword vector
    jmp isr_common
    align ISR_STUB_SIZE, db 0xCC
%assign vector vector + 1
%endrep

%include "include/fuzz-xen.inc"

; ---------------------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------------------
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10: flat data
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd IDT_BASE

; Device port ranges (base, count) the fuzzer aims at.
align 4
port_table:
    dw 0x0000, 0x20             ; ISA DMA (absent)
    dw 0x0020, 2                ; PIC 1
    dw 0x0040, 4                ; PIT
    dw 0x0060, 1                ; i8042 data
    dw 0x0061, 1                ; port B
    dw 0x0064, 1                ; i8042 command/status
    dw 0x0070, 2                ; RTC/CMOS
    dw 0x0080, 1                ; POST code
    dw 0x0092, 1                ; fast A20
    dw 0x00A0, 2                ; PIC 2
    dw 0x00B2, 2                ; APM
    dw 0x00F0, 1                ; FERR# clear
    dw 0x0170, 8                ; IDE secondary
    dw 0x01CE, 3                ; Bochs VBE
    dw 0x01F0, 8                ; IDE primary
    dw 0x0376, 1                ; IDE secondary control
    dw 0x03B0, 0x30             ; VGA
    dw 0x03F6, 1                ; IDE primary control
    dw 0x03F8, 8                ; COM1
    dw 0x0402, 1                ; firmware log
    dw 0x04D0, 2                ; ELCR
    dw 0x0510, 12               ; fw_cfg
    dw 0x0CF8, 8                ; PCI configuration
    dw 0x0CF9, 1                ; reset control
PORT_TABLE_ENTRIES equ ($ - port_table) / 4

; Ports no string of writes may touch: [start, end) pairs, zero-terminated.
sensitive_ports:
    dw 0x0060, 0x0061
    dw 0x0064, 0x0065
    dw 0x0092, 0x0093
    dw 0x00E9, 0x00EA
    dw 0x00F4, 0x00F8
    dw 0x0518, 0x051C
    dw 0x0CF8, 0x0D00
    dw 0, 0

pci_functions:
    dd 0x80000000, 0x80000800, CFG_IDE, CFG_PM, CFG_VGA, CFG_IDE, CFG_VGA, CFG_PM
bar_offsets:
    dd 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x30, 0x20
; 1 = random, 2 = random page in the first 256 MiB; the rest literal.
bar_values:
    dd 0xFFFFFFFF, 0, 1, 2, 2, 0xFEE00000, 0xFEC00000, 0x000A0000
    dd 0xFFFFF000, 0xE0000000, 0x000001F1, 0x000003F1, 0x00000CF9, 0x0000C001, 0x00000601, 0xFD000008
ata_dma_commands:
    db 0xC8, 0xCA, 0x25, 0x35, 0xC8, 0x25, 0xC7, 0x26
ata_pio_commands:
    db 0x20, 0x30, 0x24, 0x34, 0xEC, 0xA1, 0xEF, 0xC4, 0xC5, 0xC6, 0x40, 0xF8, 0x27, 0x08, 0xE7, 0x91
atapi_opcodes:
    db 0x28, 0xA8, 0x28, 0x25, 0x12, 0x03, 0x5A, 0x43, 0x46, 0x4A, 0x00, 0x1B, 0xBE, 0xAD, 0x51, 0xBD
fwcfg_keys:
    dw 0x0000, 0x0001, 0x0002, 0x0003, 0x0005, 0x000E, 0x000F, 0x0019
    dw 0x0020, 0x0021, 0x0022, 0x0023, 0x8000, 0x8001, 0x8003, 0xFFFF
byte_count_limits:
    dw 0, 1, 3, 0xFFFF, 0x800, 0xFFFE, 0x8000, 0x0200
lapic_timer_regs:
    dd 0x320, 0x380, 0x3E0, 0x300
vbe_values:
    dw 0, 1, 8, 15, 16, 24, 32, 0x41, 0x61, 640, 480, 1024, 4096, 0x7FFF, 0xFFFF, 0xB0C5
vga_index_ports:
    dw 0x3C4, 0x3CE, 0x3D4, 0x3B4, 0x3C0, 0x3C8, 0x3C7, 0x3C4
hostile_lengths:
    dd 0xFFFFFFFF, 0xFFFFFFF8, 0x80000000, 0x10000001

key_seed:   db "fuzz.seed=", 0
key_ops:    db "fuzz.ops=", 0
key_cap:    db "fuzz.fwcfgmax=", 0
key_kvm:    db "fuzz.kvm=", 0
key_xen:    db "fuzz.xen=", 0
msg_xen:    db " xen=", 0
msg_start:  db "FUZZ start seed=", 0
msg_done:   db "FUZZ done seed=", 0
msg_ops:    db " ops=", 0
msg_port:   db " port=", 0
msg_mmio:   db " mmio=", 0
msg_pci:    db " pci=", 0
msg_ide:    db " ide=", 0
msg_fwcfg:  db " fwcfg=", 0
msg_irq:    db " irqs=", 0
msg_nmi:    db " nmis=", 0
msg_filtered: db " filtered=", 0
msg_fault:  db 10, "FUZZ fault vector=", 0
msg_word:   db " ", 0
msg_at_op:  db " op=", 0
msg_seed:   db " seed=", 0

align 4
cmdline:        dd 0
ram_end:        dd 0x4000000
seed:           dd 1
op_count:       dd 1000
op_index:       dd 0
fwcfg_cap:      dd 0
kvm_mode:       dd 0
xen_mode:       dd 0
rng:            dd 1
pm_cnt:         dd 0x604
bm_base:        dd 0
vga_lfb:        dd 0
vga_mmio:       dd 0
ide_channel:    dd 0
fwcfg_control:  dd 0
fwcfg_len:      dd 0
pci_last_address: dd 0x80000000
saved_config_address: dd 0
window_irqs:    dd 0
cnt_port:       dd 0
cnt_mmio:       dd 0
cnt_pci:        dd 0
cnt_ide:        dd 0
cnt_fwcfg:      dd 0
cnt_irq:        dd 0
cnt_nmi:        dd 0
cnt_filtered:   dd 0
in_window:      db 0
in_sanitize:    db 0
kbc_d1:         db 0
fwcfg_own:      db 0

; sys-nested-faults.asm plus the SDM steps this host's KVM (kvm_pvm) gets wrong: a benign
; #UD whose gate is absent gives #NP alone (Table 6-5), with EXT set (§6.13); and a #PF
; while fetching the #PF gate from a not-present IDT page gives #DF with CR2 at the gate.
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"
%define GUEST_NAME "nested faults guest (SDM steps)"
%define SDM_STEPS
%include "include/nested-faults.inc"

; Exceptions during exception delivery that both engines handle alike (SDM Vol. 3A §6.15,
; Table 6-5): contributory then contributory, #PF then contributory, and a triple fault.
%include "include/platform.inc"
%include "include/sysmacros.inc"
bits 32
org 0x100000
%include "include/multiboot.inc"
%define GUEST_NAME "nested faults guest"
%include "include/nested-faults.inc"

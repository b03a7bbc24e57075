; fwcfg-dma-huge.asm issuing its 4 GiB fw_cfg DMA read forever: some transfer is always
; in progress when the stop-latency test sends SIGTERM.
%define REPEAT_FOREVER
%include "fwcfg-dma-huge.asm"

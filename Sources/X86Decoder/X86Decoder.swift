// The x86 decoder and disassembler (issue 3).

#!/usr/bin/env python3
"""Concatenates the .text sections of ELF64 files (found through their section headers).

    extract_text.py OUT FILE... -> writes OUT, prints "BYTES FILES"
"""
import struct
import sys


def text_section(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
        return b''  # ELF64 little-endian only
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)
    if shoff == 0 or shstrndx >= shnum:
        return b''
    def sh(i):
        return struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * shentsize)
    stroff = sh(shstrndx)[4]
    for i in range(shnum):
        name, typ, flags, addr, off, size = sh(i)[:6]
        end = data.index(b'\0', stroff + name)
        if data[stroff + name:end] == b'.text' and typ == 1:
            return data[off:off + size]
    return b''


def main():
    out, files = sys.argv[1], sys.argv[2:]
    blob = bytearray()
    n = 0
    for p in files:
        try:
            t = text_section(p)
        except (OSError, struct.error, ValueError):
            continue
        if t:
            blob += t
            n += 1
    with open(out, 'wb') as f:
        f.write(blob)
    print(len(blob), n)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""iced-x86 (Python binding) linear sweep over the same corpus, for comparison."""
import sys
import time

import iced_x86 as ix

data = open(sys.argv[1], 'rb').read()
limit = int(sys.argv[2]) if len(sys.argv) > 2 else len(data)
data = data[:limit]
dec = ix.Decoder(64, data, ix.DecoderOptions.NONE)
t0 = time.perf_counter()
n = 0
invalid = 0
for ins in dec:
    n += 1
    if ins.code == ix.Code.INVALID:
        invalid += 1
dt = time.perf_counter() - t0
print('iced-x86 %s (Python): %d instructions (%d invalid) from %d bytes: %.3f s, %.1f M instructions/s'
      % (ix.__version__ if hasattr(ix, '__version__') else '', n, invalid, len(data), dt, n / dt / 1e6))

"""Writes docs/icon.png, the packages' 128x128 icon (a typed-tensor grid), with the standard library only:
    /usr/bin/python3 docs/make_icon.py"""
import os
import struct
import zlib

SIZE = 128
HERE = os.path.dirname(os.path.abspath(__file__))


def pixel(x, y):
    # A 4x4 grid of cells (a tensor), the diagonal highlighted, on a dark background.
    cell, gap = 26, 6
    ox = oy = (SIZE - (4 * cell + 3 * gap)) // 2
    cx, cy = (x - ox) // (cell + gap), (y - oy) // (cell + gap)
    inside = 0 <= x - ox < 4 * cell + 3 * gap and 0 <= y - oy < 4 * cell + 3 * gap
    in_cell = inside and (x - ox) % (cell + gap) < cell and (y - oy) % (cell + gap) < cell
    if not in_cell:
        return (0x1E, 0x25, 0x33, 0xFF)
    return (0x5B, 0xC0, 0xEB, 0xFF) if cx == cy else (0x9A, 0xA8, 0xBD, 0xFF)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(SIZE)) for y in range(SIZE))
png = (b"\x89PNG\r\n\x1a\n"
       + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows, 9))
       + chunk(b"IEND", b""))
with open(os.path.join(HERE, "icon.png"), "wb") as f:
    f.write(png)

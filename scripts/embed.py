#!/usr/bin/env python3
"""Write a C file defining a byte array with the contents of a file.

Usage: embed.py INPUT OUTPUT SYMBOL
"""
import sys


def main() -> None:
    source, target, symbol = sys.argv[1:4]
    data = open(source, "rb").read()
    lines = [f"/* Generated from {source.split('/')[-1]} by embed.py. */",
             "#include <stddef.h>",
             f"const char {symbol}[] = {{"]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    lines.append("    0};")
    lines.append(f"const size_t {symbol}_len = {len(data)};")
    open(target, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

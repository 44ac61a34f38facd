"""The firmware stage: harness + backend sources → a linked ELF for a board."""

from tinybench.firmware.build import build_firmware

__all__ = ["build_firmware"]

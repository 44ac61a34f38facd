"""The firmware stage: harness + backend sources → a linked ELF for a board."""

from tinybench.firmware.build import Firmware, build_firmware

__all__ = ["Firmware", "build_firmware"]

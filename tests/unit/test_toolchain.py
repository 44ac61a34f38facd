import pytest

from tinybench.errors import ToolNotFoundError
from tinybench.toolchain import find_toolchain


@pytest.fixture(autouse=True)
def fresh_lookup():
    find_toolchain.cache_clear()
    yield
    find_toolchain.cache_clear()


def test_missing_gcc_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYBENCH_ARM_GCC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="apt-get install gcc-arm-none-eabi"):
        find_toolchain()


def test_prefix_variable_selects_another_installation(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYBENCH_ARM_GCC", raising=False)
    monkeypatch.setenv("TINYBENCH_ARM_PREFIX", str(tmp_path / "bin" / "arm-none-eabi-"))
    with pytest.raises(ToolNotFoundError, match=r"bin/arm-none-eabi-gcc was not found"):
        find_toolchain()


def test_explicit_gcc_must_be_an_executable(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYBENCH_ARM_GCC", str(tmp_path / "gcc"))
    with pytest.raises(ToolNotFoundError, match="is not an executable file"):
        find_toolchain()

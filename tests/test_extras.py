"""Optional dependencies fail with the ``pip install`` that fixes them."""

from __future__ import annotations

import pytest

from wsao_trio.extras import require


def test_a_missing_extra_names_the_pip_install() -> None:
    with pytest.raises(ImportError, match=r"pip install 'wsao_trio\[jwt\]'") as raised:
        require("wsao_no_such_package", extra="jwt", needed_by="wsao_trio.auth")
    assert "wsao_trio.auth needs the optional package 'wsao_no_such_package'" in str(raised.value)


def test_a_present_package_is_returned() -> None:
    assert require("attrs", extra="core", needed_by="test").__name__ == "attrs"


def test_a_broken_package_shows_its_own_error() -> None:
    # a missing submodule of a present package is not a missing extra
    with pytest.raises(ModuleNotFoundError, match=r"attrs\.no_such_module") as raised:
        require("attrs.no_such_module", extra="jwt", needed_by="test")
    assert "pip install" not in str(raised.value)

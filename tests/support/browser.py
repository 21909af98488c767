"""Headless Chromium for the console's browser tests: Debian's `chromium` driven through its
`chromium-driver` by Selenium (never a browser downloaded at run time). `make test` installs both
when it runs as root; elsewhere `chromium_or_skip` names what is missing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "chromium-driver")


def _first(names: tuple[str, ...]) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/lib/chromium/{name}" if Path(f"/usr/lib/chromium/{name}").exists() else None
        )
        if found:
            return found
    return None


def chromium_or_skip():  # type: ignore[no-untyped-def]
    """A headless Chrome WebDriver, or a skip that says which binary is missing and how to get it."""
    browser, driver = _first(BROWSERS), _first(DRIVERS)
    if browser is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", browser), ("chromium-driver", driver)) if p is None)
        pytest.skip(f"no {missing} installed (apt-get install chromium chromium-driver; `make test` does as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1440,1100", "--disable-extensions", "--no-first-run"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def wait_for(driver: Any, condition: Any, timeout: float = 20) -> Any:
    """`condition(driver)`'s first truthy answer, polled every 0.1 s; TimeoutException after `timeout`."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def css(selector: str) -> Any:
    """A condition: the first element matching `selector`, else False."""

    def find(driver: Any) -> Any:
        found = driver.find_elements("css selector", selector)
        return found[0] if found else False

    return find

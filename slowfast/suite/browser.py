"""Open an HTML page in headless Chromium: a screenshot, and the page's console errors."""

import os
import shutil
import subprocess

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    """The path of a Chromium-family browser on PATH, or None."""
    return next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)


def check_page(html_path: str, screenshot_path: str, browser: str) -> list[str]:
    """Render ``html_path`` in headless ``browser``, save a screenshot, return the page's console errors.

    Args:
        html_path (str): the page.
        screenshot_path (str): the PNG to write.
        browser (str): from ``find_browser``.
    Returns:
        list of str: console error lines (and a line when no screenshot was written); empty when clean.
    """
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # as root in a container Chromium refuses to start with its sandbox
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,2000",
        f"--screenshot={os.path.abspath(screenshot_path)}",
        "file://" + os.path.abspath(html_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    errors = [line for line in done.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    if not os.path.isfile(screenshot_path) or os.path.getsize(screenshot_path) == 0:
        errors.append(f"no screenshot written (exit status {done.returncode}): {done.stderr[-300:]}")
    return errors

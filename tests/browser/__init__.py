"""End-to-end tests in a real browser (see test_browser.py)."""

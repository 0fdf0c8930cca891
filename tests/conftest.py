"""Test-session order: the browser tests run last.

Playwright's sync API keeps an asyncio event loop running in the main thread for as long as its
browser fixture lives (the whole session), so tests that call ``asyncio.run`` after it fail with
"cannot be called from a running event loop".
"""


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: "/tests/browser/" in str(item.fspath))  # stable: the rest keep their order

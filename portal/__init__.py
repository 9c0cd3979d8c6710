"""The delivery portal: partners upload an extract in the browser, the server pseudonymises it in memory.

`portal.app` builds the web application, `portal.intake` turns an upload into a pseudonymised
delivery without writing the raw extract anywhere, `portal.store` keeps accounts and receipts.
"""

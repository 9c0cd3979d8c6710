"""The delivery portal: partners upload an extract in the browser, the server pseudonymises it in memory.

`portal.app` wires the web application from the routers in `portal.routes`, `portal.intake` turns an
upload into a pseudonymised delivery without writing the raw extract anywhere, `portal.store` keeps
accounts and receipts.
"""

"""The portal's pages, one router per area; `portal.app.create_app` only wires them together.

`deps` holds what the routers share: the portal's state, the Dutch error page, and the dependencies
(session, role, same-origin, CSRF-checked form) that every page declares with `Depends`.
"""

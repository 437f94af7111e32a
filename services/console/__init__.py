"""The console (port 8000): accounts, sign-in and the pages every user works in, in Chinese by default.

A backend-for-frontend: the browser holds only the console's session cookie; every page is rendered on the
server from the six services' public HTTP APIs, called with a short-lived token the console mints for the
signed-in user (EdDSA, see ``shared.auth``). The console owns no business data, only accounts.
"""

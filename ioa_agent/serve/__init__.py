"""`ioa serve`: a web page to watch runs and approve, reject or edit their steps.

app.py holds the routes, views.py what the pages show, reading.py how runs are read
without their lock, workers.py the background processes that advance runs,
security.py the access rules (token, CSRF, Origin), policy.py what a run started
from the page may do, server.py the start (token, address, uvicorn); templates/ and
static/ (htmx, vendored) ship with the package.
"""

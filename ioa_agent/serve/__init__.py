"""`ioa serve`: a local web page to watch runs and approve, reject or edit their steps.

app.py holds the routes, views.py what the pages show, workers.py the background
processes that advance runs, security.py the access rules; templates/ and static/
(htmx, vendored) ship with the package.
"""

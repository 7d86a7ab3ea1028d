"""Run reports: `ioa report RUN [RUN ...]` writes a self-contained HTML page.

`data` gathers a run's numbers and decisions from its store and directory,
`figures` draws them as PNG files, `html` renders the page (Jinja2 template in
templates/) with the figures embedded and written beside it. Reports only read runs.
"""

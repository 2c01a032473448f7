"""Keep the static site self-contained and free of JavaScript errors.

Jupyter Book 1 always loads sphinx-thebe, which adds its ``const THEBE_JS_URL = ...``
script once per page build, so pages declare the constant twice (a SyntaxError in the
browser), and it points at a CDN. Live code is off in this book (chapters are re-run in
Jupyter instead), so this extension drops sphinx-thebe's scripts and stylesheet from
every page. It also keeps only the first of two identical script tags (MathJax is
otherwise added twice, which makes MathJax 3 throw "Cannot set property Package").
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    def keep(asset) -> bool:
        text = f"{getattr(asset, 'filename', asset)} {getattr(asset, 'attributes', {}).get('body', '')}"
        return "thebe" not in text.lower()

    for key in ("script_files", "css_files"):
        if key in context:
            seen, kept = set(), []
            for asset in context[key]:
                name = str(getattr(asset, "filename", asset) or "") or id(asset)
                if keep(asset) and name not in seen:
                    seen.add(name)
                    kept.append(asset)
            context[key] = kept


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

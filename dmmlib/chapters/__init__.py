"""One package per chapter of the book, named like its page ``book/chapters/<name>.md``.

Each holds the chapter's ``profiles`` (its knobs under smoke / quick / paper), its
``experiment`` (what the chapter computes, built from the kernels in :mod:`dmmlib`), its
``claims`` (``claims(results, P) -> list[Claim]``) and its ``plots``. A chapter imports
kernels; a kernel never imports a chapter; a chapter never imports another chapter.
"""

"""The map of the papers: every figure, table and appendix of the DMM paper and the companions'
headline results, with where the book reproduces each one, or why it does not.

- :data:`PAPERS` and :data:`CATALOGUE`: every item of each source (figures 1-28, tables 1-2 and
  appendices A-I of the DMM paper; the companions' figures and results), with a short description,
  in the order of the page.
- Each chapter declares the items it reproduces in ``dmmlib/chapters/<name>/paper_items.py``:
  ``ITEMS``, a list of :class:`PaperItem` (the source and the item, ``full`` or ``partial``
  coverage with a one-line note of what is missing, the MyST labels or figure names of the page
  that show it, the ids of the claims that test it, and the scale it runs at, from the chapter's
  profiles). A chapter without that module declares nothing.
- :data:`REASONS`: why the book does not reproduce the items no chapter covers (it needs ImageNet,
  it is a schematic, it is another paper's image, or it is not done yet).
- :func:`check_declarations` refuses a declaration whose item is not in the catalogue, whose
  section is not a label ``(label)=`` or a figure ``:name:`` of the chapter's page, whose claim id
  no claim of the chapter's ``claims.py`` makes, or whose scale does not format with every profile;
  :func:`paper_map_markdown` (called by ``tools/book.py`` when it stages the site) checks them
  all and writes the page: the tally per source (full, partial, absent), then one table per
  source. Links go to ``chapters/<name>.html#<id>`` as the ledger's do.

A kernel: it finds the chapters' declarations by name (``importlib``), as :mod:`dmmlib.params`
finds their profiles, and imports no chapter itself.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from dmmlib import params

PAGES = Path(__file__).resolve().parent.parent / "book" / "chapters"
COVERAGES = ("full", "partial", "absent")


class PaperMapError(ValueError):
    """A chapter's declaration of the paper items it covers is wrong (names what, and where)."""


# -- the sources --------------------------------------------------------------------------------
#: key -> (short name, full reference) of each source the map covers, in the page's order.
PAPERS: dict[str, tuple[str, str]] = {
    "dmm": ("The Dimpled Manifold Model",
            "Shamir, Melamed, BenShmuel (2021), The Dimpled Manifold Model of Adversarial Examples in Machine Learning"),
    "stutz": ("Stutz: adversarial examples leave the manifold",
              "Stutz, blog article on adversarial examples leaving the manifold (after Stutz, Hein, Schiele, CVPR 2019)"),
    "gilmer": ("Adversarial spheres", "Gilmer et al. (2018), Adversarial Spheres"),
    "tanay": ("Boundary tilting", "Tanay, article on the boundary-tilting view (after Tanay and Griffin 2016)"),
    "ilyas": ("Ilyas et al.: training on relabelled adversarial examples",
              "Ilyas et al. (2019), Adversarial examples are not bugs, they are features, as described in section 5.2 "
              "of the DMM paper"),
    "notes": ("Open questions of the reading notes",
              "Reading notes on the DMM paper, with the questions it raises (the book's source 002)"),
    "melamed": ("Open question: two-layer ReLU networks on a low-dimensional subspace",
                "Melamed, Yehudai, Vardi (2023), Adversarial examples exist in two-layer ReLU networks for low "
                "dimensional linear subspaces (NeurIPS), by one of the DMM's authors"),
}

#: The sources whose items are the book's own extensions (part "Open questions"): questions that
#: neither the DMM paper nor a public reproduction answers with an experiment.
EXTENSIONS = ("notes", "melamed")


@dataclass(frozen=True)
class Item:
    """One item of a source: ``paper`` (a key of :data:`PAPERS`), ``item`` ("Figure 6", "Table 1",
    "Appendix I", "Theorem 5.1"), what it shows, and whether the source's item includes ImageNet
    results (a chapter that covers the rest says so beside its note)."""

    paper: str
    item: str
    what: str
    imagenet: bool = False


def _items(paper: str, rows: Iterable[tuple]) -> list[Item]:
    return [Item(paper, *row) for row in rows]


#: Every item of every source, in the page's order.
CATALOGUE: list[Item] = [
    *_items("dmm", [
        ("Figure 1", "The simplistic mental image (left); a 2-D chessboard manifold in the 3-D cube (centre); the "
                     "decision boundary a trained network draws, clinging to it with shallow dimples (right)"),
        ("Figure 2", "Schematic: bending the initial boundary pushes it towards the image manifold"),
        ("Figure 3", "3-D boundaries of the same network trained clean and adversarially (single-step L2 PGD)"),
        ("Figure 4", "Schematic: why a network trained on relabelled adversarial examples (Ilyas et al.) generalises"),
        ("Figure 5", "(a) a boundary clinging to a 1-D line in 2-D, then dimpling; (b) the same for a plane in 3-D"),
        ("Figure 6", "Mean distance from CIFAR-10 test images to the boundary of a ResNet-50 during training"),
        ("Figure 7", "PGD perturbation and its on-/off-manifold projections: MNIST 8 → 2, CIFAR-10 plane → ship"),
        ("Figure 8", "CIFAR-10: separate on- and off-manifold attacks, plane → bird"),
        ("Figure 9", "Appendix B.1, MNIST 9 → 7: perturbation, projections and logits along the line"),
        ("Figure 10", "Appendix B.1, MNIST 2 → 3: perturbation, projections and logits"),
        ("Figure 11", "Appendix B.1, MNIST 6 → 0: perturbation, projections and logits"),
        ("Figure 12", "Appendix B.1, MNIST 8 → 1: perturbation, projections and logits"),
        ("Figure 13", "Appendix B.1, CIFAR-10 plane → bird: perturbation, projections and logits"),
        ("Figure 14", "Appendix B.1, CIFAR-10 plane → ship: perturbation, projections and logits"),
        ("Figure 15", "Appendix B.1, CIFAR-10 plane → bird (second image)"),
        ("Figure 16", "Appendix B.1, CIFAR-10 plane → ship (second image)"),
        ("Figure 17", "Appendix B.1, ImageNet white shark → goldfish: perturbation and projections", True),
        ("Figure 18", "Appendix B.2, MNIST 7 → 9: unconstrained, on- and off-manifold PGD"),
        ("Figure 19", "Appendix B.2, MNIST 7 → 1: separate attacks"),
        ("Figure 20", "Appendix B.2, MNIST 1 → 8: separate attacks"),
        ("Figure 21", "Appendix B.2, CIFAR-10 plane → bird: separate attacks"),
        ("Figure 22", "Appendix B.2, ImageNet white shark → goldfish: separate attacks", True),
        ("Figure 23", "Appendix B.2, ImageNet white shark → goldfish (second image): separate attacks", True),
        ("Figure 24", "Appendix E.1: gradient arrows at the training points of the 2-D and 3-D toy problems"),
        ("Figure 25", "Appendix H: Goodfellow et al. (2014)'s L-inf adversarial panda"),
        ("Figure 26", "Appendix H: multi-step L-inf PGD on an ImageNet image", True),
        ("Figure 27", "Appendix H: an L2 adversarial example of Szegedy et al. (2013)"),
        ("Figure 28", "Appendix H: L2 PGD on an ImageNet image (captioned as Szegedy et al.'s)", True),
        ("Table 1", "Appendix E.2: norm ratio R(d, M) against √(n/k) and the on-manifold effect E, for MNIST, "
                    "CIFAR-10 and ImageNet", True),
        ("Table 2", "Appendix E.3: mean L2 distance of unconstrained, on- and off-manifold PGD, for MNIST, CIFAR-10 "
                    "and ImageNet", True),
        ("Appendix A", "Comparison with other models: robust features (Ilyas, Tsipras), boundary tilting (Tanay), "
                       "concentration of measure (Gilmer), random noise (Fawzi)"),
        ("Appendix B", "More natural-image examples: projections (B.1), separate attacks (B.2), ImageNet (B.3)", True),
        ("Appendix C", "The 2-layer network of the low-dimensional experiments and its training"),
        ("Appendix D", "The local manifold from an autoencoder: finite differences in the code; k per data set", True),
        ("Appendix E", "Adversarial directions are roughly perpendicular to the manifold: low-dimensional (E.1), "
                       "table 1 (E.2), table 2 (E.3)", True),
        ("Appendix F", "The PGD attacks and their on/off-manifold variants: steps, radii, margin loss, greedy stop",
         True),
        ("Appendix G", "The classifiers and autoencoders: MNIST MLP (G.1), CIFAR-10 (G.2), ImageNet (G.3)", True),
        ("Appendix H", "L2 against L-inf adversarial perturbations", True),
        ("Appendix I", "A random vector's norm ratio √(n/k) on a k-dimensional subspace"),
    ]),
    *_items("stutz", [
        ("Figure 1", "Regular against on-manifold adversarial examples (FONTS and MNIST)"),
        ("Figure 2", "How FONTS is generated: a known, differentiable decoder"),
        ("Figure 3", "Histograms of the distance to the manifold: FONTS (known) and MNIST (50 nearest neighbours)"),
        ("FONTS result", "Adversarial examples leave the known manifold; their distance to it nearly equals the "
                         "perturbation's norm (nearly orthogonal)"),
        ("MNIST result", "Adversarial examples lie farther from the approximated manifold than test images and "
                         "on-manifold adversarial examples"),
        ("Outlook", "On-manifold adversarial training improves generalisation"),
    ]),
    *_items("gilmer", [
        ("Figure 1", "2-D slices of the 500-d input space: random, one and two adversarial directions"),
        ("Figure 2", "Accuracy of the ReLU network against the norm (left); the same network at d = 2 (right)"),
        ("Figure 3", "The quadratic network's alpha_i after finite training (left); average against worst-case loss "
                     "from a perfect initialisation (right)"),
        ("Figure 4", "The fraction k/d of coordinates a model must see for a given error rate"),
        ("Figure 5", "Error rate against mean distance to the nearest error, for three networks, against the "
                     "optimal cap"),
        ("Section 3", "Nearest errors of the ReLU network: 0.18 on the sphere, 0.0796 off it"),
        ("Proposition 4.1", "The CLT estimate of the quadratic network's error rate"),
        ("Theorem 5.1", "Any error set of measure mu lies within O(Phi^-1(1-mu)/sqrt(d)) of a random point"),
    ]),
    *_items("tanay", [
        ("Figure 1", "Adversarial examples of an Inception v3 network on ImageNet"),
        ("Figure 2", "Linear classifiers have adversarial examples too"),
        ("Figure 3", "A toy problem: dimensionality is neither necessary nor sufficient"),
        ("Figure 4", "The manifold of normal data and the boundaries of the toy problem's weight vectors"),
        ("Figure 5", "MNIST 2 vs 3 projected onto the tilting plane of a linear SVM"),
        ("Figure 6", "L2 regularisation controls the tilt and the adversarial perturbation"),
        ("Figure 7", "The boundary tilting between the weakest and strongest regularisation, in 3-D"),
    ]),
    *_items("notes", [
        ("Redundant dimensions", "Is the DMM's story only that k << n (an SVM-like argument)? Distances and gradients "
                                 "at a fixed data manifold as the ambient dimension n grows"),
        ("Projection onto the manifold", "Does classifying the autoencoder's reconstruction defend, and does its "
                                         "reconstruction error detect adversarial examples, against adaptive attacks?"),
    ]),
    *_items("melamed", [
        ("Orthogonal gradients", "Gradient methods give two-layer ReLU networks large gradients orthogonal to the "
                                 "low-dimensional data subspace"),
        ("Orthogonal perturbations", "The networks are vulnerable to small L2 perturbations orthogonal to the data "
                                     "subspace"),
        ("Initialisation and regularisation", "A smaller initialisation scale, or L2 regularisation, makes the "
                                              "networks more robust to perturbations orthogonal to the data"),
    ]),
    *_items("ilyas", [
        ("D_rand", "A fresh network trained only on targeted adversarial examples labelled with random targets "
                   "classifies the clean test set (CIFAR-10: 63.3 %)"),
        ("D_det", "The same with the target y + 1 (CIFAR-10: about 44 %)"),
        ("Non-robust features", "Ilyas et al.'s account: the fresh network learns only non-robust features"),
    ]),
]


# -- why the book does not reproduce an item ------------------------------------------------------
REASON_KINDS = {
    "imagenet": "needs ImageNet",
    "schematic": "a schematic or illustration",
    "other-paper": "another paper's image",
    "not-done": "not done yet",
}


@dataclass(frozen=True)
class Reason:
    """Why the book does not reproduce an item: ``kind`` (a key of :data:`REASON_KINDS`), in words,
    and for ImageNet the command that runs it when the data is present ("" when none does yet)."""

    kind: str
    text: str
    command: str = ""

    def html(self) -> str:
        out = f"<strong>{escape(REASON_KINDS[self.kind])}</strong>: {escape(self.text)}"
        if self.kind == "imagenet":
            out += (f" With the data present: <code>{escape(self.command)}</code>." if self.command
                    else " No command runs it yet: not done yet.")
        return out


#: The ImageNet part of the DMM paper: what it needs and the command that runs it where the data is.
IMAGENET = Reason("imagenet", "the goldfish and great-white-shark classes of ImageNet, a pretrained ResNet-50 and an "
                  "autoencoder with a 3584-dimensional code (appendices D.3, G.3). The chapter on adversarial "
                  "examples on and off the manifold runs the ImageNet rows of tables 1-2, appendix B.1 and figures "
                  "17, 22, 23, 26 and 28 when ImageNet and ResNet-50 weights are present; the path is tested end to "
                  "end on a fake folder with a stand-in classifier (tests/test_imagenet.py), never on real ImageNet "
                  "here.",
                  command="DMM_IMAGENET=/path/to/imagenet DMM_RESNET50_WEIGHTS=/path/to/resnet50-0676ba61.pth "
                          "make chapter NAME=on_off_manifold")

#: Why the book does not reproduce the items that no chapter covers.
REASONS: dict[tuple[str, str], Reason] = {
    ("dmm", "Figure 17"): IMAGENET,
    ("dmm", "Figure 22"): IMAGENET,
    ("dmm", "Figure 23"): IMAGENET,
    ("dmm", "Figure 25"): Reason("other-paper", "the panda of Goodfellow et al. (2014). What it illustrates (an L-inf "
                                "perturbation looks like uniform noise) is drawn on MNIST and CIFAR-10 for figure 26."),
    ("dmm", "Figure 27"): Reason("other-paper", "an adversarial example of Szegedy et al. (2013). What it illustrates "
                                "(an L2 perturbation follows the object) is drawn on MNIST and CIFAR-10 for figure 28."),
    ("tanay", "Figure 1"): Reason("schematic", "an illustration of the phenomenon on ImageNet (Inception v3), not a "
                                  "result of the article. The boundary-tilting picture of a linear classifier (Tanay "
                                  "and Griffin 2016, figure 1) is computed from the book's own SVMs in the chapter on "
                                  "boundary tilting (its figure of the tilting picture), declared under figure 7."),
}


# -- what a chapter declares -------------------------------------------------------------------
@dataclass(frozen=True)
class PaperItem:
    """One item of a source that a chapter reproduces (declared in its ``paper_items.py``).

    ``paper`` (a key of :data:`PAPERS`) and ``item`` (as in :data:`CATALOGUE`: "Figure 6");
    ``coverage``: "full" or "partial"; ``sections``: the MyST labels ``(label)=`` or figure names
    (``:name:``) of the chapter's page that show it (each one a link); ``claims``: ids
    ``<chapter>.<name>`` of the chapter's claims that test it; ``scale``: what the chapter runs, a
    text with ``{knob}`` fields of the chapter's profiles (``{n_images[mnist]}``) or a function of
    the resolved parameters returning one; ``note``: what is missing (required when partial) or a
    remark on a full reproduction."""

    paper: str
    item: str
    coverage: str
    sections: tuple[str, ...]
    claims: tuple[str, ...] = ()
    scale: str | Callable[[Mapping[str, Any]], str] = ""
    note: str = ""


def declarations(chapters: Sequence[str]) -> dict[str, list[PaperItem]]:
    """{chapter: its declared items} for ``chapters`` (a chapter without ``paper_items.py``: [])."""
    out = {}
    for name in chapters:
        module = f"dmmlib.chapters.{name}.paper_items"
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # no package dmmlib.chapters.<name>
            found = False
        out[name] = list(importlib.import_module(module).ITEMS) if found else []
    return out


class Target(NamedTuple):
    """A place a link can go on a chapter's page: a MyST label (``kind`` "section", ``heading``
    the heading under it) or a figure name (``kind`` "figure", ``heading`` the heading of the
    section holding it, ``number`` its rank among the page's captioned figures, from 1: Sphinx
    numbers them through the book in this order)."""

    kind: str
    heading: str
    number: int = 0


FIGURE = re.compile(r"^(`{3,}|:{3,})\{(glue:)?figure\}")


def page_targets(text: str) -> dict[str, Target]:
    """{target: :class:`Target`} for a chapter page's MyST labels ``(label)=`` and the names
    (``:name: x``) of its figures (``{glue:figure}`` or ``{figure}`` blocks). A label mentioned in
    prose is none, and a comment in a code cell is no heading."""
    out: dict[str, Target] = {}
    lines = text.splitlines()
    heading, figures, fence, in_figure = "", 0, "", False
    for i, line in enumerate(lines):
        if fence:  # inside a fenced block: only a figure's options count
            if line.strip() == fence:
                fence, in_figure = "", False
            elif in_figure and re.match(r"^:name:\s*(\S+)\s*$", line):
                out[line.split(":name:", 1)[1].strip()] = Target("figure", heading, figures)
            continue
        opening = re.match(r"^(`{3,}|:{3,})", line)
        if opening:
            fence, in_figure = opening.group(1), bool(FIGURE.match(line))
            figures += in_figure
            continue
        if re.match(r"^#{1,6} ", line):
            heading = _plain(line.lstrip("#").strip())
        label = re.match(r"^\(([^()\s]+)\)=\s*$", line)
        if label:
            nxt = next((x for x in lines[i + 1:] if x.strip()), "")
            out[label.group(1)] = Target("section", _plain(nxt.lstrip("#").strip()) if nxt.startswith("#")
                                         else label.group(1))
    return out


def figure_count(text: str) -> int:
    """How many captioned figures a page has (Sphinx numbers them through the book)."""
    count, fence = 0, ""
    for line in text.splitlines():
        if fence:
            fence = "" if line.strip() == fence else fence
            continue
        opening = re.match(r"^(`{3,}|:{3,})", line)
        if opening:
            fence = opening.group(1)
            count += bool(FIGURE.match(line))
    return count


def page_title(text: str) -> str:
    """The first level-1 heading of a page (after its front matter), or ""."""
    m = re.search(r"^# (.+)$", re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S), re.M)
    return _plain(m.group(1).strip()) if m else ""


def claim_templates(source: str) -> list[re.Pattern]:
    """The claim ids a ``claims.py`` can make, as patterns: every string literal or f-string of the
    form ``<chapter>.<name>``, with the module's own string constants substituted (``{CHAPTER}``)
    and any other field matching a word (``{ds}``: ``mnist``, ``cifar10``)."""
    tree = ast.parse(source)
    constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for t in node.targets if isinstance(t, ast.Name)}
    patterns = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = re.escape(node.value)
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(re.escape(str(v.value)))
                elif isinstance(v.value, ast.Name) and v.value.id in constants and v.format_spec is None:
                    parts.append(re.escape(constants[v.value.id]))
                else:
                    parts.append(r"\w*")
            text = "".join(parts)
        else:
            continue
        if re.fullmatch(r"\w+\\\.[\w\\*]+", text):  # <chapter>.<name>, with or without fields
            patterns.append(re.compile(text))
    return patterns


class _Shown:
    """A knob's value in a scale's ``{field}``: written for a reader (:func:`dmmlib.report.fmt_value`,
    never a Python repr), indexable (``{models[mnist]}``), and formatted by an explicit spec."""

    def __init__(self, value):
        self.value = value

    def __getitem__(self, key):
        return _Shown(self.value[key])

    def __format__(self, spec: str) -> str:
        from dmmlib.report import fmt_value

        return format(self.value, spec) if spec else fmt_value(self.value)


def scale_text(chapter: str, item: PaperItem, profile: str) -> str:
    """``item.scale`` with the values of the chapter's ``profile``."""
    P = params.resolve(chapter, profile)
    return item.scale(P) if callable(item.scale) else item.scale.format(**{k: _Shown(v) for k, v in P.items()})


def _claims_path(chapter: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(f"dmmlib.chapters.{chapter}.claims")
    except ModuleNotFoundError:
        return None
    return Path(spec.origin) if spec and spec.origin else None


def check_declarations(chapter: str, items: Sequence[PaperItem], page: str, claims_source: str | None,
                       profiles: Sequence[str] = params.PROFILE_NAMES) -> None:
    """Raise :class:`PaperMapError` unless every item ``chapter`` declares is in the catalogue, is
    covered "full" or "partial" (partial with a note of what is missing), names at least one
    section, every section is a label or figure name of ``page`` (the chapter's Markdown), every
    claim id is ``<chapter>.<name>`` and made by ``claims_source`` (its ``claims.py``), and its
    scale formats with every profile."""
    known = {(i.paper, i.item) for i in CATALOGUE}
    targets = page_targets(page)
    templates = claim_templates(claims_source) if claims_source is not None else []
    seen = set()
    for it in items:
        if not isinstance(it, PaperItem):
            raise PaperMapError(f"{chapter}: ITEMS holds {it!r}, not a PaperItem")
        where = f"{chapter}: {it.paper} {it.item!r}"
        if (it.paper, it.item) not in known:
            raise PaperMapError(f"{where} is not in the catalogue (dmmlib/paper_map.py CATALOGUE)")
        if (it.paper, it.item) in seen:
            raise PaperMapError(f"{where} is declared twice")
        seen.add((it.paper, it.item))
        if it.coverage not in ("full", "partial"):
            raise PaperMapError(f"{where}: coverage {it.coverage!r}, not 'full' or 'partial'")
        if it.coverage == "partial" and not it.note.strip():
            raise PaperMapError(f"{where}: a partial coverage needs a note of what is missing")
        if isinstance(it.sections, str) or not it.sections:
            raise PaperMapError(f"{where}: sections must be a non-empty tuple of labels")
        for label in it.sections:
            if label not in targets:
                raise PaperMapError(f"{where}: section {label!r} is neither a label '({label})=' nor a figure "
                                    f"':name: {label}' of the chapter's page")
        if isinstance(it.claims, str):
            raise PaperMapError(f"{where}: claims must be a tuple of ids")
        for cid in it.claims:
            if not cid.startswith(f"{chapter}."):
                raise PaperMapError(f"{where}: claim {cid!r} is not one of this chapter's ('{chapter}.<name>')")
            if not any(t.fullmatch(cid) for t in templates):
                raise PaperMapError(f"{where}: no claim of the chapter's claims.py makes the id {cid!r}")
        for profile in profiles:
            try:
                scale_text(chapter, it, profile)
            except (KeyError, IndexError, AttributeError, TypeError, ValueError) as err:
                raise PaperMapError(f"{where}: its scale does not format with profile {profile!r}: {err!r}") from err


# -- the merged map ----------------------------------------------------------------------------
@dataclass
class Row:
    """One catalogue item with the chapters' declarations of it and its coverage: "full" if a
    chapter reproduces it fully, "partial" if chapters cover parts of it, else "absent"."""

    item: Item
    entries: list[tuple[str, PaperItem]]
    reason: Reason | None = None

    @property
    def coverage(self) -> str:
        covers = {p.coverage for _, p in self.entries}
        return "full" if "full" in covers else "partial" if covers else "absent"


def merge(declared: Mapping[str, Sequence[PaperItem]]) -> list[Row]:
    """The catalogue in order, each item with the declarations that cover it and, when none does,
    its reason (:data:`REASONS`; "not done yet" when it has none). Raises :class:`PaperMapError`
    for a declared item that is not in the catalogue."""
    rows = {(i.paper, i.item): Row(i, []) for i in CATALOGUE}
    for chapter, items in declared.items():
        for it in items:
            if (it.paper, it.item) not in rows:
                raise PaperMapError(f"{chapter}: {it.paper} {it.item!r} is not in the catalogue "
                                    "(dmmlib/paper_map.py CATALOGUE)")
            rows[(it.paper, it.item)].entries.append((chapter, it))
    for key, row in rows.items():
        if not row.entries:
            row.reason = REASONS.get(key, Reason("not-done", "no chapter reproduces it yet."))
    return list(rows.values())


def counts(rows: Sequence[Row]) -> dict[str, dict[str, int]]:
    """{paper: {"full": n, "partial": n, "absent": n}} over ``rows``."""
    out = {p: dict.fromkeys(COVERAGES, 0) for p in PAPERS}
    for r in rows:
        out[r.item.paper][r.coverage] += 1
    return out


def paper_map_markdown(chapters: Sequence[str], pages: Path = PAGES, profile: str = "quick") -> str:
    """The page's body (Markdown with HTML tables) for the book's ``chapters`` (in book order),
    whose pages are ``pages/<name>.md``, at the scale of ``profile``; every declaration is checked
    first (:func:`check_declarations`)."""
    declared = declarations(chapters)
    titles, targets, before = {}, {}, 0
    for name, items in declared.items():  # in book order: figures are numbered through the book
        page = Path(pages) / f"{name}.md"
        text = page.read_text() if page.exists() else ""
        titles[name] = page_title(text) or name
        targets[name] = {k: t._replace(number=t.number + before) if t.kind == "figure" else t
                         for k, t in page_targets(text).items()}
        before += figure_count(text)
        if items:
            if not page.exists():
                raise PaperMapError(f"{name}: declares paper items but has no page {page}")
            path = _claims_path(name)
            check_declarations(name, items, text, path.read_text() if path else None)
    rows = merge(declared)
    tally = counts(rows)
    total = {c: sum(t[c] for t in tally.values()) for c in COVERAGES}
    out = [f"Each item of the papers, and where the book reproduces it, generated from what the chapters declare "
           f"(`dmmlib/chapters/<name>/paper_items.py`, checked against their pages and claims) and the catalogue "
           f"of the papers (`dmmlib/paper_map.py`). Scales are those of this build's profile, `{profile}`, and of "
           f"`paper`. *Full*: the book computes the item as the source describes it; *partial*: a part of it, or "
           f"on other data or a smaller setting (the row says what is missing); *absent*: not reproduced, with the "
           f"reason.", "",
           _tally_html(tally, total), "",
           f'<p id="dmm-imagenet">The ImageNet part of the DMM paper ('
           + ", ".join(escape(i.item) for i in CATALOGUE if i.paper == "dmm" and i.imagenet)
           + f'): {IMAGENET.html()}</p>', ""]
    for paper, (short, reference) in PAPERS.items():
        mine = [r for r in rows if r.item.paper == paper]
        k = tally[paper]
        own = (" The book's own extension (part *Open questions*): no public reproduction answers it with an "
               "experiment." if paper in EXTENSIONS else "")
        out += [f"## {short}", "", f"{escape(reference)}. {len(mine)} items: {k['full']} full, {k['partial']} "
                f"partial, {k['absent']} absent.{own}", "", _table_html(paper, mine, titles, targets, profile), ""]
    return "\n".join(out) + "\n"


# -- HTML --------------------------------------------------------------------------------------
def html_id(label: str) -> str:
    """The HTML id Sphinx gives a MyST label or a figure name (docutils' ``make_id``: lower case,
    runs of other characters as one hyphen), as :mod:`dmmlib.ledger` links them."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _plain(text: str) -> str:
    """A heading without MyST math markup: ``$\\epsilon$`` as ε, other ``$`` and backslashes dropped."""
    def math(m: re.Match) -> str:
        inner = m.group(1).replace("\\epsilon", "ε").replace("\\lambda", "λ")
        return re.sub(r"_\{?(\d)\}?", lambda d: "₀₁₂₃₄₅₆₇₈₉"[int(d.group(1))], inner).replace("\\", "")

    return re.sub(r"\$([^$]*)\$", math, text).replace("$", "")


def _tally_html(tally: Mapping[str, Mapping[str, int]], total: Mapping[str, int]) -> str:
    head = "<tr><th>source</th><th>items</th><th>full</th><th>partial</th><th>absent</th></tr>"
    body = "".join(f'<tr data-paper="{p}"><td>{escape(PAPERS[p][0])}</td><td>{sum(t.values())}</td>'
                   + "".join(f'<td data-coverage="{c}">{t[c]}</td>' for c in COVERAGES) + "</tr>"
                   for p, t in tally.items())
    body += (f'<tr data-paper="all"><td><strong>all</strong></td><td>{sum(total.values())}</td>'
             + "".join(f'<td data-coverage="{c}">{total[c]}</td>' for c in COVERAGES) + "</tr>")
    return f'<div class="dmm-table dmm-paper-map-tally"><table>{head}{body}</table></div>'


def _scale_html(chapter: str, it: PaperItem, profile: str) -> str:
    """The scale at ``profile`` and, when it differs, at ``paper``."""
    if not it.scale:
        return ""
    here, paper = scale_text(chapter, it, profile), scale_text(chapter, it, "paper")
    if profile == "paper" or here == paper:
        both = f"<code>{escape(profile)}</code>" + (" and <code>paper</code>" if profile != "paper" else "")
        return f"{both}: {escape(here)}"
    return f"<code>{escape(profile)}</code>: {escape(here)}<br><code>paper</code>: {escape(paper)}"


def _links_html(chapter: str, sections: Sequence[str], targets: Mapping[str, Target]) -> str:
    """Links to ``sections`` grouped by the section that holds them: the heading (linked when a
    label is declared), then its declared figures by rank ("figure 2")."""
    groups: dict[str, list[str]] = {}
    for s in sections:
        groups.setdefault(targets[s].heading, []).append(s)
    out = []
    for heading, members in groups.items():
        def a(s: str, text: str) -> str:
            return f'<a href="chapters/{escape(chapter)}.html#{html_id(s)}">{escape(text)}</a>'
        label = next((s for s in members if targets[s].kind == "section"), None)
        figures = [a(s, f"Fig. {targets[s].number}") for s in members if targets[s].kind == "figure"]
        if label:
            out.append(a(label, heading) + (f" ({', '.join(figures)})" if figures else ""))
        else:
            out.append(f"{escape(heading)}: {', '.join(figures)}")
    return "; ".join(out)


def _entry_html(chapter: str, it: PaperItem, title: str, targets: Mapping[str, Target], profile: str) -> str:
    """One chapter's declaration: its links, its note, and its claims and scale folded."""
    out = f"<em>{escape(title)}</em>: {_links_html(chapter, it.sections, targets)}"
    if it.note:
        out += f'<br><span class="dmm-paper-map-note">{escape(it.note)}</span>'
    scale = _scale_html(chapter, it, profile)
    folded = []
    if it.claims:
        folded.append("Claims: " + ", ".join(f"<code>{escape(c)}</code>" for c in it.claims))
    if scale:
        folded.append(f"Scale, {scale}")
    if folded:
        n = f"{len(it.claims)} claim{'s' if len(it.claims) != 1 else ''}"
        what = f"{n} and the scale" if it.claims and scale else n if it.claims else "the scale"
        out += (f'<details class="dmm-claim-details"><summary>{what}</summary>'
                + "".join(f"<p>{f}</p>" for f in folded) + "</details>")
    return f'<div class="dmm-paper-map-entry">{out}</div>'


def _table_html(paper: str, rows: Sequence[Row], titles: Mapping[str, str], targets: Mapping[str, Mapping[str, str]],
                profile: str) -> str:
    head = "<tr><th>item</th><th>what it shows</th><th>coverage</th><th>where the book reproduces it, or why not</th></tr>"
    body = []
    for r in rows:
        cov = r.coverage
        if not r.entries:
            cell = (r.reason.html() if r.reason is not IMAGENET
                    else '<strong>needs ImageNet</strong>; not done yet (<a href="#dmm-imagenet">why</a>).')
        else:
            cell = "".join(_entry_html(ch, it, titles.get(ch, ch), targets[ch], profile) for ch, it in r.entries)
            if cov == "partial" and r.item.imagenet:
                cell += ('<span class="dmm-paper-map-note">ImageNet part: <strong>needs ImageNet</strong>; not done '
                         'yet (<a href="#dmm-imagenet">why</a>).</span>')
        body.append(f'<tr data-coverage="{cov}"><td>{escape(r.item.item)}</td><td>{escape(r.item.what)}</td>'
                    f'<td class="dmm-coverage-{cov}">{cov}</td><td>{cell}</td></tr>')
    return f'<div class="dmm-table dmm-paper-map" data-paper="{paper}"><table>{head}{"".join(body)}</table></div>'

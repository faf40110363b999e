"""HTML mail to the text a reader would see, for the prompt and the UI.

Most mail is HTML-only or sends a useless plain alternative; the model needs the visible text
and where links go, not markup. Pure and offline: nothing is fetched, resolved or run.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from tui.mail.parsing.plain_text import normalise_text

# Mail clients run no scripts, so <noscript> content is visible and stays.
_SKIP_TAGS = {"script", "style", "head", "title", "template", "svg", "math"}
_BLOCK_TAGS = {
    "div",
    "tr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "form",
    "fieldset",
    "address",
    "center",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "caption",
    "details",
    "summary",
}
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_VOID_TAGS = {
    "br",
    "hr",
    "img",
    "meta",
    "link",
    "input",
    "col",
    "area",
    "base",
    "wbr",
    "source",
    "embed",
    "param",
    "track",
}
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# Nested-list indentation must survive whitespace normalisation, which strips line starts; a
# private-use character stands in for it until then.
_INDENT = "\ue000"


def _same_link(label: str, href: str) -> bool:
    """True when the label already says where the link goes (no need to repeat the URL)."""

    def canon(value: str) -> str:
        value = value.strip().lower()
        for prefix in ("mailto:", "https://", "http://", "www."):
            value = value.removeprefix(prefix)
        return value.rstrip("/")

    return canon(label) == canon(href)


class _TextExtractor(HTMLParser):
    """Collects visible text; never resolves, fetches or runs anything it sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip: list[str] = []
        self._pre = 0
        self._list_depth = 0
        self._cells = 0
        self._links: list[tuple[str, int]] = []
        # True right after "- ": Outlook wraps every list item's text in <p>, which must not
        # push the text onto a line of its own.
        self._after_bullet = False

    def _tail(self) -> tuple[int, bool]:
        """(newlines at the end of the output, whether the current line has text)."""
        newlines = 0
        for chunk in reversed(self.parts):
            for char in reversed(chunk):
                if char == "\n":
                    newlines += 1
                elif not (char.isspace() or char == _INDENT):
                    return newlines, newlines == 0
        return -1, False  # start of the document: no line breaks needed

    def _newlines(self, count: int) -> None:
        # Adjacent block boundaries share their line breaks instead of stacking blank lines.
        if self._after_bullet:
            return
        have, _ = self._tail()
        if 0 <= have < count:
            self.parts.append("\n" * (count - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            # An unclosed <head> must not swallow the whole document.
            self._skip.clear()
            return
        if tag in _SKIP_TAGS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self._after_bullet = False
            self._newlines(1)
            self.parts.append(_INDENT * max(self._list_depth - 1, 0) + "- ")
            self._after_bullet = True
        elif tag in ("ul", "ol"):
            self._list_depth += 1
            self._newlines(1)
        elif tag in _PARAGRAPH_TAGS:
            self._newlines(1 if self._list_depth else 2)  # no blank lines inside a list
        elif tag in ("td", "th"):
            # Layout tables (most HTML mail) put whole blocks in cells: a separator only
            # between cells that share a line with text.
            if self._cells and self._tail()[1]:
                self.parts.append(" | ")
            self._cells += 1
        elif tag in _BLOCK_TAGS:
            if tag == "tr":
                self._cells = 0
            if tag == "pre":
                self._pre += 1
            self._newlines(1)
        elif tag == "a":
            href = next((v for k, v in attrs if k == "href" and v), "")
            self._links.append((href.strip(), len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:  # "<div/>" is an empty element, "<br/>" one line break
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if self._skip:
            return
        if tag in ("ul", "ol"):
            self._list_depth = max(self._list_depth - 1, 0)
            self._newlines(1)
        elif tag in _PARAGRAPH_TAGS:
            self._newlines(1 if self._list_depth else 2)  # no blank lines inside a list
        elif tag == "li" or tag in _BLOCK_TAGS:
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
            self._newlines(1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = " ".join("".join(self.parts[start:]).split())
            if href.lower().startswith(_LINK_SCHEMES) and not _same_link(label, href):
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self._skip or not data:
            return
        if not data.isspace():
            self._after_bullet = False
        # Outside <pre>, HTML whitespace (newlines included) renders as one space.
        self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # html.parser asserts on unknown "<![keyword[" sections; skip them like a browser.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1


_TAG_RE = re.compile(r"<[^>]*>")
_DROP_BLOCK_RE = re.compile(r"<(script|style|head|title)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)


def html_to_text(html_source: str) -> str:
    """Visible text of an HTML document, with links as "label (url)"; pure and offline."""
    try:
        parser = _TextExtractor()
        parser.feed(html_source)
        parser.close()
        text = "".join(parser.parts)
    except Exception:
        # Last resort for HTML that trips the parser: strip tags with regular expressions.
        stripped = _DROP_BLOCK_RE.sub(" ", html_source)
        stripped = re.sub(r"<(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", "\n", stripped, flags=re.I)
        text = html.unescape(_TAG_RE.sub(" ", stripped))
    return normalise_text(text).replace(_INDENT, "  ")

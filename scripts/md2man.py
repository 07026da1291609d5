#!/usr/bin/python3
"""Turns Signpost's man sources (markdown, man/*.md) into man pages.

    md2man.py [-D NAME=VALUE]... [-o OUT] SOURCE.md

The first line of SOURCE names the page: `# name(section) -- summary`.
A line `<!-- include PATH -->` (PATH relative to SOURCE's folder) inserts
another markdown file, minus its `#` title: that is how signpost.yaml(5)
is generated from docs/configuration.md. `@NAME@` is replaced by a -D
value (VERSION, DOCDIR, ...); the page date is SOURCE_DATE_EPOCH's day,
or else the newest input's modification day.

Only the markdown the docs use is understood: `#`-headings, paragraphs,
fenced code, `-`/`1.` lists (with indented continuation lines), pipe
tables, and inline code, bold, italics and links. A table becomes a list
of tagged paragraphs (first column as the tag), which reads better on an
80-column terminal than a grid. The output is plain ASCII (anything else
is written as a groff \\[uXXXX] escape), so `groff -man -ww` needs no
preprocessor and prints no warning.
"""

import argparse
import os
import re
import sys
import time

TITLE_RE = re.compile(r"^#\s+([\w.+-]+)\((\d)\)\s+--\s+(.*)$")
INCLUDE_RE = re.compile(r"^<!--\s*include\s+(\S+)\s*-->\s*$")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BULLET_RE = re.compile(r"^(\s*)[-*]\s+(.*)$")
NUMBER_RE = re.compile(r"^(\s*)(\d+)\.\s+(.*)$")
FENCE_RE = re.compile(r"^(\s*)(```|~~~)")
TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
INLINE_RE = re.compile(
    r"(?P<code>`+)(?P<codetext>.+?)(?P=code)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*?[^*\s])?)\*(?![\w*])"
    r"|(?<!\w)_(?P<em2>[^_\s](?:[^_]*?[^_\s])?)_(?!\w)"
    r"|\[(?P<ltext>[^\]]+)\]\((?P<lurl>[^)\s]+)\)"
    r"|<(?P<autourl>https?://[^>\s]+)>")

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]


class Md2ManError(Exception):
    pass


def escape(text):
    """Plain text to troff: backslashes, non-ASCII, no leading dot/quote
    (handled per output line)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\e")
        elif ord(ch) > 126:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def escape_literal(text):
    """Code: as escape(), and '-' as a real minus so options copy right."""
    return escape(text).replace("-", "\\-")


def unescape_md(text):
    """Markdown backslash escapes (\\| in tables, \\* ...) to the char."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", text)


def inline(text, font="R"):
    """Markdown inline markup to troff, ending in font `font`."""
    out = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        out.append(escape(unescape_md(text[pos:m.start()])))
        if m.group("codetext") is not None:
            out.append("\\fB%s\\f%s" % (escape_literal(
                m.group("codetext").strip()), font))
        elif m.group("bold") is not None:
            out.append("\\fB%s\\f%s" % (inline(m.group("bold"), "B"), font))
        elif m.group("em") is not None or m.group("em2") is not None:
            t = m.group("em") if m.group("em") is not None else m.group("em2")
            out.append("\\fI%s\\f%s" % (inline(t, "I"), font))
        elif m.group("ltext") is not None:
            url = m.group("lurl")
            out.append(inline(m.group("ltext"), font))
            if re.match(r"https?://", url) and url != m.group("ltext"):
                out.append(" <%s>" % escape(url))
        else:
            out.append("<%s>" % escape(m.group("autourl")))
        pos = m.end()
    out.append(escape(unescape_md(text[pos:])))
    return "".join(out)


def protect(line):
    """A line starting with . or ' would be a request: guard it."""
    if line.startswith(".") or line.startswith("'"):
        return "\\&" + line
    return line


def split_row(line):
    cells = []
    cur = []
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    i = 0
    in_code = False
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s) and s[i + 1] == "|":
            cur.append("\\|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


class Converter:
    def __init__(self, defines):
        self.defines = defines
        self.out = []
        self.mtime = 0.0

    def emit(self, line):
        self.out.append(protect(line))

    def substitute(self, text, where):
        def repl(m):
            if m.group(1) not in self.defines:
                raise Md2ManError("%s: @%s@ has no -D value" %
                                  (where, m.group(1)))
            return self.defines[m.group(1)]
        return re.sub(r"@([A-Z][A-Z0-9_]*)@", repl, text)

    def read(self, path, top):
        """Lines of path with includes expanded; an included file loses
        its title line."""
        self.mtime = max(self.mtime, os.stat(path).st_mtime)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        result = []
        dropped_title = top
        for n, line in enumerate(lines, 1):
            where = "%s:%d" % (path, n)
            m = INCLUDE_RE.match(line)
            if m:
                inc = os.path.join(os.path.dirname(path), m.group(1))
                result.extend(self.read(inc, False))
                continue
            if not dropped_title and line.startswith("# "):
                dropped_title = True
                continue
            result.append(self.substitute(line, where))
        return result

    def convert(self, path):
        lines = self.read(path, True)
        m = TITLE_RE.match(lines[0]) if lines else None
        if m is None:
            raise Md2ManError("%s:1: first line must be "
                              "'# name(section) -- summary'" % path)
        name, section, summary = m.groups()
        self.header(name, section, summary)
        self.blocks(lines[1:])
        return "\n".join(self.out) + "\n"

    def header(self, name, section, summary):
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        t = time.gmtime(int(epoch) if epoch else self.mtime)
        date = "%s %d, %d" % (MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_year)
        version = self.defines.get("VERSION", "")
        manual = {"5": "File Formats Manual",
                  "8": "System Manager's Manual"}.get(section, "")
        self.out.append('.\\" Generated by scripts/md2man.py; do not edit.')
        self.out.append('.TH "%s" "%s" "%s" "signpost %s" "%s"' % (
            escape(name.upper()), section, date, escape(version), manual))
        # No hyphenation and no justification: pages full of dotted keys
        # and paths read better with ragged lines than with split words.
        self.out.append(".nh")
        self.out.append(".ad l")
        self.out.append(".SH NAME")
        self.out.append("%s \\- %s" % (escape_literal(name), inline(summary)))

    # Block level: a small state machine over the lines.
    def blocks(self, lines):
        i = 0
        n = len(lines)
        while i < n:
            line = lines[i]
            if not line.strip():
                i += 1
                continue
            if line.lstrip().startswith("<!--"):
                while i < n and "-->" not in lines[i]:
                    i += 1
                i += 1
                continue
            hm = HEADING_RE.match(line)
            if hm:
                level, text = len(hm.group(1)), hm.group(2)
                if level <= 2:
                    self.out.append('.SH "%s"' % inline(text.upper())
                                    .replace('"', '\\(dq'))
                else:
                    self.out.append('.SS "%s"' % inline(text)
                                    .replace('"', '\\(dq'))
                i += 1
                continue
            fm = FENCE_RE.match(line)
            if fm:
                i = self.code(lines, i, fm)
                continue
            if line.lstrip().startswith("|") and i + 1 < n and \
                    TABLE_SEP_RE.match(lines[i + 1]):
                i = self.table(lines, i)
                continue
            if BULLET_RE.match(line) or NUMBER_RE.match(line):
                i = self.list_items(lines, i)
                continue
            i = self.paragraph(lines, i)

    def code(self, lines, i, fm):
        indent, fence = len(fm.group(1)), fm.group(2)
        i += 1
        body = []
        while i < len(lines) and not lines[i].lstrip().startswith(fence):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == ""
                        else lines[i])
            i += 1
        if i >= len(lines):
            raise Md2ManError("unterminated code block")
        i += 1
        self.out.append(".PP")
        self.out.append(".RS 4")
        self.out.append(".nf")
        for b in body:
            self.out.append(protect(escape(b)) if b else "")
        self.out.append(".fi")
        self.out.append(".RE")
        return i

    def paragraph(self, lines, i):
        text = []
        while i < len(lines):
            line = lines[i]
            if not line.strip() or HEADING_RE.match(line) or \
                    FENCE_RE.match(line) or BULLET_RE.match(line) or \
                    NUMBER_RE.match(line) or \
                    (line.lstrip().startswith("|") and i + 1 < len(lines)
                     and TABLE_SEP_RE.match(lines[i + 1])):
                break
            text.append(line.strip())
            i += 1
        self.out.append(".PP")
        self.flow(" ".join(text))
        return i

    def flow(self, text, font="R"):
        """Inline text, one output line per sentence-ish chunk, so no line
        starts with a control character and diffs stay readable."""
        rendered = inline(text, font)
        # A new line after each sentence end, so troff puts two spaces
        # there (also after a font change that closes the sentence).
        rendered = re.sub(r"([.?!](?:\\f[RBIP])?) (?=\S)", "\\1\n",
                          rendered)
        for part in rendered.split("\n"):
            self.emit(part)

    def list_items(self, lines, i):
        """A run of list items at one indent; continuation lines (indented,
        or plain text right after) belong to the current item; an indented
        code block inside an item is kept."""
        while i < len(lines):
            line = lines[i]
            bm = BULLET_RE.match(line)
            nm = NUMBER_RE.match(line)
            if not (bm or nm):
                break
            if bm:
                indent, first = len(bm.group(1)), bm.group(2)
                self.out.append(".IP \\(bu 2")
            else:
                indent, first = len(nm.group(1)), nm.group(3)
                self.out.append(".IP %s. 4" % nm.group(2))
            i += 1
            text = [first]
            while i < len(lines):
                nxt = lines[i]
                if not nxt.strip():
                    # A blank line ends the item unless indented content
                    # (more text or code) follows.
                    if i + 1 < len(lines) and lines[i + 1].startswith(
                            " " * (indent + 2)) and lines[i + 1].strip():
                        i += 1
                        if text:
                            self.flow(" ".join(text))
                            text = []
                        self.out.append(".IP \"\" %d" % (
                            2 if bm else 4))
                        continue
                    break
                fm = FENCE_RE.match(nxt)
                if fm and len(fm.group(1)) > indent:
                    if text:
                        self.flow(" ".join(text))
                        text = []
                    i = self.code(lines, i, fm)
                    self.out.append(".IP \"\" %d" % (2 if bm else 4))
                    continue
                if BULLET_RE.match(nxt) or NUMBER_RE.match(nxt) or \
                        HEADING_RE.match(nxt):
                    break
                text.append(nxt.strip())
                i += 1
            if text:
                self.flow(" ".join(text))
            # skip blank lines between items
            while i < len(lines) and not lines[i].strip() and \
                    i + 1 < len(lines) and (BULLET_RE.match(lines[i + 1]) or
                                            NUMBER_RE.match(lines[i + 1])):
                i += 1
        return i

    def table(self, lines, i):
        head = [unescape_cell(c) for c in split_row(lines[i])]
        i += 2
        rows = []
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            rows.append([unescape_cell(c) for c in split_row(lines[i])])
            i += 1
        for row in rows:
            row = row + [""] * (len(head) - len(row))
            self.out.append(".TP")
            self.flow(row[0] if row[0] else "\\&")
            extra = []
            for h, cell in zip(head[1:-1], row[1:-1]):
                if cell:
                    extra.append("%s: %s" % (h, cell) if h else cell)
            if extra:
                self.flow("; ".join(extra) + ".")
                if len(head) > 1 and row[-1]:
                    self.out.append(".br")
            if len(head) > 1 and row[-1]:
                self.flow(row[-1])
        return i


def unescape_cell(cell):
    return cell.replace("\\|", "|")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-D", dest="defines", action="append", default=[],
                    metavar="NAME=VALUE")
    ap.add_argument("-o", dest="out")
    ap.add_argument("source")
    args = ap.parse_args()
    defines = {}
    for d in args.defines:
        k, sep, v = d.partition("=")
        if not sep:
            ap.error("-D %s: expected NAME=VALUE" % d)
        defines[k] = v
    try:
        page = Converter(defines).convert(args.source)
    except (Md2ManError, OSError) as e:
        print("md2man: %s" % e, file=sys.stderr)
        return 1
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(page)
        os.replace(tmp, args.out)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())

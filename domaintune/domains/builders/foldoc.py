"""FOLDOC (Free On-line Dictionary of Computing, GFDL) sub-fields by their ``<tag>``."""

from __future__ import annotations

import re
from collections import defaultdict

from domaintune.domains._dictd import read_dictd
from domaintune.domains._glossary import clean_definition

BUILDER_VERSION = "1"
SEED = 20261126
LICENCE = "GFDL-1.1-or-later"
SOURCE = "FOLDOC, Debian package dict-foldoc"

# first tag -> (domain suffix, title); tags with too few clean entries are merged or left out
FIELDS = {
    "language": ("languages", "programming languages"),
    "networking": ("networking", "computer networking"),
    "protocol": ("networking", "computer networking"),
    "web": ("networking", "computer networking"),
    "programming": ("programming", "programming"),
    "operating system": ("os", "operating systems"),
    "hardware": ("hardware", "computer hardware and storage"),
    "storage": ("hardware", "computer hardware and storage"),
    "electronics": ("hardware", "computer hardware and storage"),
    "processor": ("architecture", "processors and computer architecture"),
    "computer": ("architecture", "processors and computer architecture"),
    "architecture": ("architecture", "processors and computer architecture"),
    "communications": ("communications", "telecommunications and messaging"),
    "messaging": ("communications", "telecommunications and messaging"),
    "company": ("people", "companies and people in computing"),
    "person": ("people", "companies and people in computing"),
    "tool": ("software", "software and tools"),
    "application": ("software", "software and tools"),
    "software": ("software", "software and tools"),
    "file format": ("software", "software and tools"),
    "mathematics": ("theory", "mathematics, algorithms and theory of computing"),
    "theory": ("theory", "mathematics, algorithms and theory of computing"),
    "algorithm": ("theory", "mathematics, algorithms and theory of computing"),
    "logic": ("theory", "mathematics, algorithms and theory of computing"),
    "jargon": ("slang", "computing slang"),
    "chat": ("slang", "computing slang"),
    "humour": ("slang", "computing slang"),
    "body": ("standards", "standards and standards bodies"),
    "standard": ("standards", "standards and standards bodies"),
    "database": ("data", "databases and data"),
    "data": ("data", "databases and data"),
    "character": ("characters", "characters and text encoding"),
    "text": ("characters", "characters and text encoding"),
    "spelling": ("characters", "characters and text encoding"),
}

_TAG = re.compile(r"^\s*<([^>]+)>\s*(.*)$", re.S)


def glossaries() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for headword, text in read_dictd("foldoc"):
        paragraphs = re.split(r"\n\s*\n", text)
        if len(paragraphs) < 2:
            continue
        tagged = _TAG.match(paragraphs[1])
        if not tagged:
            continue
        tag = tagged.group(1).split(",")[0].strip().lower()
        if tag not in FIELDS:
            continue
        field = FIELDS[tag][0]
        term = paragraphs[0].split("\n")[0].strip()
        body = re.sub(r"<[^>]+>", "", tagged.group(2))
        # "(HDLC) A general-purpose ..." names the term's acronym: drop it.
        body = re.sub(r"^\s*\([^)]{1,40}\)\s*", "", body)
        definition = clean_definition(term, body)
        if definition and term.lower() not in out[field]:
            out[field][term.lower()] = definition
    return {field: sorted(entries.items()) for field, entries in out.items()}


def titles() -> dict[str, str]:
    return {suffix: title for suffix, title in FIELDS.values()}

"""The catalogues of every language besides English (de, pt, sk): complete (no entry untranslated or fuzzy), compiled
(the committed .mo says what the .po says), fresh (makemessages finds nothing in the source that the .po lacks),
placeholders kept, the plural forms Django's own catalogue of the language uses; and every model's and field's
verbose name a lazy translation, so the console's labels can be translated at all.

After changing text in the source: `manage.py makemessages -l de -l pt -l sk --ignore=.venv --ignore=bench
--ignore=node_modules`, translate, then `manage.py compilemessages -l de -l pt -l sk --ignore=.venv --ignore=bench`."""

import contextlib
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.functional import Promise

LANGUAGES = ["de", "pt", "sk"]
# As Django's own catalogue of each language has it: one plural function, so our entries and Django's agree.
PLURAL_FORMS = {
    "de": "nplurals=2; plural=(n != 1);",
    "pt": "nplurals=2; plural=(n != 1);",
    "sk": "nplurals=4; plural=(n % 1 == 0 && n == 1 ? 0 : n % 1 == 0 && n >= 2 && n <= 4 ? 1 : n % 1 != 0 ? 2: 3);",
}
PROJECT_APPS = ["core", "markets", "sellers", "orders", "integrations", "claims", "accounts", "api"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
BASE_DIR = Path(settings.BASE_DIR)


def catalogue(language: str) -> Path:
    return BASE_DIR / "locale" / language / "LC_MESSAGES"


def _unquote(line):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), line.strip()[1:-1])


def parse_po(path):
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr by index and flags; obsolete (#~) entries
    skipped. The header is the first."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.strip().splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid") for line in lines):
            continue
        entry = {"flags": set(), "msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}}
        key = None
        for line in lines:
            if line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if isinstance(key, int):
                    entry["msgstr"][key] += _unquote(line)
                else:
                    entry[key] += _unquote(line)
            else:
                keyword, _, value = line.partition(" ")
                match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                key = int(match.group(1)) if match else (0 if keyword == "msgstr" else keyword)
                if isinstance(key, int):
                    entry["msgstr"][key] = _unquote(value)
                else:
                    entry[key] = _unquote(value)
        entries.append(entry)
    return entries


def key_of(entry):
    return entry["msgctxt"], entry["msgid"], entry["msgid_plural"]


def nplurals(language: str) -> int:
    return int(re.match(r"nplurals=(\d+);", PLURAL_FORMS[language]).group(1))


@pytest.fixture(params=LANGUAGES)
def language(request):
    return request.param


@pytest.fixture
def po(language):
    path = catalogue(language) / "django.po"
    assert path.exists(), f"{path} is missing"
    return path


# --- complete ------------------------------------------------------------------------------------------------------


def test_the_catalogue_is_complete(language, po):
    header, *messages = parse_po(po)
    assert header["msgid"] == "" and f"Language: {language}\n" in header["msgstr"][0]
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert not untranslated, f"{language}: {len(untranslated)} untranslated, e.g. {untranslated[:20]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:20]}"


def _placeholders_fit(text: str, source: str, plural_sources: list[str] | None) -> bool:
    found = PLACEHOLDER.findall(text)
    positional = sorted(p for p in found if not p.startswith("%("))
    if positional != sorted(p for p in PLACEHOLDER.findall(source) if not p.startswith("%(")):
        return False
    if plural_sources is None:
        return sorted(found) == sorted(PLACEHOLDER.findall(source))
    # A plural form may name the number where the English singular spells it ("one month": "%(count)d mesiaca" in
    # Slovak, whose forms are not English's), or leave it out: every name it uses is one the code passes.
    return set(found) <= {p for source in plural_sources for p in PLACEHOLDER.findall(source)}


def test_every_placeholder_is_kept(language, po):
    """%(name)s and %s as in the source, and leading and trailing whitespace (a sentence built of parts)."""
    wrong = []
    for e in parse_po(po)[1:]:
        sources = [e["msgid"], e["msgid_plural"] or e["msgid"]]
        plural_sources = sources if e["msgid_plural"] is not None else None
        for index, text in e["msgstr"].items():
            if not text or "fuzzy" in e["flags"]:
                continue  # untranslated, or a guess never used: the completeness test says so
            source = sources[min(index, 1)]
            if (not _placeholders_fit(text, source, plural_sources)
                    or (text[:1].isspace(), text[-1:].isspace()) != (source[:1].isspace(), source[-1:].isspace())):
                wrong.append((e["msgid"], index, text))
    assert not wrong, f"{language}: {wrong[:20]}"


def test_the_plural_forms_are_the_languages(language, po):
    header, *messages = parse_po(po)
    assert f"Plural-Forms: {PLURAL_FORMS[language]}\n" in header["msgstr"][0]
    plural = gettext.c2py(PLURAL_FORMS[language].split("plural=", 1)[1].rstrip(";"))
    assert {plural(n) for n in range(1000)} <= set(range(nplurals(language)))
    entries = [e for e in messages if e["msgid_plural"] is not None]
    assert entries
    wrong = [e["msgid"] for e in entries if sorted(e["msgstr"]) != list(range(nplurals(language)))]
    assert not wrong, f"{language}: these need {nplurals(language)} forms: {wrong}"


def test_msgfmt_finds_nothing_wrong_untranslated_or_fuzzy(language, po):
    result = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],  # noqa: S603,S607
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "translated message" in result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


# --- compiled ------------------------------------------------------------------------------------------------------


def test_the_compiled_catalogue_is_up_to_date(language, po):
    """The .mo is committed (a fresh machine needs no gettext), so it must say what the .po says."""
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for e in parse_po(po)[1:]:
        # A msgid with a context (pgettext) is stored in the .mo as "context\x04msgid".
        msgid = f"{e['msgctxt']}\x04{e['msgid']}" if e["msgctxt"] else e["msgid"]
        if e["msgid_plural"] is None:
            expected[msgid] = e["msgstr"][0]
        else:
            expected.update({(msgid, i): text for i, text in e["msgstr"].items()})
    compiled = {key: value for key, value in compiled.items() if key != ""}
    assert compiled == expected, f"{mo} is out of date: run compilemessages"


# --- fresh ---------------------------------------------------------------------------------------------------------

# What makemessages reads: the source, not the environment, the catalogues, tests or generated files.
NOT_SOURCE = {".git", ".venv", "node_modules", "bench", "locale", "tests", "migrations", "docs", "static",
              "staticfiles", "media", ".test-media", "test-artifacts", ".broker", ".hypothesis", "__pycache__",
              ".ruff_cache", ".pytest_cache"}
SOURCE_SUFFIXES = {".py", ".html", ".txt"}


def _not_source(directory: str, names: list[str]) -> set[str]:
    return {name for name in names
            if name in NOT_SOURCE or name.endswith(".egg-info")
            or ((Path(directory) / name).is_file() and Path(name).suffix not in SOURCE_SUFFIXES)}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The entries makemessages extracts from the source as it is now. It runs on a copy, into the copy's own
    locale folder: the committed catalogues are never written."""
    assert shutil.which("xgettext"), "GNU gettext is needed (make test installs it): apt-get install gettext"
    source = tmp_path_factory.mktemp("fresh") / "source"
    shutil.copytree(BASE_DIR, source, ignore=_not_source)
    (source / "locale").mkdir()
    with override_settings(LOCALE_PATHS=[str(source / "locale")]), contextlib.chdir(source):
        call_command("makemessages", locale=["de"], verbosity=0)
    assert not (BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.pot").exists()
    entries = parse_po(source / "locale" / "de" / "LC_MESSAGES" / "django.po")[1:]
    assert len(entries) > 1000  # the copy had the source
    return {key_of(e) for e in entries}


def test_the_catalogue_is_fresh(language, po, extracted):
    """Every text the source marks for translation is in the catalogue: run makemessages after changing text."""
    missing = extracted - {key_of(e) for e in parse_po(po)[1:]}
    assert not missing, f"{language}: {len(missing)} texts of the source are not in {po}, e.g. {sorted(missing)[:20]}"


# --- verbose names -------------------------------------------------------------------------------------------------


def test_every_model_and_field_has_a_translated_verbose_name():
    """The console's column headers, labels and titles come from them; a name Django derives from the attribute
    ("decision due at") stays English in every language."""
    missing = []
    for label in PROJECT_APPS:
        config = apps.get_app_config(label)
        if not isinstance(config.verbose_name, Promise):
            missing.append(f"{label}: AppConfig.verbose_name")
        for model in config.get_models():
            for option in ("verbose_name", "verbose_name_plural"):
                if not isinstance(model._meta.original_attrs.get(option), Promise):
                    missing.append(f"{model._meta.label}: Meta.{option}")
            for field in model._meta.get_fields(include_parents=False):
                if field.auto_created or not (field.concrete or field.many_to_many):
                    continue  # the primary key Django adds, reverse relations
                if not isinstance(field.verbose_name, Promise):
                    missing.append(f"{model._meta.label}.{field.name}")
    assert not missing, f"not translatable (gettext_lazy): {missing}"

"""Korean and English messages of the cvnotes command: the PO reader, the MO writer, the catalogue, the CLI."""

from __future__ import annotations

import argparse
import ast
import gettext
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cvnotes import cli, i18n

PO_FILE = i18n.LOCALE_DIR / "ko" / "LC_MESSAGES" / "cvnotes.po"
CLI_SOURCE = Path(cli.__file__)

SAMPLE_PO = r"""# A comment
msgid ""
msgstr ""
"Language: ko\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

msgid "options"
msgstr "옵션"

#. continued over lines, with escapes
msgid ""
"first line\n"
"say \"hi\"\t\\"
msgstr "첫 줄\n\"안녕\"이라고 말하기\t\\"

msgctxt "menu"
msgid "open"
msgstr "열기"

msgid "%s file"
msgid_plural "%s files"
msgstr[0] "파일 %s개"

#, fuzzy
msgid "unsure"
msgstr "확실하지 않음"

msgid "untranslated"
msgstr ""
"""


def test_parse_po_entries():
    messages = i18n.parse_po(SAMPLE_PO)
    assert messages["options"] == "옵션"
    assert messages['first line\nsay "hi"\t\\'] == '첫 줄\n"안녕"이라고 말하기\t\\'
    assert messages["menu\x04open"] == "열기"
    assert messages["%s file\x00%s files"] == "파일 %s개"
    assert "Plural-Forms: nplurals=1; plural=0;" in messages[""]


def test_parse_po_skips_fuzzy_and_empty():
    messages = i18n.parse_po(SAMPLE_PO)
    assert "unsure" not in messages
    assert "untranslated" not in messages


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('msgid "a"\nmsgstr "b\n', "sample.po:2: expected a double-quoted string"),
        ('msgid "a"\nmsgstr "\\q"\n', r"sample.po:2: unsupported escape \\q"),
        ('msgid "a"\nmsgid "b"\n', "sample.po:2: duplicate msgid"),
        ('msgid "a"\nmsgstring "b"\n', "sample.po:2: expected msgctxt, msgid, msgid_plural or msgstr"),
        ('"orphan"\n', "sample.po:1: a quoted string must follow"),
    ],
)
def test_parse_po_invalid_line_named(text, error):
    with pytest.raises(ValueError, match=error):
        i18n.parse_po(text, source="sample.po")


def test_compile_mo_read_by_gnu_translations():
    catalogue = gettext.GNUTranslations(io.BytesIO(i18n.compile_mo(i18n.parse_po(SAMPLE_PO))))
    assert catalogue.gettext("options") == "옵션"
    assert catalogue.pgettext("menu", "open") == "열기"
    assert catalogue.ngettext("%s file", "%s files", 1) == "파일 %s개"
    assert catalogue.ngettext("%s file", "%s files", 7) == "파일 %s개"
    assert catalogue.gettext("missing") == "missing"
    assert catalogue.info()["language"] == "ko"


def test_compile_mo_empty_catalogue():
    catalogue = gettext.GNUTranslations(io.BytesIO(i18n.compile_mo({})))
    assert catalogue.gettext("options") == "options"


@pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="GNU msgfmt (Debian package gettext) is not installed"
)
def test_compiled_catalogue_matches_msgfmt(tmp_path):
    mo_path = tmp_path / "cvnotes.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(mo_path), str(PO_FILE)], check=True)
    with mo_path.open("rb") as file:
        reference = gettext.GNUTranslations(file)
    ours = i18n.translation("ko")
    assert ours._catalog == reference._catalog
    assert ours.plural(3) == reference.plural(3)


def catalogue_entries() -> dict[str, str]:
    return i18n.parse_po(PO_FILE.read_text(encoding="utf-8"), source=str(PO_FILE))


def translated_strings_in_cli() -> list[str]:
    """Return the constant strings that cli.py passes to ``_()``."""
    strings = []
    for node in ast.walk(ast.parse(CLI_SOURCE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            assert isinstance(node.args[0], ast.Constant), f"line {node.lineno}: _() needs a literal string"
            strings.append(node.args[0].value)
    return strings


def test_catalogue_translates_every_cli_message():
    messages = catalogue_entries()
    strings = translated_strings_in_cli()
    assert strings
    missing = [string for string in strings if string not in messages]
    assert missing == [], "messages in cli.py without a Korean translation in cvnotes.po"


def test_catalogue_entries_are_still_used():
    # An entry is used by cli.py or is one of argparse's own messages.
    argparse_source = Path(argparse.__file__).read_text(encoding="utf-8")
    used = set(translated_strings_in_cli())
    for key in catalogue_entries():
        if not key:
            continue
        singular = key.split("\0")[0]
        literal = singular.encode("unicode_escape").decode("ascii")
        assert singular in used or literal in argparse_source, f"unused catalogue entry {singular!r}"


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}|%\([a-z_]+\)[rsd]|%[rsd]", text))


def test_catalogue_keeps_placeholders():
    for key, value in catalogue_entries().items():
        if not key:
            continue
        for source, translated in zip(key.split("\0")[:1], value.split("\0"), strict=False):
            assert placeholders(translated) == placeholders(source), f"placeholders differ in {source!r}"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ko"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({}, "en"),
        ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "ko:en", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "", "LANG": "ko_KR.UTF-8"}, "ko"),
    ],
)
def test_choose_language_from_locale(environment, expected):
    assert i18n.choose_language(environ=environment) == expected


def test_choose_language_option_overrides_locale():
    assert i18n.choose_language("en", environ={"LANG": "ko_KR.UTF-8"}) == "en"
    assert i18n.choose_language("ko", environ={"LANG": "en_US.UTF-8"}) == "ko"
    with pytest.raises(ValueError, match="invalid language 'fr': use one of ko, en"):
        i18n.choose_language("fr")


def test_use_language_restores_argparse():
    original = (argparse._, argparse.ngettext)
    with i18n.use_language("ko"):
        assert argparse._("options") == "옵션"
        assert i18n.gettext("options") == "옵션"
    assert (argparse._, argparse.ngettext) == original
    assert i18n.gettext("options") == "options"


def test_use_language_restores_after_error():
    with pytest.raises(RuntimeError), i18n.use_language("ko"):
        raise RuntimeError("inside")
    assert i18n.gettext("options") == "options"


def run_cli(arguments: list[str], capsys) -> tuple[int, str, str]:
    try:
        status = cli.main(arguments)
    except SystemExit as exit_info:
        status = exit_info.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_help_korean_from_locale(monkeypatch, capsys):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    status, output, _ = run_cli(["figures", "--help"], capsys)
    assert status == 0
    assert output.startswith("사용법: cvnotes figures")
    assert "옵션:" in output
    assert "바뀐 것이 없어도 다시 만듭니다" in output
    assert "rebuild even if nothing changed" not in output


def test_cli_help_english_by_default(capsys):
    status, output, _ = run_cli(["--help"], capsys)
    assert status == 0
    assert output.startswith("usage: cvnotes")
    assert "Build the figures of the cvnotes study site" in output


@pytest.mark.parametrize("arguments", [["--lang", "en", "--help"], ["figures", "--lang=en", "--help"]])
def test_cli_lang_option_overrides_korean_locale(monkeypatch, capsys, arguments):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    status, output, _ = run_cli(arguments, capsys)
    assert status == 0
    assert output.startswith("usage: cvnotes")


def test_cli_argparse_error_in_korean(capsys):
    status, _, error = run_cli(["--lang", "ko", "figures", "--profile", "fast"], capsys)
    assert status == 2
    assert "cvnotes figures: 오류: 인수 --profile: 쓸 수 없는 값입니다: 'fast'" in error


def test_cli_missing_command_in_korean(capsys):
    status, _, error = run_cli(["--lang", "ko"], capsys)
    assert status == 2
    assert "다음 인수가 필요합니다: COMMAND" in error


def test_cli_unknown_recipe_in_korean(tmp_path, capsys):
    status, _, error = run_cli(["--lang", "ko", "figures", "nope", "--out", str(tmp_path)], capsys)
    assert status == 2
    assert error.startswith("cvnotes figures: 오류: 없는 recipe입니다: 'nope'.")
    assert "`cvnotes figures --list`로 확인하세요" in error


def test_cli_build_messages_in_korean(tmp_path, capsys):
    arguments = ["--lang", "ko", "figures", "focal-loss-curves", "--out", str(tmp_path)]
    status, output, _ = run_cli(arguments, capsys)
    assert status == 0
    assert re.search(r"focal-loss-curves: \d+\.\d초 만에 만들었습니다", output)
    assert (
        f"새로 만듦 1개, 바뀐 것 없음 0개, 건너뜀 0개(위 경고 참고). 그림과 manifest 위치: {tmp_path}"
        in output
    )
    status, output, _ = run_cli(arguments, capsys)
    assert "focal-loss-curves: 바뀐 것이 없어 건너뜁니다" in output


def test_cli_invalid_lang_value_rejected(capsys):
    status, _, error = run_cli(["--lang", "fr", "figures", "--list"], capsys)
    assert status == 2
    assert "argument --lang: invalid choice: 'fr'" in error


def test_cli_fetch_list_in_korean(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    status, output, _ = run_cli(["--lang", "ko", "fetch", "--list"], capsys)
    assert status == 0
    assert output.startswith(f"캐시 디렉터리: {tmp_path}")
    assert "패키지에 포함" in output
    assert "캐시에 없음" in output
    assert output.splitlines()[1].split() == ["자산", "profile", "크기", "상태", "라이선스"]


def test_cli_fetch_list_headers_in_english(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    status, output, _ = run_cli(["--lang", "en", "fetch", "--list", "--profile", "quick"], capsys)
    assert status == 0
    lines = output.splitlines()
    assert lines[1].split() == ["asset", "profile", "size", "state", "licence"]
    assert [line.split()[1] for line in lines[2:]] == ["quick"] * (len(lines) - 2)


@pytest.fixture
def quick_assets_cached(tmp_path, monkeypatch):
    """Pretend the quick profile's assets are in an empty cache and the full profile's are not."""
    from cvnotes import assets

    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "is_cached", lambda name, root=None: assets.ASSETS[name].profile == "quick")
    return tmp_path


def test_cli_fetch_offline_missing_in_korean(quick_assets_cached, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    status, output, error = run_cli(["fetch", "--offline"], capsys)
    assert status == 1
    assert output.startswith("quick profile의 자산은 모두 있습니다")
    assert error.startswith(
        f"cvnotes fetch: 오류: 캐시 {quick_assets_cached}에 없는 자산: resnet18-imagenet (full), "
    )
    assert "네트워크에 연결된 곳에서 다음 명령을 실행하세요: `cvnotes fetch resnet18-imagenet" in error
    assert "not found" not in error


def test_cli_fetch_offline_missing_in_english(quick_assets_cached, capsys):
    status, output, error = run_cli(["--lang", "en", "fetch", "--offline"], capsys)
    assert status == 1
    assert output.startswith("the quick profile's assets are all present")
    assert f"assets not found in the cache {quick_assets_cached}: resnet18-imagenet (full), " in error


def test_cli_fetch_quick_line_needs_quick_assets(tmp_path, monkeypatch, capsys):
    from cvnotes import assets

    monkeypatch.setenv("CVNOTES_CACHE", str(tmp_path))
    monkeypatch.setattr(assets, "is_cached", lambda name, root=None: assets.ASSETS[name].embedded)
    status, output, _ = run_cli(["--lang", "en", "fetch", "--offline", "mnist"], capsys)
    assert status == 1
    assert "quick profile" not in output


def test_cli_fetch_offline_quick_profile_succeeds(quick_assets_cached, capsys):
    status, output, error = run_cli(["--lang", "ko", "fetch", "--offline", "--profile", "quick"], capsys)
    assert status == 0
    assert error == ""
    assert "small-cnn-fashion-mnist: 이미 캐시에 있습니다" in output
    assert "\nmnist:" not in output


def test_cli_fetch_profile_with_names_rejected(capsys):
    status, _, error = run_cli(["--lang", "ko", "fetch", "--profile", "full", "mnist"], capsys)
    assert status == 2
    assert "cvnotes fetch: 오류: 자산 이름과 --profile 중 하나만 지정하세요" in error
    status, _, error = run_cli(["--lang", "en", "fetch", "--profile", "full", "mnist"], capsys)
    assert "cvnotes fetch: error: give asset names or --profile, not both" in error


def test_cli_fetch_unknown_asset_in_korean(monkeypatch, capsys):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    status, _, error = run_cli(["fetch", "no-such-asset"], capsys)
    assert status == 2
    assert error.startswith(
        "cvnotes fetch: 오류: 없는 자산입니다: 'no-such-asset'. 쓸 수 있는 이름: fashion-mnist-test"
    )
    assert "valid names" not in error


def test_cli_fetch_unknown_asset_in_english(capsys):
    status, _, error = run_cli(["--lang", "en", "fetch", "no-such-asset"], capsys)
    assert status == 2
    assert "cvnotes fetch: error: unknown asset 'no-such-asset'; valid names: fashion-mnist-test" in error


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ko", "잘린 파일: w.bin (10바이트여야 하는데 5바이트). 지우고 다시 받으세요"),
        ("en", "file w.bin is truncated: 5 bytes, expected 10; delete it and fetch it again"),
    ],
)
def test_cli_fetch_integrity_error_translated(monkeypatch, capsys, language, expected):
    from cvnotes import assets

    def corrupt(names, offline):
        raise assets.AssetIntegrityError("w.bin", "truncated", 5, 10)

    monkeypatch.setattr(assets, "fetch", corrupt)
    status, _, error = run_cli(["--lang", language, "fetch", "photos"], capsys)
    assert status == 1
    assert expected in error


def test_pad_columns_counts_hangul_twice():
    assert cli._pad_columns("캐시", 6) == "캐시  "
    assert cli._pad_columns("cached", 8) == "cached  "
    assert cli._pad_columns("패키지에 포함", 4) == "패키지에 포함"

"""One Settings object: COPILOT_ environment variables or .env, refusing unsafe values."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from copilot.config import LLMMode, Settings


def test_environment_variables_with_the_copilot_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPILOT_PORT", "9123")
    monkeypatch.setenv("COPILOT_CHUNK_SIZE", "128")
    monkeypatch.setenv("COPILOT_LLM_MODE", "local")

    settings = Settings()

    assert (settings.port, settings.chunk_size, settings.llm_mode) == (9123, 128, LLMMode.local)


def test_variables_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("CHUNK_SIZE", "64")

    settings = Settings()

    assert (settings.port, settings.chunk_size) == (8000, 200)


def test_dotenv_file_in_the_working_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("COPILOT_PORT=8765\nCOPILOT_HOST=localhost\n")
    monkeypatch.chdir(tmp_path)

    settings = Settings()

    assert (settings.port, settings.host) == (8765, "localhost")


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("COPILOT_PORT=8765\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COPILOT_PORT", "9000")

    assert Settings().port == 9000


def test_knowledge_paths_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_KNOWLEDGE_PATHS", "kb/articles, kb/plans ,,/srv/extra")

    settings = Settings()

    assert settings.knowledge_paths == [Path("kb/articles"), Path("kb/plans"), Path("/srv/extra")]


def test_single_knowledge_path_is_a_one_item_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_KNOWLEDGE_PATHS", "/srv/kb")

    assert Settings().knowledge_paths == [Path("/srv/kb")]


def test_api_keys_are_comma_separated_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_API_KEYS", "key-one,key-two")

    settings = Settings()

    assert [k.get_secret_value() for k in settings.api_keys] == ["key-one", "key-two"]
    assert "key-one" not in repr(settings)


@pytest.mark.parametrize(("size", "overlap"), [(64, 64), (64, 100)])
def test_chunk_overlap_must_be_smaller_than_chunk_size(size: int, overlap: int) -> None:
    with pytest.raises(pydantic.ValidationError, match="chunk_overlap must be smaller"):
        Settings(chunk_size=size, chunk_overlap=overlap)


def test_chunk_overlap_just_below_chunk_size_is_accepted() -> None:
    assert Settings(chunk_size=64, chunk_overlap=63).chunk_overlap == 63


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "api.example.com", "::"])
def test_production_on_a_public_host_without_api_keys_is_refused(host: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(env="production", host=host)

    message = str(caught.value)
    assert f"refusing to serve on {host} in production without API keys" in message
    assert "COPILOT_API_KEYS" in message


def test_production_refusal_also_comes_from_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPILOT_ENV", "production")
    monkeypatch.setenv("COPILOT_HOST", "0.0.0.0")

    with pytest.raises(pydantic.ValidationError, match="COPILOT_API_KEYS"):
        Settings()


@pytest.mark.parametrize(
    ("env", "host", "keys"),
    [
        ("production", "127.0.0.1", []),
        ("production", "localhost", []),
        ("production", "::1", []),
        ("production", "0.0.0.0", ["secret"]),
        ("development", "0.0.0.0", []),
    ],
)
def test_safe_combinations_are_accepted(env: str, host: str, keys: list[str]) -> None:
    settings = Settings(env=env, host=host, api_keys=keys)

    assert (settings.env, settings.host) == (env, host)


def test_openai_mode_needs_a_key_or_a_base_url() -> None:
    with pytest.raises(pydantic.ValidationError, match="COPILOT_LLM_API_KEY"):
        Settings(llm_mode="openai")

    assert Settings(llm_mode="openai", llm_base_url="http://127.0.0.1:11434/v1").llm_base_url


def test_default_database_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'data' / 'copilot.db'}"
    assert settings.resolved_chroma_path == tmp_path / "data" / "chroma"
    assert settings.lexical_path == tmp_path / "data" / "bm25"


def test_data_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPILOT_DATA_DIR", str(tmp_path / "elsewhere"))

    assert Settings().resolved_database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'copilot.db'}"


def test_configured_database_url_and_chroma_path_win(tmp_path: Path) -> None:
    url = "postgresql+psycopg://copilot@db:5432/copilot"

    settings = Settings(database_url=url, chroma_path=tmp_path / "vectors")

    assert settings.resolved_database_url == url
    assert settings.resolved_chroma_path == tmp_path / "vectors"


@pytest.mark.parametrize(
    ("field", "value"), [("port", 0), ("chunk_size", 16), ("embed_batch_size", 0)]
)
def test_out_of_range_numbers_are_refused(field: str, value: int) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(**{field: value})

    assert caught.value.errors()[0]["loc"] == (field,)


def test_refused_settings_never_echo_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT_API_KEYS", "key-do-not-print")
    monkeypatch.setenv("COPILOT_LLM_API_KEY", "sk-do-not-print")
    monkeypatch.setenv("COPILOT_CHUNK_OVERLAP", "200")

    with pytest.raises(pydantic.ValidationError) as caught:
        Settings()

    message = str(caught.value)
    assert "chunk_overlap must be smaller than chunk_size" in message
    assert "do-not-print" not in message

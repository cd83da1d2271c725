"""Build the generator the settings ask for."""

from __future__ import annotations

from copilot.config import LLMMode, Settings
from copilot.errors import ConfigError
from copilot.llm.base import Generator
from copilot.llm.extractive import ExtractiveGenerator


def build_generator(settings: Settings) -> Generator:
    """Extractive by default; remote and local models fall back to extractive on failure."""
    if settings.llm_mode is LLMMode.extractive:
        return ExtractiveGenerator()
    if settings.llm_mode is LLMMode.openai:
        from copilot.llm.fallback import FallbackGenerator
        from copilot.llm.openai_provider import OpenAIGenerator

        return FallbackGenerator(OpenAIGenerator(settings), ExtractiveGenerator())
    if settings.llm_mode is LLMMode.local:
        from copilot.llm.fallback import FallbackGenerator
        from copilot.llm.local_provider import LocalGenerator

        # ConfigError now when the `local` extra is missing; the model loads on first use.
        return FallbackGenerator(LocalGenerator(settings), ExtractiveGenerator())
    raise ConfigError(
        f"COPILOT_LLM_MODE={settings.llm_mode.value} is not available: use extractive, openai "
        "or local"
    )

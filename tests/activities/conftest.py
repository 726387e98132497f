"""Fixtures for the agent activity tests: the fake OpenAI server and settings that reach it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boardroom.settings import Settings
from tests.activities.helpers import API_KEY
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(lifetime_s=60) as fake:
        yield fake


@pytest.fixture
def openai_settings(settings: Settings, fake_openai: FakeOpenAI) -> Settings:
    """The test settings pointed at the fake server through the OpenAI provider."""
    return settings.model_copy(
        update={
            "agent_provider": "openai",
            "openai_api_key": API_KEY,
            "openai_base_url": fake_openai.base_url,
            "openai_timeout_s": 5.0,
            "openai_model": "gpt-4o-mini",
            "llm_output_retries": 2,
        }
    )

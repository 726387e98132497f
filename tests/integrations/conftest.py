"""Fixtures for the integration tests: local protocol fakes and settings pointing at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from boardroom.settings import Settings
from tests.fakes.github_server import FakeGitHub
from tests.fakes.slack_server import FakeSlack
from tests.fakes.stripe_server import FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    yield from FakeStripe.running(api_key="sk_test_boardroom")


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    yield from FakeGitHub.running(token="ghp_boardroom", login="ceo-bot")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from FakeSlack.running(token="xoxb-boardroom", channels=("#launches",))


@pytest.fixture
def wired_settings(
    settings: Settings, fake_stripe: FakeStripe, fake_github: FakeGitHub, fake_slack: FakeSlack
) -> Settings:
    """The test settings with every integration's credentials, each aimed at its fake."""
    return settings.model_copy(
        update={
            "stripe_api_key": fake_stripe.api_key,
            "stripe_api_base": fake_stripe.base_url,
            "github_token": fake_github.token,
            "github_api_url": fake_github.base_url,
            "slack_bot_token": fake_slack.token,
            "slack_api_url": fake_slack.api_url,
            "slack_channel": "#launches",
        }
    )

"""The Provider interface (``notifier.feeds.base``) and the registry (``notifier.feeds.registry``):
every registered provider has the whole interface, the names agree with the settings' sections,
the catalog hooks fit what the finder does with them, and API-Football's error envelope is one
EnvelopeError, with one status and wait, wherever it is read."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from notifier.domain.watch import Watch
from notifier.errors import (
    ConfigError,
    EnvelopeError,
    FeedError,
    FeedParseError,
    UnknownProviderError,
)
from notifier.feeds import registry
from notifier.feeds.base import Provider
from notifier.feeds.bulk import Item
from notifier.feeds.requests import Request
from notifier.settings import PROVIDER_NAMES, FollowSettings, Settings

PROVIDERS = list(registry.PROVIDERS.values())
IDS = list(registry.NAMES)


def _interface() -> dict[str, inspect.Signature]:
    """The methods of the Provider protocol, with their signatures."""
    return {
        name: inspect.signature(member)
        for name, member in vars(Provider).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_the_interface_is_what_the_callers_use() -> None:
    assert set(_interface()) == {
        "auth_headers", "check", "group_of", "plan", "split", "detail_request", "merge_detail",
        "match_request", "parse", "fixtures_request", "watch_league", "leagues_request",
        "parse_leagues", "search_request", "teams_request", "parse_teams", "team_leagues_request",
    }  # fmt: skip


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_each_provider_has_every_method_with_its_parameters(provider: Provider) -> None:
    # mypy checks the types where the registry is built; this checks names and parameters.
    for name, signature in _interface().items():
        method = getattr(provider, name, None)
        assert callable(method), f"{provider.name} lacks {name}"
        expected = [p for p in signature.parameters if p != "self"]
        assert list(inspect.signature(method).parameters) == expected, name
    assert isinstance(provider.name, str) and isinstance(provider.needs_key, bool)


def test_registry_names_are_the_providers_own_and_the_settings_sections() -> None:
    assert all(name == p.name for name, p in registry.PROVIDERS.items())
    assert registry.NAMES == PROVIDER_NAMES  # the same providers, in the same order
    assert [registry.get(name) for name in registry.NAMES] == PROVIDERS


def test_an_unknown_name_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownProviderError, match="api-football, espn, football-data") as caught:
        registry.get("opta")
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("keys", "chosen"),
    [
        ({}, "espn"),
        ({"football-data": "k"}, "football-data"),
        ({"api-football": "k", "football-data": "k"}, "api-football"),
    ],
)
def test_default_provider_is_the_first_with_a_key_else_one_needing_none(
    keys: dict[str, str], chosen: str
) -> None:
    settings = Settings.load(None)
    providers = settings.providers
    for name, key in keys.items():
        update = {"api_key": SecretStr(key)}
        providers = providers.replace(name, settings.provider(name).model_copy(update=update))
    assert registry.default_name(settings.model_copy(update={"providers": providers})) == chosen


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_a_key_is_sent_only_by_providers_that_need_one(provider: Provider) -> None:
    headers = provider.auth_headers("secret")
    assert (list(headers.values()) == ["secret"]) is provider.needs_key
    assert provider.needs_key or headers == {}


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_catalog_hooks_fit_the_finder(provider: Provider) -> None:
    searches = provider.search_request("Orlando") is not None
    # A provider searches by name, or lists the teams of each competition: one of the two.
    assert searches != (provider.teams_request("x") is not None)
    # Teams found by a search need their competitions asked; by competition, they have them.
    assert searches == (provider.team_leagues_request("1") is not None)
    assert isinstance(provider.leagues_request(), Request)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_a_watch_keeps_the_league_when_the_league_is_the_group(provider: Provider) -> None:
    league = provider.watch_league("usa.1")
    watch = Watch(provider=provider.name, match_id="7", league=league)
    if league is not None:
        assert provider.group_of(watch, 8) == league
        assert "usa.1" in provider.match_request("7", league).path
    else:
        assert provider.group_of(watch, 8) in {str(i) for i in range(8)}


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_fixtures_request_names_the_competition(provider: Provider) -> None:
    spec = FollowSettings(provider=provider.name, league="PL", season=2025)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    request = provider.fixtures_request(spec, date(2025, 12, 6), date(2026, 1, 12), now)
    assert "PL" in request.path + repr(request.params)


# API-Football's error envelope (HTTP 200): one error, one outcome, wherever it is met.

AF = registry.get("api-football")
ENVELOPES = [
    pytest.param({"requests": "You have reached the request limit"}, 429, 3600.0, id="quota"),
    pytest.param({"rateLimit": "Too many requests"}, 429, 60.0, id="rate-limit"),
    pytest.param({"token": "Error/Missing application key"}, 400, None, id="key"),
    pytest.param(["Something went wrong"], 400, None, id="list"),
]


def _envelope(errors: Any) -> bytes:
    return orjson.dumps({"get": "fixtures", "errors": errors, "results": 0, "response": []})


def _raised(read: Any) -> EnvelopeError:
    with pytest.raises(FeedError) as caught:
        read()
    assert type(caught.value) is EnvelopeError, type(caught.value)
    return caught.value


@pytest.mark.parametrize(("errors", "status", "wait"), ENVELOPES)
def test_api_football_error_envelope_is_one_error_everywhere(
    errors: Any, status: int, wait: float | None
) -> None:
    body = _envelope(errors)
    item = Item("1", {"fixture": {"id": 1}})
    seen = [
        _raised(lambda: AF.check(orjson.loads(body), body)),  # the finder
        _raised(lambda: AF.split(body)),  # the poller's bulk answer; the fixtures job
        _raised(lambda: AF.merge_detail(item, body)),  # the poller's detail answer
        _raised(lambda: AF.parse(body)),  # notifier feed parse
    ]
    assert {(str(e), e.status, e.retry_after) for e in seen} == {(str(seen[0]), status, wait)}
    assert not any(isinstance(e, FeedParseError) for e in seen), "not parked as malformed"
    assert "api-football" in str(seen[0])


def test_an_empty_errors_list_is_an_answer() -> None:
    data = {"get": "fixtures", "errors": [], "response": []}
    assert AF.check(data) is data
    assert AF.split(orjson.dumps(data)) == []


def test_football_data_error_document_is_an_envelope_error_too() -> None:
    fd = registry.get("football-data")
    body = b'{"message": "You reached your request limit.", "errorCode": 429}'
    assert _raised(lambda: fd.split(body)).status == 429
    assert _raised(lambda: fd.parse(body)).status == 429
    answer = {"competitions": [], "message": "a note beside an answer"}
    assert fd.check(answer) is answer


def test_an_errors_value_json_cannot_hold_is_still_the_envelope_error() -> None:
    # A parsed document may hold an integer past 64 bits (orjson will not print it).
    error = _raised(lambda: AF.check({"errors": -(2**63) - 1, "response": []}))
    assert error.status == 400 and str(2**63 + 1) in str(error)

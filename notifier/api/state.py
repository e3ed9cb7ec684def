"""Typed application state of the API (``web.AppKey``), set by the app factory."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from notifier.api.hub import StreamHub
from notifier.bus.subscriptions import SubscriptionStore
from notifier.settings import Settings

REDIS = web.AppKey("redis", aioredis.Redis)
SETTINGS = web.AppKey("settings", Settings)
SUBSCRIPTIONS = web.AppKey("subscriptions", SubscriptionStore)
HUB = web.AppKey("hub", StreamHub)

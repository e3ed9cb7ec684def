"""A stage supplies handle() and partition_event(); the consumer's own machinery is its alone."""

from __future__ import annotations

import pytest

from notifier.bus.consumer import PartitionConsumer
from workers.deliver.dispatcher import Dispatcher
from workers.fold.aggregator import Aggregator

HOOKS = {"handle", "partition_event"}
CONFIG = {"worker", "group", "overlap_partitions", "read_ahead", "stream", "partition_ids"}


@pytest.mark.parametrize("stage", [Aggregator, Dispatcher])
def test_a_stage_overrides_only_the_hooks(stage: type[PartitionConsumer]) -> None:
    base = {n for n in dir(PartitionConsumer) if not n.startswith("__")} - {"_abc_impl"}
    overridden = {n for n in vars(stage) if n in base}
    private = sorted(n for n in overridden if n.startswith("_"))
    assert private == []
    # consume/drain: the dispatcher runs its retry pump beside the consumer's loop.
    assert overridden - HOOKS - CONFIG <= {"consume", "drain"}

"""How the amqp probe reads and judges the management API's nodes, without a broker.

tests/integration/test_amqp.py asks real brokers: the machine's, and a
throwaway node for the memory and disk alarms. A cluster member that is down
and a network partition need a cluster of nodes, which the tests do not build;
these cases start from the API's answer instead.
"""

from __future__ import annotations

from sleuth.probes._rabbitmq_api import NodeState, _node_state, _reason
from sleuth.probes.amqp import _node_problems

# GET /api/nodes of a three-node cluster, trimmed: the first element's keys are
# those RabbitMQ 3.10 answered here; rabbit@b stands for a member that is down.
CLUSTER = [
    {
        "name": "rabbit@a",
        "type": "disc",
        "running": True,
        "mem_alarm": False,
        "disk_free_alarm": True,
        "partitions": ["rabbit@c"],
        "mem_used": 137977856,
    },
    {"name": "rabbit@b", "type": "disc", "running": False},
]


def test_nodes_read_from_the_api_answer():
    assert [_node_state(node) for node in CLUSTER] == [
        NodeState(
            name="rabbit@a", running=True, alarms=("disk",), partitions=("rabbit@c",)
        ),
        NodeState(name="rabbit@b", running=False, alarms=(), partitions=()),
    ]


def test_a_member_down_and_a_partition_are_each_a_problem():
    nodes = [_node_state(node) for node in CLUSTER]
    assert _node_problems(nodes) == [
        "node rabbit@a has alarms: disk",
        "node rabbit@a is partitioned from rabbit@c",
        "node rabbit@b is not running",
    ]


def test_healthy_nodes_are_no_problem():
    node = NodeState(name="rabbit@a", running=True, alarms=(), partitions=())
    assert _node_problems([node]) == []


def test_refusal_reason_is_the_apis_own_words_or_nothing():
    assert _reason('{"error":"not_authorised","reason":"Not monitor user"}') == (
        "Not monitor user"
    )
    assert _reason("<html>401 Authorization Required</html>") == ""  # a proxy's
    assert _reason('["reason"]') == ""

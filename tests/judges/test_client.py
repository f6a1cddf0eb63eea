"""The endpoint client's reading of Retry-After and of a completion."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from workbench.judges.client import EndpointError, backoff_delay, parse_completion, retry_after_seconds


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= retry_after_seconds(in_ten) <= 10.0
    assert retry_after_seconds(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


def test_backoff_never_waits_less_than_retry_after():
    rng = random.Random(1)
    assert all(backoff_delay(0, 4.0, rng) >= 4.0 for _ in range(50))
    plain = [backoff_delay(3, None, rng) for _ in range(50)]
    assert all(2.0 <= d <= 4.0 for d in plain)  # 0.5 * 2**3, halved at most by the jitter


def test_completion_with_and_without_logprobs_and_usage():
    with_all = parse_completion(
        {
            "choices": [{"message": {"content": "{}"}, "logprobs": {"content": [{"token": "{}", "logprob": 0.0}]}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2},
        }
    )
    assert (with_all.content, with_all.prompt_tokens, with_all.completion_tokens) == ("{}", 7, 2)
    assert with_all.logprobs == [{"token": "{}", "logprob": 0.0}]
    bare = parse_completion({"choices": [{"message": {"content": "{}"}, "logprobs": None}]})
    assert bare.logprobs is None and bare.prompt_tokens == 0
    with pytest.raises(EndpointError):
        parse_completion({"error": "nope"})

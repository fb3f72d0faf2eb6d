"""The fault fixtures' own safety net (issue 16, "tests that cannot fail"): a test that injects a fault which
never applies fails, naming the fault, unless it says the fault may not fire. Run as a separate pytest session
(pytester) so the failure it proves is a real test's."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = '''
import pytest

def test_a_fault_on_a_route_nobody_calls(make_sandbox):
    server = make_sandbox()
    server.faults.add(route="submit", kind="http_500", count=1)

@pytest.mark.faults_may_not_fire
def test_one_that_says_it_may_not_fire(make_sandbox):
    server = make_sandbox()
    server.faults.add(route="submit", kind="http_500", count=1)

def test_a_proxy_rule_that_never_matches(fault_proxy, make_sandbox):
    proxy = fault_proxy(make_sandbox().port)
    proxy.reset_next_n(1, match=r"^GET /never/called")
'''


def test_a_fault_that_never_applied_fails_its_test_by_name(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["sandbox.pytest_plugin"]\n')
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(["*injected fault(s) never applied: http_500 on submit*"])
    result.stdout.fnmatch_lines(["*injected fault(s) never applied*never/called*"])

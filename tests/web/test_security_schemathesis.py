"""Issue 18 — the API matches its document: Schemathesis generates requests from /api/v1/openapi.json (a fixed
number of examples an operation, derandomized, so the run is the same every time) and checks every response
against the document (no 5xx, status codes and bodies as documented, content types, Allow on 405 …), with the
token of an institution's staff member and of a province's admin. Every failure is collected and reported."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from lms.auth import services as auth_services

EXAMPLES = 12
# Every check runs, "a request the schema allows is accepted" (positive_data_acceptance) included: the request
# bodies' schemas say what the services accept (issue 18).
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


# The document's "uscc" format: a unified social credit code with its check character (GB 32100-2015), which a
# regular expression cannot state; Schemathesis generates it from this strategy.
schemathesis.openapi.format("uscc", st.builds(
    lambda head, tail: _uscc(head + tail), st.text("0123456789", min_size=8, max_size=8),
    st.text(_USCC_CHARS, min_size=9, max_size=9)))


def _failures(app, token: str) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            try:
                case.call_and_validate(headers=headers)
            except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group of them
                parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
                for part in parts:
                    title = (str(part).strip().splitlines() or [type(part).__name__])[0]
                    found.append(f"{operation.label}: {type(part).__name__}: {title}"
                                 f" [{case.method} {case.formatted_path} query={case.query} body={case.body!r}]")

        run()
    return found


@pytest.mark.parametrize("who", ["nt_staff", "js_admin"])
def test_security_schemathesis_api_matches_its_document(app, db, world, who):
    user = {"nt_staff": world.staff_nt, "js_admin": world.province_admin}[who]
    _token, clear = auth_services.create_token(db, user, "schemathesis")
    db.commit()
    failures = _failures(app, clear)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures)))

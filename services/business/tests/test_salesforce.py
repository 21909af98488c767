"""SOQL rules: what the read-only guard lets through, and values escaped into SOQL strings."""

from __future__ import annotations

import pytest

from sophia.business.connectors.salesforce import SoqlRefused, check_soql, soql_like, soql_string


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Opportunity",
        "  select Name, (SELECT Id FROM Contacts) from Account where Name = 'x'  ",
        "SELECT Id FROM Opportunity WHERE Name = 'for update'",
    ],
)
def test_selects_pass(soql: str) -> None:
    assert check_soql(soql, allow_writes=False) == soql.strip()


@pytest.mark.parametrize(
    "soql",
    [
        "DELETE FROM Opportunity",
        "UPDATE Opportunity SET Amount = 0",
        "",
        "SELECTX FROM Opportunity",
        "SELECT Id FROM Opportunity FOR UPDATE",
        "SELECT Id FROM Knowledge__kav UPDATE TRACKING",
        "SELECT Id FROM Account FOR VIEW",
        "SELECT Id FROM Opportunity WHERE Name = '" + "x" * 20_000 + "'",
    ],
)
def test_everything_else_is_refused(soql: str) -> None:
    with pytest.raises(SoqlRefused):
        check_soql(soql, allow_writes=False)


def test_the_locking_clauses_pass_when_configured() -> None:
    assert check_soql("SELECT Id FROM Opportunity FOR UPDATE", allow_writes=True)
    with pytest.raises(SoqlRefused):
        check_soql("DELETE FROM Opportunity", allow_writes=True)  # the query endpoint reads; never anything else


def test_values_cannot_break_out_of_a_soql_string() -> None:
    assert soql_string("O'Brien \\ co") == "O\\'Brien \\\\ co"
    assert soql_like("100%_done' OR Name != '") == "100\\%\\_done\\' OR Name != \\'"

"""Route templates (pure): parameters, optional and catch-all parts, constraints and precedence."""

from __future__ import annotations

import pytest

from devhost.routes import RouteError, parse_route


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("health", "health", {}),
        ("health", "HEALTH", {}),
        ("health", "health/", {}),
        ("health", "healthz", None),
        ("items/{id}", "items/abc", {"id": "abc"}),
        ("items/{id}", "items", None),
        ("items/{id}", "items/a/b", None),
        ("items/{id:int}/{name?}", "items/5", {"id": "5"}),
        ("items/{id:int}/{name?}", "items/5/bob", {"id": "5", "name": "bob"}),
        ("items/{id:int}/{name?}", "items/x/bob", None),
        ("items/{id:int}", "items/-12", {"id": "-12"}),
        ("items/{id:int}", "items/99999999999", None),
        ("items/{id:long}", "items/99999999999", {"id": "99999999999"}),
        ("v/{x=dflt}", "v", {"x": "dflt"}),
        ("v/{x=dflt}", "v/given", {"x": "given"}),
        ("files/{*path}", "files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("files/{*path}", "files", {}),
        ("files/{name}.{ext}", "files/report.pdf", {"name": "report", "ext": "pdf"}),
        ("{name?}", "", {}),
        ("{name?}", "x", {"name": "x"}),
        ("b/{flag:bool}", "b/True", {"flag": "True"}),
        ("b/{flag:bool}", "b/yes", None),
        ("a/{w:alpha}", "a/abcXYZ", {"w": "abcXYZ"}),
        ("a/{w:alpha}", "a/abc1", None),
        (
            "g/{id:guid}",
            "g/3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            {"id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
        ),
        ("g/{id:guid}", "g/not-a-guid", None),
        ("f/{x:float}", "f/1.5", {"x": "1.5"}),
        ("f/{x:double}", "f/nan", None),
        ("d/{x:decimal}", "d/10.25", {"x": "10.25"}),
        ("t/{x:datetime}", "t/2026-01-02T03:04:05", {"x": "2026-01-02T03:04:05"}),
        ("t/{x:datetime}", "t/yesterday", None),
        ("l/{x:minlength(3)}", "l/ab", None),
        ("l/{x:maxlength(3)}", "l/abcd", None),
        ("l/{x:length(2)}", "l/ab", {"x": "ab"}),
        ("l/{x:length(2,4)}", "l/abcde", None),
        ("n/{x:min(10)}", "n/9", None),
        ("n/{x:max(10)}", "n/10", {"x": "10"}),
        ("n/{x:int:range(1,5)}", "n/5", {"x": "5"}),
        ("n/{x:range(1,5)}", "n/6", None),
        ("r/{x:regex(^[a-c]+$)}", "r/abcab", {"x": "abcab"}),
        ("r/{x:regex(^[a-c]+$)}", "r/abd", None),
    ],
)
def test_match(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert parse_route(template).match(path) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("items/{id:nosuch}", "unknown constraint 'nosuch'"),
        ("items/{id:min(x)}", "bad argument"),
        ("items/{id:range(1)}", "bad argument"),
        ("items/{id:int(3)}", "bad argument"),
        ("items/{}", "not a valid parameter name"),
        ("items/{1abc}", "not a valid parameter name"),
        ("items/{a}/{A}", "names parameter 'A' twice"),
        ("items/{*rest}/more", "catch-all parameter must be the whole last segment"),
        ("items/{opt?}/more", "optional parameter must be in the last segment"),
        ("items//x", "empty segment"),
        ("items/{id", "unbalanced braces"),
        ("items?x", "malformed"),
    ],
)
def test_malformed_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(RouteError, match=message.replace("*", r"\*").replace("(", r"\(")):
        parse_route(template)


def test_precedence_literal_then_constrained_then_plain_then_catch_all() -> None:
    templates = ["items/{*rest}", "items/{name}", "items/{id:int}", "items/special"]
    ordered = sorted((parse_route(t) for t in templates), key=lambda r: r.rank)
    assert [r.text for r in ordered] == ["items/special", "items/{id:int}", "items/{name}", "items/{*rest}"]

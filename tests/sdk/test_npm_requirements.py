"""npm dependencies of JavaScript steps: exact registry versions only, each refusal explained."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from step_sdk.manifest import Manifest
from step_sdk.npm_requirements import (
    MAX_NAME_LENGTH,
    name_problem,
    parse_dependencies,
    parse_requirements,
    version_problem,
)
from step_sdk.requirements import RequirementError
from step_sdk.runtimes import NODE, PYTHON, RUNTIMES, runtime


@pytest.mark.parametrize(
    "version",
    ["1.2.3", "0.0.0", "10.20.30", "1.0.0-beta.1", "2.0.0-rc.0", "1.0.0-alpha-a.b-c"],
)
def test_exact_versions_and_prereleases_are_accepted(version: str) -> None:
    assert version_problem(version) is None
    assert parse_dependencies({"dayjs": version}) == (f"dayjs@{version}",)


@pytest.mark.parametrize(
    ("version", "kind"),
    [
        ("^1.2.3", "a version range"),
        ("~1.2.3", "a version range"),
        (">=1.0.0", "a version range"),
        ("<2", "a version range"),
        ("1.0.0 - 2.0.0", "a version range"),
        ("1.0.0 || 2.0.0", "a version range"),
        ("1.x", "a version range"),
        ("1.2.X", "a version range"),
        ("*", "a version range"),
        ("1.2", "a partial version"),
        ("1", "a partial version"),
        ("", "the version is empty"),
        ("latest", "a dist-tag"),
        ("next", "a dist-tag"),
        ("https://registry.example.com/dayjs/-/dayjs-1.11.13.tgz", "a URL"),
        ("http://example.com/pkg.tgz", "a URL"),
        ("git+https://github.com/iamkun/dayjs.git", "a git source"),
        ("git://github.com/iamkun/dayjs.git#v1.11.13", "a git source"),
        ("github:iamkun/dayjs", "a git source"),
        ("gitlab:user/repo", "a git source"),
        ("iamkun/dayjs", "a GitHub 'user/repo' spec"),
        ("iamkun/dayjs#v1.11.13", "a GitHub 'user/repo' spec"),
        ("file:../dayjs", "a local file: spec"),
        ("link:../dayjs", "a local link: spec"),
        ("workspace:*", "a local workspace: spec"),
        ("npm:dayjs@1.11.13", "an npm alias"),
        ("../dayjs", "a path"),
        ("./vendor/dayjs.tgz", "a path"),
        ("v1.2.3", "write the bare version '1.2.3'"),
        ("=1.2.3", "write the bare version '1.2.3'"),
        ("1.2.3+build.5", "build metadata"),
        ("1.2.3.4", "not an exact version"),
    ],
)
def test_every_loose_version_is_refused_naming_the_entry_and_the_kind(
    version: str, kind: str
) -> None:
    with pytest.raises(RequirementError) as caught:
        parse_dependencies({"left-pad": "1.3.0", "dayjs": version})
    message = str(caught.value)
    assert message.startswith("/dependencies/dayjs: ")
    assert kind in message


def test_a_version_that_is_not_text_is_refused() -> None:
    with pytest.raises(RequirementError, match=r"^/dependencies/dayjs: .*string.*not int"):
        parse_dependencies({"dayjs": 1})


@pytest.mark.parametrize(
    "name", ["dayjs", "left-pad", "lodash.merge", "@types/node", "@scope/pkg_x", "a" * 214]
)
def test_valid_package_names_are_accepted(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Dayjs", "lower case"),
        ("@Scope/pkg", "lower case"),
        ("a" * (MAX_NAME_LENGTH + 1), "at most 214"),
        (".hidden", "cannot start with a period"),
        ("_private", "cannot start with an underscore"),
        ("@scope/.pkg", "after its scope"),
        ("@scope", "'@scope/name'"),
        ("@scope/a/b", "'@scope/name'"),
        ("has space", "can only contain"),
        (" dayjs", "white space"),
        ("day%js", "can only contain"),
        ("dayjs!", "can only contain"),
        ("node_modules", "not an allowed package name"),
        ("favicon.ico", "not an allowed package name"),
        ("", "empty"),
    ],
)
def test_invalid_package_names_are_refused_naming_the_entry(name: str, problem: str) -> None:
    with pytest.raises(RequirementError) as caught:
        parse_dependencies({name: "1.0.0"})
    assert problem in str(caught.value)
    assert str(caught.value).startswith("/dependencies/")


def test_a_scoped_name_is_pointed_at_as_rfc_6901_escapes_it() -> None:
    with pytest.raises(RequirementError, match=r"^/dependencies/@types~1node: '\^20'"):
        parse_dependencies({"@types/node": "^20"})


def test_dependencies_must_be_an_object() -> None:
    with pytest.raises(RequirementError, match=r"^/dependencies: dependencies is an object"):
        parse_dependencies(["dayjs@1.11.13"])


def test_dependencies_become_sorted_name_at_version_strings() -> None:
    requirements = parse_dependencies({"zod": "3.23.8", "@types/node": "20.0.0", "dayjs": "1.0.0"})
    assert requirements == ("@types/node@20.0.0", "dayjs@1.0.0", "zod@3.23.8")


def test_too_many_dependencies_are_refused() -> None:
    with pytest.raises(RequirementError, match="at most 64"):
        parse_dependencies({f"pkg{i}": "1.0.0" for i in range(65)})


# --- the manifest side (push, API): requirements are name@version strings ----------------------


def node_manifest(**fields: object) -> Manifest:
    document: dict[str, object] = {
        "name": "dates.format",
        "version": "1.0.0",
        "runtime": NODE,
        "entrypoint": "step.mjs",
    }
    document.update(fields)
    return Manifest.model_validate(document)


def test_a_node_manifest_normalizes_its_requirements_sorted() -> None:
    manifest = node_manifest(requirements=["zod@3.23.8", "@types/node@20.1.0-rc.1", "zod@3.23.8"])
    assert manifest.requirements == ("@types/node@20.1.0-rc.1", "zod@3.23.8")


@pytest.mark.parametrize(
    ("requirement", "problem"),
    [
        ("dayjs@^1.11.13", "version range"),
        ("dayjs@latest", "dist-tag"),
        ("dayjs", "not of the form 'name@version'"),
        ("dayjs==1.11.13", "not of the form 'name@version'"),
        ("Dayjs@1.0.0", "lower case"),
        ("dayjs@github:iamkun/dayjs", "git source"),
        ("dayjs@file:../x", "local file: spec"),
        ("alias@npm:dayjs@1.0.0", "can only contain"),
    ],
)
def test_a_node_manifest_refuses_loose_requirements(requirement: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        node_manifest(requirements=[requirement])
    (error,) = caught.value.errors()
    assert error["loc"] == ("requirements",)
    assert problem in error["msg"]


def test_a_package_pinned_twice_at_different_versions_is_refused() -> None:
    with pytest.raises(RequirementError, match=r"^/requirements/1: dayjs is pinned twice"):
        parse_requirements(["dayjs@1.0.0", "dayjs@1.0.1"])


def test_python_pins_are_not_npm_requirements_and_the_reverse() -> None:
    with pytest.raises(ValidationError, match="not of the form 'name@version'"):
        node_manifest(requirements=["markdown==3.7"])
    with pytest.raises(ValidationError, match="not pinned"):
        Manifest(name="a.b", version="1.0.0", entrypoint="step:run", requirements=["dayjs@1.0.0"])


@pytest.mark.parametrize("entrypoint", ["step.mjs", "index.js", "src/main.mjs", "a-b/c_d.e.js"])
def test_a_node_entrypoint_is_a_relative_module_path(entrypoint: str) -> None:
    assert node_manifest(entrypoint=entrypoint).entrypoint == entrypoint


@pytest.mark.parametrize(
    "entrypoint",
    [
        "step:run",
        "step.cjs",
        "step.ts",
        "/opt/step.mjs",
        "../step.mjs",
        "src/../step.mjs",
        ".hidden.mjs",
        "src//step.mjs",
        "step.mjs:default",
        "C:\\step.mjs",
    ],
)
def test_a_node_entrypoint_that_is_not_a_safe_module_path_is_refused(entrypoint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        node_manifest(entrypoint=entrypoint)
    (error,) = caught.value.errors()
    assert error["loc"] == ("entrypoint",)
    assert "a relative path of a .mjs or .js module" in error["msg"]


def test_a_python_manifest_still_wants_module_colon_function() -> None:
    with pytest.raises(ValidationError, match="of the form 'module:function'"):
        Manifest(name="a.b", version="1.0.0", entrypoint="step.mjs")
    assert Manifest(name="a.b", version="1.0.0", entrypoint="step:run").runtime == PYTHON


def test_an_unknown_runtime_is_refused_listing_the_supported_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        node_manifest(runtime="deno1")
    (error,) = caught.value.errors()  # no second error from the entrypoint's grammar
    assert error["loc"] == ("runtime",)
    assert "supported: python3.11, node20, python3.11-browser" in error["msg"]


def test_each_runtime_names_its_image_and_runner() -> None:
    assert set(RUNTIMES) == {PYTHON, NODE, "python3.11-browser"}
    assert runtime(NODE).image == "stepwell/runtime-node20"
    assert runtime(NODE).runner_command[-1] == "/opt/stepwell/runner.mjs"
    assert runtime(PYTHON).runner_command[-1] == "/opt/stepwell/runner.py"
    with pytest.raises(ValueError, match="unsupported runtime 'ruby'"):
        runtime("ruby")
